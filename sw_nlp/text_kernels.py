"""Compiled loops for the text side of the fast path (``sw_nlp.token_cache``, ``sw_nlp.fast``):

- ``split_pieces``: split texts at whitespace and find each piece by its bytes in a hash
  table (Arrow's split, its dictionary encoding and a Python dict did this in three passes
  and a Python-level lookup per distinct piece); ``insert_pieces`` enters new ones;
- ``expand_pieces``: each piece's cached tokens, row by row;
- ``word_ngrams``: word n-gram features as integer keys in hash tables (built by
  ``sw_nlp.word_index``).

Numba compiles these functions on first use and caches the machine code beside this file (or
in the user's cache folder), so only the first run on a machine pays for compiling.
"""

from __future__ import annotations

import numpy as np

from sw_nlp.jit import kernel


@kernel(cache=True, nogil=True)
def expand_pieces(
    piece_rows: np.ndarray,
    pieces: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    token_ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Row and token id of every token of a chunk, from its whitespace-separated pieces.

    Piece occurrence ``i`` (of row ``piece_rows[i]``) is cached piece ``pieces[i]``, whose
    tokens are ``token_ids[starts[p]:starts[p] + lengths[p]]``. NumPy needs five passes
    (repeat, cumsum, gathers) over the ~80 tokens of each row for what is one loop here.
    """
    total = 0
    for p in pieces:
        total += lengths[p]
    rows = np.empty(total, np.int64)
    tokens = np.empty(total, np.int64)
    k = 0
    for i in range(len(pieces)):
        p = pieces[i]
        row = piece_rows[i]
        for q in range(starts[p], starts[p] + lengths[p]):
            rows[k] = row
            tokens[k] = token_ids[q]
            k += 1
    return rows, tokens


# -- open-addressing hash tables (linear probing), shared by the word n-grams and the pieces --

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@kernel(cache=True, nogil=True)
def _slot(key: int, mask: int) -> int:
    """The first slot to probe for a key (an int64 n-gram key or a uint64 hash): multiplicative
    hashing, so that keys close together land far apart."""
    return int((np.uint64(key) * _GOLDEN) >> np.uint64(32)) & mask


# -- word n-grams as integer keys --------------------------------------------------------------
# An n-gram of word-token ids (a, b, c) is the key (a·base + b)·base + c; each n-gram size has
# an open-addressing hash table of keys (empty slots hold -1) and the feature id of each key.

STOP = -2  # a word-token id that is skipped (a stopword); other negative ids break n-grams


@kernel(cache=True, nogil=True)
def word_ngrams(
    n_rows: int,
    rows: np.ndarray,
    ids: np.ndarray,
    unigram: np.ndarray,
    low: int,
    high: int,
    base: int,
    slots: np.ndarray,
    values: np.ndarray,
) -> tuple:
    """Word features of each row, one entry per occurrence, as CSR parts; and per row the
    number of word tokens and of those that are unigram features (the vocabulary share).

    ``rows`` (sorted) and ``ids`` give each token's row and word-token id: ``STOP`` tokens
    are skipped, so an n-gram spans a removed stopword as scikit-learn's does; any other
    negative id (a token in no feature) ends every n-gram through it. ``slots[s]`` and
    ``values[s]`` are the table for n-grams of ``s`` tokens.
    """
    features = np.empty(len(ids) * (high - low + 1), np.int32)
    row_ptr = np.zeros(n_rows + 1, np.int32)
    known = np.zeros(n_rows, np.int64)
    total = np.zeros(n_rows, np.int64)
    window = np.empty(high, np.int64)  # the row's last kept tokens, newest last
    mask = slots.shape[1] - 1
    k = 0
    e = 0
    for r in range(n_rows):
        filled = 0
        while e < len(rows) and rows[e] == r:
            t = ids[e]
            e += 1
            if t == STOP:
                continue
            total[r] += 1
            for i in range(high - 1):
                window[i] = window[i + 1]
            window[high - 1] = t
            filled += 1
            if t < 0:
                continue
            if unigram[t] >= 0:
                known[r] += 1
                if low == 1:
                    features[k] = unigram[t]
                    k += 1
            key = t
            scale = 1
            for size in range(2, min(filled, high) + 1):
                part = window[high - size]
                if part < 0:
                    break
                scale *= base
                key += part * scale
                if size < low:
                    continue
                h = _slot(key, mask)
                while slots[size, h] != -1:
                    if slots[size, h] == key:
                        features[k] = values[size, h]
                        k += 1
                        break
                    h = (h + 1) & mask
        row_ptr[r + 1] = k
    return row_ptr, features[:k], known, total


# -- whitespace-separated pieces of text, looked up by their UTF-8 bytes ----------------------
# Known pieces live in a hash table of (FNV-1a hash, piece id) rows, a power of two of them;
# the table and the hash are in one row so that most probes read one cache line.

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@kernel(cache=True, nogil=True)
def _is_space(byte: int) -> bool:
    """ASCII whitespace as Arrow's ``ascii_split_whitespace`` has it: space, \\t \\n \\v \\f \\r."""
    return byte == 32 or 9 <= byte <= 13


@kernel(cache=True, nogil=True)
def split_pieces(
    data: np.ndarray,
    offsets: np.ndarray,
    slots: np.ndarray,
    key_start: np.ndarray,
    key_data: np.ndarray,
) -> tuple:
    """Every piece of the texts between ASCII whitespace (as Arrow's ``ascii_split_whitespace``,
    without its empty pieces): its row, its known piece id (-1 if new), its bytes' bounds and
    hash. Text ``r`` is ``data[offsets[r]:offsets[r + 1]]`` (UTF-8; a byte below 0x80 is never
    part of a longer character, so splitting on bytes splits on characters).

    ``slots`` is the table: a row per slot, ``(hash, piece id)``, id -1 when empty; piece
    ``p``'s bytes are ``key_data[key_start[p]:key_start[p + 1]]``, compared on a hash match.
    """
    # At most one piece per two bytes, plus one per text: allocate that, fill, return views.
    most = (offsets[-1] - offsets[0]) // 2 + len(offsets)
    rows = np.empty(most, np.int64)
    ids = np.empty(most, np.int64)
    starts = np.empty(most, np.int64)
    ends = np.empty(most, np.int64)
    hashes = np.empty(most, np.uint64)
    mask = len(slots) - 1
    k = 0
    for r in range(len(offsets) - 1):
        i = offsets[r]
        stop = offsets[r + 1]
        while i < stop:
            while i < stop and _is_space(data[i]):
                i += 1
            if i == stop:
                break
            start = i
            h = _FNV_OFFSET
            while i < stop and not _is_space(data[i]):
                h = (h ^ np.uint64(data[i])) * _FNV_PRIME
                i += 1
            found = -1
            s = _slot(h, mask)
            while slots[s, 1] >= 0:
                if np.uint64(slots[s, 0]) == h:
                    p = slots[s, 1]
                    a = key_start[p]
                    if key_start[p + 1] - a == i - start:
                        same = True
                        for b in range(i - start):
                            if key_data[a + b] != data[start + b]:
                                same = False
                                break
                        if same:
                            found = p
                            break
                s = (s + 1) & mask
            rows[k] = r
            ids[k] = found
            starts[k] = start
            ends[k] = i
            hashes[k] = h
            k += 1
    return rows[:k], ids[:k], starts[:k], ends[:k], hashes[:k]


@kernel(cache=True, nogil=True)
def insert_pieces(slots: np.ndarray, key_hash: np.ndarray, first: int, last: int) -> None:
    """Enter pieces ``first`` to ``last - 1`` (new, distinct) into the table."""
    mask = len(slots) - 1
    for p in range(first, last):
        s = _slot(key_hash[p], mask)
        while slots[s, 1] >= 0:
            s = (s + 1) & mask
        slots[s, 0] = np.int64(key_hash[p])
        slots[s, 1] = p
