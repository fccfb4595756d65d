"""The fast path's memory of text it has seen: whitespace-free pieces and the tokens in them.

A case file repeats the same few thousand words; tokenising, normalising, stemming and cutting
each into character n-grams is Python work, so it is done once per distinct piece of text and
kept here, as flat NumPy arrays the compiled loops (``sw_nlp.kernels``) read directly:

- a piece (``"anak-anak,"``) is found by its UTF-8 bytes in an open-addressing hash table
  (``piece_kernels.split_pieces``) and holds a slice of final token ids;
- a final (normalised) token holds its word-token id (or ``STOP``/unknown/irregular), the
  term an explanation credits it to, and its char n-gram counts as rows of a CSR matrix.

The arrays grow by appending (``Growing``) and the whole cache starts afresh once it holds
``MAX_CACHED_TOKENS`` pieces or tokens, so memory stays bounded on any input. Views taken
before a reset or a growth stay valid: a chunk that took them keeps reading what it saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from sw_nlp.features import char_wb_grams
from sw_nlp.jit import running_compiled
from sw_nlp.piece_kernels import expand_pieces, insert_pieces, padded_words, split_pieces
from sw_nlp.pii import is_placeholder_term
from sw_nlp.preprocess import WordAnalyzer, normalise_token, tokenize
from sw_nlp.text_kernels import STOP, build_gram_table, token_grams

# Word-token ids that are not vocabulary tokens: unknown, a stopword (skipped by word n-grams),
# a token that the word analyzer turns into something with a space in it.
UNKNOWN, IRREGULAR = -1, -3
MAX_CACHED_TOKENS = 1 << 18  # distinct pieces or tokens kept between chunks


class Growing:
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


@dataclass(frozen=True)
class TokenRules:
    """What the model says about one token: how to normalise it and what its features are."""

    lexicon: dict[str, str]
    numbers_as_token: bool
    word_analyzer: WordAnalyzer
    word_token_ids: dict[str, int]  # tokens that word features are made of
    word_vocabulary: dict[str, int]  # word feature -> column (explanation term ids)
    char_vocabulary: dict[str, int]
    char_ngrams: tuple[int, int]


@dataclass(frozen=True)
class TokenTables:
    """The cache's arrays as one chunk saw them (views, no copies)."""

    word_id: np.ndarray  # final token -> word-token id
    shown: np.ndarray  # final token -> term id in explanations
    gram_ptr: np.ndarray  # final token -> its char n-grams (CSR rows)
    gram_ids: np.ndarray
    gram_counts: np.ndarray
    strings: list[str]  # final token -> itself
    extra_terms: list[str]  # terms after the word features (shown forms of other tokens)
    hidden: np.ndarray  # term id -> a masking placeholder, never shown


_ARRAYS = (
    ("piece_start", np.int64), ("piece_len", np.int64), ("piece_ids", np.int64),
    ("piece_key", np.uint64), ("piece_bytes_at", np.int64), ("piece_bytes", np.uint8),
    ("word_id", np.int64), ("shown_term", np.int64), ("char_indptr", np.int32),
    ("char_indices", np.int32), ("char_counts", np.int32), ("hidden", np.bool_),
)  # fmt: skip


