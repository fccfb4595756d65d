"""Compiled loops for the fast path: a TF-IDF block's contribution to the classifier's scores.

Why compiled: the character block touches about 1,800 (token, n-gram) pairs per case. SciPy
does that as a sparse product in two passes (size, then values), and then needs separate
passes for the tf step, the row norms and the dot product with the coefficients. One loop per
row does all of it while the row's counts are still in cache, in about half the time — and
the character block was the largest single cost of batch classification.

Numba compiles these functions on first use and caches the machine code beside this file
(or under ``NUMBA_CACHE_DIR``), so only the first run on a machine pays for compiling.
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
    counts = np.zeros(n_features, np.int64)
    touched = np.empty(n_features, np.int64)
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
