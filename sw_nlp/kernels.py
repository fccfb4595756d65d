"""Compiled loops for the fast path (``sw_nlp.fast``), one per step that NumPy or SciPy could
only do in several passes over a chunk:

- ``split_pieces``: split texts at whitespace and find each piece by its bytes in a hash
  table (Arrow's split, its dictionary encoding and a Python dict did this in three passes
  and a Python-level lookup per distinct piece);
- ``expand_pieces``: each piece's cached tokens, row by row;
- ``word_ngrams``: word n-gram features as integer keys in hash tables;
- ``add_block_scores``: a TF-IDF block's contribution to the classifier's scores. The
  character block touches about 1,500 (token, n-gram) pairs per case; SciPy did that as a
  sparse product in two passes (size, then values) and then needed separate passes for the tf
  step, the row norms and the dot product with the coefficients. One loop per row does it all
  while the row's counts are still in cache, in about half the time.

Numba compiles these functions on first use and caches the machine code beside this file (or
in the user's cache folder), so only the first run on a machine pays for compiling.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# 1 + log(count) for the counts a case can hold, looked up rather than computed: a logarithm
# per distinct n-gram was a third of the loop's time.
_TABLE_SIZE = 4096


def sublinear_table(sublinear: bool) -> np.ndarray:
    """tf weight of each small count: ``1 + log(count)`` (sublinear tf) or the count itself."""
    counts = np.arange(_TABLE_SIZE, dtype=np.float64)
    if not sublinear:
        return counts
    table = np.zeros(_TABLE_SIZE)
    table[1:] = 1.0 + np.log(counts[1:])
    return table


@njit(cache=True, nogil=True)
def add_block_scores(
    row_ptr: np.ndarray,
    items: np.ndarray,
    item_times: np.ndarray,
    item_ptr: np.ndarray,
    item_features: np.ndarray,
    item_counts: np.ndarray,
    tf_table: np.ndarray,
    sublinear: bool,
    weights: np.ndarray,
    scores: np.ndarray,
) -> None:
    """Add ``x · w`` for each row's l2-normalised TF-IDF vector ``x`` to ``scores``.

    Row ``r`` holds the items ``items[row_ptr[r]:row_ptr[r + 1]]`` (token or feature
    occurrences), each ``item_times`` times; item ``i`` holds feature ``item_features[q]``
    ``item_counts[q]`` times for ``q`` in ``item_ptr[i]:item_ptr[i + 1]``. Repeats of a
    feature in a row are summed before the tf step, as ``CountVectorizer`` counts them.

    ``weights`` has a row per feature: the coefficients of each class with the idf folded in,
    then ``idf²``, so ``x · w = Σ tf_j (idf_j w_j) / sqrt(Σ (tf_j idf_j)²)`` reads one row of
    memory per feature (the arrays are larger than the cache; that read is the loop's cost).
    """
    n_features = weights.shape[0]
    n_classes = scores.shape[1]
    table_size = tf_table.shape[0]
    counts = np.zeros(n_features, np.int32)  # int32: half the cache lines of int64
    touched = np.empty(n_features, np.int32)
    row_scores = np.empty(n_classes)
    for r in range(len(row_ptr) - 1):
        n_touched = 0
        for e in range(row_ptr[r], row_ptr[r + 1]):
            item = items[e]
            times = item_times[e]
            for q in range(item_ptr[item], item_ptr[item + 1]):
                j = item_features[q]
                if counts[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                counts[j] += times * item_counts[q]
        if n_touched == 0:
            continue
        norm_squared = 0.0
        row_scores[:] = 0.0
        for t in range(n_touched):
            j = touched[t]
            count = counts[j]
            counts[j] = 0
            if count < table_size:
                tf = tf_table[count]
            elif sublinear:
                tf = 1.0 + np.log(count)
            else:
                tf = float(count)
            norm_squared += tf * tf * weights[j, n_classes]
            for k in range(n_classes):
                row_scores[k] += tf * weights[j, k]
        if norm_squared > 0.0:  # else an all-zero row, left as it is (as sklearn's normalize)
            norm = np.sqrt(norm_squared)
            for k in range(n_classes):
                scores[r, k] += row_scores[k] / norm


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _slot(key: int, mask: int) -> int:
    """The first slot to probe for a key (an int64 n-gram key or a uint64 hash): multiplicative
    hashing, so that keys close together land far apart."""
    return int((np.uint64(key) * _GOLDEN) >> np.uint64(32)) & mask


# -- word n-grams as integer keys --------------------------------------------------------------
# An n-gram of word-token ids (a, b, c) is the key (a·base + b)·base + c; each n-gram size has
# an open-addressing hash table of keys (empty slots hold -1) and the feature id of each key.

STOP = -2  # a word-token id that is skipped (a stopword); other negative ids break n-grams


@njit(cache=True)
def build_key_table(keys: np.ndarray, features: np.ndarray, size: int) -> tuple:
    """A hash table of ``size`` slots (a power of two, at least twice the keys)."""
    mask = size - 1
    slots = np.full(size, -1, np.int64)
    values = np.full(size, -1, np.int64)
    for i in range(len(keys)):
        h = _slot(keys[i], mask)
        while slots[h] != -1 and slots[h] != keys[i]:
            h = (h + 1) & mask
        slots[h] = keys[i]
        values[h] = features[i]
    return slots, values


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _is_space(byte: int) -> bool:
    """ASCII whitespace as Arrow's ``ascii_split_whitespace`` has it: space, \\t \\n \\v \\f \\r."""
    return byte == 32 or 9 <= byte <= 13


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def insert_pieces(slots: np.ndarray, key_hash: np.ndarray, first: int, last: int) -> None:
    """Enter pieces ``first`` to ``last - 1`` (new, distinct) into the table."""
    mask = len(slots) - 1
    for p in range(first, last):
        s = _slot(key_hash[p], mask)
        while slots[s, 1] >= 0:
            s = (s + 1) & mask
        slots[s, 0] = np.int64(key_hash[p])
        slots[s, 1] = p


@njit(cache=True, nogil=True)
def normalize_rows(indptr: np.ndarray, data: np.ndarray, l1: bool) -> None:
    """Scale each CSR row to unit l2 (or l1) norm, in place, as scikit-learn's
    ``inplace_csr_row_normalize_l2``/``_l1`` do: the same sequential sum, so the explanations
    of the fast path see the very values the pipeline's ``normalize`` gives (all-zero rows
    are left alone). Here so that the fast path need not import scikit-learn."""
    for i in range(len(indptr) - 1):
        total = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            total += abs(data[j]) if l1 else data[j] * data[j]
        if total == 0.0:
            continue
        if not l1:
            total = np.sqrt(total)
        for j in range(indptr[i], indptr[i + 1]):
            data[j] /= total
