"""Compiled loops that find a chunk's text in the token cache by whitespace-separated pieces
(``sw_nlp.token_cache``):

- ``split_pieces``: split texts at whitespace and find each piece by its bytes (``_piece_key``)
  in a hash table (Arrow's split, its dictionary encoding and a Python dict did this in three passes
  and a Python-level lookup per distinct piece), telling the chunk's new pieces apart;
  ``insert_pieces`` enters new ones;
- ``expand_pieces``: each piece's cached tokens, row by row.

Numba compiles these functions on first use and caches the machine code beside this file (or
in the user's cache folder), so only the first run on a machine pays for compiling.
"""

from __future__ import annotations

import numpy as np

from sw_nlp.jit import kernel
from sw_nlp.text_kernels import _GOLDEN, _slot


@kernel(cache=True, nogil=True)
def expand_pieces(
    piece_ptr: np.ndarray,
    pieces: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    token_ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Row and token id of every token of a chunk, from its whitespace-separated pieces.

    Row ``r``'s pieces are ``pieces[piece_ptr[r]:piece_ptr[r + 1]]``; cached piece ``p``'s
    tokens are ``token_ids[starts[p]:starts[p] + lengths[p]]``. NumPy needs five passes
    (repeat, cumsum, gathers) over the ~80 tokens of each row for what is one loop here.
    Both outputs are int32 (a chunk's rows and the cache's tokens are far fewer than 2³¹):
    half the bytes of int64 to write here and to read in every pass after.
    """
    total = 0
    for p in pieces:
        total += lengths[p]
    rows = np.empty(total, np.int32)
    tokens = np.empty(total, np.int32)
    k = 0
    for r in range(len(piece_ptr) - 1):
        for i in range(piece_ptr[r], piece_ptr[r + 1]):
            p = pieces[i]
            for q in range(starts[p], starts[p] + lengths[p]):
                rows[k] = r
                tokens[k] = token_ids[q]
                k += 1
    return rows, tokens


# -- whitespace-separated pieces of text, looked up by their UTF-8 bytes ----------------------
# Known pieces live in a hash table of (key, piece id) rows, a power of two of them; the table
# and the key are in one row so that most probes read one cache line. A piece's key
# (``_piece_key``) is its bytes themselves when it has at most 7 (most words: then equal keys
# are equal pieces and the piece's bytes need not be compared), else a hash of its bytes taken
# 8 at a time (a multiply per 8 bytes, where FNV-1a chained one per byte), the top bit set.

_LONG = np.uint64(1 << 63)  # set in the key of a piece of 8 bytes or more
_MIX = np.uint64(0xBF58476D1CE4E5B9)


@kernel(cache=True, nogil=True)
def _is_space(byte: int) -> bool:
    """ASCII whitespace as Arrow's ``ascii_split_whitespace`` has it: space, \\t \\n \\v \\f \\r."""
    return byte == 32 or 9 <= byte <= 13


@kernel(cache=True, nogil=True)
def _load8(words: np.ndarray, i: int) -> np.uint64:
    """Bytes ``i`` to ``i + 7`` of the text as one little-endian integer, from ``words``, the
    text's bytes read as uint64 (``padded_words``): two aligned reads and shifts, since an
    unaligned read of 8 bytes is not something Numba or NumPy offers on a byte array."""
    w = i >> 3
    shift = np.uint64((i & 7) * 8)
    if shift == np.uint64(0):
        return words[w]
    return (words[w] >> shift) | (words[w + 1] << (np.uint64(64) - shift))


_BYTES_80 = np.uint64(0x8080808080808080)
_BYTES_7F = np.uint64(0x7F7F7F7F7F7F7F7F)
_BYTES_77, _BYTES_72 = np.uint64(0x7777777777777777), np.uint64(0x7272727272727272)
_BYTES_20, _BYTE_INDEX = np.uint64(0x2020202020202020), np.uint64(0x0001020304050607)


@kernel(cache=True, nogil=True)
def _piece_end(words: np.ndarray, i: int, stop: int) -> int:
    """The first whitespace byte (``_is_space``) at or after ``i``, or ``stop``, 8 bytes at a
    time (a byte at a time cost a branch per byte). Each byte's top bit: ``≥ 9``, ``≥ 14``
    from its low 7 bits plus 0x77, 0x72 (no carry leaves a byte), ``= 32`` from them xor 0x20
    plus 0x7F; a byte with its own top bit set (UTF-8 beyond ASCII) is never whitespace. The
    lowest marked byte's index is the top byte of its bit times ``_BYTE_INDEX``."""
    while True:
        w = _load8(words, i)
        low = w & _BYTES_7F
        in_range = ((low + _BYTES_77) & ~(low + _BYTES_72)) & _BYTES_80
        blank = ~((low ^ _BYTES_20) + _BYTES_7F) & _BYTES_80
        space = (in_range | blank) & ~w & _BYTES_80
        if space != np.uint64(0):
            lowest = space & (~space + np.uint64(1))
            i += int(((lowest >> np.uint64(7)) * _BYTE_INDEX) >> np.uint64(56))
            return min(i, stop)
        i += 8
        if i >= stop:
            return stop


@kernel(cache=True, nogil=True, inline="always")
def _next_piece(data: np.ndarray, words: np.ndarray, i: int, stop: int) -> tuple:
    """``(start, end)`` of the first piece at or after byte ``i`` of a text ending at
    ``stop``, whitespace skipped; ``(stop, stop)`` when none is left. Both passes of
    ``split_pieces`` walk the texts with it, so they see the same pieces."""
    while i < stop and _is_space(data[i]):
        i += 1
    if i == stop:
        return stop, stop
    return i, _piece_end(words, i, stop)


@kernel(cache=True, nogil=True)
def _piece_key(words: np.ndarray, start: int, end: int) -> np.uint64:
    """The key of the piece of bytes ``start`` to ``end - 1`` (at least one byte): up to 7
    bytes, the bytes (the first lowest) with the length in the top byte, so distinct short
    pieces never share a key; 8 or more, a multiply-xorshift hash of its 8-byte words (the
    last one read back from its end, overlapping the one before) and its length, top bit set.
    Wrapping unsigned products, as FNV-1a's were."""
    n = end - start
    if n <= 7:
        low = (np.uint64(1) << np.uint64(8 * n)) - np.uint64(1)
        return (_load8(words, start) & low) | (np.uint64(n) << np.uint64(56))
    h = np.uint64(n) * _GOLDEN
    for j in range(start, end - 8, 8):
        h = (h ^ _load8(words, j)) * _MIX
        h ^= h >> np.uint64(31)
    h = (h ^ _load8(words, end - 8)) * _MIX
    h ^= h >> np.uint64(29)
    return h | _LONG


@kernel(cache=True, nogil=True)
def _piece_slot(key: np.uint64, mask: int) -> int:
    """The first slot to probe for a piece's key: its high half folded into the low one first,
    so that every byte of a short piece's key (its bytes) moves the slot."""
    return _slot(key ^ (key >> np.uint64(29)), mask)


def padded_words(data: np.ndarray) -> np.ndarray:
    """The bytes of ``data`` read as little-endian uint64 words, zero-padded so that
    ``_load8`` may read 8 bytes from any byte of it (the copy is ~1 % of a split's time)."""
    padded = np.zeros(8 * (len(data) // 8 + 2), np.uint8)
    padded[: len(data)] = data
    return padded.view(np.dtype("<u8"))


@kernel(cache=True, nogil=True)
def split_pieces(
    data: np.ndarray,
    words: np.ndarray,
    offsets: np.ndarray,
    slots: np.ndarray,
    key_start: np.ndarray,
    key_data: np.ndarray,
) -> tuple:
    """Every piece of the texts between ASCII whitespace (as Arrow's ``ascii_split_whitespace``,
    without its empty pieces), found in the table of known pieces. Text ``r`` is
    ``data[offsets[r]:offsets[r + 1]]`` (UTF-8; a byte below 0x80 is never part of a longer
    character, so splitting on bytes splits on characters); ``words`` is ``data`` as
    ``padded_words`` gives it.

    Returns ``(ptr, ids, new_start, new_end, new_key)``: the pieces of text ``r`` are
    ``ids[ptr[r]:ptr[r + 1]]``, each a known piece's id, or ``-1 - u`` for the chunk's
    ``u``-th distinct new piece (numbered in order of first occurrence), whose bytes are
    ``new_start[u]`` to ``new_end[u] - 1`` and key ``new_key[u]``.

    ``slots`` is the table: a row per slot, ``(key, piece id)``, id -1 when empty; piece
    ``p``'s bytes are ``key_data[key_start[p]:key_start[p + 1]]``, compared when a long
    piece's key matches.

    Two passes: ``_known_pieces`` finds every piece the cache holds and marks the texts with
    a new one, then ``_new_pieces`` walks those texts again to tell their new pieces apart. A
    warm cache's chunk has next to none. In one loop, the new pieces' arrays (grown, so
    reassigned) made the compiled loop over every piece 4-5 times slower (17 ms against
    3.7 ms for a chunk of 2,000 cases without a new piece).
    """
    ptr, ids, missed = _known_pieces(data, words, offsets, slots, key_start, key_data)
    new_start, new_end, new_key = _new_pieces(data, words, offsets, ptr, ids, missed)
    return ptr, ids, new_start, new_end, new_key


@kernel(cache=True, nogil=True)
def _known_pieces(
    data: np.ndarray,
    words: np.ndarray,
    offsets: np.ndarray,
    slots: np.ndarray,
    key_start: np.ndarray,
    key_data: np.ndarray,
) -> tuple:
    """``split_pieces``' pieces, each a known piece's id or -1 (new), and the texts that hold
    a new one."""
    n_texts = len(offsets) - 1
    # At most one piece per two bytes, plus one per text.
    most = (offsets[-1] - offsets[0]) // 2 + len(offsets)
    ptr = np.empty(n_texts + 1, np.int64)
    ids = np.empty(most, np.int32)
    missed = np.zeros(n_texts, np.bool_)
    key_end = key_start[1:]
    k = 0
    ptr[0] = 0
    for r in range(n_texts):
        i = np.int64(offsets[r])
        stop = np.int64(offsets[r + 1])
        while True:
            start, i = _next_piece(data, words, i, stop)
            if start == stop:
                break
            key = _piece_key(words, start, i)
            found = _find_piece(slots, key, key_data, key_start, key_end, data, start, i)
            missed[r] |= found < 0
            ids[k] = found
            k += 1
        ptr[r + 1] = k
    return ptr, ids[:k], missed


@kernel(cache=True, nogil=True)
def _new_pieces(
    data: np.ndarray,
    words: np.ndarray,
    offsets: np.ndarray,
    ptr: np.ndarray,
    ids: np.ndarray,
    missed: np.ndarray,
) -> tuple:
    """Number the new pieces (``ids`` -1) of the ``missed`` texts in order of first occurrence
    (``-1 - u``, in place), and give their bounds and keys.

    They are told apart in a table of the chunk's own: a cold cache's first chunk has a few
    hundred thousand pieces, a few thousand of them distinct, and handing every occurrence to
    Python to tell them apart cost a tenth of a second and tens of MB. The bounds, keys and
    table grow by doubling, the table at most half full: under 112 bytes per distinct new
    piece. Sized for the worst case, they took 16 bytes per byte of text."""
    room = 64
    new_start = np.empty(room, np.int64)
    new_end = np.empty(room, np.int64)
    new_key = np.empty(room, np.uint64)
    fresh = np.full((2 * room, 2), -1, np.int64)
    u = 0
    for r in np.flatnonzero(missed):
        i = np.int64(offsets[r])
        stop = np.int64(offsets[r + 1])
        k = ptr[r]
        while True:
            start, i = _next_piece(data, words, i, stop)
            if start == stop:
                break
            if ids[k] < 0:  # -1 from the first pass: new to the cache
                key = _piece_key(words, start, i)
                f = _find_piece(fresh, key, data, new_start, new_end, data, start, i)
                if f < 0:
                    if u == room:
                        room *= 2
                        new_start = _grown(new_start, u, room)
                        new_end = _grown(new_end, u, room)
                        new_key = _grown(new_key, u, room)
                        fresh = np.full((2 * room, 2), -1, np.int64)
                        insert_pieces(fresh, new_key, 0, u)
                    new_start[u] = start
                    new_end[u] = i
                    new_key[u] = key
                    insert_pieces(fresh, new_key, u, u + 1)
                    f = u
                    u += 1
                ids[k] = -1 - f
            k += 1
    return new_start[:u].copy(), new_end[:u].copy(), new_key[:u].copy()


@kernel(cache=True, nogil=True)
def _find_piece(
    slots: np.ndarray,
    key: np.uint64,
    piece_bytes: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    data: np.ndarray,
    start: int,
    end: int,
) -> int:
    """The id in ``slots`` (``(key, id)`` rows, id -1 when empty) of the piece whose bytes are
    ``data[start:end]`` and key ``key``, or -1; piece ``p``'s bytes are
    ``piece_bytes[starts[p]:ends[p]]``."""
    mask = len(slots) - 1
    s = _piece_slot(key, mask)
    while slots[s, 1] >= 0:
        p = slots[s, 1]
        if np.uint64(slots[s, 0]) == key and _same_piece(
            piece_bytes, starts[p], ends[p], data, start, end
        ):
            return p
        s = (s + 1) & mask
    return -1


@kernel(cache=True, nogil=True)
def _same_piece(
    a_bytes: np.ndarray, a_start: int, a_end: int, b_bytes: np.ndarray, b_start: int, b_end: int
) -> bool:
    """Whether two pieces whose keys are equal have the same bytes: always, up to 7 bytes
    (the key is the bytes); else the lengths and bytes are compared."""
    n = b_end - b_start
    if n <= 7:
        return True
    if a_end - a_start != n:
        return False
    for b in range(n):
        if a_bytes[a_start + b] != b_bytes[b_start + b]:
            return False
    return True


@kernel(cache=True, nogil=True)
def _grown(values: np.ndarray, used: int, size: int) -> np.ndarray:
    """A ``size``-long array starting with ``values[:used]``."""
    bigger = np.empty(size, values.dtype)
    bigger[:used] = values[:used]
    return bigger


@kernel(cache=True, nogil=True)
def insert_pieces(slots: np.ndarray, keys: np.ndarray, first: int, last: int) -> None:
    """Enter pieces ``first`` to ``last - 1`` (new, distinct; ``keys`` from ``_piece_key``)
    into the table."""
    mask = len(slots) - 1
    for p in range(first, last):
        s = _piece_slot(keys[p], mask)
        while slots[s, 1] >= 0:
            s = (s + 1) & mask
        slots[s, 0] = np.int64(keys[p])
        slots[s, 1] = p
