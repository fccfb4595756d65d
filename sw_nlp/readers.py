"""Reading tables (delimited text, XLSX, JSON Lines, Parquet) in chunks of rows.

Readers yield ``Chunk`` objects: the input's row numbers, its id column(s), the texts, and a
per-row read error where a single row could not be read. A row is never dropped: a row that
cannot be read still comes out, with its error. ``sw_nlp.files.open_cases`` picks the reader.
"""

from __future__ import annotations

import datetime
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sw_nlp.columns import choose_columns, find_header_row, header_names, tell_apart
from sw_nlp.errors import InputError
from sw_nlp.safe_read import MAX_XLSX_PARTS_UNPACKED, MAX_XLSX_SHEETS_UNPACKED, check_unpacked_size
from sw_nlp.sniff import HEADER_SEARCH_ROWS, detect_encoding

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


@dataclass
class Chunk:
    rows: list[int]  # 1-based row numbers as the user sees them (header = row 1 in tables)
    ids: dict[str, list[Any]]  # id column name -> values
    texts: list[str]
    errors: list[str] = field(default_factory=list)  # "" where the row was read fine
    # Passed-through columns whose identifiers are still to be masked (``files.open_cases``
    # with ``defer_masking``: a worker process masks them, not the reading one).
    unmasked: tuple[str, ...] = ()
    # Texts and ids still as the file's bytes (``delimited`` with ``defer_decoding``): an
    # object whose ``decode()`` gives ``(texts, ids)``, for the worker process that classifies
    # the chunk to decode (``decoded``); ``texts`` and ``ids`` are empty until then.
    undecoded: Any = None

    def __post_init__(self) -> None:
        if not self.errors:
            self.errors = [""] * len(self.texts)

    def decoded(self) -> Chunk:
        """The chunk with its texts and ids decoded (in place; nothing to do the second
        time, or for a chunk read as text)."""
        if self.undecoded is not None:
            self.texts, self.ids = self.undecoded.decode()
            self.undecoded = None
        return self


@dataclass(frozen=True)
class Source:
    """An opened input: its kind, columns chosen, total rows if cheap to know, and chunks."""

    path: Path
    kind: str
    text_column: str | None
    id_columns: list[str]
    total: int | None
    chunks: Iterator[Chunk]
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Close the chunks, read or not, and with them the file they come from: a caller
        that stops early (an error halfway, or only the columns and the total wanted) does
        not leave the file open until the garbage collector gets to it."""
        close_chunks(self.chunks)


def close_chunks(chunks: Iterator[Chunk]) -> None:
    """A reader's chunks closed, as a generator is (an iterator without ``close`` has
    nothing to close)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def chunk_from_frame(frame: pd.DataFrame, start: int, text: str, ids: list[str]) -> Chunk:
    values = frame[text].tolist()
    return Chunk(
        rows=list(range(start, start + len(frame))),
        ids={c: frame[c].tolist() for c in ids},
        # CSV cells come as str already; the check is cheaper than converting.
        texts=values if all(type(v) is str for v in values) else [as_text(v) for v in values],
    )


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


# --- spreadsheets, JSON Lines, Parquet -----------------------------------------------------


# ``--sheet '*'``: every sheet. Excel allows no "*" in a sheet's name, so no sheet is called so.
ALL_SHEETS = "*"


@dataclass
class _Sheet:
    """A sheet whose header was found: its rows below the header still to be read."""

    name: str
    rows: Iterator[tuple[Any, ...]]
    at: int  # the header's index among the rows (titles above it)
    header: list[str]
    text: str
    ids: list[str]
    total: int


