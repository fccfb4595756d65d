"""Compiled loops that score a chunk: one per step that NumPy or SciPy could only do in
several passes over it (the text side is in ``piece_kernels`` and ``text_kernels``).

- ``score_rows``: both TF-IDF blocks' contribution to the classifier's scores and each
  row's explanation. The character block touches about 1,500 (token, n-gram) pairs per case;
  SciPy did that as a sparse product in two passes (size, then values) and then needed
  separate passes for the tf step, the row norms, the dot product with the coefficients, and
  again for explanations. One loop per row does it all while the row's counts are still in
  cache, so explaining a row costs little more than scoring it.
- ``normalize_rows``: scikit-learn's row normalisation, for the SciPy-built TF-IDF matrix of
  ``FastPath.features_matrix``.

Numba compiles these functions on first use and caches the machine code beside this file (or
in the user's cache folder), so only the first run on a machine pays for compiling.
"""

from __future__ import annotations

import numpy as np

from sw_nlp.jit import kernel

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
_INVERSES = 256  # owner counts up to this are multiplied by a looked-up 1/n


@kernel(cache=True, nogil=True)
def _count_row(
    first: int,
    last: int,
    items: np.ndarray,
    times: np.ndarray,
    item_ptr: np.ndarray,
    item_features: np.ndarray,
    item_counts: np.ndarray,
    scratch: np.ndarray,
    touched: np.ndarray,
) -> int:
    """Sum the feature counts and owners of items ``items[first:last]``, item ``e`` occurring
    ``times[e]`` times, into ``scratch``, listing each feature once in ``touched`` (first
    occurrence first); the number listed. A feature is first met in an item's first
    occurrence, so counting an item once, times its multiplicity, lists the features in the
    same order as counting every occurrence. One row of ``scratch`` per feature keeps both
    numbers in one cache line. ``touched`` needs one slot more than there are features: the
    feature is written at the list's end whether new or not, and the end moves only when it
    is new (a branch there is mispredicted for about two pairs in three, the loop's cost)."""
    n_touched = 0
    for e in range(first, last):
        item = items[e]
        m = times[e]
        for q in range(item_ptr[item], item_ptr[item + 1]):
            j = item_features[q]
            touched[n_touched] = j
            n_touched += scratch[j, _COUNT] == 0
            scratch[j, _COUNT] += item_counts[q] * m
            scratch[j, _OWNERS] += m
    return n_touched


@kernel(cache=True, nogil=True)
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
    values: np.ndarray,
    row_scores: np.ndarray,
) -> float:
    """The row's ``Σ tf_j (idf_j w_j)`` per class (into ``row_scores``) and its TF-IDF norm;
    when explaining, each touched feature's tf (into ``values``, by position), for its share
    once the row's target class is known."""
    table_size = tf_table.shape[0]
    norm = 0.0
    row_scores[:] = 0.0
    # Four classes (the shipped labels) sum in four local variables rather than in
    # ``row_scores``: each feature's additions then wait on an addition, not on a store and a
    # load of the same memory. The same additions in the same order, so the same sums.
    four = n_classes == 4
    s0 = s1 = s2 = s3 = 0.0
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
        if four:
            s0 += value * weights[j, 0]
            s1 += value * weights[j, 1]
            s2 += value * weights[j, 2]
            s3 += value * weights[j, 3]
        else:
            for k in range(n_classes):
                row_scores[k] += value * weights[j, k]
        if explaining:
            values[t] = value
    if four:
        row_scores[0], row_scores[1], row_scores[2], row_scores[3] = s0, s1, s2, s3
    if norm_kind == NORM_L2:
        return np.sqrt(norm)
    if norm_kind == NORM_L1:
        return norm
    return 1.0 if n_touched else 0.0


@kernel(cache=True, nogil=True)
def _clear(n_touched: int, touched: np.ndarray, scratch: np.ndarray) -> None:
    for t in range(n_touched):
        j = touched[t]
        scratch[j, _COUNT] = 0
        scratch[j, _OWNERS] = 0


