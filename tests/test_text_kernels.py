"""The compiled text loops: splitting at whitespace as Arrow does, finding known pieces, and
the char n-gram features of tokens as scikit-learn's ``char_wb`` analyzer counts them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sw_nlp.corpus import load_corpus
from sw_nlp.features import char_wb_grams
from sw_nlp.piece_kernels import insert_pieces, padded_words, split_pieces
from sw_nlp.text_kernels import build_gram_table, token_grams
from sw_nlp.token_cache import _code_points

REPO = Path(__file__).resolve().parent.parent


_BYTES_NEAR_SPACES = "ab é\t\n\x0b\x0c\r\x08\x0e\x1c\x1f!\x7f\u00a0\u2020-,"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list(_BYTES_NEAR_SPACES)), max_size=24),
        max_size=8,
    ),
    st.integers(0, 9),
)
def test_split_pieces_splits_as_arrow_and_finds_known_pieces(texts, skip):
    """Against Arrow's split and a list of the known pieces, in a tiny table (collisions),
    with pieces short (their bytes are the key) and long (a hash, bytes compared), the texts
    starting at any byte of the buffer (the 8-byte reads are unaligned), and the bytes next
    to the whitespace ones on each side (8 and 14, 31 and 33; 0xA0 in U+00A0 and U+2020
    is a space's low 7 bits with the top bit set), which the 8-byte test must tell apart."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(texts, type=pa.string())
    want = [[p for p in row if p] for row in pc.ascii_split_whitespace(array).to_pylist()]
    body = array.buffers()[2].to_pybytes() if array.buffers()[2] else b""
    data = np.frombuffer(b"x" * skip + body, np.uint8)
    offsets = np.frombuffer(array.buffers()[1], np.int32)[: len(texts) + 1] + skip
    known = sorted({p for row in want[: len(want) // 2] for p in row})
    raw = [p.encode() for p in known]
    keys = np.array([_key(b) for b in raw], np.uint64)
    bounds = np.concatenate([[0], np.cumsum([len(b) for b in raw])]).astype(np.int64)
    slots = np.full((max(4, 1 << (2 * len(known)).bit_length()), 2), -1, np.int64)
    insert_pieces(slots, keys, 0, len(known))
    key_data = np.frombuffer(b"".join(raw) or b"\0", np.uint8)
    ptr, ids, new_start, new_end, new_key = split_pieces(
        data, padded_words(data), offsets, slots, bounds, key_data
    )
    pieces = [p for row in want for p in row]
    assert ptr.tolist() == [0, *np.cumsum([len(row) for row in want]).tolist()]
    # New pieces once each, in order of first occurrence; each occurrence names its number.
    new = list(dict.fromkeys(p for p in pieces if p not in known))
    assert ids.tolist() == [known.index(p) if p in known else -1 - new.index(p) for p in pieces]
    got = [data[s:e].tobytes().decode() for s, e in zip(new_start, new_end, strict=True)]
    assert got == new
    assert new_key.tolist() == [_key(p.encode()) for p in new]


def test_split_pieces_tells_many_new_pieces_apart_as_its_table_grows():
    """A cold cache's first chunk: thousands of new pieces, most repeated, long and short,
    past the sizes at which the chunk's own table of new pieces doubles."""
    words = [f"kasus-{i:05d}-lansia" if i % 3 else f"k{i % 997}" for i in range(5000)]
    texts = [" ".join(words[j : j + 40]) + " " + " ".join(words[:7]) for j in range(0, 5000, 40)]
    data = np.frombuffer("\n".join(texts).encode(), np.uint8)
    bounds = np.cumsum([0] + [len(t.encode()) + 1 for t in texts])
    offsets = np.minimum(bounds, len(data)).astype(np.int64)
    empty = (np.zeros(1, np.int64), np.zeros(1, np.uint8))
    ptr, ids, new_start, new_end, new_key = split_pieces(
        data, padded_words(data), offsets, np.full((4, 2), -1, np.int64), *empty
    )
    pieces = [p for t in texts for p in t.split()]
    new = list(dict.fromkeys(pieces))
    assert len(new) < len(pieces) and len(new) > 1000
    assert ids.tolist() == [-1 - new.index(p) for p in pieces]
    bounds = zip(new_start, new_end, strict=True)
    assert [data[s:e].tobytes().decode() for s, e in bounds] == new


_M64 = 2**64 - 1


def _key(raw: bytes) -> int:
    """``_piece_key`` written out here as the reference, with Python integers: the bytes and
    length up to 7 bytes, else a multiply-xorshift over 8-byte little-endian words."""
    n = len(raw)
    if n <= 7:
        return int.from_bytes(raw, "little") | n << 56
    h = n * 0x9E3779B97F4A7C15 & _M64
    words = [raw[j : j + 8] for j in range(0, n - 8, 8)] + [raw[-8:]]
    for i, word in enumerate(words):
        h = (h ^ int.from_bytes(word, "little")) * 0xBF58476D1CE4E5B9 & _M64
        h ^= h >> (29 if i == len(words) - 1 else 31)
    return h | 1 << 63


def _keys_of(pieces: list[bytes]) -> list[int]:
    """The compiled keys of the pieces, one text of them."""
    data = np.frombuffer(b" ".join(pieces), np.uint8)
    offsets = np.array([0, len(data)], np.int64)
    slots = np.full((4, 2), -1, np.int64)
    empty = (np.zeros(1, np.int64), np.zeros(1, np.uint8))
    found = split_pieces(data, padded_words(data), offsets, slots, *empty)
    return found[4].tolist()


def test_piece_keys_are_distinct_on_the_corpus_and_spread_over_slots():
    """Every distinct piece of the corpus has its own key (short pieces cannot collide; long
    ones could, and then only cost a byte comparison), and the first slots of a table as
    ``TokenCache`` sizes it are about as spread as random ones."""
    texts = load_corpus(REPO / "data" / "corpus" / "cases.csv")["text"].str.lower()
    pieces = sorted({p.encode() for t in texts for p in t.split()})
    keys = _keys_of(pieces)
    assert keys == [_key(p) for p in pieces]
    assert len(set(keys)) == len(pieces)
    _assert_spread(keys)


def test_piece_keys_of_hostile_pieces_stay_distinct_and_spread():
    """Pieces made to look alike: one byte different at every place of long pieces, the same
    8-byte words in another order, lengths that differ by trailing bytes that repeat the
    last word, every two-byte piece."""
    base = b"kesejahteraan-sosial-masyarakat"
    hostile = {base[:i] + bytes([c]) + base[i + 1 :] for i in range(len(base)) for c in b"!az"}
    hostile |= {b"abcdefgh" * a + b"hgfedcba" * b for a in range(4) for b in range(4) if a + b}
    hostile |= {b"anakanak"[: n % 8 + 1] * (n // 8 + 1) for n in range(64)}
    hostile |= {bytes([a, b]) for a in range(33, 127) for b in range(33, 127)}
    pieces = sorted(hostile)
    keys = _keys_of(pieces)
    assert keys == [_key(p) for p in pieces]
    assert len(set(keys)) == len(pieces)
    _assert_spread(keys)


def _assert_spread(keys: list[int]) -> None:
    """Linear probing from the kernels' first slots, in a table 2-4 times the keys as the
    cache keeps it: the mean probe length is near what random slots give (~1.5 at half full;
    a bad hash of similar keys gives tens)."""
    from sw_nlp.piece_kernels import _piece_slot

    size = 1 << (2 * len(keys)).bit_length()
    taken = np.zeros(size, bool)
    probes = 0
    for key in keys:
        s = _piece_slot(np.uint64(key), size - 1)
        probes += 1
        while taken[s]:
            s = (s + 1) & (size - 1)
            probes += 1
        taken[s] = True
    assert probes / len(keys) < 2.0


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
