"""Delimited text (CSV, TSV, any delimiter) read in chunks, strictly: every record as
Python's ``csv`` reader in strict mode reads it, a large file's plain records cut by a
compiled scan of its bytes (``csv_scan``) and the rest by that reader.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sw_nlp.csv_scan import ScannedCells, TakeOver, scannable, scanned_columns
from sw_nlp.errors import InputError
from sw_nlp.jit import running_compiled
from sw_nlp.readers import Chunk, Source, choose_header
from sw_nlp.sniff import HEADER_SEARCH_ROWS, detect_encoding, sniff_delimiter

log = logging.getLogger(__name__)


def open_delimited(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    tsv: bool = False,
    header_row: int | None = None,
    columns: str | list[str] = "id",
    defer_decoding: bool = False,
) -> Source:
    """A delimited file's header found and its columns chosen, its records to come in chunks.
    With ``defer_decoding``, the chunks a compiled scan cuts (a large file's) hold their
    cells as bytes (``Chunk.undecoded``), for the worker process that classifies each chunk
    to decode."""
    encoding = detect_encoding(path)
    notes = []
    if encoding == "cp1252":
        notes.append("not UTF-8: read as Windows-1252 (as Excel exports)")
        log.warning("%s: not UTF-8; reading as Windows-1252", path)
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(65536)
    if not sample.strip():
        raise InputError("empty file", path)
    delimiter = sniff_delimiter(sample, ".tsv" if tsv else path.suffix.lower())
    try:
        first = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if r]
    except csv.Error:
        first = []
    first = first[:HEADER_SEARCH_ROWS]
    if not first:
        raise InputError("empty file", path)
    at, names, text, ids = choose_header(
        first, path, "file", text_column, id_column, header_row, columns, notes
    )
    t_index, id_index = names.index(text), [names.index(c) for c in ids]

    def chunks() -> Iterator[Chunk]:
        yield from read_delimited(
            path, encoding, delimiter, len(names), t_index, ids, id_index, chunk_size, at,
            decode=not defer_decoding,
        )  # fmt: skip

    return Source(path, "csv", text, ids, None, chunks(), notes)


# A text is classified on its first 100k characters; a field of this size is no case text.
MAX_FIELD_CHARS = 256 << 20


def read_delimited(
    path: Path,
    encoding: str,
    delimiter: str,
    width: int,
    t_index: int,
    ids: list[str],
    id_index: list[int],
    chunk_size: int,
    skip: int = 0,
    decode: bool = True,
) -> Iterator[Chunk]:
    """Records of a delimited file, parsed strictly, in chunks.

    Python's ``csv`` in strict mode, not pandas: pandas' parser reads a stray quote as the
    start of a field that runs on over the next lines, silently merging several rows into
    one. Strict parsing stops there instead, and the error names the line where the broken
    record starts. A record with more fields than the header (an unquoted delimiter in the
    text) keeps its row, with an error; one with fewer is read with the missing cells empty,
    as a spreadsheet would show it. Blank lines are not records. The first ``skip`` records
    (titles above the header) are read past and counted in the row numbers.

    A large file is cut by a compiled scan of its bytes (``csv_scan``), which gives the very
    records the ``csv`` reader gives for the grammar it accepts; from the first chunk that
    holds anything else (or a record of another width), the ``csv`` reader reads on.
    Without ``decode``, the scan's chunks keep their cells as bytes (``Chunk.undecoded``).
    """
    with_csv = functools.partial(
        _read_with_csv, path, encoding, delimiter, width, t_index, ids, id_index, chunk_size, skip
    )
    if not (scannable(encoding) and running_compiled() and path.stat().st_size > SCAN_BYTES):
        yield from with_csv(TakeOver(0, 0, 0))
        return
    wanted = sorted({t_index, *id_index})
    row_no = skip + 1
    layout = _Layout(wanted, t_index, ids, id_index)
    for item in scanned_columns(
        path, encoding, delimiter, width, wanted, chunk_size, skip, decode=decode
    ):
        if isinstance(item, TakeOver):
            yield from with_csv(item)
            return
        if isinstance(item, ScannedCells):
            n = item.records
            chunk = Chunk(list(range(row_no + 1, row_no + 1 + n)), {c: [] for c in ids}, [],
                          [""] * n, undecoded=_Undecoded(item, layout))  # fmt: skip
        else:
            texts, columns = layout.take(item)
            n = len(texts)
            chunk = Chunk(list(range(row_no + 1, row_no + 1 + n)), columns, texts, [""] * n)
        yield chunk
        row_no += n


@dataclass(frozen=True)
class _Layout:
    """Which scanned columns are the text and the ids."""

    wanted: list[int]
    t_index: int
    ids: list[str]
    id_index: list[int]

    def take(self, scanned: list[list[str]]) -> tuple[list[str], dict[str, list[str]]]:
        """The texts and the id columns (each its own list: the text may be one too)."""
        column = dict(zip(self.wanted, scanned, strict=True))
        return column[self.t_index], {
            c: list(column[i]) for c, i in zip(self.ids, self.id_index, strict=True)
        }


@dataclass(frozen=True)
class _Undecoded:
    """A chunk's cells as bytes, decoded where the chunk is classified (``Chunk.decoded``)."""

    cells: ScannedCells
    layout: _Layout

    def decode(self) -> tuple[list[str], dict[str, list[str]]]:
        return self.layout.take(self.cells.columns())


SCAN_BYTES = 4 << 20  # smaller files are read by the csv reader alone (no kernel to load)


def _read_with_csv(
    path: Path,
    encoding: str,
    delimiter: str,
    width: int,
    t_index: int,
    ids: list[str],
    id_index: list[int],
    chunk_size: int,
    skip: int,
    start: TakeOver,
) -> Iterator[Chunk]:
    """``read_delimited`` by the ``csv`` reader, from the file's start or from where a scan
    stopped (``start``: a record's byte offset, the lines and data records before it)."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    row_no = skip + 1 + start.records  # the header; then the last row put in a chunk
    records: list[list[str]] = []  # the next chunk's records, and the line each starts on
    starts: list[int] = []
    with _text_from(path, encoding, start.offset) as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        record_line = start.lines + 1
        try:
            if not start.offset:
                for record in reader:  # titles, then the header, already read
                    if record:
                        skip -= 1
                        if skip < 0:
                            break
                record_line = reader.line_num + 1
            # The loop does no more than keep each record and its first line: the columns
            # are cut from a chunk's records at once (``_delimited_chunk``).
            for record in reader:
                if record:
                    records.append(record)
                    starts.append(record_line)
                    if len(records) == chunk_size:
                        yield _delimited_chunk(
                            records, starts, row_no, width, delimiter, t_index, ids, id_index
                        )
                        row_no += len(records)
                        records, starts = [], []
                record_line = start.lines + reader.line_num + 1
        except csv.Error as exc:
            raise InputError(
                f"cannot parse: malformed quoting in the record that starts on line "
                f"{record_line} ({exc}, on line {start.lines + reader.line_num}); a stray or "
                'unbalanced " in a text? Nothing was written',
                path,
                row_no + len(records) + 1,
            ) from None
    if records:
        yield _delimited_chunk(records, starts, row_no, width, delimiter, t_index, ids, id_index)


def _text_from(path: Path, encoding: str, offset: int) -> TextIO:
    """The file as text from byte ``offset`` (a record's start), as the csv reader reads it."""
    if not offset:
        return open(path, encoding=encoding, errors="replace", newline="")
    raw = open(path, "rb")  # noqa: SIM115 - the text wrapper closes it
    raw.seek(offset)
    # Past the start, a UTF-8 BOM is no BOM: a cell may begin with U+FEFF.
    text_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    return io.TextIOWrapper(raw, encoding=text_encoding, errors="replace", newline="")


def _delimited_chunk(
    records: list[list[str]],
    starts: list[int],
    row_no: int,
    width: int,
    delimiter: str,
    t_index: int,
    ids: list[str],
    id_index: list[int],
) -> Chunk:
    """A chunk of records that follow row ``row_no``; ``starts`` holds the line each starts
    on. Cut column by column when every record has the header's width (the usual file);
    otherwise record by record: more fields than the header is a row error, fewer leaves the
    missing cells empty."""
    rows = list(range(row_no + 1, row_no + 1 + len(records)))
    if all(len(record) == width for record in records):
        return Chunk(
            rows,
            {c: [record[i] for record in records] for c, i in zip(ids, id_index, strict=True)},
            [record[t_index] for record in records],
            [""] * len(records),
        )
    chunk = Chunk(rows, {c: [] for c in ids}, [], [])
    for record, line in zip(records, starts, strict=True):
        error = ""
        if len(record) > width:
            error = (
                f"{len(record)} fields, the header has {width}: an unquoted "
                f"{_DELIMITER_NAMES.get(delimiter, repr(delimiter))} in the text? "
                f"(line {line})"
            )
        for c, i in zip(ids, id_index, strict=True):
            chunk.ids[c].append(record[i] if i < len(record) else "")
        chunk.texts.append(record[t_index] if t_index < len(record) and not error else "")
        chunk.errors.append(error)
    return chunk


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