@kernel(cache=True, nogil=True)
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
    the classifier's coefficients times idf and, when ``k > 0``, ``[C:2C]`` the centred
    coefficients (see ``sw_nlp.explain``) times idf; its ``norms`` the norm's own weight (idf²
    for l2, idf for l1). So ``x · w = Σ tf_j (idf_j w_j) / ‖tf ∘ idf‖``, and a feature's
    weights are one row: with four classes 32 bytes for scoring alone (two features a cache
    line), 64 bytes, one line, for scoring and explaining (``sw_nlp.fast`` aligns them and
    numbers the features so that those most rows touch sit together; the weights are larger
    than the cache and reading them is much of the loop's cost).
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
    # Allocated once per chunk and cleared feature by feature after each row. int32 counts:
    # fewer cache lines than int64.
    word_scratch = np.zeros((n_word, 2), np.int32)
    char_scratch = np.zeros((n_char, 2), np.int32)
    word_touched = np.empty(n_word + 1, np.int32)
    char_touched = np.empty(n_char + 1, np.int32)
    row_scores = np.empty(n_classes)
    word_items = np.arange(n_word + 1, dtype=np.int32)  # a word feature is its own item
    word_ones = np.ones(max(len(word_features), n_word, 1), np.int32)  # times and counts
    explaining = k > 0
    word_values = np.empty(n_word if explaining else 0)  # tf by position in *_touched
    char_values = np.empty(n_char if explaining else 0)
    split = np.empty(n_char if explaining else 0)
    n_terms = len(hidden) if explaining else 0
    n_tokens = len(gram_ptr) - 1
    # A row's distinct tokens (first occurrence first) and how often each occurs: the char
    # block counts a repeated token's n-grams once, times its multiplicity.
    times = np.zeros(n_tokens, np.int32)
    distinct = np.empty(n_tokens + 1, np.int64)
    multiplicity = np.empty(n_tokens, np.int32)
    term_value = np.zeros(n_terms)
    term_seen = np.zeros(n_terms, np.bool_)
    term_touched = np.empty(n_terms + 1, np.int64)
    best = np.zeros(max(k, 1))
    # 1/n for the owner counts a case holds: a multiplication per touched n-gram rather than a
    # division, which takes several times as long.
    inverse = 1.0 / np.arange(1.0, _INVERSES + 1.0)
    out_ptr = np.zeros(n_rows + 1, np.int64)
    tied = np.zeros(n_rows, np.bool_)
    out_terms = np.empty(max(16, n_rows * k), np.int64)
    out_values = np.empty(max(16, n_rows * k))
    m = 0
    for r in range(n_rows):
        n_w = _count_row(word_ptr[r], word_ptr[r + 1], word_features, word_ones, word_items,
                         word_items, word_ones, word_scratch, word_touched)  # fmt: skip
        word_norm = _score_row(n_w, word_touched, word_scratch, tf_tables[0], sublinear[0],
                               norm_kinds[0], word_weights, word_norms, n_classes, explaining,
                               word_values, row_scores)  # fmt: skip
        if word_norm > 0.0:  # else an all-zero row, left as it is (as sklearn's normalize)
            for c in range(n_classes):
                scores[r, c] += row_scores[c] / word_norm
        n_distinct = 0
        for e in range(token_ptr[r], token_ptr[r + 1]):
            token = tokens[e]
            distinct[n_distinct] = token
            n_distinct += times[token] == 0
            times[token] += 1
        for d in range(n_distinct):
            token = distinct[d]
            multiplicity[d] = times[token]
            times[token] = 0
        n_c = _count_row(0, n_distinct, distinct, multiplicity, gram_ptr, gram_ids, gram_counts,
                         char_scratch, char_touched)  # fmt: skip
        char_norm = _score_row(n_c, char_touched, char_scratch, tf_tables[1], sublinear[1],
                               norm_kinds[1], char_weights, char_norms, n_classes, explaining,
                               char_values, row_scores)  # fmt: skip
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
        # A feature's share is its tf times its centred weight for the target (the weights
        # row's second half), as scoring read it: the row is still in cache.
        centre = n_classes + target
        n_seen = 0
        word_scale = 1.0 / word_norm if word_norm > 0.0 else 0.0
        char_scale = 1.0 / char_norm if char_norm > 0.0 else 0.0
        # Each loop over a block's touched features also clears their counts, read for the
        # last time here: no separate pass.
        for t in range(n_w):  # word features are terms, each listed once in word_touched
            j = word_touched[t]
            term_seen[j] = True
            term_touched[n_seen] = j
            n_seen += 1
            term_value[j] += word_values[t] * word_weights[j, centre] * word_scale
            word_scratch[j, _COUNT] = 0
            word_scratch[j, _OWNERS] = 0
        for t in range(n_c):  # each n-gram's share per occurrence that holds it
            j = char_touched[t]
            share = char_values[t] * char_weights[j, centre] * char_scale
            owners = char_scratch[j, _OWNERS]
            char_scratch[j, _COUNT] = 0
            char_scratch[j, _OWNERS] = 0
            split[j] = share * inverse[owners - 1] if owners <= _INVERSES else share / owners
        for d in range(n_distinct):  # every n-gram of these tokens was set just above
            token = distinct[d]
            credit = 0.0
            for q in range(gram_ptr[token], gram_ptr[token + 1]):
                credit += split[gram_ids[q]]
            term = shown[token]
            term_touched[n_seen] = term  # kept only if new: no branch to mispredict
            n_seen += not term_seen[term]
            term_seen[term] = True
            term_value[term] += credit * multiplicity[d]
        # The k-th largest |share| among the terms that may be shown (0 when fewer than k have
        # one), then every such term. ``best`` starts at zeros, so a share of 0 and most
        # shares after the first few fail one comparison, and the rare placeholder is looked
        # up only for a share that would enter.
        last = k - 1
        best[:] = 0.0
        for i in range(n_seen):
            term = term_touched[i]
            size = abs(term_value[term])
            if size > best[last] and not hidden[term]:
                at = last
                while at > 0 and best[at - 1] < size:
                    best[at] = best[at - 1]
                    at -= 1
                best[at] = size
        floor = best[last]
        first = m
        for i in range(n_seen):
            term = term_touched[i]
            value = term_value[term]
            term_value[term] = 0.0
            term_seen[term] = False
            size = abs(value)
            if size == 0.0 or size < floor or hidden[term]:
                continue
            if m == len(out_terms):
                grown_terms = np.empty(2 * m, np.int64)
                grown_terms[:m] = out_terms
                out_terms = grown_terms
                grown_values = np.empty(2 * m)
                grown_values[:m] = out_values
                out_values = grown_values
            at = m  # insertion sort, largest |share| first: a handful of entries
            while at > first and abs(out_values[at - 1]) < size:
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


@kernel(cache=True, nogil=True)
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
