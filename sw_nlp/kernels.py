"""Compiled loops for the fast path (``sw_nlp.fast``), one per step that NumPy or SciPy could
only do in several passes over a chunk:

- ``split_pieces``: split texts at whitespace and find each piece by its bytes in a hash
  table (Arrow's split, its dictionary encoding and a Python dict did this in three passes
  and a Python-level lookup per distinct piece);
- ``expand_pieces``: each piece's cached tokens, row by row;
- ``word_ngrams``: word n-gram features as integer keys in hash tables;
- ``score_rows``: both TF-IDF blocks' contribution to the classifier's scores and each
  row's explanation. The character block touches about 1,500 (token, n-gram) pairs per case;
  SciPy did that as a sparse product in two passes (size, then values) and then needed
  separate passes for the tf step, the row norms, the dot product with the coefficients, and
  again for explanations. One loop per row does it all while the row's counts are still in
  cache, so explaining a row costs little more than scoring it.

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


# How a block's rows are normalised, as the kernels take it (TfidfTransformer's ``norm``).
NORM_NONE, NORM_L1, NORM_L2 = 0, 1, 2
# Columns of a block's per-feature scratch: the row's count, and how many of the row's item
# occurrences hold the feature (a char n-gram's "owners", among whom its share is split).
_COUNT, _OWNERS = 0, 1


@njit(cache=True, nogil=True)
def _count_row(
    r: int,
    row_ptr: np.ndarray,
    items: np.ndarray,
    item_ptr: np.ndarray,
    item_features: np.ndarray,
    item_counts: np.ndarray,
    scratch: np.ndarray,
    touched: np.ndarray,
) -> int:
    """Sum row ``r``'s feature counts and owners into ``scratch``, listing each feature once
    in ``touched`` (first occurrence first); the number listed. One row of ``scratch`` per
    feature keeps both numbers in one cache line."""
    n_touched = 0
    for e in range(row_ptr[r], row_ptr[r + 1]):
        item = items[e]
        for q in range(item_ptr[item], item_ptr[item + 1]):
            j = item_features[q]
            if scratch[j, _COUNT] == 0:
                touched[n_touched] = j
                n_touched += 1
            scratch[j, _COUNT] += item_counts[q]
            scratch[j, _OWNERS] += 1
    return n_touched


@njit(cache=True, nogil=True)
def _score_row(
    n_touched: int,
    touched: np.ndarray,
    scratch: np.ndarray,
    tf_table: np.ndarray,
    sublinear: bool,
    norm_kind: int,
    weights: np.ndarray,
    norm_weights: np.ndarray,
    n_classes: int,
    explaining: bool,
    shares: np.ndarray,
    row_scores: np.ndarray,
) -> float:
    """The row's ``Σ tf_j (idf_j w_j)`` per class (into ``row_scores``) and its TF-IDF norm;
    when explaining, each touched feature's ``tf_j idf_j c_j`` for every class's centred
    weights ``c`` (into ``shares``, by position), read from the same row of weights."""
    table_size = tf_table.shape[0]
    norm = 0.0
    row_scores[:] = 0.0
    for t in range(n_touched):
        j = touched[t]
        count = scratch[j, _COUNT]
        if count < table_size:
            value = tf_table[count]
        elif sublinear:
            value = 1.0 + np.log(count)
        else:
            value = float(count)
        if norm_kind == NORM_L2:
            norm += value * value * norm_weights[j]
        elif norm_kind == NORM_L1:
            norm += value * norm_weights[j]
        for k in range(n_classes):
            row_scores[k] += value * weights[j, k]
        if explaining:
            for k in range(n_classes):
                shares[t, k] = value * weights[j, n_classes + k]
    if norm_kind == NORM_L2:
        return np.sqrt(norm)
    if norm_kind == NORM_L1:
        return norm
    return 1.0 if n_touched else 0.0


@njit(cache=True, nogil=True)
def _clear(n_touched: int, touched: np.ndarray, scratch: np.ndarray) -> None:
    for t in range(n_touched):
        j = touched[t]
        scratch[j, _COUNT] = 0
        scratch[j, _OWNERS] = 0


@njit(cache=True, nogil=True)
def score_rows(
    word_ptr: np.ndarray,
    word_features: np.ndarray,
    token_ptr: np.ndarray,
    tokens: np.ndarray,
    gram_ptr: np.ndarray,
    gram_ids: np.ndarray,
    gram_counts: np.ndarray,
    tf_tables: np.ndarray,
    sublinear: np.ndarray,
    norm_kinds: np.ndarray,
    word_weights: np.ndarray,
    word_norms: np.ndarray,
    char_weights: np.ndarray,
    char_norms: np.ndarray,
    scores: np.ndarray,
    targets: np.ndarray,
    k: int,
    shown: np.ndarray,
    hidden: np.ndarray,
) -> tuple:
    """Each row's classifier scores and, when ``k > 0``, its explanation, in one pass.

    Word block: row ``r`` holds the word features ``word_features[word_ptr[r]:word_ptr[r+1]]``,
    one entry per occurrence. Character block: row ``r`` holds the tokens
    ``tokens[token_ptr[r]:token_ptr[r+1]]``; token ``t`` holds char n-gram
    ``gram_ids[q]`` ``gram_counts[q]`` times for ``q`` in ``gram_ptr[t]:gram_ptr[t+1]``.
    Repeats of a feature in a row are summed before the tf step, as ``CountVectorizer``
    counts them. Block ``b`` (0 word, 1 char) takes its tf from ``tf_tables[b]`` (see
    ``sublinear_table``) and is normalised by ``norm_kinds[b]``.

    A block's ``weights`` has a row per feature, C = ``scores.shape[1]`` classes: ``[0:C]``
    the classifier's coefficients times idf, ``[C:2C]`` the centred coefficients (see
    ``sw_nlp.explain``) times idf; its ``norms`` the norm's own weight (idf² for l2, idf for
    l1). So ``x · w = Σ tf_j (idf_j w_j) / ‖tf ∘ idf‖``, and scoring and explaining read one
    row of weights per feature: with four classes 64 bytes, one cache line when aligned
    (``sw_nlp.fast`` aligns them; the weights are larger than the cache and that read is the
    loop's cost).
    ``scores`` comes in holding the intercepts (or anything, for models scored elsewhere) and
    gets each block's ``x · w`` added.

    Explanations: the row's target class is ``targets[r]``, or, where that is negative, the
    largest score (written back). A word feature's share is ``x_j`` times its centred weight;
    a char n-gram's share is split over the row's distinct tokens that contain it in
    proportion to how often each occurs, and credited to the token's term ``shown[t]``. Of
    the terms with a share that is not 0 and not ``hidden`` (masking placeholders), every one
    whose |share| is at least the row's k-th largest is returned, largest first, as CSR parts
    ``(ptr, terms, shares)``, with ``tied[r]`` set where two of them have the same |share|
    (``sw_nlp.explain.rank_terms`` then orders them by term; it always cuts to k).
    """
    n_rows = len(word_ptr) - 1
    n_classes = scores.shape[1]
    n_word, n_char = word_weights.shape[0], char_weights.shape[0]
    word_scratch = np.zeros((n_word, 2), np.int32)  # int32: fewer cache lines than int64
    char_scratch = np.zeros((n_char, 2), np.int32)
    word_touched = np.empty(n_word, np.int32)
    char_touched = np.empty(n_char, np.int32)
    row_scores = np.empty(n_classes)
    word_items = np.arange(n_word + 1, dtype=np.int32)  # a word feature is its own item
    word_ones = np.ones(n_word, np.int32)
    explaining = k > 0
    word_shares = np.empty((n_word if explaining else 0, n_classes))
    char_shares = np.empty((n_char if explaining else 0, n_classes))
    split = np.empty(n_char if explaining else 0)
    n_terms = len(hidden) if explaining else 0
    n_tokens = len(gram_ptr) - 1 if explaining else 0
    times = np.zeros(n_tokens, np.int64)
    distinct = np.empty(n_tokens, np.int64)
    term_value = np.zeros(n_terms)
    term_seen = np.zeros(n_terms, np.bool_)
    term_touched = np.empty(n_terms, np.int64)
    best = np.empty(max(k, 1))
    out_ptr = np.zeros(n_rows + 1, np.int64)
    tied = np.zeros(n_rows, np.bool_)
    out_terms = np.empty(max(16, n_rows * k), np.int64)
    out_values = np.empty(max(16, n_rows * k))
    m = 0
    for r in range(n_rows):
        n_w = _count_row(r, word_ptr, word_features, word_items, word_items, word_ones,
                         word_scratch, word_touched)  # fmt: skip
        word_norm = _score_row(n_w, word_touched, word_scratch, tf_tables[0], sublinear[0],
                               norm_kinds[0], word_weights, word_norms, n_classes, explaining,
                               word_shares, row_scores)  # fmt: skip
        if word_norm > 0.0:  # else an all-zero row, left as it is (as sklearn's normalize)
            for c in range(n_classes):
                scores[r, c] += row_scores[c] / word_norm
        n_c = _count_row(r, token_ptr, tokens, gram_ptr, gram_ids, gram_counts,
                         char_scratch, char_touched)  # fmt: skip
        char_norm = _score_row(n_c, char_touched, char_scratch, tf_tables[1], sublinear[1],
                               norm_kinds[1], char_weights, char_norms, n_classes, explaining,
                               char_shares, row_scores)  # fmt: skip
        if char_norm > 0.0:
            for c in range(n_classes):
                scores[r, c] += row_scores[c] / char_norm
        if not explaining:
            _clear(n_w, word_touched, word_scratch)
            _clear(n_c, char_touched, char_scratch)
            continue
        target = targets[r]
        if target < 0:
            target = 0
            for c in range(1, n_classes):
                if scores[r, c] > scores[r, target]:
                    target = c
            targets[r] = target
        n_seen = 0
        for t in range(n_w):
            j = word_touched[t]
            if not term_seen[j]:
                term_seen[j] = True
                term_touched[n_seen] = j
                n_seen += 1
            term_value[j] += word_shares[t, target] / word_norm
        n_distinct = 0
        for e in range(token_ptr[r], token_ptr[r + 1]):
            token = tokens[e]
            if times[token] == 0:
                distinct[n_distinct] = token
                n_distinct += 1
            times[token] += 1
        for t in range(n_c):  # each n-gram's share per occurrence that holds it
            j = char_touched[t]
            split[j] = char_shares[t, target] / char_norm / char_scratch[j, _OWNERS]
        for d in range(n_distinct):  # every n-gram of these tokens was set just above
            token = distinct[d]
            credit = 0.0
            for q in range(gram_ptr[token], gram_ptr[token + 1]):
                credit += split[gram_ids[q]]
            term = shown[token]
            if not term_seen[term]:
                term_seen[term] = True
                term_touched[n_seen] = term
                n_seen += 1
            term_value[term] += credit * times[token]
            times[token] = 0
        _clear(n_w, word_touched, word_scratch)
        _clear(n_c, char_touched, char_scratch)
        # The k-th largest |share| among the terms that may be shown, then every such term.
        n_best = 0
        for i in range(n_seen):
            term = term_touched[i]
            size = abs(term_value[term])
            if size == 0.0 or hidden[term]:
                continue
            if n_best == k and size <= best[k - 1]:
                continue
            at = n_best if n_best < k else k - 1
            while at > 0 and best[at - 1] < size:
                best[at] = best[at - 1]
                at -= 1
            best[at] = size
            if n_best < k:
                n_best += 1
        floor = best[n_best - 1] if n_best else np.inf
        first = m
        for i in range(n_seen):
            term = term_touched[i]
            value = term_value[term]
            term_value[term] = 0.0
            term_seen[term] = False
            if value == 0.0 or hidden[term] or abs(value) < floor:
                continue
            if m == len(out_terms):
                grown_terms = np.empty(2 * m, np.int64)
                grown_terms[:m] = out_terms
                out_terms = grown_terms
                grown_values = np.empty(2 * m)
                grown_values[:m] = out_values
                out_values = grown_values
            at = m  # insertion sort, largest |share| first: a handful of entries
            while at > first and abs(out_values[at - 1]) < abs(value):
                out_terms[at] = out_terms[at - 1]
                out_values[at] = out_values[at - 1]
                at -= 1
            out_terms[at] = term
            out_values[at] = value
            m += 1
        for i in range(first + 1, m):
            if abs(out_values[i]) == abs(out_values[i - 1]):
                tied[r] = True
        out_ptr[r + 1] = m
    return out_ptr, out_terms[:m], out_values[:m], tied


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
