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

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CsvText:
    """A result chunk already turned into CSV text, header apart: worker processes do this so
    that the process writing the file only copies text."""

    header: str
    body: str
    rows: int  # counted here: a text may hold line breaks, so the body's lines are no count


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
# A formula start right after the separator ``scan_text`` joins a column's cells with.
_FORMULA_AFTER_SEPARATOR = re.compile("\x00[=+\\-@\t\r]")


def scan_text(values: list[Any]) -> tuple[bool, bool]:
    """(may a cell start a formula, does a cell hold a carriage return) for one column.

    The cells are joined and searched once in C, which costs a tenth of a Python test per
    cell; a cell holding NUL, or a column of mixed kinds, is checked cell by cell instead.
    Both answers may be a false "yes", never a false "no".
    """
    try:
        joined = "\x00" + "\x00".join(values)
    except TypeError:  # not all text: numbers, None, nested ids
        cells = [v for v in values if type(v) is str]
        return (
            any(v.startswith(FORMULA_STARTS) for v in cells),
            any("\r" in v for v in cells),
        )
    return bool(_FORMULA_AFTER_SEPARATOR.search(joined)), "\r" in joined


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


def csv_cells(values: list[Any] | np.ndarray, escape_formulas: bool) -> tuple[list[Any], bool]:
    """One column's cells as ``to_csv`` hands them to the ``csv`` writer, and whether one of
    them holds a carriage return."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        if values.dtype == np.float64:
            text = decimals_as_text(values)
            if text is None:  # as pandas: NumPy's text of each float (repr's), NaN empty
                text = values.astype(str).astype(object)
                text[np.isnan(values)] = ""
            return text.tolist(), False
        return values.tolist(), False  # row numbers, flags: str() of each, as pandas writes
    values = list(values)
    formula, carriage_return = scan_text(values)
    if escape_formulas and formula:
        values = escaped(values)
    if not all(type(v) is str for v in values):
        values = ["" if is_missing(v) else v for v in values]
    return values, carriage_return


def table_csv_text(table: ResultTable, *, escape_formulas: bool = True) -> CsvText:
    """The table as CSV text, byte for byte what ``writers.to_csv_text`` makes of
    ``table.to_frame()``; formula-like text cells escaped unless told otherwise."""
    columns = [csv_cells(v, escape_formulas) for v in table.columns.values()]
    # Python's csv writer quotes a line break only if it is in the line terminator ("\n"): a
    # bare carriage return would go out unquoted and be read back as the end of a row.
    quote_all = any(cr for _, cr in columns)
    return CsvText(
        header=csv_lines([[name] for name in table.columns], quote_all=False),
        body=csv_lines([cells for cells, _ in columns], quote_all=quote_all),
        rows=len(table),
    )


# What makes ``csv.writer`` (QUOTE_MINIMAL, "," and '"', lines ending in "\n") quote a field.
_NEEDS_QUOTES = re.compile('[,"\n]')


def csv_lines(columns: list[list[Any]], *, quote_all: bool) -> str:
    """Rows of cells, given as columns, as ``csv.writer`` writes them (``lineterminator="\n"``,
    QUOTE_MINIMAL, or QUOTE_ALL with ``quote_all``), a column at a time.

    The ``csv`` module looks at every character of every field in a Python-level call per
    row: 20 µs a row for a copied case text, most of writing a result. Here each column is
    searched once for a character that needs quoting (in C), and only cells holding one are
    quoted; the bytes are the same (tested against ``csv.writer``) in about half the time.
    """
    fields = [_field_texts(cells, quote_all) for cells in columns]
    if len(fields) == 1 and not quote_all:  # a lone empty field is written as ""
        fields = [['""' if f == "" else f for f in fields[0]]]
    if not fields or not fields[0]:
        return ""
    # the empty last line gives the final "\n" without copying all the text once more
    return "\n".join(itertools.chain(map(",".join, zip(*fields, strict=True)), [""]))


def _field_texts(cells: list[Any], quote_all: bool) -> list[str]:
    """One column's fields as ``csv.writer`` writes them: None empty, anything else by
    ``str``; quoted (quotes doubled) where needed, or always."""
    if not all(type(c) is str for c in cells):
        cells = [c if type(c) is str else "" if c is None else str(c) for c in cells]
    if quote_all:
        return ['"' + c.replace('"', '""') + '"' for c in cells]
    if not _NEEDS_QUOTES.search("\x00".join(cells)):
        return cells
    search = _NEEDS_QUOTES.search
    return ['"' + c.replace('"', '""') + '"' if search(c) else c for c in cells]
