"""Indonesian case text to tokens, one token at a time.

Every step after tokenisation is a function of a single token (slang lexicon, numbers,
stopwords, stemming), so each distinct token is worked out once and cached. The two
pipeline pieces, ``TextNormalizer`` (text to normalised text, in ``sw_nlp.normalizer``: it is
a scikit-learn estimator) and ``WordAnalyzer`` (normalised text to word tokens), carry their
settings with them. This module does not import scikit-learn, so the fast path can use it
without paying for scikit-learn; it imports nothing above it (``sw_nlp.normalizer`` builds on
it, never the other way).
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

import regex

from sw_nlp.errors import InputError

NUMBER_TOKEN = "_angka_"
# Placeholders first (so `_nik_` survives whole), then words with inner hyphens (anak-anak).
TOKEN_PATTERN = r"_[a-z]+_|\w+(?:-\w+)*"
# What nltk's RegexpTokenizer(TOKEN_PATTERN) does — the same ``regex`` engine (nltk 3.9.3+
# compiles with it, and its ``\w`` differs from ``re``'s on combining marks), the same flags,
# findall of the whole match — without importing nltk, which loads scikit-learn and SciPy
# (~1 s) on import. The pattern cannot backtrack badly, so nltk's match timeout is not needed.
_TOKENS = regex.compile(TOKEN_PATTERN, regex.UNICODE | regex.MULTILINE | regex.DOTALL).findall
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
    """Offline tokenisation: nltk's RegexpTokenizer's rule (``word_tokenize`` needs downloads),
    checked equal to it in tests/test_preprocess.py."""
    return _TOKENS(text)


def normalise_token(token: str, lexicon: Mapping[str, str], numbers_as_token: bool = True) -> str:
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