def open_xlsx(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    sheet: str | None,
    header_row: int | None = None,
    columns: str | list[str] = "id",
) -> Source:
    """A workbook's cases: the sheet named, or (``sheet=None``) the first sheet that is a table
    of cases (offices often put a summary sheet first), or (``ALL_SHEETS``) every such sheet,
    one after the other, with a ``sheet`` column saying where each row came from."""
    import openpyxl

    if problem := check_unpacked_size(path, MAX_XLSX_PARTS_UNPACKED, MAX_XLSX_SHEETS_UNPACKED):
        raise InputError(problem, path)
    try:
        # Opened as a stream: openpyxl refuses a file by its name when that does not end in
        # .xlsx, and an XLSX read with --format xlsx may be called anything.
        stream = open(path, "rb")  # closed with the book, after the last chunk
    except OSError as exc:
        raise InputError(f"cannot open ({exc.strerror})", path) from None
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        stream.close()
        raise InputError(f"not a readable .xlsx file ({type(exc).__name__})", path) from None
    try:
        names = book.sheetnames
        named = sheet not in (None, ALL_SHEETS)
        if named and sheet not in names:
            raise InputError(f"no sheet {sheet!r}; sheets are: {', '.join(names)}", path)
        notes: list[str] = []
        sheets = _case_sheets(
            book, [sheet] if named else names, sheet == ALL_SHEETS,
            path, text_column, id_column, header_row, columns, notes,
        )  # fmt: skip
    except BaseException:  # the whole-file errors above: the file is not read further
        book.close()
        stream.close()
        raise
    first = sheets[0]
    if sheet == ALL_SHEETS:
        read = ", ".join(repr(s.name) for s in sheets)
        notes.insert(0, f"read {len(sheets)} of {len(names)} sheet(s): {read}")
        known = {c for s in sheets for c in s.ids}
        label = "sheet" if "sheet" not in known else "sheet (sw-nlp)"
        ids = [label, *dict.fromkeys(c for s in sheets for c in s.ids)]
    else:
        ids, label = first.ids, None
        if len(names) > 1:
            why = "" if first.name == names[0] else ", the first that is a table of cases"
            notes.insert(0, f"read sheet {first.name!r} of {len(names)}{why}")

    def chunks() -> Iterator[Chunk | None]:
        # Started at once (to the first, empty, yield below) so that ``close()`` on chunks
        # never read (a caller that only wanted the columns and the total) still runs the
        # ``finally`` and closes the file; a generator never started skips its ``finally``.
        try:
            yield None
            for table in sheets:
                t_index = table.header.index(table.text)
                id_index = [table.header.index(c) if c in table.ids else -1 for c in ids]
                batch: list[tuple[Any, ...]] = []
                row_no = table.at + 2
                for values in table.rows:
                    batch.append(values)
                    if len(batch) == chunk_size:
                        yield _sheet_chunk(batch, row_no, t_index, ids, id_index, label, table)
                        row_no += len(batch)
                        batch = []
                if batch:
                    yield _sheet_chunk(batch, row_no, t_index, ids, id_index, label, table)
        finally:
            book.close()
            stream.close()

    started = chunks()
    next(started)  # to the empty first yield: from here on it yields chunks only
    total = sum(s.total for s in sheets)
    return Source(path, "xlsx", first.text, ids, total, cast(Iterator[Chunk], started), notes)


def _case_sheets(
    book: Any,
    names: list[str],
    every: bool,
    path: Path,
    text_column: str | None,
    id_column: str | None,
    header_row: int | None,
    columns: str | list[str],
    notes: list[str],
) -> list[_Sheet]:
    """The sheets of ``names`` that are tables of cases (a header naming a text column): the
    first one, or with ``every`` all of them. A sheet named on its own is read or its error
    raised; among several, the first sheet's error is raised when none is a table of cases,
    and (``every``) the sheets left out are named in a note."""
    limit = HEADER_SEARCH_ROWS if header_row is None else header_row
    found: list[_Sheet] = []
    skipped: list[tuple[str, InputError]] = []
    for name in names:
        ws = book[name]
        rows = ws.iter_rows(values_only=True)
        top = list(itertools.islice(rows, limit))
        own: list[str] = []
        try:
            if not top:
                raise InputError("empty sheet", path)
            at, header, text, ids = choose_header(
                [list(r) for r in top], path, "sheet", text_column, id_column, header_row,
                columns, own,
            )  # fmt: skip
        except InputError as exc:
            if len(names) == 1:
                raise
            skipped.append((name, exc))
            continue
        notes.extend(own if not every else [f"sheet {name!r}: {n}" for n in own])
        total = max((ws.max_row or 1) - 1 - at, 0)
        below = itertools.chain(top[at + 1 :], rows)
        found.append(_Sheet(name, below, at, header, text, ids, total))
        if not every:
            break
    if not found:
        name, exc = skipped[0]
        others = ", ".join(repr(n) for n, _ in skipped[1:])
        raise InputError(
            f"sheet {name!r}: {exc.detail} (nor is any other sheet a table of cases: {others})",
            path,
            exc.row,
            exc.column,
            columns=exc.columns,
        )
    if every and skipped:
        notes.append(
            "sheet(s) not read, no table of cases found: "
            + "; ".join(f"{n!r} ({_why_not_cases(e)})" for n, e in skipped)
        )
    return found


def _why_not_cases(exc: InputError) -> str:
    """Why a sheet is no table of cases, short: its columns when it has no text column."""
    if exc.columns is not None:
        return f"no text column among {', '.join(map(str, exc.columns))}"
    return exc.detail


def _sheet_chunk(
    batch: list[tuple[Any, ...]],
    start: int,
    t_index: int,
    ids: list[str],
    id_index: list[int],
    label: str | None,
    table: _Sheet,
) -> Chunk:
    """One chunk of a sheet's rows; with ``label``, the sheet's name in that column and the
    columns the sheet does not have left empty."""
    if label is None:
        return chunk_from_tuples(batch, start, t_index, ids, id_index)
    chunk = chunk_from_tuples(batch, start, t_index, ids[1:], id_index[1:])
    chunk.ids = {label: [table.name] * len(batch), **chunk.ids}
    return chunk


def _as_date(value: Any) -> Any:
    """A sheet's date cell as the date it is. A sheet holds a date as a day count, which
    openpyxl reads as a timestamp at midnight: written as it came, it reads "2025-01-02
    00:00:00". A time of day (or a timestamp that happens to fall at midnight, which is
    the same day) is kept as it is."""
    if type(value) is datetime.datetime and value.time() == datetime.time() and not value.tzinfo:
        return value.date()
    return value


