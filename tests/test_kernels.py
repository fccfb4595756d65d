"""The compiled block-score loop against the same numbers computed by SciPy and scikit-learn.

The fast-path tests cover it on real models; these reach the branches real cases rarely do:
counts past the look-up table, plain (not sublinear) tf, rows with no features, repeated items.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import normalize

from sw_nlp.kernels import add_block_scores, insert_pieces, split_pieces, sublinear_table


def reference(rows: sp.csr_matrix, items: sp.csr_matrix, weights, idf, sublinear: bool):
    counts = (rows @ items).toarray().astype(float)
    tf = counts.copy()
    if sublinear:
        tf[counts > 0] = 1.0 + np.log(counts[counts > 0])
    return normalize(tf * idf, norm="l2") @ weights


def run(rows: sp.csr_matrix, items: sp.csr_matrix, weights, idf, sublinear: bool):
    scores = np.zeros((rows.shape[0], weights.shape[1]))
    packed = np.column_stack([weights * idf[:, None], idf**2])
    add_block_scores(
        rows.indptr.astype(np.int64), rows.indices.astype(np.int64),
        rows.data.astype(np.int32), items.indptr.astype(np.int32),
        items.indices.astype(np.int32), items.data.astype(np.int32),
        sublinear_table(sublinear), sublinear, packed, scores,
    )  # fmt: skip
    return scores


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_rows=st.integers(1, 12),
    sublinear=st.booleans(),
    big=st.booleans(),
)
def test_matches_scipy_on_random_blocks(seed, n_rows, sublinear, big):
    rng = np.random.default_rng(seed)
    n_items, n_features, n_classes = 9, 15, 4
    rows = sp.random(n_rows, n_items, density=0.4, format="csr", random_state=rng)
    # Counts up to 3,000 per entry, so some sums pass the 4,096-entry table.
    rows.data = rng.integers(1, 3000 if big else 4, rows.nnz).astype(float)
    items = sp.random(n_items, n_features, density=0.3, format="csr", random_state=rng)
    items.data = rng.integers(1, 4, items.nnz).astype(float)
    weights = rng.normal(size=(n_features, n_classes))
    idf = rng.uniform(1.0, 6.0, n_features)
    got = run(rows, items, weights, idf, sublinear)
    np.testing.assert_allclose(got, reference(rows, items, weights, idf, sublinear), atol=1e-12)


def test_rows_without_features_keep_their_scores():
    rows = sp.csr_matrix(np.array([[0, 0], [2, 1]]))
    items = sp.csr_matrix(np.array([[1, 0, 2], [0, 1, 0]]))
    weights, idf = np.eye(3)[:, :2], np.array([1.0, 2.0, 3.0])
    got = run(rows, items, weights, idf, True)
    assert got[0].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(got, reference(rows, items, weights, idf, True), atol=1e-12)


@pytest.mark.parametrize("sublinear", [True, False])
def test_table_holds_the_tf_of_small_counts(sublinear):
    table = sublinear_table(sublinear)
    assert table[0] == 0.0
    assert table[1] == 1.0
    assert table[100] == pytest.approx(1.0 + np.log(100) if sublinear else 100.0, abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("ab é\t\n\x0b\x0c\r\x1c\u00a0-,")), max_size=12),
        max_size=8,
    )
)
def test_split_pieces_splits_as_arrow_and_finds_known_pieces(texts):
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(texts, type=pa.string())
    want = [[p for p in row if p] for row in pc.ascii_split_whitespace(array).to_pylist()]
    data = np.frombuffer(array.buffers()[2] or b"", np.uint8)
    offsets = np.frombuffer(array.buffers()[1], np.int32)[: len(texts) + 1]
    # Known: the distinct pieces of the first half of the texts, in a tiny table (collisions).
    known = sorted({p for row in want[: len(want) // 2] for p in row})
    raw = [p.encode() for p in known]
    hashes = np.array([_fnv(b) for b in raw], np.uint64)
    bounds = np.concatenate([[0], np.cumsum([len(b) for b in raw])]).astype(np.int64)
    slots = np.full((max(4, 1 << (2 * len(known)).bit_length()), 2), -1, np.int64)
    insert_pieces(slots, hashes, 0, len(known))
    key_data = np.frombuffer(b"".join(raw) or b"\0", np.uint8)
    rows, ids, starts, ends, got_hashes = split_pieces(data, offsets, slots, bounds, key_data)
    pieces = [data[s:e].tobytes().decode() for s, e in zip(starts, ends, strict=True)]
    assert pieces == [p for row in want for p in row]
    assert rows.tolist() == [r for r, row in enumerate(want) for _ in row]
    assert ids.tolist() == [known.index(p) if p in known else -1 for p in pieces]
    assert got_hashes.tolist() == [_fnv(p.encode()) for p in pieces]


def _fnv(raw: bytes) -> int:
    """FNV-1a, 64 bits, written out here as the reference."""
    h = 0xCBF29CE484222325
    for byte in raw:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h
