"""A delimited file's records cut from its bytes by a compiled scan, for the grammar nearly
every file uses; anything else is left to Python's ``csv`` reader (``delimited``).

Python's ``csv`` reader builds each field character by character: about 3.7 µs a row of
580 bytes, a tenth of a default row's cost. The scan here finds where each field starts
and ends (0.2 µs a row), and each cell is then one ``bytes.decode`` of its slice.

It gives exactly the records the strict ``csv`` reader gives, because it only accepts what
that reader's state machine (CPython's ``_csv.c``: strict, ``doublequote``, no escape
character, no initial-space skipping) reads in one obvious way:

- an unquoted field holds no quote, no NUL, no CR or LF;
- a quoted field opens at the field's first byte, may hold anything but a NUL (line ends
  too), writes a quote as two, and its closing quote is followed by the delimiter, a line
  end or the end of the file;
- a record ends at LF, CRLF or a lone CR, as the reader's universal newlines end a line; an
  empty line is no record; the last record may lack its line end.

Anything else (a quote inside an unquoted field, a quote closed and then followed by text, a
NUL, a quoted field still open at the end, a field over ``MAX_FIELD_BYTES``) stops the scan
at the start of that record with ``UNUSUAL``, and the caller reads on from there with the
``csv`` reader itself, which then says what is wrong, or reads what the scan would not.
Line ends are counted as the reader counts lines (a CRLF is one): where it takes over, its
line numbers in errors go on from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sw_nlp.jit import compiled, kernel

# Why a scan stopped: its record budget or field space is used up (call again from ``pos``);
# the bytes ran out inside a record (more are needed, unless the file ended); a record the
# scan does not vouch for starts at ``pos``.
FULL, MORE, UNUSUAL = 0, 1, 2
# A field's quoting: none, quoted, quoted with doubled quotes inside (to be undoubled).
UNQUOTED, QUOTED, DOUBLED = 0, 1, 2
MAX_FIELD_BYTES = 64 << 20  # larger fields go to the ``csv`` reader and its field limit

_LF, _CR, _NUL = 10, 13, 0


@kernel(cache=True, nogil=True)
def scan_records(
    buf: np.ndarray,
    pos: int,
    final: bool,
    delimiter: int,
    quote: int,
    max_records: int,
    field_start: np.ndarray,
    field_end: np.ndarray,
    field_quoting: np.ndarray,
    record_fields: np.ndarray,
    lines: int,
) -> tuple:
    """Records of ``buf`` from ``pos`` (the start of a record), at most ``max_records`` and
    as many fields as ``field_start`` holds. ``final``: ``buf`` runs to the end of the file.
    ``lines``: the lines before ``pos``.

    Returns ``(records, fields, pos, lines, why)``: the records found, their fields (start,
    end and quoting of each, and each record's field count), where the next record starts
    and the lines before it, and why the scan stopped (``FULL``, ``MORE`` or ``UNUSUAL``;
    ``MORE`` with ``final`` means the file is read to its end)."""
    n = len(buf)
    capacity = len(field_start)
    n_records = 0
    n_fields = 0
    while n_records < max_records:
        if pos >= n:
            return n_records, n_fields, pos, lines, MORE
        c = buf[pos]
        if c == _LF or c == _CR:  # an empty line: no record
            if c == _CR and pos + 1 >= n and not final:
                return n_records, n_fields, pos, lines, MORE  # CR or CRLF: not known yet
            pos += 2 if c == _CR and pos + 1 < n and buf[pos + 1] == _LF else 1
            lines += 1
            continue
        start, first, start_lines = pos, n_fields, lines
        why = -1
        while True:  # the record's fields
            if n_fields == capacity:
                why = FULL if first > 0 else UNUSUAL  # a record wider than the space: csv's
                break
            if pos < n and buf[pos] == quote:
                pos += 1
                begin = pos
                quoting = QUOTED
                while pos < n:
                    b = buf[pos]
                    if b == quote:
                        if pos + 1 < n and buf[pos + 1] == quote:
                            quoting = DOUBLED
                            pos += 2
                            continue
                        break  # the closing quote (or, at the end of the bytes, not known yet)
                    if b == _NUL:
                        why = UNUSUAL
                        break
                    if b == _LF:
                        lines += 1
                    elif b == _CR:
                        if pos + 1 >= n and not final:
                            break
                        if not (pos + 1 < n and buf[pos + 1] == _LF):
                            lines += 1  # a lone CR ends a line; CRLF counts at its LF
                    pos += 1
                if why >= 0:
                    break
                if pos >= n or (pos + 1 >= n and not final):
                    # open at the end of the bytes: more are needed, or (at the end of the
                    # file) the field is never closed, which csv reports
                    why = UNUSUAL if final and pos >= n else MORE
                    break
                end = pos
                pos += 1  # the closing quote
                if pos < n:
                    b = buf[pos]
                    if b != delimiter and b != _LF and b != _CR:
                        why = UNUSUAL  # text after a closing quote: csv's strict error
                        break
            else:
                begin = pos
                quoting = UNQUOTED
                while pos < n:
                    b = buf[pos]
                    if b == delimiter or b == _LF or b == _CR:
                        break
                    if b == quote or b == _NUL:
                        why = UNUSUAL
                        break
                    pos += 1
                if why >= 0:
                    break
                if pos >= n and not final:
                    why = MORE
                    break
                end = pos
            if end - begin > MAX_FIELD_BYTES:
                why = UNUSUAL
                break
            field_start[n_fields] = begin
            field_end[n_fields] = end
            field_quoting[n_fields] = quoting
            n_fields += 1
            if pos >= n:  # the file's last line, without a line end
                lines += 1
                break
            b = buf[pos]
            if b == delimiter:
                pos += 1
                continue
            if b == _CR:
                if pos + 1 >= n and not final:
                    why = MORE
                    break
                pos += 2 if pos + 1 < n and buf[pos + 1] == _LF else 1
            else:
                pos += 1
            lines += 1
            break
        if why >= 0:  # the record is not taken: the next scan starts at it
            return n_records, first, start, start_lines, why
        record_fields[n_records] = n_fields - first
        n_records += 1
    return n_records, n_fields, pos, lines, FULL


@dataclass(frozen=True)
class TakeOver:
    """Where the ``csv`` reader goes on from: the byte offset of a record start (0: the file
    from its start, titles and header included), the lines before it and the data records
    before it."""

    offset: int
    lines: int
    records: int


# A file's bytes are scanned a buffer at a time (about 7,000 cases of 580 bytes), one buffer
# refilled in place: a larger one is only more memory. (16 MB blocks joined per read, the
# first version, cost +34 MB of peak memory; this +5 MB.)
BLOCK_BYTES = 4 << 20
_CELL_ENCODING = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "cp1252": "cp1252"}


def scannable(encoding: str) -> bool:
    """Whether the scan reads this encoding: one where the delimiter, quote, CR and LF are
    single bytes that occur in no other character (UTF-8, Windows-1252), not UTF-16."""
    return encoding in _CELL_ENCODING


def scanned_columns(
    path: Path,
    encoding: str,
    delimiter: str,
    width: int,
    wanted: list[int],
    chunk_size: int,
    skip: int,
    decode: bool = True,
) -> Iterator[list[list[str]] | ScannedCells | TakeOver]:
    """The columns ``wanted`` (indices) of each chunk of ``chunk_size`` data records (the last
    may be shorter), after ``skip`` title records and the header; every record has the
    header's ``width`` fields. Where the scan meets a record it does not vouch for, or one of
    another width (a row error, which the ``csv`` path words), it yields a ``TakeOver`` for
    the first record of the chunk it was filling (the whole file if still in the titles and
    header), and stops.

    Without ``decode``, a chunk's columns come as ``ScannedCells``: the records' bytes and
    where each wanted cell lies in them, for a worker process to decode (sending it bytes
    costs a copy; sending it strings, pickling each one)."""
    cells_in = _CELL_ENCODING[encoding]
    space = max(chunk_size * width, 4096)
    field_start = np.empty(space, np.int64)
    field_end = np.empty(space, np.int64)
    field_quoting = np.empty(space, np.int8)
    record_fields = np.empty(chunk_size, np.int64)

    def fresh() -> list[list[str]] | ScannedCells:
        return [[] for _ in wanted] if decode else ScannedCells(cells_in, len(wanted))

    cells = fresh()  # the chunk being filled, and how many records it has
    have = 0
    header_left, records = skip + 1, 0
    chunk: tuple[int, int] | None = None  # file offset and lines before the chunk being filled
    with open(path, "rb") as handle:
        base = 3 if encoding == "utf-8-sig" else 0  # the file offset of ``data[0]``
        handle.seek(base)
        data = bytearray(BLOCK_BYTES)  # one buffer, refilled: no block-sized allocations
        filled, final = _fill(handle, data, 0)
        pos, lines = 0, 0
        while True:
            want = header_left or chunk_size - have
            n_rec, n_fields, end, end_lines, why = scan_records(
                np.frombuffer(data, np.uint8, filled), pos, final, ord(delimiter), ord('"'), want,
                field_start, field_end, field_quoting, record_fields, lines,
            )  # fmt: skip
            if header_left:
                header_left -= n_rec
            elif n_rec:
                chunk = chunk or (base + pos, lines)
                if (record_fields[:n_rec] != width).any():
                    yield TakeOver(*chunk, records)
                    return
                found = field_start[:n_fields], field_end[:n_fields], field_quoting[:n_fields]
                if isinstance(cells, ScannedCells):
                    cells.add(data, wanted, width, *found)
                else:
                    _add_cells(cells, wanted, width, data, cells_in, *found)
                have += n_rec
            pos, lines = end, end_lines
            if why == UNUSUAL:
                yield (
                    TakeOver(0, 0, 0)
                    if header_left
                    else TakeOver(*(chunk or (base + pos, lines)), records)
                )
                return
            if not header_left and have == chunk_size:
                yield cells
                records += chunk_size
                cells, have, chunk = fresh(), 0, None
            if why == MORE:
                if final:
                    break
                left = filled - pos  # the start of a record, moved to the front
                if 2 * left > len(data):  # a record longer than half the buffer: a larger one
                    data = data[pos:filled] + bytearray(max(len(data), 2 * left))
                else:
                    data[:left] = data[pos:filled]
                filled, final = _fill(handle, data, left)
                base, pos = base + pos, 0
    if have:
        yield cells


def _fill(handle: BinaryIO, data: bytearray, start: int) -> tuple[int, bool]:
    """Read into ``data`` from ``start`` until it is full or the file ends: the bytes now
    in it, and whether the file has ended."""
    view = memoryview(data)
    filled = start
    while filled < len(data):
        n = handle.readinto(view[filled:])
        if not n:
            return filled, True
        filled += n
    return filled, False


def _add_cells(
    columns: list[list[str]],
    wanted: list[int],
    width: int,
    data: bytearray,
    encoding: str,
    starts: np.ndarray,
    ends: np.ndarray,
    quoting: np.ndarray,
) -> None:
    """Each wanted column's cells of records of ``width`` fields, decoded."""
    for column, i in zip(columns, wanted, strict=True):
        column.extend(_decoded(data, encoding, starts[i::width], ends[i::width],
                               np.flatnonzero(quoting[i::width] == DOUBLED)))  # fmt: skip


def _decoded(
    data: bytes | bytearray,
    encoding: str,
    starts: np.ndarray,
    ends: np.ndarray,
    doubled: np.ndarray,
) -> list[str]:
    """The cells ``data[starts[k]:ends[k]]`` as text; in the cells ``doubled`` holds, a quote
    written twice inside a quoted field is one quote (nowhere else can two follow each
    other)."""
    cells = [
        data[a:b].decode(encoding, "replace")
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    for k in doubled.tolist():
        cells[k] = cells[k].replace('""', '"')
    return cells


class ScannedCells:
    """A chunk's wanted cells as the file's bytes and their places, not decoded yet:
    ``columns`` gives what ``scanned_columns`` gives when it decodes. Each scan's records
    are kept as one ``bytes`` copy of the span their fields cover, so the object pickles
    as a few buffers, whatever the number of cells."""

    def __init__(self, encoding: str, n_columns: int) -> None:
        self.encoding = encoding
        self.n_columns = n_columns
        # Per scan: its bytes, then per wanted column the cells' starts, ends and the
        # positions of the cells holding a doubled quote (all relative to those bytes).
        self.pieces: list[tuple[bytes, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]] = []
        self.records = 0

    def add(
        self,
        data: bytearray,
        wanted: list[int],
        width: int,
        starts: np.ndarray,
        ends: np.ndarray,
        quoting: np.ndarray,
    ) -> None:
        low, high = int(starts.min()), int(ends.max())
        self.records += len(starts) // width
        with memoryview(data) as view:  # one copy (a bytearray's slice is a copy already)
            piece = bytes(view[low:high])
        self.pieces.append(
            (
                piece,
                [
                    (
                        starts[i::width] - low,
                        ends[i::width] - low,
                        np.flatnonzero(quoting[i::width] == DOUBLED),
                    )
                    for i in wanted
                ],
            )
        )

    def columns(self) -> list[list[str]]:
        """Each wanted column's cells, decoded, in the order of ``wanted``."""
        out: list[list[str]] = [[] for _ in range(self.n_columns)]
        for data, places in self.pieces:
            for column, (starts, ends, doubled) in zip(out, places, strict=True):
                column.extend(_decoded(data, self.encoding, starts, ends, doubled))
        return out


def compile_scan() -> None:
    """Compile the scan, or load it from Numba's cache, now (``sw-nlp doctor``): what the
    first large CSV on a new machine would otherwise do before its first row. The same
    argument types as ``scanned_columns`` passes (its buffer is a ``bytearray``)."""
    with compiled(True):
        scan_records(np.frombuffer(bytearray(b"a,b\n"), np.uint8), 0, True, ord(","), ord('"'), 1,
                     np.empty(2, np.int64), np.empty(2, np.int64), np.empty(2, np.int8),
                     np.empty(1, np.int64), 0)  # fmt: skip
