"""Fast inference: the fitted pipeline's own numbers, and its explanations, a chunk at a time.

scikit-learn spends almost all of its prediction time in per-document Python: a regular
expression per text, then a Python list of character n-grams per word. The model itself is a
sparse dot product. Every preprocessing step after tokenisation is a function of one token
(see ``preprocess``), so for a chunk of texts this module:

1. cleans it as the pipeline does, mostly with Arrow string kernels (``sw_nlp.utf8_chunk``),
   into one buffer of UTF-8 bytes;
2. finds each whitespace-free piece of text and its tokens in the token cache
   (``sw_nlp.token_cache``), which tokenises, normalises and cuts into n-grams only what it
   has not seen;
3. builds word n-grams from each row's token ids (after stopword removal, as scikit-learn does,
   so a bigram may span a removed stopword), looked up as integer keys in hash tables;
4. in one compiled loop per chunk (``kernels.score_rows``) counts each row's features, applies
   sublinear tf and the norms, takes the logistic regression's scores with the idf folded into
   its coefficients, and explains the row (``sw_nlp.explain``) while its counts are in cache.

The probabilities equal the pipeline's to float rounding, and the explanations are the exact
path's terms (tests: corpus, every preprocessing setting, random texts). It is built at load
time, never saved, from the bundle's numbers (``sw_nlp.pipeline_data.ModelData``) or from a
fitted pipeline. Classifying imports neither scikit-learn nor SciPy; only a two-class model
(whose probabilities are not a softmax) and the test helper ``features_matrix`` do. A model
this module does not reproduce raises ``UnsupportedPipeline`` and callers use the pipeline.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sw_nlp.errors import BundleError
from sw_nlp.explain import Scored, centred_coefficients, terms_of_rows
from sw_nlp.features import vocabulary_share
from sw_nlp.jit import compiled
from sw_nlp.kernels import NORM_L1, NORM_L2, NORM_NONE, normalize_rows, score_rows, sublinear_table
from sw_nlp.pipeline_data import BlockData, ModelData
from sw_nlp.preprocess import WordAnalyzer
from sw_nlp.text_kernels import STOP, word_ngrams
from sw_nlp.token_cache import IRREGULAR, TokenCache, TokenRules, TokenTables
from sw_nlp.utf8_chunk import clean_chunk
from sw_nlp.word_index import UnsupportedVocabulary, index_word_vocabulary

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

_NORMS = {"l2": NORM_L2, "l1": NORM_L1, None: NORM_NONE}
# A chunk of at most this many characters (and rows) runs the kernels as plain Python
# (``sw_nlp.jit``): about 50 µs a character (30-50 ms for a case of 80 words), against about a
# second to import Numba and load its cached machine code (seconds more to compile on a
# machine's first run). So a file of a few cases starts and answers in well under a second.
PLAIN_PYTHON_CHARS = 10_000
PLAIN_PYTHON_ROWS = 64


def runs_plain_python(texts: Sequence[str]) -> bool:
    """Whether a chunk is small enough for plain Python kernels: the one place that decides."""
    return len(texts) <= PLAIN_PYTHON_ROWS and sum(map(len, texts)) <= PLAIN_PYTHON_CHARS


def _plain_python_when_small(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method(self, texts, ...)`` with compiled kernels, or with plain Python ones for a
    small chunk (``runs_plain_python``)."""

    @functools.wraps(method)
    def run(self: FastPath, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        with compiled(not runs_plain_python(texts)):
            return method(self, texts, *args, **kwargs)

    return run


class UnsupportedPipeline(Exception):
    """The fitted pipeline has a shape or setting the fast path does not reproduce."""


@dataclass(frozen=True)
class _Chunk:
    """A chunk's tokens and word features, and the cache's tables as they were for it."""

    n_rows: int
    docs: np.ndarray  # row of each token occurrence, rows in order
    tokens: np.ndarray  # final token id of each occurrence
    word_ptr: np.ndarray  # rows × word features, one entry per occurrence (CSR parts)
    word_features: np.ndarray
    share: np.ndarray  # share of each row's word tokens seen in training
    tables: TokenTables


class FastPath:
    """The fitted pipeline's probabilities and explanations for a chunk, vectorised over it.

    Its token cache grows with the distinct tokens seen (bounded), so one instance serves a
    whole batch job; a lock keeps the cache whole when threads share it.
    """

    def __init__(self, model: ModelData | Pipeline) -> None:
        data = model if isinstance(model, ModelData) else _model_data(model)
        self._data = data
        self._word, self._char = check_supported(data)
        # Features are numbered most frequent first inside the fast path (``_frequent_first``);
        # ``_word_old[j]`` is the vectorizer's column of feature ``j``.
        self._word_old, self._word_vocabulary = _frequent_first(self._word)
        self._char_old, char_vocabulary = _frequent_first(self._char)
        self._n_word = len(self._word_vocabulary)
        try:
            self._index = index_word_vocabulary(self._word_vocabulary, self._word.ngram_range)
        except UnsupportedVocabulary as exc:
            raise UnsupportedPipeline(str(exc)) from None
        self._cache = TokenCache(
            TokenRules(
                lexicon=dict(data.lexicon),
                numbers_as_token=data.numbers_as_token,
                word_analyzer=self._word.tokenizer,
                word_token_ids=self._index.token_ids,
                word_vocabulary=self._word_vocabulary,
                char_vocabulary=char_vocabulary,
                char_ngrams=self._char.ngram_range,
            )
        )
        self._folded = len(data.classes) > 2 and all(
            b.norm == "l2" for b in (self._word, self._char)
        )
        self._weights = self._block_weights()
        self._tf_tables = np.stack([sublinear_table(b.sublinear_tf) for b in self.blocks])
        self._sublinear = np.array([b.sublinear_tf for b in self.blocks])
        self._norm_kinds = np.array([_NORMS[b.norm] for b in self.blocks], np.int64)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def blocks(self) -> tuple[BlockData, BlockData]:
        return self._word, self._char

    # -- the inference interface -------------------------------------------------------------

    @_plain_python_when_small
    def analyse(self, texts: Sequence[str], k: int = 0, target: int | None = None) -> Scored:
        """Probabilities (the classifier's class order), the k terms that pushed each text
        towards ``target`` (a class index; default the predicted class), and the vocabulary
        share, from one pass over the texts."""
        chunk = self._chunk(texts)
        n = chunk.n_rows
        targets = np.full(n, -1 if target is None else target, np.int64)
        scores = np.array(self._data.intercept, np.float64)[None, :].repeat(n, axis=0)
        if not self._folded:
            proba = self._exact_classifier().predict_proba(self._matrix(chunk))
            if target is None:
                targets = proba.argmax(axis=1).astype(np.int64)
        tables = chunk.tables
        ptr, terms, shares, tied = score_rows(
            chunk.word_ptr, chunk.word_features, _indptr(chunk.docs, n), chunk.tokens,
            tables.gram_ptr, tables.gram_ids, tables.gram_counts,
            self._tf_tables, self._sublinear, self._norm_kinds, *self._weights[k > 0],
            scores, targets, k, tables.shown, tables.hidden,
        )  # fmt: skip
        if self._folded:
            proba = _softmax(scores)
        explanations = []
        if k > 0:
            names = self._cache.word_names + tables.extra_terms
            explanations = terms_of_rows(ptr, terms, shares, tied, names, k)
        return Scored(proba=proba, explanations=explanations, vocabulary_share=chunk.share)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The classifier's probabilities, columns in its ``classes_`` order."""
        return self.analyse(texts, k=0).proba

    def compile_kernels(self) -> None:
        """Compile every kernel a large chunk runs, or load it from Numba's cache: what the
        first large job on a machine would otherwise do before its first row."""
        self.analyse(["anak"] * (PLAIN_PYTHON_ROWS + 1), k=1)  # too many rows for Python

    @_plain_python_when_small
    def features_matrix(self, texts: Sequence[str]) -> csr_matrix:
        """``pipeline[:-1].transform(texts)``: both TF-IDF blocks side by side, built with
        SciPy (for tests, and for the two-class models scikit-learn scores)."""
        return self._matrix(self._chunk(texts))

    @_plain_python_when_small
    def normalized(self, texts: Sequence[str]) -> list[str]:
        """``TextNormalizer``'s texts, rebuilt from token ids (tokens one space apart)."""
        chunk = self._chunk(texts)
        out: list[list[str]] = [[] for _ in range(chunk.n_rows)]
        strings = chunk.tables.strings
        for d, g in zip(chunk.docs.tolist(), chunk.tokens.tolist(), strict=True):
            out[d].append(strings[g])
        return [" ".join(words) for words in out]

    # -- per chunk ---------------------------------------------------------------------------

    def _chunk(self, texts: Sequence[str]) -> _Chunk:
        data, offsets = clean_chunk(texts, self._data.mask_pii)
        with self._lock:
            if self._cache.full:
                self._cache.reset()
            docs, tokens = self._cache.tokens(data, offsets)
            tables = self._cache.tables()
        ptr, features, share = self._word_features(len(texts), docs, tokens, tables)
        return _Chunk(len(texts), docs, tokens, ptr, features, share, tables)

    def _word_features(
        self, n: int, docs: np.ndarray, tokens: np.ndarray, tables: TokenTables
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows × word features, one entry per occurrence (CSR parts), and each row's
        vocabulary share."""
        ids = tables.word_id[tokens] if len(tokens) else np.zeros(0, np.int64)
        irregular = np.unique(docs[ids == IRREGULAR])
        if len(irregular):  # their rows are counted by the vectorizer's own analyzer below
            ids = np.where(np.isin(docs, irregular), STOP, ids)
        index = self._index
        low, high = self._word.ngram_range
        ptr, features, known, total = word_ngrams(
            n, docs, ids, index.unigram, low, high, index.base, index.slots, index.values
        )
        share = np.divide(known, total, out=np.zeros(n), where=total > 0)
        if len(irregular):
            ptr, features = self._irregular_rows(
                ptr, features, irregular, docs, tokens, tables.strings, share
            )
        return ptr, features, share

    def _irregular_rows(
        self,
        ptr: np.ndarray,
        features: np.ndarray,
        rows: np.ndarray,
        docs: np.ndarray,
        tokens: np.ndarray,
        strings: list[str],
        share: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Word features (and vocabulary share) of rare rows, by the vectorizer's own analyzer,
        put into the rows that ``word_ngrams`` left empty."""
        vocabulary = self._word_vocabulary
        low, high = self._word.ngram_range
        added = np.zeros(len(ptr) - 1, np.int64)
        at: list[int] = []
        values: list[int] = []
        for d in rows.tolist():
            words = self._word.tokenizer(" ".join(strings[g] for g in tokens[docs == d].tolist()))
            found = [j for g in _ngrams(words, low, high) if (j := vocabulary.get(g)) is not None]
            at.extend([int(ptr[d])] * len(found))
            values.extend(found)
            added[d] = len(found)
            share[d] = vocabulary_share(words, vocabulary)
        grown = ptr + np.concatenate([[0], np.cumsum(added)]).astype(ptr.dtype)
        return grown, np.insert(features, at, values).astype(features.dtype)

    # -- scoring -----------------------------------------------------------------------------

    def _block_weights(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Per block (see ``kernels.score_rows``), in the fast path's numbering: the weights
        for scoring alone, a row per feature of coefficients × idf (when scores are a softmax
        of them), and for scoring and explaining, each row followed by the centred
        coefficients × idf; rows aligned to 64 bytes; and the norm's weight of each feature.

        Two copies because each is the fastest for its pass (CPU time of ``score_rows`` on
        20k corpus-like rows, interleaved, load 5): scoring alone reads 32-byte rows, two
        features a cache line (21.6 µs/row against 24.1 with 64-byte rows); explaining reads
        64-byte rows, the centred weights in the line scoring already brought in (33.1 µs/row
        against 34.6 with the centred weights in a class-major array of their own)."""
        data = self._data
        centred = centred_coefficients(data.coef)
        n_classes = centred.shape[0]
        scoring: list[np.ndarray] = []
        explaining: list[np.ndarray] = []
        start = 0
        for block, old in zip(self.blocks, (self._word_old, self._char_old), strict=True):
            width = len(block.vocabulary_)
            idf = block.idf_ if block.use_idf else np.ones(width)
            part, idf = start + old, idf[old]  # in the fast path's numbering
            coef = (data.coef[:, part] * idf).T if self._folded else np.zeros((width, n_classes))
            norms = idf**2 if block.norm == "l2" else idf
            scoring += [_aligned(coef), norms]
            explaining += [_aligned(np.column_stack([coef, (centred[:, part] * idf).T])), norms]
            start += width
        return tuple(scoring), tuple(explaining)

    def _exact_classifier(self) -> Any:
        """scikit-learn's own logistic regression, for the models whose scores are not folded
        (two classes, or blocks not l2-normalised): the one case that imports scikit-learn."""
        clf = self.__dict__.get("_sklearn_classifier")
        if clf is None:
            from sw_nlp.pipeline_data import build_pipeline_from

            clf = self.__dict__["_sklearn_classifier"] = build_pipeline_from(self._data)[-1]
        return clf

    def _matrix(self, chunk: _Chunk) -> csr_matrix:
        """The chunk's TF-IDF rows, as ``TfidfVectorizer.transform`` makes them."""
        import scipy.sparse as sp

        n, tables = chunk.n_rows, chunk.tables
        columns = self._word_old[chunk.word_features]  # back to the vectorizer's numbering
        word_counts = sp.csr_matrix(
            (np.ones(len(columns)), columns, chunk.word_ptr),
            shape=(n, self._n_word),
        )
        word_counts.sum_duplicates()
        grams = sp.csr_matrix(
            (tables.gram_counts, self._char_old[tables.gram_ids], tables.gram_ptr),
            shape=(len(tables.gram_ptr) - 1, len(self._char.vocabulary_)),
        )
        occurrences = sp.csr_matrix(
            (np.ones(len(chunk.tokens)), chunk.tokens, _indptr(chunk.docs, n)),
            shape=(n, grams.shape[0]),
        )
        blocks = [
            _tfidf(block, counts)
            for block, counts in zip(self.blocks, (word_counts, occurrences @ grams), strict=True)
        ]
        return sp.hstack(blocks, format="csr")


def check_supported(data: ModelData) -> tuple[BlockData, BlockData]:
    """The word and char blocks, if this module reproduces them; else ``UnsupportedPipeline``."""
    word, char = data.blocks
    common = {"lowercase": False, "strip_accents": None, "binary": False, "input": "content"}
    for block in (word, char):
        if any(getattr(block, k) != v for k, v in common.items()):
            raise UnsupportedPipeline("vectorizer preprocessing the fast path does not mirror")
        if block.norm not in _NORMS:
            raise UnsupportedPipeline(f"norm {block.norm!r}")
    if word.analyzer != "word" or not isinstance(word.tokenizer, WordAnalyzer):
        raise UnsupportedPipeline("word block does not use WordAnalyzer")
    if char.analyzer != "char_wb":
        raise UnsupportedPipeline(f"char analyzer {char.analyzer!r}")
    if word.ngram_range[0] < 1 or word.ngram_range[1] > 3:
        raise UnsupportedPipeline(f"word n-grams {word.ngram_range}")
    return word, char


def _frequent_first(block: BlockData) -> tuple[np.ndarray, dict[str, int]]:
    """The block's features renumbered by document frequency, most frequent first (lowest
    idf; ties in the vectorizer's order): the vectorizer's column of each new number, and the
    vocabulary (term -> new number).

    Why: the vectorizer numbers features alphabetically, so the few hundred a row touches
    are scattered over every per-feature array the scoring pass reads (weights, counts,
    shares), several megabytes, larger than the cache. Numbered by frequency, the features
    most rows share sit together, a few cache lines hold many of them, and those lines stay
    in cache from row to row. The numbering never shows: the scoring pass sums in the order a
    row touches its features, never by number, so every result is the same to the last bit;
    the matrices built for SciPy and the explanations' terms are given back in the
    vectorizer's columns and names.
    """
    width = len(block.vocabulary_)
    old = np.argsort(block.idf_, kind="stable") if block.use_idf else np.arange(width)
    new = np.empty(width, np.int64)
    new[old] = np.arange(width)
    columns = np.fromiter(block.vocabulary_.values(), np.int64, width)
    return old, dict(zip(block.vocabulary_, new[columns].tolist(), strict=True))


def _aligned(array: np.ndarray, to: int = 64) -> np.ndarray:
    """A C-ordered copy whose data starts on a multiple of ``to`` bytes: rows of 64 bytes then
    sit in one cache line each, rows of 32 two to a line (NumPy guarantees 16)."""
    buffer = np.empty(array.nbytes + to, np.uint8)
    skip = -buffer.ctypes.data % to
    out = buffer[skip : skip + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


def _indptr(sorted_docs: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(sorted_docs, minlength=n))])


def _tfidf(block: BlockData, counts: csr_matrix) -> csr_matrix:
    """``TfidfTransformer.transform`` on counts: tf step, idf, then the row norm computed as
    scikit-learn's ``normalize`` computes it (same loop, same order of sums)."""
    X = counts.tocsr().astype(block.dtype)
    if block.sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    if block.use_idf:
        X.data *= block.idf_[X.indices]
    if block.norm is not None:
        X.data = X.data.astype(np.float64, copy=False)
        normalize_rows(X.indptr, X.data, block.norm == "l1")
    return X


def _softmax(scores: np.ndarray) -> np.ndarray:
    """scikit-learn's ``softmax`` (``sklearn.utils.extmath``), in place, step for step."""
    scores -= scores.max(axis=1).reshape((-1, 1))
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1).reshape((-1, 1))
    return scores


def _ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    """Word n-grams of a token list as ``CountVectorizer``'s word analyzer makes them (for
    the rare rows the fast path counts by analyzer, see ``_irregular_rows``)."""
    return [
        " ".join(tokens[i : i + n])
        for n in range(low, min(high, len(tokens)) + 1)
        for i in range(len(tokens) - n + 1)
    ]


def _model_data(pipeline: Pipeline) -> ModelData:
    """A fitted pipeline's numbers as format 2 holds them: the fast path reads only those."""
    from sw_nlp.pipeline_data import pipeline_to_data, read_model_data

    try:
        spec, arrays = pipeline_to_data(pipeline, labels=[], config={})
        return read_model_data(spec, arrays)
    except BundleError as exc:
        raise UnsupportedPipeline(str(exc)) from None


def build_fast_path(model: ModelData | Pipeline) -> FastPath | None:
    """The fast path for a bundle's numbers or a fitted pipeline, or None (with the reason
    logged) if unsupported."""
    try:
        return FastPath(model)
    except UnsupportedPipeline as exc:
        log.info("fast inference not available, using the pipeline itself: %s", exc)
        return None
