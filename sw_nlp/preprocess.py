"""Indonesian case text to tokens, one token at a time.

Every step after tokenisation is a function of a single token (slang lexicon, numbers,
stopwords, stemming), so each distinct token is worked out once and cached. The two
scikit-learn pieces, ``TextNormalizer`` (text to normalised text) and ``WordAnalyzer``
(normalised text to word tokens), pickle with the pipeline and carry their settings with them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from nltk.tokenize import RegexpTokenizer
from sklearn.base import BaseEstimator, TransformerMixin

from sw_nlp.errors import InputError
from sw_nlp.pii import mask_pii

NUMBER_TOKEN = "_angka_"
# Placeholders first (so `_nik_` survives whole), then words with inner hyphens (anak-anak).
_TOKENIZER = RegexpTokenizer(r"_[a-z]+_|\w+(?:-\w+)*")
CONTROL_CHARACTERS = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]"
)
_REDUPLICATION = re.compile(r"^([^\W\d_]{2,})2$")  # anak2 -> anak-anak, as people type it
_DIGITS = re.compile(r"^\d+$")


def clean_text(text: str) -> str:
    """NFKC, control and zero-width characters to spaces, lower case."""
    text = unicodedata.normalize("NFKC", text)
    return CONTROL_CHARACTERS.sub(" ", text).lower()


def tokenize(text: str) -> list[str]:
    """Offline tokenisation with nltk's RegexpTokenizer (``word_tokenize`` needs downloads)."""
    return _TOKENIZER.tokenize(text)


def normalize_token(token: str, lexicon: Mapping[str, str], numbers_as_token: bool = True) -> str:
    """One token in standard Indonesian: lexicon entry, reduplication, numbers.

    May return several words (``ortu`` -> ``orang tua``) or an empty string (dropped).
    """
    if token in lexicon:
        return lexicon[token]
    if match := _REDUPLICATION.match(token):
        base = match.group(1)
        return f"{lexicon.get(base, base)}-{lexicon.get(base, base)}"
    if numbers_as_token and _DIGITS.match(token):
        return NUMBER_TOKEN
    return token


@cache
def shipped_lexicon() -> dict[str, str]:
    """The curated slang lexicon shipped in the package (``resources/slang.tsv``)."""
    text = resources.files("sw_nlp.resources").joinpath("slang.tsv").read_text(encoding="utf-8")
    return _parse_lexicon(text.splitlines(), "sw_nlp/resources/slang.tsv")


def read_lexicon(path: Path) -> dict[str, str]:
    """An analyst's lexicon: TSV lines ``informal<TAB>standard``; ``#`` starts a comment."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise InputError("lexicon file not found", path) from None
    except UnicodeDecodeError:
        raise InputError("lexicon is not UTF-8", path) from None
    return _parse_lexicon(lines, str(path))


def _parse_lexicon(lines: Iterable[str], source: str) -> dict[str, str]:
    lexicon: dict[str, str] = {}
    rows = csv.reader((ln for ln in lines), delimiter="\t", quoting=csv.QUOTE_NONE)
    for number, fields in enumerate(rows, 1):
        if not fields or not fields[0].strip() or fields[0].lstrip().startswith("#"):
            continue
        if len(fields) != 2 or not fields[1].strip():
            raise InputError(
                "expected two tab-separated columns: informal, standard", source, number
            )
        informal = clean_text(fields[0].strip())
        if " " in informal:
            raise InputError(f"informal form {informal!r} must be one token", source, number)
        lexicon[informal] = " ".join(tokenize(clean_text(fields[1])))
    return lexicon


def build_lexicon(extra_path: str | None = None) -> dict[str, str]:
    """Our lexicon with an analyst's entries on top (theirs win)."""
    lexicon = dict(shipped_lexicon())
    if extra_path:
        lexicon.update(read_lexicon(Path(extra_path)))
    return lexicon


@cache
def stopwords() -> frozenset[str]:
    """stopwordsiso's Indonesian list minus negations and the words that carry scope.

    Every shipped list removes *tidak, belum, bukan, jangan, tanpa*; negation matters in case
    notes. The list also removes words such as *seorang*, *ibu*, *seluruh*, *luar*, *antar*,
    which say who the intervention is for, so those are kept too (``resources/keep_words.txt``).
    """
    import stopwordsiso

    keep = resources.files("sw_nlp.resources").joinpath("keep_words.txt").read_text("utf-8")
    kept = {w.strip() for w in keep.splitlines() if w.strip() and not w.startswith("#")}
    return frozenset(stopwordsiso.stopwords("id")) - kept


@cache
def _stemmer() -> Any:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=1 << 18)
def stem_token(token: str) -> str:
    """Sastrawi's stem of one token, cached: uncached it costs ~2 ms per 80-word text."""
    if token.startswith("_") or not token.isalpha() and "-" not in token:
        return token
    return _stemmer().stem(token) or token


class TextNormalizer(TransformerMixin, BaseEstimator):
    """Raw case text to normalised text: masked identifiers, clean Unicode, standard words.

    The output is the tokens joined by single spaces, which both the word and the character
    n-gram features read. Stateless: ``fit`` learns nothing.

    Parameters
    ----------
    lexicon : mapping of informal token to standard form, stored in the model so a bundle
        normalises exactly as it did when it was trained.
    mask_pii : replace NIK, phone numbers, e-mail addresses and URLs before anything else.
    numbers_as_token : map every number to one token; amounts and dates are noise here.
    """

    def __init__(
        self,
        lexicon: Mapping[str, str] | None = None,
        mask_pii: bool = True,
        numbers_as_token: bool = True,
    ) -> None:
        self.lexicon = lexicon
        self.mask_pii = mask_pii
        self.numbers_as_token = numbers_as_token

    def fit(self, X: Iterable[str], y: Any = None) -> TextNormalizer:
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        return [self.normalize(text) for text in X]

    def normalize(self, text: str) -> str:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if self.mask_pii:
            text = mask_pii(text)
        cache = self._token_cache()
        out = []
        for token in tokenize(clean_text(text)):
            norm = cache.get(token)
            if norm is None:
                norm = cache[token] = normalize_token(
                    token, self.lexicon or {}, self.numbers_as_token
                )
            if norm:
                out.append(norm)
        return " ".join(out)

    def _token_cache(self) -> dict[str, str]:
        # Not a parameter and not pickled: rebuilt lazily in every process.
        cache = self.__dict__.get("_cache")
        if cache is None or len(cache) > 1 << 18:
            cache = self.__dict__["_cache"] = {}
        return cache

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)
        return state

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return input_features

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


class WordAnalyzer:
    """Normalised text to word tokens for the word TF-IDF: stopwords out, optional stemming.

    Used as ``TfidfVectorizer(tokenizer=...)``, so scikit-learn builds the n-grams after the
    stopwords are gone (a bigram may span a removed stopword).
    """

    def __init__(self, remove_stopwords: bool = False, stem: bool = False) -> None:
        self.remove_stopwords = remove_stopwords
        self.stem = stem

    def __call__(self, text: str) -> list[str]:
        tokens = text.split()
        if self.remove_stopwords:
            stop = stopwords()
            tokens = [t for t in tokens if t not in stop]
        if self.stem:
            tokens = [stem_token(t) for t in tokens]
        return tokens

    def __repr__(self) -> str:
        return f"WordAnalyzer(remove_stopwords={self.remove_stopwords}, stem={self.stem})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordAnalyzer) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((self.remove_stopwords, self.stem))
