"""The compiled text loops: splitting at whitespace as Arrow does, finding known pieces, and
the char n-gram features of tokens as scikit-learn's ``char_wb`` analyzer counts them."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sw_nlp.features import char_wb_grams
from sw_nlp.text_kernels import build_gram_table, insert_pieces, split_pieces, token_grams
from sw_nlp.token_cache import _code_points


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


@settings(max_examples=150, deadline=None)
@given(
    tokens=st.lists(st.text(alphabet=st.sampled_from(list("aabé😀 ")), max_size=7)),
    vocabulary=st.sets(st.text(alphabet=st.sampled_from(list("aabé😀 ")), max_size=5)),
    low=st.integers(1, 3),
    extra=st.integers(0, 3),
    slots_per_gram=st.sampled_from([1, 2, 4]),
)
def test_token_grams_are_char_wb_grams_found_and_counted(
    tokens, vocabulary, low, extra, slots_per_gram
):
    """Against ``char_wb_grams``, a dict look-up and a ``Counter``, on tokens with repeats
    (counts above 1), a character outside the BMP, short tokens (the whole padded token as a
    gram), and tables from nearly full (long probes) to sparse."""
    high = low + extra
    grams = sorted(vocabulary)
    features = np.random.default_rng(len(grams)).permutation(len(grams)).astype(np.int64)
    column = dict(zip(grams, features.tolist(), strict=True))
    ptr = np.concatenate([[0], np.cumsum([len(g) for g in grams])]).astype(np.int64)
    chars = _code_points("".join(grams))
    size = 1 << max(2, (slots_per_gram * len(grams)).bit_length())
    table = (build_gram_table(chars, ptr, size), chars, ptr, features)
    token_ptr = np.concatenate([[0], np.cumsum([len(t) for t in tokens])]).astype(np.int64)
    got_ptr, got, counts = token_grams(
        _code_points("".join(tokens)), token_ptr, low, high, *table
    )
    for t, token in enumerate(tokens):
        found = Counter(column[g] for g in char_wb_grams(token, low, high) if g in column)
        part = slice(got_ptr[t], got_ptr[t + 1])
        assert list(zip(got[part].tolist(), counts[part].tolist(), strict=True)) == list(
            found.items()
        )