def chunk_from_tuples(
    batch: list[tuple[Any, ...]], start: int, t_index: int, ids: list[str], id_index: list[int]
) -> Chunk:
    def cell(values: tuple[Any, ...], i: int) -> Any:
        return values[i] if 0 <= i < len(values) else None  # -1: a column the sheet lacks

    return Chunk(
        rows=list(range(start, start + len(batch))),
        ids={
            c: [_as_date(cell(v, i)) for v in batch] for c, i in zip(ids, id_index, strict=True)
        },
        texts=[as_text(cell(v, t_index)) for v in batch],
    )


def open_jsonl(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    columns: str | list[str] = "id",
) -> Source:
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, errors="replace") as handle:
        first = next((ln for ln in handle if ln.strip()), None)
    if first is None:
        raise InputError("empty file", path)
    try:
        keys = list(json.loads(first))
    except (json.JSONDecodeError, TypeError):
        raise InputError("first line is not a JSON object", path, 1) from None
    except RecursionError:
        raise InputError("first line is nested too deeply to read", path, 1) from None
    text, ids = choose_columns(keys, path, text_column, id_column, 1, columns)

    def chunks() -> Iterator[Chunk]:
        chunk = Chunk([], {c: [] for c in ids}, [], [])
        with open(path, encoding=encoding, errors="replace") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                error, record = "", {}
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        error, record = "line is not a JSON object", {}
                except json.JSONDecodeError as exc:
                    error = f"invalid JSON ({exc.msg})"
                except RecursionError:  # "[[[[…" thousands deep: one bad row, not a crash
                    error, record = "JSON nested too deeply to read", {}
                value = record.get(text)
                if not error and value is not None and not isinstance(value, str):
                    # A list or object joined into words would be classified as if it were a
                    # text someone wrote; a number or true is no case description either.
                    error, value = f"column {text!r}: {json_kind(value)}, not text", None
                chunk.rows.append(line_no)
                for c in ids:
                    chunk.ids[c].append(encodable(record.get(c)))
                chunk.texts.append(as_text(value))
                chunk.errors.append(error)
                if len(chunk.rows) == chunk_size:
                    yield chunk
                    chunk = Chunk([], {c: [] for c in ids}, [], [])
        if chunk.rows:
            yield chunk

    return Source(path, "jsonl", text, ids, None, chunks())


def encodable(value: Any) -> Any:
    """A JSON string with a lone surrogate (``"\\ud800"``, valid JSON, no valid text) with
    it replaced, so that it can be written out; any other value as it is."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
    return value


def json_kind(value: Any) -> str:
    """A JSON value's kind as a user knows it (never the value: it may be case text)."""
    if isinstance(value, bool):
        return "a JSON true/false"
    if isinstance(value, int | float):
        return "a JSON number"
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, dict):
        return "a JSON object"
    return f"a JSON {type(value).__name__}"


def open_parquet(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    columns: str | list[str] = "id",
) -> Source:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, …
        raise InputError(f"not a readable Parquet file ({type(exc).__name__})", path) from None
    text, ids = choose_columns(
        parquet.schema_arrow.names, path, text_column, id_column, 1, columns
    )
    wanted = list(dict.fromkeys([text, *ids]))

    def chunks() -> Iterator[Chunk]:
        start = 1
        for batch in parquet.iter_batches(batch_size=chunk_size, columns=wanted):
            frame = batch.to_pandas()
            yield chunk_from_frame(frame, start, text, ids)
            start += len(frame)

    return Source(path, "parquet", text, ids, parquet.metadata.num_rows, chunks())


def choose_header(
    top: list[list[Any]],
    path: Path,
    kind: str,
    text_column: str | None,
    id_column: str | None,
    header_row: int | None,
    columns: str | list[str],
    notes: list[str],
) -> tuple[int, list[str], str, list[str]]:
    """The header row of a table's first rows (found under title rows, or the one given),
    its names, and the text and id columns chosen from them: the same rules for CSV and XLSX.
    """
    if header_row is None:
        at = find_header_row(top, text_column)
        if at:
            notes.append(f"header found on row {at + 1}; the {at} row(s) above it skipped")
    else:
        at = header_row - 1
        if at >= len(top):
            raise InputError(f"--header-row {header_row}: the {kind} has fewer rows", path)
    names, repeats = tell_apart(header_names(top[at]))
    text, ids = choose_columns(names, path, text_column, id_column, at + 1, columns)
    if text in repeats:
        raise InputError(
            f"{len(repeats[text]) + 1} columns are named {text!r}: rename one, or pass "
            f"--text-column {repeats[text][0]!r} for the second",
            path,
            at + 1,
            columns=names,
        )
    if repeats:
        told = ", ".join(repr(n) for new in repeats.values() for n in new)
        notes.append(f"columns of the same name told apart: {told}")
    return at, names, text, ids
