"""Fast inference: the fitted pipeline's own numbers, computed for a whole chunk at once.

scikit-learn spends almost all of its prediction time in per-document Python: a regular
expression per text, then a Python list of character n-grams per word. The model itself is a
sparse dot product. Every preprocessing step after tokenisation is a function of one token
(see ``preprocess``), so this module:

1. cleans the chunk with Arrow string kernels (C++): lower case, and identifier masking only
   where a fast pattern finds a candidate. Rows where Arrow's lower-casing could differ from
   Python's ``clean_text`` (letters outside ASCII) or that may hold an identifier to mask are
   cleaned and masked in Python first. The tokenizer's matches never span whitespace, so one
   compiled pass (``sw_nlp.kernels``) splits the texts at whitespace and finds each piece
   (``"anak-anak,"``) by its bytes in a hash table; a piece not seen before is tokenised once,
   in Python, and cached;
2. works out each distinct token once and caches it: its normalised form(s), whether it is a
   stopword, its stem, its word-vocabulary id and its character n-gram counts;
3. builds word n-grams from each row's token ids (after stopword removal, as scikit-learn does,
   so a bigram may span a removed stopword), looked up as integer keys in hash tables;
4. counts each row's character n-grams from its tokens' cached n-gram counts, applies
   sublinear tf and the l2 norms, and takes the logistic regression's scores with the idf
   folded into its coefficients, in one compiled loop per block (``sw_nlp.kernels``);
5. explains every row of the chunk at once (the terms ``CaseClassifier.explain`` gives).

The probabilities equal the pipeline's to float rounding (tests: corpus, every preprocessing
setting, random texts). It is built at load time, never saved, from the bundle's numbers
(``sw_nlp.pipeline_data.ModelData``) or from a fitted pipeline; it does not import
scikit-learn, so classifying a file never loads it. A model this module does not reproduce
raises ``UnsupportedPipeline`` and callers use the pipeline itself.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from sw_nlp.errors import BundleError
from sw_nlp.kernels import (
    STOP,
    add_block_scores,
    build_key_table,
    expand_pieces,
    insert_pieces,
    normalize_rows,
    split_pieces,
    sublinear_table,
    word_ngrams,
)
from sw_nlp.pii import PII_CANDIDATE, is_placeholder_term, mask_pii
from sw_nlp.pipeline_data import BlockData, ModelData
from sw_nlp.preprocess import (
    CONTROL_CHARACTERS,
    WordAnalyzer,
    clean_text,
    normalise_token,
    tokenize,
)

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

# Word-token ids that are not vocabulary tokens: unknown, a stopword, a token that the word
# analyzer turns into something with a space in it.
_UNKNOWN, _STOP, _IRREGULAR = -1, STOP, -3
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_CACHED_TOKENS = 1 << 18  # distinct tokens kept between chunks; memory stays bounded


class _Growing:
    """A 1-D array grown by appending, in amortised constant time per item.

    ``view`` is the filled part, without a copy; take it again after appending, since growing
    may move the buffer.
    """

    def __init__(self, dtype: type) -> None:
        self._buffer = np.zeros(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: Sequence[float] | np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self._buffer):
            bigger = np.zeros(max(end, 2 * len(self._buffer)), dtype=self._buffer.dtype)
            bigger[: self.size] = self._buffer[: self.size]
            self._buffer = bigger
        self._buffer[self.size : end] = values
        self.size = end

    @property
    def view(self) -> np.ndarray:
        return self._buffer[: self.size]


class UnsupportedPipeline(Exception):
    """The fitted pipeline has a shape or setting the fast path does not reproduce."""


@dataclass(frozen=True)
class _Tables:
    """The token tables a batch needs later, as they were when it was built."""

    counts: sp.csr_matrix  # token -> its char n-gram counts
    presence: sp.csr_matrix  # token -> char n-grams it holds (1.0 each)
    shown: np.ndarray  # token -> term id in explanations
    extra_terms: dict[str, int]  # explanation terms that are not word features


@dataclass
class FastBatch:
    """One chunk's tokens and word features, from which each consumer takes what it needs.

    Probabilities come straight from these (``FastPath.predict_proba``); the term-frequency
    matrices that explanations and ``X`` need are built on first use only.
    """

    word_occurrences: sp.csr_matrix  # rows × word features, one entry per occurrence
    _vectorizers: tuple[BlockData, BlockData]
    vocabulary_share: np.ndarray  # share of each text's word tokens seen in training
    _docs: np.ndarray
    _tokens: np.ndarray
    _strings: list[str]
    _tables: _Tables  # as they were for this batch, whatever the cache does later

    @property
    def n_rows(self) -> int:
        return self.word_occurrences.shape[0]

    @cached_property
    def word_tf(self) -> sp.csr_matrix:
        """Word counts after the sublinear step (``1 + log(count)``), before idf and norm."""
        width = self.word_occurrences.shape[1]
        summed = self.word_occurrences @ sp.identity(width, format="csr")  # repeats summed
        return _sublinear(self._vectorizers[0], summed.tocsr())

    @cached_property
    def char_tf(self) -> sp.csr_matrix:
        """Char n-gram counts as (row × token occurrences) @ (token × n-gram counts), after
        the sublinear step. Column indices are left unsorted: sorting would cost as much as
        the product and changes only the order of float sums (by ~1e-16), not a count."""
        counts = self._tables.counts
        occurrences = _occurrences(self.n_rows, self._docs, self._tokens, counts.shape[0])
        return _sublinear(self._vectorizers[1], (occurrences @ counts).tocsr())

    @property
    def X(self) -> sp.csr_matrix:
        """The ``features`` step's output: both TF-IDF blocks side by side."""
        word, char = self._vectorizers
        return sp.hstack(
            [_idf_and_norm(word, self.word_tf), _idf_and_norm(char, self.char_tf)], format="csr"
        )

    def normalized(self) -> list[str]:
        """The normalised texts, rebuilt from token ids: ``TextNormalizer``'s tokens, one space
        apart (a lexicon entry of bare spaces leaves extra spaces in its output, not here)."""
        out: list[list[str]] = [[] for _ in range(self.n_rows)]
        strings = self._strings
        for d, g in zip(self._docs.tolist(), self._tokens.tolist(), strict=True):
            out[d].append(strings[g])
        return [" ".join(words) for words in out]


