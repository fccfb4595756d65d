"""A chunk's results as plain columns, and their CSV text, without pandas.

A batch job makes one result table per chunk of rows. Building a pandas frame for it and
formatting that with ``to_csv`` cost more than scoring the rows, and importing pandas costs a
start-up of 0.5 s; CSV, the usual output, needs neither. A ``ResultTable`` is the columns as
lists (text, and the input's cells as read) or NumPy arrays (row numbers, probabilities,
flags); it becomes a frame only for the formats and callers that need one (``to_frame``).

Each cell's text is defined here once, for this writer and for pandas' (``writers``):
formula-like text escaped (``escaped``), probabilities from one table of 4-decimal strings
(``four_decimals``), and the rest as pandas writes it: missing values empty, everything else
as the ``csv`` module writes it (``str`` of each). Both give the same bytes (tested), and the
lines are the ``csv`` module's too (``csv_lines``, tested).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import compress, repeat
from operator import not_, or_
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CsvText:
    """A result chunk already turned into CSV text, header apart: worker processes do this so
    that the process writing the file only copies text.

    The body is text, or the same text as UTF-8 bytes (``encoded``) when it crosses from a
    worker process to the writer: bytes are unpickled and written as they are, where text
    is decoded on the way in and encoded again on the way out (2 µs a row of the writing
    process's time, the one process that ``--workers`` does not share out).
    """

    header: str
    body: str | bytes
    rows: int  # counted here: a text may hold line breaks, so the body's lines are no count

    def encoded(self) -> CsvText:
        """The same CSV with its body as UTF-8 bytes."""
        body = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        return CsvText(self.header, body, self.rows)


@dataclass(frozen=True)
class ResultTable:
    """Columns by name, in order, all of one length: a list (text, values as read) or a
    one-dimensional NumPy array of numbers or flags (floats as float64) each."""

    columns: dict[str, list[Any] | np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), ()))

    def __getitem__(self, name: str) -> list[Any] | np.ndarray:
        return self.columns[name]

    def to_frame(self) -> pd.DataFrame:
        """The table as a pandas frame: lists as object columns (plain Python strings, as
        read: pandas' default str dtype would copy every chunk into Arrow and back out),
        arrays with their own dtype."""
        import pandas as pd

        return pd.DataFrame(
            {
                name: pd.Series(values, dtype=object) if isinstance(values, list) else values
                for name, values in self.columns.items()
            }
        )


# What a spreadsheet may read as the start of a formula (OWASP's CSV injection rule).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def may_start_formula(values: list[Any]) -> bool:
    """Whether a text cell of the column may start a formula (``escaped`` would change it).

    One C-level ``startswith`` per cell (``map``), which looks at the first characters only:
    a regular expression over the column joined into one text cost 15 times as much on case
    texts (0.11 against 1.9 µs a cell).
    """
    if set(map(type, values)) <= {str}:
        return any(map(str.startswith, values, repeat(FORMULA_STARTS)))
    return any(type(v) is str and v.startswith(FORMULA_STARTS) for v in values)


def escaped(values: list[Any]) -> list[Any]:
    """The cells with every text that a spreadsheet would run as a formula prefixed with a
    single quote (``=HYPERLINK(...)`` shows as text); other cells as they are."""
    return ["'" + v if type(v) is str and v.startswith(FORMULA_STARTS) else v for v in values]


@cache
def four_decimals() -> np.ndarray:
    """How ``to_csv`` writes 0, 0.0001, …, 1 (``repr`` of each float), then NaN (empty)."""
    return np.array([repr(k / 10_000) for k in range(10_001)] + [""], dtype=object)


def decimals_as_text(values: np.ndarray) -> np.ndarray | None:
    """Floats rounded to 4 decimals in [0, 1] (confidences, probabilities) or NaN as the
    text ``to_csv`` writes for them, looked up in ``four_decimals``; ``None`` for any other
    float column. Formatting each float on its own was half the cost of writing a row."""
    missing = np.isnan(values)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and huge values: left
        steps = np.rint(np.where(missing, 0.0, values) * 10_000)
    exact = missing | ((steps / 10_000 == values) & ~np.signbit(values))
    if not (exact.all() and ((steps >= 0) & (steps <= 10_000)).all()):
        return None
    return four_decimals()[np.where(missing, 10_001, steps).astype(np.int64)]


def is_missing(value: Any) -> bool:
    """Whether pandas counts the value as missing (written as an empty cell): None, a NaN
    float or Decimal, a NumPy NaT, pandas' NaT and NA (known by type: only pandas itself,
    reading Parquet, makes them, and this check must not import it)."""
    if value is None:
        return True
    if isinstance(value, float | complex | np.floating | np.complexfloating | Decimal):
        return bool(value != value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    kind = type(value)
    return kind.__name__ in ("NaTType", "NAType") and kind.__module__.startswith("pandas")


def csv_cells(values: list[Any] | np.ndarray, escape_formulas: bool) -> list[str]:
    """One column's cells as the text ``to_csv`` has the ``csv`` writer write for them,
    before quoting: numbers made for the whole column at once (probabilities looked up in
    ``four_decimals``), missing values empty, anything else by ``str``."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        if values.dtype == np.float64:
            text = decimals_as_text(values)
            if text is None:  # as pandas: NumPy's text of each float (repr's), NaN empty
                text = values.astype(str).astype(object)
                text[np.isnan(values)] = ""
            return text.tolist()
        return list(map(str, values.tolist()))  # row numbers, flags: str() of each
    if type(values) is not list:
        values = list(values)
    if escape_formulas and may_start_formula(values):
        values = escaped(values)
    if set(map(type, values)) <= {str}:  # text as read, the results' labels and terms
        return values
    return ["" if is_missing(v) else v if type(v) is str else str(v) for v in values]


def table_csv_text(table: ResultTable, *, escape_formulas: bool = True) -> CsvText:
    """The table as CSV text, byte for byte what ``writers.to_csv_text`` makes of
    ``table.to_frame()``; formula-like text cells escaped unless told otherwise."""
    fields = [csv_cells(v, escape_formulas) for v in table.columns.values()]
    body = _lines(fields, quote_all=False)
    # Python's csv writer quotes a line break only if it is in the line terminator ("\n"): a
    # bare carriage return would go out unquoted and be read back as the end of a row. It
    # can only come from a cell: the text made is checked once, and made again (rarely).
    if "\r" in body:
        body = _lines(fields, quote_all=True)
    return CsvText(
        header=csv_lines([[name] for name in table.columns], quote_all=False),
        body=body,
        rows=len(table),
    )


@cache
def _quotes_carriage_return() -> bool:
    """Whether this Python's ``csv.writer`` (lines ending in "\n") quotes a field holding a
    bare "\r": from Python 3.13 on it does (before, only what is in the line terminator).
    Asked of the module itself, once, so that the bytes stay the ones ``to_csv_text`` gets
    through pandas, which writes with it."""
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["\r"])
    return out.getvalue().startswith('"')


