"""Result tables: their CSV text (the ``csv`` module) is byte for byte pandas' (``to_csv``) for
every kind of cell a result holds, and their frame is the one callers had before."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sw_nlp.table import ResultTable, csv_cells, csv_lines, is_missing, table_csv_text
from sw_nlp.writers import to_csv_text

# Text cells as files hold them: formula starts, quotes, delimiters, line breaks of every
# kind (a bare carriage return switches the whole chunk to quoting every cell), NUL.
_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ['=HYPERLINK("http://x.example","klik")', "+62 812", "-3+cmd", "@SUM(A1)", "\tTab",
         "\rCR", "a\r\nb", 'kata "kutip" di sini', "a,b;c", "", " ", "\x00", "mikro"]
    ),
)  # fmt: skip
# Ids as the readers give them: CSV text; XLSX numbers, dates, booleans and empty cells;
# JSON Lines objects and lists; Parquet's missing values and decimals.
_CELL = st.one_of(
    _TEXT,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.just(float("nan")),
    st.just(Decimal("NaN")),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.just(dt.datetime(2026, 1, 2, 3, 4, 5)),
    st.just(dt.date(2026, 1, 2)),
    st.just(np.datetime64("NaT", "s")),
    st.just(pd.NaT),
    st.just(pd.NA),
    st.just(np.float32("nan")),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)
_PROBABILITY = st.one_of(
    st.integers(0, 10_000).map(lambda k: round(k / 10_000, 4)), st.just(float("nan"))
)


@st.composite
def result_tables(draw: st.DrawFn) -> ResultTable:
    n = draw(st.integers(1, 6))
    ids = {
        name: draw(st.lists(_CELL, min_size=n, max_size=n))
        for name in draw(st.lists(st.sampled_from(["id", "Deskripsi Kasus", "a,b"]), unique=True))
    }
    floats = st.one_of(_PROBABILITY, st.floats(allow_nan=True, allow_infinity=True))
    return ResultTable(
        {
            "row": np.array(draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n))),
            **ids,
            "level": draw(
                st.lists(st.sampled_from(["mikro", "mezzo", ""]), min_size=n, max_size=n)
            ),
            "confidence": np.array(draw(st.lists(_PROBABILITY, min_size=n, max_size=n))),
            "other": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
            "needs_review": np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
            "top_terms": draw(st.lists(_TEXT, min_size=n, max_size=n)),
        }
    )


@settings(max_examples=300, deadline=None)
@given(table=result_tables(), escape=st.booleans())
@example(table=ResultTable({"row": np.array([2]), "id": [None], "error": [""]}), escape=True)
def test_table_csv_is_pandas_csv(table: ResultTable, escape: bool):
    """One definition of each cell's text: the ``csv`` writer's bytes are pandas' for the
    same table as a frame, formulas escaped or not, carriage returns quoted."""
    ours = table_csv_text(table, escape_formulas=escape)
    theirs = to_csv_text(table.to_frame(), escape_formulas=escape)
    assert (ours.header, ours.body, ours.rows) == (theirs.header, theirs.body, theirs.rows)


_RAW = st.one_of(
    _CELL,
    st.text(alphabet=',"\n\r\x00 ab\u2013', max_size=6),
    st.floats().map(np.float64),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
)


@settings(max_examples=300, deadline=None)
@given(
    shape=st.tuples(st.integers(0, 4), st.integers(1, 4)),
    cells=st.lists(_RAW, min_size=16, max_size=16),
    quote_all=st.booleans(),
)
def test_csv_lines_are_the_csv_modules(shape, cells, quote_all: bool):
    """The column-wise writer gives ``csv.writer``'s bytes: quoting of delimiters, quotes
    and line breaks, a lone empty field, floats by ``repr`` (NumPy's too), None empty."""
    import csv
    import io

    rows_n, cols_n = shape
    rows = [[cells[(r * cols_n + c) % len(cells)] for c in range(cols_n)] for r in range(rows_n)]
    expected = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(expected, lineterminator="\n", quoting=quoting).writerows(rows)
    columns = [[row[c] for row in rows] for c in range(cols_n)] if rows else []
    assert csv_lines(columns, quote_all=quote_all) == expected.getvalue()


@pytest.mark.parametrize(
    "value, missing",
    [
        (None, True), (float("nan"), True), (np.float32("nan"), True), (Decimal("NaN"), True),
        (np.datetime64("NaT", "s"), True), (np.timedelta64("NaT", "s"), True), (pd.NaT, True),
        (pd.NA, True), (complex("nan"), True), ("", False), ("nan", False), (0.0, False),
        (float("inf"), False), (np.datetime64("2026-01-02"), False), (False, False),
    ],
)  # fmt: skip
def test_missing_is_what_pandas_calls_missing(value, missing: bool):
    assert is_missing(value) is missing
    assert bool(pd.isna(value)) is missing


def test_frame_has_the_types_callers_read():
    """Text stays plain Python strings (object), numbers and flags keep their dtype."""
    frame = ResultTable(
        {"row": np.array([2, 3]), "id": ["A", 7], "p": np.array([0.5, np.nan]),
         "flag": np.array([True, False]), "level": ["mikro", ""]}
    ).to_frame()  # fmt: skip
    assert frame.dtypes.astype(str).tolist() == ["int64", "object", "float64", "bool", "object"]
    assert frame["id"].tolist() == ["A", 7]


# Case texts as they come: commas in most (so the first cell often decides nothing), quotes,
# every line break, spaces at either end, formula starts, NUL, non-ASCII, long and empty.
_CASE_TEXT = st.one_of(
    st.text(alphabet=' ,"\n\r\t=+-@\x00ab\u2013\u00e9', max_size=8),
    st.builds(
        lambda head, body, tail: head + body + tail,
        st.sampled_from(["", " ", "=", "-", "@", '"', "\r", "\n", "\t", "+62 "]),
        st.text(alphabet="abc ,.\u2013", min_size=0, max_size=40),
        st.sampled_from(["", " ", '"', "\r\n", ",", "\r"]),
    ),
)


@st.composite
def text_columns(draw: st.DrawFn) -> list[list[str]]:
    """Columns of one length, each mostly of one kind (no cell quoted, every cell quoted, a
    mix), so that every pair of neighbours (none/all/some quoted) is met."""
    n = draw(st.integers(1, 6))
    kinds = {
        "plain": st.text(alphabet="abc 12.;+-=", max_size=5),
        "quoted": st.builds(lambda t: t + ",", _CASE_TEXT),
        "mixed": _CASE_TEXT,
    }
    return [
        draw(st.lists(kinds[draw(st.sampled_from(sorted(kinds)))], min_size=n, max_size=n))
        for _ in range(draw(st.integers(1, 5)))
    ]


def _csv_module(columns: list[list], quote_all: bool) -> str:
    import csv
    import io

    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(out, lineterminator="\n", quoting=quoting).writerows(zip(*columns, strict=True))
    return out.getvalue()


@settings(max_examples=500, deadline=None)
@given(columns=text_columns(), quote_all=st.booleans())
def test_csv_lines_of_case_texts_are_the_csv_modules(columns, quote_all: bool):
    """Hostile text, a column at a time: the quoting of each field (commas, quotes doubled,
    line breaks; a bare carriage return, leading and trailing spaces left as they are) is
    the ``csv`` module's, with every mix of quoted neighbours."""
    assert csv_lines(columns, quote_all=quote_all) == _csv_module(columns, quote_all)


@settings(max_examples=300, deadline=None)
@given(columns=text_columns(), escape=st.booleans())
def test_table_text_is_the_csv_module_on_escaped_cells(columns, escape: bool):
    """A table of text columns: formula starts escaped with a quote (or not), the whole body
    quoted when a cell holds a carriage return, as the ``csv`` module writes the cells."""
    names = [f"c{j}" for j in range(len(columns))]
    got = table_csv_text(
        ResultTable(dict(zip(names, columns, strict=True))), escape_formulas=escape
    )
    cells = [
        ["'" + c if escape and c.startswith(("=", "+", "-", "@", "\t", "\r")) else c for c in col]
        for col in columns
    ]
    carriage_return = any("\r" in c for col in cells for c in col)
    assert got.body == _csv_module(cells, carriage_return)
    assert got.header == ",".join(names) + "\n" and got.rows == len(columns[0])


def test_a_written_table_leaves_its_columns_as_they_were():
    """Quotes are doubled in copies: the result table a caller keeps (for XLSX, Parquet or
    JSON Lines from the same cells) is not changed by writing its CSV."""
    text = ['a "b", c', "=1", 'x"']
    table = ResultTable({"text": text, "p": np.array([0.5, np.nan])[[0, 1, 0]]})
    assert table_csv_text(table).body == '"a ""b"", c",0.5\n\'=1,\n"x""",0.5\n'
    assert table["text"] == ['a "b", c', "=1", 'x"']


@pytest.mark.parametrize(
    "values",
    [
        [0.0, 1.0, 1e-17, -0.0, 0.5, float("nan"), 0.00005, 0.99995, 0.12345, 1 - 1e-16],
        [0.0001 * k for k in range(10_001)],  # k/10000 as a product, not as round() gives it
        [round(k / 10_000, 4) for k in range(10_001)],
        [np.nextafter(0.1, 1.0), np.nextafter(0.1, 0.0), 5e-324, 1.0000000000000002, -1e-4],
        [float("inf"), float("-inf"), 1e300, 123456789.0, float("nan")],
    ],
)
def test_float_columns_are_written_as_each_float(values):
    """A float column, the probabilities' lookup table or NumPy's text for the whole column,
    gives each float as the ``csv`` module writes it (``repr``), NaN as an empty field."""
    column = np.array(values, dtype=np.float64)
    expected = ["" if v != v else repr(float(v)) for v in values]
    assert csv_cells(column, True) == expected