class FastPath:
    """The fitted pipeline's features and probabilities for a chunk, vectorised over the chunk.

    Holds caches that grow with the distinct tokens seen (bounded by ``MAX_CACHED_TOKENS``),
    so one instance serves a whole batch job; a lock keeps them whole when threads share it.
    """

    def __init__(self, model: ModelData | Pipeline) -> None:
        data = model if isinstance(model, ModelData) else _model_data(model)
        self._data = data
        self._word, self._char = _check_supported(data)
        self._mask_pii, self._numbers_as_token = data.mask_pii, data.numbers_as_token
        analyzer: WordAnalyzer = self._word.tokenizer
        self._word_analyzer = analyzer
        self._char_low, self._char_high = self._char.ngram_range
        self._lexicon = dict(data.lexicon)
        self._low, self._high = self._word.ngram_range
        self._n_word = len(self._word.vocabulary_)
        self._n_char = len(self._char.vocabulary_)
        self._index_word_vocabulary()
        # The word block's features are their own items (one feature each, count 1).
        self._word_items = (
            np.arange(self._n_word + 1, dtype=np.int32),
            np.arange(self._n_word, dtype=np.int32),
            np.ones(self._n_word, dtype=np.int32),
        )
        self._tf_tables = tuple(sublinear_table(v.sublinear_tf) for v in (self._word, self._char))
        self._word_names = [""] * self._n_word
        for term, index in self._word.vocabulary_.items():
            self._word_names[index] = term
        self._folded = self._fold_coefficients()
        self._lock = threading.Lock()
        self._reset_cache()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- setup -------------------------------------------------------------------------------

    def _index_word_vocabulary(self) -> None:
        """Word n-gram features as integer keys over a table of the tokens they are made of."""
        token_ids: dict[str, int] = {}
        grams: list[tuple[list[int], int]] = []
        for term, feature in self._word.vocabulary_.items():
            parts = term.split(" ")
            if not self._low <= len(parts) <= self._high or "" in parts:
                raise UnsupportedPipeline(f"word feature {len(parts)} tokens long")
            grams.append(([token_ids.setdefault(p, len(token_ids)) for p in parts], feature))
        self._token_ids = token_ids
        base = max(len(token_ids), 1)
        if base**self._high >= 2**62:
            raise UnsupportedPipeline("word n-grams too long for integer keys")
        self._base = base
        self._unigram = np.full(base + 1, -1, dtype=np.int64)  # last slot: unknown token
        keys: dict[int, tuple[list[int], list[int]]] = {}
        for ids, feature in grams:
            if len(ids) == 1:
                self._unigram[ids[0]] = feature
            else:
                key = 0
                for i in ids:
                    key = key * base + i
                k, f = keys.setdefault(len(ids), ([], []))
                k.append(key)
                f.append(feature)
        # One hash table per n-gram size (rows 0 and 1 unused), all of one power-of-two size.
        size = 1 << max(4, 2 * max((len(k) for k, _ in keys.values()), default=1)).bit_length()
        self._ngram_tables = (
            np.full((self._high + 1, size), -1, np.int64),
            np.full((self._high + 1, size), -1, np.int64),
        )
        for n, (k, f) in keys.items():
            slots, values = build_key_table(np.asarray(k, np.int64), np.asarray(f, np.int64), size)
            self._ngram_tables[0][n], self._ngram_tables[1][n] = slots, values

    def _reset_cache(self) -> None:
        # Whitespace-free pieces of text, found by their bytes in a hash table (see
        # kernels.split_pieces), and their final token ids, as slices of one flat array.
        self._n_pieces = 0
        self._piece_slots = np.full((1 << 12, 2), -1, np.int64)
        self._pending_bytes = bytearray()
        self._final: dict[str, int] = {}  # final (normalised) token -> id
        self._strings: list[str] = []
        self._extra_terms: dict[str, int] = {}  # shown terms that are not word features
        # Arrays grown in place, a chunk's new entries at a time (see _sync_tables):
        # piece -> (start, length) in piece_ids; final token -> word-token id (or _STOP, ...),
        # term id in explanations, and its char n-gram counts as the parts of a CSR matrix.
        self._tables = {
            name: _Growing(dtype)
            for name, dtype in (
                ("piece_start", np.int64), ("piece_len", np.int64), ("piece_ids", np.int64),
                ("piece_hash", np.uint64), ("piece_bytes_at", np.int64), ("piece_bytes", np.uint8),
                ("word_id", np.int64), ("shown_term", np.int64), ("char_indptr", np.int32),
                ("char_indices", np.int32), ("char_counts", np.int32), ("char_ones", np.float64),
            )
        }  # fmt: skip
        self._tables["char_indptr"].extend([0])
        self._tables["piece_bytes_at"].extend([0])
        self._pending: dict[str, list[float]] = {name: [] for name in self._tables}
        self._n_piece_ids = 0
        self._n_char_entries = 0
        self._sync_tables()

    # -- per distinct token ------------------------------------------------------------------

    def _char_grams(self, token: str) -> list[str]:
        """``char_wb`` n-grams of one token, as scikit-learn makes them: the token padded with
        a space each side; a padded token no longer than n is emitted once, whole, and then
        no longer n is tried."""
        padded = f" {token} "
        size = len(padded)
        grams: list[str] = []
        for n in range(self._char_low, self._char_high + 1):
            if size <= n:
                grams.append(padded)
                break
            grams.extend([padded[i : i + n] for i in range(size - n + 1)])
        return grams

    def _final_id(self, token: str) -> int:
        found = self._final.get(token)
        if found is not None:
            return found
        words = self._word_analyzer(token)
        if not words:
            word_id = _STOP
        elif len(words) == 1 and words[0].split() == words:  # no whitespace inside
            word_id = self._token_ids.get(words[0], _UNKNOWN)
        else:  # a stem with a space in it (the stemmer's output on odd letters)
            word_id = _IRREGULAR
        found = [
            j for j in map(self._char.vocabulary_.get, self._char_grams(token)) if j is not None
        ]
        if len(set(found)) == len(found):  # the usual case: no n-gram twice in one word
            columns, counts = found, [1] * len(found)
        else:
            counted = Counter(found)
            columns, counts = list(counted), list(counted.values())
        # What an explanation calls this token: its stem, or itself when it is a stopword.
        shown = words[0] if words else token
        term = self._word.vocabulary_.get(shown)
        if term is None:
            term = self._n_word + self._extra_terms.setdefault(shown, len(self._extra_terms))
        new = len(self._strings)
        self._final[token] = new
        self._strings.append(token)
        pending = self._pending
        pending["word_id"].append(word_id)
        pending["shown_term"].append(term)
        pending["char_indices"].extend(columns)
        pending["char_counts"].extend(counts)
        pending["char_ones"].extend([1] * len(columns))
        self._n_char_entries += len(columns)
        pending["char_indptr"].append(self._n_char_entries)
        return new

    def _add_piece(self, raw: bytes, key: int) -> int:
        """Tokenise and normalise a new whitespace-free piece (``"anak-anak,"``, ``"(lansia)"``),
        given as its UTF-8 bytes and their hash."""
        piece = raw.decode("utf-8")
        numbers = self._numbers_as_token
        # Most pieces are one plain word, which is its own only token: no regex needed.
        tokens = [piece] if piece.isascii() and piece.isalnum() else tokenize(piece)
        ids = [
            self._final_id(t)
            for token in tokens
            for t in normalise_token(token, self._lexicon, numbers).split()
        ]
        index = self._n_pieces
        self._n_pieces += 1
        pending = self._pending
        pending["piece_hash"].append(key)
        self._pending_bytes += raw
        pending["piece_bytes_at"].append(
            len(self._pending_bytes) + self._tables["piece_bytes"].size
        )
        pending["piece_start"].append(self._n_piece_ids)
        pending["piece_len"].append(len(ids))
        pending["piece_ids"].extend(ids)
        self._n_piece_ids += len(ids)
        return index

    def _sync_tables(self) -> None:
        """Move the chunk's new entries into the arrays; take array and matrix views of them."""
        for name, values in self._pending.items():
            if values:
                self._tables[name].extend(values)
                values.clear()
        if self._pending_bytes:
            self._tables["piece_bytes"].extend(np.frombuffer(self._pending_bytes, np.uint8))
            self._pending_bytes.clear()
        view = {name: table.view for name, table in self._tables.items()}
        self._piece_arrays = (view["piece_start"], view["piece_len"], view["piece_ids"])
        self._piece_keys = (view["piece_hash"], view["piece_bytes_at"], view["piece_bytes"])
        self._word_array = view["word_id"]
        self._shown_array = view["shown_term"]
        shape = (len(self._strings), self._n_char)
        parts = (view["char_indices"], view["char_indptr"])
        self._char_matrix = _csr_view(view["char_counts"], *parts, shape)
        self._char_presence = _csr_view(view["char_ones"], *parts, shape)

    # -- per chunk ---------------------------------------------------------------------------

    def features(self, texts: Sequence[str]) -> FastBatch:
        """``pipeline[:-1].transform(texts)``, as two TF-IDF blocks (word, char)."""
        with self._lock:
            return self._features(texts)

    def _features(self, texts: Sequence[str]) -> FastBatch:
        if self._n_pieces > MAX_CACHED_TOKENS or len(self._strings) > MAX_CACHED_TOKENS:
            self._reset_cache()
        docs, tokens = self._tokens(texts)
        word_occurrences, share = self._word_occurrences(len(texts), docs, tokens)
        tables = _Tables(
            self._char_matrix, self._char_presence, self._shown_array, self._extra_terms
        )
        return FastBatch(
            word_occurrences, (self._word, self._char), share, docs, tokens, self._strings, tables
        )

    def predict_proba(self, batch: FastBatch) -> np.ndarray:
        """The classifier's probabilities, columns in its ``classes_`` order.

        For a multinomial logistic regression on l2-normalised blocks, the idf weights are
        folded into the coefficients and each block's row norm is applied to its scores, so
        the TF-IDF matrix itself is never built: ``x·w = (tf·(idf∘w)) / ‖tf∘idf‖``. The
        result differs from the pipeline's by float rounding only (tested to 1e-9).
        """
        if self._folded is None:
            return self._exact_classifier().predict_proba(batch.X)
        n = batch.n_rows
        scores = np.array(self._data.intercept, dtype=np.float64)[None, :].repeat(n, axis=0)
        word_weights, char_weights = self._folded
        words = batch.word_occurrences
        add_block_scores(
            words.indptr, words.indices, words.data, *self._word_items,
            self._tf_tables[0], self._word.sublinear_tf, word_weights, scores,
        )  # fmt: skip
        counts = batch._tables.counts
        add_block_scores(
            _indptr(batch._docs, n), batch._tokens, np.ones(len(batch._tokens), np.int32),
            counts.indptr, counts.indices, counts.data,
            self._tf_tables[1], self._char.sublinear_tf, char_weights, scores,
        )  # fmt: skip
        return _softmax(scores)

    def _exact_classifier(self) -> Any:
        """scikit-learn's own logistic regression, for the models whose scores are not folded
        (two classes, or blocks not l2-normalised): the one case that imports scikit-learn."""
        clf = self.__dict__.get("_sklearn_classifier")
        if clf is None:
            from sw_nlp.pipeline_data import build_pipeline_from

            clf = self.__dict__["_sklearn_classifier"] = build_pipeline_from(self._data)[-1]
        return clf

    def _fold_coefficients(self) -> list[np.ndarray] | None:
        blocks = (self._word, self._char)
        if len(self._data.classes) <= 2 or any(v.norm != "l2" for v in blocks):
            return None
        folded = []
        start = 0
        for vectorizer, width in zip(blocks, (self._n_word, self._n_char), strict=True):
            idf = vectorizer.idf_ if vectorizer.use_idf else np.ones(width)
            coef = self._data.coef[:, start : start + width]
            folded.append(np.column_stack([(coef * idf).T, idf**2]))  # see add_block_scores
            start += width
        return folded

    def explain(
        self, batch: FastBatch, targets: np.ndarray, weights: np.ndarray, k: int
    ) -> list[list[tuple[str, float]]]:
        """The k terms that pushed each row towards its target class, for the whole chunk.

        Gives what ``CaseClassifier`` gives row by row (its ``_explain_row``): a word
        feature's share is its TF-IDF value times its weight; a character n-gram's share is
        split over the tokens of the row that contain it, in proportion to how often they
        occur, and credited to the token's shown form (its stem). ``weights`` holds one row of
        (centred) coefficients per class; ``targets`` the row to use for each text.
        """
        with self._lock:
            return self._explain(batch, targets, weights, k)

    def _explain(
        self, batch: FastBatch, targets: np.ndarray, weights: np.ndarray, k: int
    ) -> list[list[tuple[str, float]]]:
        n = batch.n_rows
        word_x = _idf_and_norm(self._word, batch.word_tf)
        char_x = _idf_and_norm(self._char, batch.char_tf)
        word_rows = np.repeat(np.arange(n), np.diff(word_x.indptr))
        word_values = word_x.data * weights[targets[word_rows], word_x.indices]
        # How many occurrences of the row's tokens contain each n-gram: the same product as
        # the counts, over presence instead of counts, so its entries line up with char_x's.
        docs, tokens, tables = batch._docs, batch._tokens, batch._tables
        presence = tables.presence
        owners = (_occurrences(n, docs, tokens, presence.shape[0]) @ presence).tocsr()
        if not (
            np.array_equal(owners.indptr, char_x.indptr)
            and np.array_equal(owners.indices, char_x.indices)
        ):  # scipy's product ordered them differently: line them up by sorting both
            owners.sort_indices()
            char_x.sort_indices()
        char_rows = np.repeat(np.arange(n), np.diff(char_x.indptr))
        char_values = char_x.data * weights[targets[char_rows], self._n_word + char_x.indices]
        share = char_values / owners.data

        # Each distinct (row, token) pair collects the shares of the n-grams its token holds.
        size = presence.shape[0]
        pair, count = np.unique(docs * size + tokens, return_counts=True)
        pair_doc, pair_token = np.divmod(pair, size)
        lengths = np.diff(presence.indptr)[pair_token]
        pair_of = np.repeat(np.arange(len(pair)), lengths)
        within = np.arange(len(pair_of)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        grams = presence.indices[np.repeat(presence.indptr[pair_token], lengths) + within]
        found = _lookup(n, self._n_char, char_x.indptr, char_x.indices, share,
                        pair_doc[pair_of], grams)  # fmt: skip
        credit = np.bincount(pair_of, weights=found, minlength=len(pair)) * count

        width = self._n_word + len(tables.extra_terms)
        scores = sp.csr_matrix(
            (
                np.concatenate([word_values, credit]),
                (
                    np.concatenate([word_rows, pair_doc]),
                    np.concatenate([word_x.indices, tables.shown[pair_token]]),
                ),
            ),
            shape=(n, width),
        )
        scores.sum_duplicates()
        return self._top_terms(scores, k, list(tables.extra_terms))

    def _top_terms(
        self, scores: sp.csr_matrix, k: int, extra: list[str]
    ) -> list[list[tuple[str, float]]]:
        """The k entries of each row largest in absolute value, ties broken by the term."""
        names = self._word_names
        n = scores.shape[0]
        rows = np.repeat(np.arange(n), np.diff(scores.indptr))
        keep = (scores.data != 0.0) & ~self._placeholder_terms(extra)[scores.indices]
        values, terms, rows = scores.data[keep], scores.indices[keep], rows[keep]
        # Per row, the k-th largest |value| (k rounds of "remove the row's maximum"): every
        # entry at least that large is a candidate, so only a handful per row are sorted.
        size = np.abs(values)
        left = size.copy()
        floor = np.zeros(n)
        for _ in range(k):
            present = np.flatnonzero(np.bincount(rows, minlength=n))
            if not len(present):
                break
            starts = np.searchsorted(rows, present)
            top = np.full(n, np.inf)
            top[present] = np.maximum.reduceat(left, starts)
            floor = np.where(np.isfinite(top), top, floor)
            left = np.where(left >= top[rows], -1.0, left)
        chosen = np.flatnonzero(size >= floor[rows])
        bounds = np.searchsorted(rows[chosen], np.arange(n + 1))
        picked_terms = terms[chosen].tolist()
        picked_values = values[chosen].tolist()
        out: list[list[tuple[str, float]]] = []
        for r in range(n):
            found = [
                (names[t] if t < len(names) else extra[t - len(names)], v)
                for t, v in zip(
                    picked_terms[bounds[r] : bounds[r + 1]],
                    picked_values[bounds[r] : bounds[r + 1]],
                    strict=True,
                )
            ]
            found.sort(key=lambda tv: (-abs(tv[1]), tv[0]))
            out.append([(term, round(value, 6)) for term, value in found[:k]])
        return out

    def _placeholder_terms(self, extra: list[str]) -> np.ndarray:
        """Which term ids are masking placeholders (``_telepon_``, …), never shown as terms."""
        words = self.__dict__.get("_placeholder_words")
        if words is None:
            words = np.array([is_placeholder_term(t) for t in self._word_names], dtype=bool)
            self.__dict__["_placeholder_words"] = words
        return np.concatenate([words, np.array([is_placeholder_term(t) for t in extra], bool)])

    def _tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Document index and final token id of every token of the chunk, documents in order.

        The tokenizer's matches never contain whitespace, so a text's tokens are the tokens of
        its whitespace-separated pieces, in order, and each distinct piece is tokenised once.
        Cleaning (NFKC, control characters, lower case) and identifier masking reduce to
        Arrow's ASCII lower-casing on rows that are ASCII once the safe symbols are replaced
        and hold nothing to mask; the other rows are cleaned and masked in Python.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            array = pa.array(texts, type=pa.string())
        except UnicodeEncodeError:
            # Lone surrogates (a JSON "\\ud800" escape) cannot become UTF-8. Every step treats
            # one as it treats "#" (not a word character, not space), so they become "#".
            texts = [_SURROGATE.sub("#", t) for t in texts]
            array = pa.array(texts, type=pa.string())
        ascii_rows = pc.string_is_ascii(array)
        if not pc.all(ascii_rows).as_py():
            others = pc.invert(ascii_rows)
            simpler = pc.replace_substring_regex(
                array.filter(others), pattern=_safe_symbols(), replacement="#"
            )
            array = pc.replace_with_mask(array, others, simpler)
            ascii_rows = pc.string_is_ascii(array)
        python = pc.invert(ascii_rows)
        if self._mask_pii:
            python = pc.or_(python, pc.match_substring_regex(array, PII_CANDIDATE))
        lowered = pc.ascii_lower(array)
        python_rows = np.flatnonzero(python.to_numpy(zero_copy_only=False)).tolist()
        if python_rows:
            mask = self._mask_pii
            cleaned = [clean_text(mask_pii(texts[i]) if mask else texts[i]) for i in python_rows]
            lowered = pc.replace_with_mask(lowered, python, pa.array(cleaned, type=pa.string()))
        data, offsets = _utf8(lowered)
        rows, ids, starts, ends, hashes = split_pieces(
            data, offsets, self._piece_slots, *self._piece_keys[1:]
        )
        unknown = np.flatnonzero(ids < 0)
        if len(unknown):
            first = self._n_pieces
            new: dict[bytes, int] = {}
            for i, start, end, key in zip(
                unknown.tolist(),
                starts[unknown].tolist(),
                ends[unknown].tolist(),
                hashes[unknown].tolist(),
                strict=True,
            ):
                raw = data[start:end].tobytes()
                found = new.get(raw)
                if found is None:
                    found = new[raw] = self._add_piece(raw, key)
                ids[i] = found
            self._sync_tables()
            self._enter_pieces(first)
        return expand_pieces(rows, ids, *self._piece_arrays)

    def _enter_pieces(self, first: int) -> None:
        """Put pieces ``first`` onwards into the hash table, first doubling it if it would be
        more than half full."""
        if 2 * self._n_pieces > len(self._piece_slots):
            size = 1 << (4 * self._n_pieces).bit_length()
            self._piece_slots = np.full((size, 2), -1, np.int64)
            first = 0
        insert_pieces(self._piece_slots, self._piece_keys[0], first, self._n_pieces)

    def _word_occurrences(
        self, n: int, docs: np.ndarray, tokens: np.ndarray
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        """Rows × word features, one entry per occurrence, and each row's vocabulary share."""
        ids = self._word_array[tokens] if len(tokens) else np.zeros(0, np.int64)
        irregular = np.unique(docs[ids == _IRREGULAR])
        if len(irregular):  # their rows are counted by the vectorizer's own analyzer below
            ids = np.where(np.isin(docs, irregular), _STOP, ids)
        row_ptr, features, known, total = word_ngrams(
            n, docs, ids, self._unigram, self._low, self._high, self._base, *self._ngram_tables
        )
        occurrences = _csr_view(
            np.ones(len(features), np.int32), features, row_ptr, (n, self._n_word)
        )
        share = np.divide(known, total, out=np.zeros(n), where=total > 0)
        if len(irregular):
            occurrences = occurrences + self._irregular_rows(n, irregular, docs, tokens, share)
        return occurrences, share

    def _irregular_rows(
        self,
        n: int,
        rows: np.ndarray,
        docs: np.ndarray,
        tokens: np.ndarray,
        share: np.ndarray,
    ) -> sp.csr_matrix:
        """Word counts (and vocabulary share) of rare rows, by the vectorizer's own analyzer."""
        vocabulary = self._word.vocabulary_
        r: list[int] = []
        c: list[int] = []
        for d in rows.tolist():
            text = " ".join(self._strings[g] for g in tokens[docs == d].tolist())
            for gram in _ngrams(self._word_analyzer(text), self._low, self._high):
                if (j := vocabulary.get(gram)) is not None:
                    r.append(d)
                    c.append(j)
            words = self._word_analyzer(text)
            share[d] = sum(w in vocabulary for w in words) / len(words) if words else 0.0
        return sp.csr_matrix((np.ones(len(r), np.int32), (r, c)), shape=(n, self._n_word))


def _occurrences(n: int, docs: np.ndarray, tokens: np.ndarray, width: int) -> sp.csr_matrix:
    """Rows × token ids, one entry per occurrence (repeats are summed by any product)."""
    return sp.csr_matrix((np.ones(len(tokens)), tokens, _indptr(docs, n)), shape=(n, width))


def _utf8(array: object) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of an Arrow string array and each text's offsets into them (no copy)."""
    _, offsets, data = array.buffers()  # type: ignore[attr-defined]
    first = array.offset  # type: ignore[attr-defined]
    bounds = np.frombuffer(offsets, np.int32)[first : first + len(array) + 1]  # type: ignore[arg-type]
    return (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)), bounds


def _csr_view(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """A CSR matrix over existing arrays: scipy's constructor would copy them every chunk."""
    matrix = sp.csr_matrix(shape, dtype=data.dtype)
    matrix.data, matrix.indices, matrix.indptr = data, indices, indptr
    return matrix


def _lookup(
    n: int,
    width: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    rows: np.ndarray,
    columns: np.ndarray,
    block: int = 64,
) -> np.ndarray:
    """``matrix[rows, columns]`` for a CSR matrix and row-sorted queries, a block of rows at
    a time through one reused dense buffer (scipy's own element lookup is far slower)."""
    dense = np.zeros(block * width)
    out = np.zeros(len(rows))
    bounds = np.searchsorted(rows, np.arange(0, n + block, block))
    for b, start in enumerate(range(0, n, block)):
        lo, hi = indptr[start], indptr[min(start + block, n)]
        local_rows = np.repeat(
            np.arange(min(block, n - start)), np.diff(indptr[start : start + block + 1])
        )
        flat = local_rows * width + indices[lo:hi]
        dense[flat] = values[lo:hi]
        q_lo, q_hi = bounds[b], bounds[b + 1]
        out[q_lo:q_hi] = dense[(rows[q_lo:q_hi] - start) * width + columns[q_lo:q_hi]]
        dense[flat] = 0.0
    return out


def _indptr(sorted_docs: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(sorted_docs, minlength=n))])


