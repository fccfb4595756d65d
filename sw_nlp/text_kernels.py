"""Compiled loops for the text side of the fast path (``sw_nlp.token_cache``, ``sw_nlp.fast``),
and the hash-table slot they and ``sw_nlp.piece_kernels`` share:

- ``word_ngrams``: word n-gram features as integer keys in hash tables (built by
  ``sw_nlp.word_index``);
- ``token_grams``: the char n-gram features of the tokens the cache has not seen, looked up in
  a hash table of the vocabulary's code points (``build_gram_table``): a Python slice and
  dict look-up per n-gram were half of a new token's cost.

Numba compiles these functions on first use and caches the machine code beside this file (or
in the user's cache folder), so only the first run on a machine pays for compiling.
"""

from __future__ import annotations

import numpy as np

from sw_nlp.jit import kernel

# -- open-addressing hash tables (linear probing), shared by every table of the kernels -----

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


# -- character n-grams of new tokens, looked up by their code points ----------------------------
# The char vocabulary is a hash table of 8-byte slots, each the top 32 bits of a gram's hash
# and its entry in the vocabulary (-1: empty), so the table is 1 MB for 40k grams, not 4 (a
# probe that misses the cache is the look-up's cost); a gram is compared by its code points
# (``gram_chars[gram_ptr[e]:gram_ptr[e + 1]]``) when the hash's top bits match. Both hash
# with FNV-1a over code points (each taken whole, not by bytes).

_LOW32 = np.int64(0xFFFFFFFF)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@kernel(cache=True, nogil=True)
def _chars_hash(chars: np.ndarray, start: int, end: int) -> np.uint64:
    """FNV-1a over the code points ``chars[start:end]``, as ``token_grams`` computes it."""
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(chars[i])) * _FNV_PRIME
    return h


@kernel(cache=True, nogil=True)
def build_gram_table(gram_chars: np.ndarray, gram_ptr: np.ndarray, size: int) -> np.ndarray:
    """The table of the vocabulary's grams (entries ``0..n-1``), ``size`` slots (a power of
    two; the caller gives at least two per gram, so that a probe for a gram not in it, most
    of them, stops early)."""
    n = len(gram_ptr) - 1
    slots = np.full(size, -1, np.int64)
    mask = size - 1
    for e in range(n):
        h = _chars_hash(gram_chars, gram_ptr[e], gram_ptr[e + 1])
        s = _slot(h, mask)
        while slots[s] != -1:
            s = (s + 1) & mask
        slots[s] = (np.int64(h >> np.uint64(32)) << 32) | e
    return slots


@kernel(cache=True, nogil=True)
def token_grams(
    chars: np.ndarray,
    token_ptr: np.ndarray,
    low: int,
    high: int,
    slots: np.ndarray,
    gram_chars: np.ndarray,
    gram_ptr: np.ndarray,
    gram_feature: np.ndarray,
) -> tuple:
    """Each token's char_wb n-grams that are features, as CSR parts ``(ptr, features,
    counts)``: token ``t`` is the code points ``chars[token_ptr[t]:token_ptr[t + 1]]``.

    The grams are ``features.char_wb_grams``' (the token padded with a space each side, every
    window of ``low`` to ``high`` characters; a padded token no longer than n is one gram and
    ends the sizes), looked up in the vocabulary's table (``build_gram_table``; entry ``e`` is
    feature ``gram_feature[e]``). A feature
    found more than once in a token is listed once, at its first place, with its count, as
    ``collections.Counter`` lists it; the order is the token cache's, which fixes the order of
    the scoring pass's sums.
    """
    n_tokens = len(token_ptr) - 1
    longest = 0
    capacity = 0
    for t in range(n_tokens):
        size = token_ptr[t + 1] - token_ptr[t] + 2
        longest = max(longest, size)
        capacity += (high - low + 1) * size
    padded = np.empty(longest, chars.dtype)
    ptr = np.zeros(n_tokens + 1, np.int64)
    entries = np.empty(capacity, np.int64)
    features = np.empty(capacity, np.int32)
    counts = np.empty(capacity, np.int32)
    place = np.full(len(gram_ptr) - 1, -1, np.int64)  # a gram's place in this token's list
    mask = len(slots) - 1
    k = 0
    for t in range(n_tokens):
        first = k
        size = token_ptr[t + 1] - token_ptr[t] + 2
        padded[0] = 32
        padded[size - 1] = 32
        padded[1 : size - 1] = chars[token_ptr[t] : token_ptr[t + 1]]
        for n in range(low, high + 1):
            whole = size <= n
            for i in range(1 if whole else size - n + 1):
                end = size if whole else i + n
                # The look-up, written out here: a call per gram that passes arrays costs
                # more than the look-up (Numba counts the references of each).
                h = _FNV_OFFSET
                for c in range(i, end):
                    h = (h ^ np.uint64(padded[c])) * _FNV_PRIME
                top = np.int64(h >> np.uint64(32))
                s = _slot(h, mask)
                g = -1
                while slots[s] != -1:
                    if (slots[s] >> 32) & _LOW32 == top:
                        e = slots[s] & _LOW32
                        a = gram_ptr[e]
                        if gram_ptr[e + 1] - a == end - i:
                            same = True
                            for b in range(end - i):
                                if gram_chars[a + b] != padded[i + b]:
                                    same = False
                                    break
                            if same:
                                g = e
                                break
                    s = (s + 1) & mask
                if g < 0:
                    continue
                if place[g] >= 0:
                    counts[place[g]] += 1
                else:
                    place[g] = k
                    entries[k] = g
                    counts[k] = 1
                    k += 1
            if whole:
                break
        for e in range(first, k):
            place[entries[e]] = -1
            features[e] = gram_feature[entries[e]]
        ptr[t + 1] = k
    return ptr, features[:k], counts[:k]