class TokenCache:
    """Pieces and final tokens seen so far, and what the model makes of each.

    Not thread-safe: its owner (``FastPath``) holds a lock around ``tokens`` and ``tables``.
    """

    def __init__(self, rules: TokenRules) -> None:
        self._rules = rules
        self._n_word = len(rules.word_vocabulary)
        self._word_names = [""] * self._n_word
        for term, index in rules.word_vocabulary.items():
            self._word_names[index] = term
        self._word_hidden = [is_placeholder_term(t) for t in self._word_names]
        self._gram_table: tuple[np.ndarray, ...] | None = None  # built on first use
        self.reset()

    def reset(self) -> None:
        """Forget every piece and token (the arrays of chunks under way stay as they were)."""
        self._n_pieces = 0
        self._piece_slots = np.full((1 << 12, 2), -1, np.int64)
        self._pending_bytes = bytearray()
        self._final: dict[str, int] = {}  # final (normalised) token -> id
        self._strings: list[str] = []
        self._new_tokens: list[str] = []  # their char n-grams are found at the next _sync
        self._extra_terms: dict[str, int] = {}
        self._arrays = {name: Growing(dtype) for name, dtype in _ARRAYS}
        self._pending: dict[str, list[float]] = {name: [] for name, _ in _ARRAYS}
        self._pending["char_indptr"].append(0)
        self._pending["piece_bytes_at"].append(0)
        self._pending["hidden"].extend(self._word_hidden)
        self._n_piece_ids = 0
        self._n_char_entries = 0
        self._sync()

    @property
    def full(self) -> bool:
        return max(self._n_pieces, len(self._strings)) > MAX_CACHED_TOKENS

    def tokens(self, data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row index and final token id of every token of the texts, rows in order.

        Text ``r`` is ``data[offsets[r]:offsets[r + 1]]``, cleaned UTF-8. The tokenizer's
        matches never contain whitespace, so a text's tokens are the tokens of its pieces
        between whitespace, in order; a piece not seen before is tokenised here, once.
        """
        ptr, ids, new_start, new_end, new_key = split_pieces(
            data, padded_words(data), offsets, self._piece_slots, *self._piece_keys[1:]
        )
        if len(new_key):
            first = self._n_pieces
            new = ids < 0
            ids[new] = first - 1 - ids[new]  # the u-th new piece (-1 - u) gets id first + u
            view = memoryview(data)  # no copy of the chunk for its few new pieces
            bounds = zip(new_start.tolist(), new_end.tolist(), strict=True)
            raws = [view[a:b].tobytes() for a, b in bounds]
            self._add_pieces(raws, new_key.tolist())
            self._sync()
            self._enter_pieces(first)
        return expand_pieces(ptr, ids, *self._piece_arrays)

    def tables(self) -> TokenTables:
        """The arrays as they are now, for a chunk to read however the cache changes later."""
        view = self._views
        return TokenTables(
            word_id=view["word_id"],
            shown=view["shown_term"],
            gram_ptr=view["char_indptr"],
            gram_ids=view["char_indices"],
            gram_counts=view["char_counts"],
            strings=self._strings,
            extra_terms=list(self._extra_terms),
            hidden=view["hidden"],
        )

    @property
    def word_names(self) -> list[str]:
        return self._word_names

    # -- new pieces and tokens -----------------------------------------------------------------

    def _add_pieces(self, raws: list[bytes], keys: list[int]) -> None:
        """Tokenise and normalise new whitespace-free pieces (``"anak-anak,"``, ``"(lansia)"``),
        given as their UTF-8 bytes and keys (``piece_kernels._piece_key``), distinct, in order of first occurrence."""
        rules = self._rules
        lexicon, numbers = rules.lexicon, rules.numbers_as_token
        final, final_id = self._final, self._final_id
        ids: list[int] = []
        lengths: list[int] = []
        for raw in raws:
            piece = raw.decode("utf-8")
            # Most pieces are one plain word, which is its own only token: no regex needed.
            tokens = [piece] if piece.isascii() and piece.isalnum() else tokenize(piece)
            before = len(ids)
            for token in tokens:
                for t in normalise_token(token, lexicon, numbers).split():
                    found = final.get(t)
                    ids.append(final_id(t) if found is None else found)
            lengths.append(len(ids) - before)
        self._n_pieces += len(raws)
        pending = self._pending
        pending["piece_key"].extend(keys)
        bytes_at = len(self._pending_bytes) + self._arrays["piece_bytes"].size
        self._pending_bytes += b"".join(raws)
        pending["piece_bytes_at"].extend(list(accumulate(map(len, raws), initial=bytes_at))[1:])
        pending["piece_start"].extend(accumulate(lengths[:-1], initial=self._n_piece_ids))
        pending["piece_len"].extend(lengths)
        pending["piece_ids"].extend(ids)
        self._n_piece_ids += len(ids)

    def _final_id(self, token: str) -> int:
        found = self._final.get(token)
        if found is not None:
            return found
        rules = self._rules
        words = rules.word_analyzer(token)
        if not words:
            word_id = STOP
        elif len(words) == 1 and words[0].split() == words:  # no whitespace inside
            word_id = rules.word_token_ids.get(words[0], UNKNOWN)
        else:  # a stem with a space in it (the stemmer's output on odd letters)
            word_id = IRREGULAR
        # What an explanation calls this token: its stem, or itself when it is a stopword.
        shown = words[0] if words else token
        pending = self._pending
        term = rules.word_vocabulary.get(shown)
        if term is None:
            extra = self._extra_terms.get(shown)
            if extra is None:
                extra = self._extra_terms[shown] = len(self._extra_terms)
                pending["hidden"].append(is_placeholder_term(shown))
            term = self._n_word + extra
        new = len(self._strings)
        self._final[token] = new
        self._strings.append(token)
        self._new_tokens.append(token)
        pending["word_id"].append(word_id)
        pending["shown_term"].append(term)
        return new

    def _add_grams(self) -> None:
        """The char n-gram features of the tokens added since the last call, in one compiled
        pass over their code points (``text_kernels.token_grams``), as CSR rows after the
        cache's."""
        new, self._new_tokens = self._new_tokens, []
        if not new:
            return
        if running_compiled():
            table = self._char_table()
            chars = _code_points("".join(new))
            ptr = np.zeros(len(new) + 1, np.int64)
            np.cumsum(np.fromiter(map(len, new), np.int64, len(new)), out=ptr[1:])
            gram_ptr, columns, counts = token_grams(chars, ptr, *self._rules.char_ngrams, *table)
        else:  # a small chunk: a dict look-up per n-gram beats building the table
            gram_ptr, columns, counts = self._python_grams(new)
        arrays = self._arrays
        arrays["char_indices"].extend(columns)
        arrays["char_counts"].extend(counts)
        arrays["char_indptr"].extend(gram_ptr[1:] + self._n_char_entries)
        self._n_char_entries += len(columns)

    def _python_grams(self, new: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``token_grams``' result for a few tokens, by ``char_wb_grams`` and the vocabulary
        dict: what it computes, without the table that a compiled pass pays back."""
        vocabulary = self._rules.char_vocabulary
        ptr, columns, counts = [0], [], []
        for token in new:
            found = Counter(
                j
                for j in map(vocabulary.get, char_wb_grams(token, *self._rules.char_ngrams))
                if j is not None
            )
            columns.extend(found)
            counts.extend(found.values())
            ptr.append(len(columns))
        return np.array(ptr, np.int64), np.array(columns, np.int32), np.array(counts, np.int32)

    def _char_table(self) -> tuple[np.ndarray, ...]:
        """The char vocabulary as ``token_grams`` reads it: a hash table, every gram's code
        points and each one's feature (built once, on the first new token: ~10 ms)."""
        if self._gram_table is None:
            vocabulary = self._rules.char_vocabulary
            grams = list(vocabulary)
            ptr = np.zeros(len(grams) + 1, np.int64)
            np.cumsum(np.fromiter(map(len, grams), np.int64, len(grams)), out=ptr[1:])
            chars = _code_points("".join(grams))
            features = np.fromiter(vocabulary.values(), np.int64, len(grams))
            slots = build_gram_table(chars, ptr, 1 << (2 * max(len(grams), 1)).bit_length())
            self._gram_table = (slots, chars, ptr, features)
        return self._gram_table

    def _sync(self) -> None:
        """Move the new entries into the arrays and take views of them."""
        self._add_grams()
        for name, values in self._pending.items():
            if values:
                self._arrays[name].extend(values)
                values.clear()
        if self._pending_bytes:
            self._arrays["piece_bytes"].extend(np.frombuffer(self._pending_bytes, np.uint8))
            self._pending_bytes.clear()
        view = {name: table.view for name, table in self._arrays.items()}
        self._views = view
        self._piece_arrays = (view["piece_start"], view["piece_len"], view["piece_ids"])
        self._piece_keys = (view["piece_key"], view["piece_bytes_at"], view["piece_bytes"])

    def _enter_pieces(self, first: int) -> None:
        """Put pieces ``first`` onwards into the hash table, first doubling it if it would be
        more than half full."""
        if 2 * self._n_pieces > len(self._piece_slots):
            size = 1 << (4 * self._n_pieces).bit_length()
            self._piece_slots = np.full((size, 2), -1, np.int64)
            first = 0
        insert_pieces(self._piece_slots, self._piece_keys[0], first, self._n_pieces)


def _code_points(text: str) -> np.ndarray:
    """The text's code points, one uint32 each (lone surrogates kept, as Python has them)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