def _sublinear(block: BlockData, counts: sp.csr_matrix) -> sp.csr_matrix:
    """The tf step of ``TfidfTransformer.transform``: ``1 + log(count)`` when sublinear."""
    X = counts.astype(block.dtype, copy=False)
    if block.sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    return X


def _idf_and_norm(block: BlockData, tf: sp.csr_matrix) -> sp.csr_matrix:
    """The rest of ``TfidfTransformer.transform``: idf, then the row norm computed as
    scikit-learn's ``normalize`` computes it (same loop, same order of sums)."""
    X = tf.copy()
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


def _check_supported(data: ModelData) -> tuple[BlockData, BlockData]:
    word, char = data.blocks
    common = {"lowercase": False, "strip_accents": None, "binary": False, "input": "content"}
    for block in (word, char):
        if any(getattr(block, k) != v for k, v in common.items()):
            raise UnsupportedPipeline("vectorizer preprocessing the fast path does not mirror")
        if block.norm not in ("l2", "l1", None):
            raise UnsupportedPipeline(f"norm {block.norm!r}")
    if word.analyzer != "word" or not isinstance(word.tokenizer, WordAnalyzer):
        raise UnsupportedPipeline("word block does not use WordAnalyzer")
    if char.analyzer != "char_wb":
        raise UnsupportedPipeline(f"char analyzer {char.analyzer!r}")
    if word.ngram_range[0] < 1 or word.ngram_range[1] > 3:
        raise UnsupportedPipeline(f"word n-grams {word.ngram_range}")
    return word, char