@cache
def _needs_quotes() -> re.Pattern[str]:
    """What makes ``csv.writer`` (QUOTE_MINIMAL, "," and '"', lines ending in "\n") quote a
    field."""
    return re.compile('[,"\n\r]' if _quotes_carriage_return() else '[,"\n]')


# The text between two fields (or before the first, after the last): the separator with the
# quotes of the fields on either side, by (left field quoted, right field quoted).
_GAPS = {
    sep: {
        (left, right): ('"' if left else "") + sep + ('"' if right else "")
        for left in (False, True)
        for right in (False, True)
    }
    for sep in ("", ",", "\n")
}


def csv_lines(columns: list[list[Any]], *, quote_all: bool) -> str:
    """Rows of cells, given as columns, as ``csv.writer`` writes them (``lineterminator="\n"``,
    QUOTE_MINIMAL, or QUOTE_ALL with ``quote_all``): None empty, anything else by ``str``."""
    fields = [
        cells if set(map(type, cells)) <= {str} else
        [c if type(c) is str else "" if c is None else str(c) for c in cells]
        for cells in columns
    ]  # fmt: skip
    return _lines(fields, quote_all=quote_all)


def _lines(fields: list[list[str]], *, quote_all: bool) -> str:
    """``csv_lines`` of text fields, a column at a time.

    The ``csv`` module looks at every character of every field in a Python-level call per
    row: 20 µs a row for a copied case text, most of writing a result. Here each column is
    looked at by C-level calls (``_quoting``), a quoted field's quotes go into the text
    between the fields, and each line is one ``join`` of its fields and what lies between
    them; the bytes are the same (tested against ``csv.writer``).
    """
    if not fields or not fields[0]:
        return ""
    if len(fields) == 1 and not quote_all:  # a lone empty field is written as ""
        search = _needs_quotes().search
        return "".join(
            [
                '"' + c.replace('"', '""') + '"\n' if c == "" or search(c) else c + "\n"
                for c in fields[0]
            ]
        )
    marks, fields = zip(*(_quoting(cells, quote_all) for cells in fields), strict=True)
    marks = (False, *marks, False)  # nothing quoted before the first field, after the last
    n = len(fields[0])
    parts: list[Iterable[str]] = []
    for j, sep in enumerate(["", *[","] * (len(fields) - 1), "\n"]):
        left, right = marks[j], marks[j + 1]
        if isinstance(left, list) or isinstance(right, list):
            lefts = left if isinstance(left, list) else repeat(left, n)
            rights = right if isinstance(right, list) else repeat(right, n)
            parts.append(list(map(_GAPS[sep].__getitem__, zip(lefts, rights, strict=True))))
        elif gap := _GAPS[sep][left, right]:
            parts.append(repeat(gap, n))
        if j < len(fields):
            parts.append(fields[j])
    # A join per line, then one of the lines: faster than one join of every piece.
    return "".join(map("".join, zip(*parts, strict=True)))


def _quoting(cells: list[str], quote_all: bool) -> tuple[bool | list[bool], list[str]]:
    """Which of a column's fields ``csv.writer`` quotes (all, none, or a flag per field) and
    the fields with their own quotes doubled.

    A column of short texts (labels, terms, ids) is joined and searched in C at once; a
    column whose first field needs quotes (a case text, with its commas) goes straight to
    C-level tests per field (``map``): one for a quote (a scan of the text), one for a comma
    (which stops at the first), and a line break looked for only where neither is found.
    """
    n = len(cells)
    first = cells[0]
    carriage = _quotes_carriage_return()  # a bare "\r" is quoted too (Python 3.13 on)
    if not quote_all and not ("," in first or '"' in first or "\n" in first):
        joined = "".join(cells)
        if not ("," in joined or '"' in joined or "\n" in joined or carriage and "\r" in joined):
            return False, cells
    has_quote = list(map(str.__contains__, cells, repeat('"')))
    if any(has_quote):
        cells = list(cells)  # the table's own list stays as it is
        for i in compress(range(n), has_quote):
            cells[i] = cells[i].replace('"', '""')
    if quote_all:
        return True, cells
    needed = list(map(or_, has_quote, map(str.__contains__, cells, repeat(","))))
    for i in compress(range(n), map(not_, needed)):
        needed[i] = "\n" in cells[i] or carriage and "\r" in cells[i]
    return (True if all(needed) else needed), cells
