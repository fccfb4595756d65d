"""The second round of hostile tests (issue 20): every break found in review has a test
here that failed before its fix. Each asserts what a user sees: a one-line error naming the
file, or a row for every input row, or files that stay consistent."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sw_nlp.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str, *parts: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    for part in parts:
        assert part in lines[0], lines[0]


# --- 1. rows silently lost on malformed quoting --------------------------------------------

STRAY_QUOTES = (
    b'id,text\nK1,"Ibu hamil butuh bantuan segera\nK2,Warga desa membentuk posko\n'
    b'K3,Rapat "data" kecamatan\nK4,Lansia tinggal sendiri\n'
)


def test_stray_quote_is_an_error_naming_file_and_line(tmp_path, trained_bundle, capsys):
    """pandas' lenient parser merged K1..K3 into one row and exited 0 with 2 rows of 4."""
    path = tmp_path / "stray.csv"
    path.write_bytes(STRAY_QUOTES)
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "classify", str(path), "-o", str(out), "--model", str(trained_bundle))
    assert code == 3 and not out.exists()
    one_line_error(err, "stray.csv", "line 2", "quot")


def test_quote_inside_an_unquoted_field_is_kept_as_text(tmp_path, trained_bundle, capsys):
    path = tmp_path / "inner.csv"
    path.write_bytes(b'id,text\nK1,Rapat "data" kecamatan\nK2,Lansia sendiri\n')
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "classify", str(path), "-o", str(out), "--model", str(trained_bundle))
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["K1", "K2"]
    assert "rows in: 2, rows out: 2" in err


def test_extra_fields_give_a_row_error_not_a_lost_or_shifted_row(tmp_path, trained_bundle, capsys):
    path = tmp_path / "extra.csv"
    path.write_bytes(b"id,text\nK1,Lansia sendiri\nK2,Rapat, desa, banyak koma\nK3,Anak\n")
    out = tmp_path / "out.csv"
    code, _, _ = run(capsys, "classify", str(path), "-o", str(out), "--model", str(trained_bundle))
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["K1", "K2", "K3"]
    assert frame["error"].tolist()[1].startswith("4 fields, the header has 2")


def test_row_counts_are_checked_and_shown(tmp_path, trained_bundle, monkeypatch):
    """A chunk that comes back shorter than it went in stops the run before the output is
    put in place (a stand-in for any future bug that drops rows)."""
    import sw_nlp.classify as classify
    from sw_nlp.errors import SwNlpError

    path = tmp_path / "ok.csv"
    path.write_text("id,text\n1,Lansia sendiri\n2,Rapat desa\n3,Anak jalanan\n", encoding="utf-8")
    real = classify._result_frame
    monkeypatch.setattr(classify, "_result_frame", lambda chunk, result: real(chunk, result).iloc[:-1])
    out = tmp_path / "out.csv"
    with pytest.raises(SwNlpError, match="3 rows in, 2 rows out"):
        classify.classify_file(path, out, model=trained_bundle)
    assert not out.exists()


# --- 2. formula injection -------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x.example","klik")', "+2+5", "-3+cmd", "@SUM(A1)", "\tTab", "\rCR"]


def formula_input(tmp_path: Path) -> Path:
    path = tmp_path / "formulas.jsonl"
    import json

    path.write_text(
        "".join(
            json.dumps({"id": f, "text": f"{f} Lansia tinggal sendiri butuh rujukan"}) + "\n"
            for f in FORMULAS
        ),
        encoding="utf-8",
    )
    return path


def test_csv_output_escapes_formulas(tmp_path, trained_bundle, capsys):
    out = tmp_path / "out.csv"
    code, _, _ = run(
        capsys, "classify", str(formula_input(tmp_path)), "-o", str(out), "--model", str(trained_bundle)
    )
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["'" + f for f in FORMULAS]
    assert frame["level"].str.len().gt(0).all()  # other columns unchanged
    # machine consumers can turn it off
    code, _, _ = run(
        capsys, "classify", str(formula_input(tmp_path)), "-o", str(out), "--model",
        str(trained_bundle), "--no-escape-formulas",
    )  # fmt: skip
    assert code == 0
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["id"].tolist() == FORMULAS


@pytest.mark.parametrize("escape", [True, False])
def test_xlsx_output_never_holds_a_formula(tmp_path, trained_bundle, capsys, escape):
    import openpyxl

    out = tmp_path / "out.xlsx"
    flag = [] if escape else ["--no-escape-formulas"]
    code, _, _ = run(
        capsys, "classify", str(formula_input(tmp_path)), "-o", str(out), "--model",
        str(trained_bundle), *flag,
    )  # fmt: skip
    assert code == 0
    sheet = openpyxl.load_workbook(out).active
    ids = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in ids)
    assert [c.value for c in ids] == [("'" + f if escape else f) for f in FORMULAS]


def test_jsonl_output_is_not_changed(tmp_path, trained_bundle, capsys):
    out = tmp_path / "out.jsonl"
    code, _, _ = run(
        capsys, "classify", str(formula_input(tmp_path)), "-o", str(out), "--model", str(trained_bundle)
    )
    assert code == 0
    assert pd.read_json(out, lines=True, dtype=False)["id"].tolist() == FORMULAS


def test_note_file_names_are_escaped(tmp_path, trained_bundle, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "=2+5+cmd.txt").write_text("Lansia tinggal sendiri", encoding="utf-8")
    out = tmp_path / "out.csv"
    code, _, _ = run(capsys, "classify", str(notes), "-o", str(out), "--model", str(trained_bundle))
    assert code == 0
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["file"].tolist() == ["'=2+5+cmd.txt"]


def test_suggest_xlsx_writes_case_text_as_text(tmp_path, trained_bundle, capsys):
    import openpyxl

    pool = tmp_path / "pool.csv"
    pd.DataFrame(
        {"id": range(6), "text": [f"=HYPERLINK(\"http://x\",\"{i}\") warga desa" for i in range(6)]}
    ).to_csv(pool, index=False)
    out = tmp_path / "x.xlsx"
    code, _, err = run(
        capsys, "suggest", "--pool", str(pool), "-n", "3", "--model", str(trained_bundle),
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    sheet = openpyxl.load_workbook(out).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert any(isinstance(c.value, str) and c.value.startswith("'=HYPERLINK") for c in cells)
