"""Writing results: every format round-trips, nothing half-written stays, bytes as pandas."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sw_nlp.writers import ResultWriter, _with_decimals_as_text


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_writer_round_trip_and_no_partial_file_on_error(tmp_path: Path, suffix: str):
    out = tmp_path / f"out{suffix}"
    frame = pd.DataFrame(
        {"row": [2, 3], "level": ["mikro", ""], "confidence": [0.9, float("nan")]}
    )
    with ResultWriter(out) as writer:
        writer.write(frame)
        writer.write(frame.assign(row=[4, 5]))
    back = {
        ".csv": lambda p: pd.read_csv(p),
        ".jsonl": lambda p: pd.read_json(p, lines=True),
        ".parquet": pd.read_parquet,
        ".xlsx": pd.read_excel,
    }[suffix](out)
    assert back["row"].tolist() == [2, 3, 4, 5]
    failed = tmp_path / f"failed{suffix}"
    with pytest.raises(RuntimeError):
        with ResultWriter(failed) as writer:
            writer.write(frame)
            raise RuntimeError("crash mid-way")
    assert not failed.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_output_gets_ordinary_permissions(tmp_path: Path):
    import os

    out = tmp_path / "o.csv"
    with ResultWriter(out) as writer:
        writer.write(pd.DataFrame({"a": [1]}))
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 10_000).map(lambda k: round(k / 10_000, 4)),
            st.just(float("nan")),
            st.floats(allow_nan=True, allow_infinity=True),
            st.just(-0.0),
        ),
        min_size=1,
        max_size=30,
    )
)
@example([1.7e308, -1.7e308, float("inf"), 0.00005, 1.00001])
def test_csv_writer_writes_floats_exactly_as_pandas(values):
    """The table of 4-decimal strings changes nothing in the bytes, whatever the floats."""
    with np.errstate(over="ignore", invalid="ignore"):  # np.round of a huge float
        rounded = np.round(np.array(values), 4)
    frame = pd.DataFrame({"p": rounded, "q": np.array(values)})
    plain = frame.to_csv(index=False, lineterminator="\n")
    assert _with_decimals_as_text(frame).to_csv(index=False, lineterminator="\n") == plain


def test_csv_text_and_its_bytes_are_written_alike(tmp_path: Path, capsys):
    """A worker's CSV comes as UTF-8 bytes, the writing process's own as text: the file (and
    stdout) get the same bytes either way, non-ASCII and line breaks as they are."""
    from sw_nlp.table import ResultTable, table_csv_text

    table = ResultTable(
        {
            "row": np.array([2, 3]),
            "text": ['Ibu "A", 7–18 th\r\n', "ñ\n"],
            "p": np.array([0.5, 1.0]),
        }
    )
    text = table_csv_text(table)
    outputs = {}
    for name, chunks in {"text": [text, text], "bytes": [text.encoded(), text.encoded()]}.items():
        with ResultWriter(tmp_path / f"{name}.csv") as writer:
            for chunk in chunks:
                writer.write(chunk)
        outputs[name] = (tmp_path / f"{name}.csv").read_bytes()
        with ResultWriter(None) as writer:
            for chunk in chunks:
                writer.write(chunk)
        assert capsys.readouterr().out.encode("utf-8") == outputs[name]
    assert outputs["bytes"] == outputs["text"]
    assert outputs["text"] == (text.header + text.body * 2).encode("utf-8")
    assert isinstance(text.encoded().body, bytes) and text.encoded().encoded() == text.encoded()


def test_xlsx_cells_longer_than_excel_holds_are_cut_visibly_and_counted(tmp_path: Path):
    """An XLSX cell holds 32,767 characters; openpyxl cut longer text there without a word.
    The cut is marked with "…" and counted, for the summary to say so."""
    out = tmp_path / "out.xlsx"
    long = "kata " * 10_000  # 50,000 characters
    with ResultWriter(out) as writer:
        writer.write(pd.DataFrame({"row": [2, 3], "text": [long, "pendek"]}))
    assert writer.cut_cells == 1
    back = pd.read_excel(out)["text"].tolist()
    assert len(back[0]) == 32_767 and back[0].endswith("…") and back[1] == "pendek"
    csv_out = tmp_path / "out.csv"
    with ResultWriter(csv_out) as writer:
        writer.write(pd.DataFrame({"row": [2], "text": [long]}))
    assert writer.cut_cells == 0 and pd.read_csv(csv_out)["text"][0] == long


def test_jsonl_writes_dates_as_iso_text(tmp_path: Path):
    """A workbook's date went into JSON Lines as milliseconds since 1970 (1735776000000):
    now as ISO text, a date as a date."""
    import datetime as dt
    import json

    out = tmp_path / "out.jsonl"
    frame = pd.DataFrame(
        {
            "row": [2, 3],
            "tanggal": pd.Series([dt.date(2025, 1, 2), dt.datetime(2025, 1, 3, 14, 5)], dtype=object),
            "stempel": pd.to_datetime(["2025-01-02 08:00", None]),
        }
    )
    with ResultWriter(out) as writer:
        writer.write(frame)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["tanggal"] for r in rows] == ["2025-01-02", "2025-01-03T14:05:00.000"]
    assert [r["stempel"] for r in rows] == ["2025-01-02T08:00:00.000", None]


def test_xlsx_rows_beyond_what_a_sheet_holds_go_on_to_a_next_sheet(tmp_path: Path, monkeypatch):
    """A sheet holds 1,048,576 rows; openpyxl wrote on past it, a file Excel cannot open
    whole. The rows go on in "hasil (2)", … each with the header, and a note says so (the
    limit is made small here: the rule is the same)."""
    import sw_nlp.writers as writers

    monkeypatch.setattr(writers, "XLSX_SHEET_ROWS", 3)  # a header and two rows a sheet
    out = tmp_path / "out.xlsx"
    with ResultWriter(out) as writer:
        writer.write(pd.DataFrame({"row": [2, 3, 4], "level": ["mikro", "mezzo", "makro"]}))
        writer.write(pd.DataFrame({"row": [5, 6], "level": ["global", "mikro"]}))
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["hasil", "hasil (2)", "hasil (3)"]
    assert pd.concat(sheets.values())["row"].tolist() == [2, 3, 4, 5, 6]
    assert writer.notes() == ["5 rows written over 3 sheets: an XLSX sheet holds 2 rows"]