@cache
def _safe_symbols() -> str:
    """A character class of non-ASCII symbols that act exactly like ``#`` in every step.

    Curly quotes, dashes, bullets, ellipses, arrows, emoji: punctuation or symbols that NFKC
    and ``str.lower`` leave alone, that are neither word characters nor whitespace for
    Python's ``re`` and that no identifier pattern uses. Replacing them by ``#`` keeps a row on
    the ASCII path without changing a single token.
    """
    blocks = [(0x80, 0x2FF), (0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE30, 0xFE4F),
              (0x1F000, 0x1FAFF)]  # fmt: skip
    word_or_space = re.compile(r"[\w\s]")
    safe = [
        c
        for lo, hi in blocks
        for c in map(chr, range(lo, hi + 1))
        if unicodedata.category(c)[0] in "PS"
        and unicodedata.normalize("NFKC", c) == c
        and c.lower() == c
        and not word_or_space.match(c)
        and not CONTROL_CHARACTERS.match(c)
        and unicodedata.combining(c) == 0
    ]
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in safe) + "]"


def build_fast_path(model: ModelData | Pipeline) -> FastPath | None:
    """The fast path for a bundle's numbers or a fitted pipeline, or None (with the reason
    logged) if unsupported."""
    try:
        return FastPath(model)
    except UnsupportedPipeline as exc:
        log.info("fast inference not available, using the pipeline itself: %s", exc)
        return None
