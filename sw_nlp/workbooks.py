"""Reading workbooks (XLSX): which sheets are tables of cases, and their rows in chunks.

Offices keep a summary sheet first and a sheet of cases per month: without ``--sheet`` the
first sheet that is a table of cases (a header naming a text column) is read, and with
``--sheet '*'`` every such sheet, each row marked with its sheet. The rows come as the
``Chunk`` objects every reader yields (``sw_nlp.readers``).
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sw_nlp.errors import InputError
from sw_nlp.readers import Chunk, Source, as_text, choose_header
from sw_nlp.safe_read import MAX_XLSX_PARTS_UNPACKED, MAX_XLSX_SHEETS_UNPACKED, check_unpacked_size
from sw_nlp.sniff import HEADER_SEARCH_ROWS

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
