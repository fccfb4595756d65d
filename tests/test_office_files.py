"""Case files as offices keep them (issue 18): renamed files, headers with spaces and
capitals, title rows above the table, scanned PDFs, JSON values that are not text, a file
with only a header. Each test fails on the code before issue 18."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sw_nlp.cli import main
from sw_nlp.errors import InputError
from sw_nlp.files import open_cases, read_note, sniff_format

TEXT = "Seorang ibu dengan tiga anak ditinggal suami dan butuh bantuan sembako"


def rows_of(source) -> list[tuple[int, str, str]]:
    return [
        (r, t, e) for c in source.chunks for r, t, e in zip(c.rows, c.texts, c.errors, strict=True)
    ]


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def xlsx_file(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_excel(path, index=False)
    return path


def test_xlsx_renamed_to_csv_is_named_with_the_way_out(tmp_path: Path, capsys):
    path = xlsx_file(tmp_path / "kasus.xlsx", pd.DataFrame({"teks": [TEXT]}))
    renamed = path.rename(tmp_path / "kasus.csv")
    assert sniff_format(renamed) == "xlsx"
    with pytest.raises(InputError, match="this looks like an XLSX file; rename it or pass --format xlsx"):
        open_cases(renamed)
    assert rows_of(open_cases(renamed, format="xlsx")) == [(2, TEXT, "")]
    code, out, err = run(["classify", str(renamed), "--model", str(tmp_path / "x")], capsys)
    assert code != 0 and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "content, looks_like",
    [
        (b"%PDF-1.4\n%%EOF\n", "a PDF file; rename it or pass --format pdf"),
        (b"PAR1\x00\x00\x00", "a Parquet file; rename it or pass --format parquet"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "an image"),
        (b"\x00\x01\x02\x03binary\x00", "a binary file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls file"),
    ],
)
def test_binary_files_named_csv_are_one_line_errors(tmp_path: Path, content: bytes, looks_like: str):
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"this looks like {looks_like}"):
        open_cases(path)


def test_csv_named_xlsx_and_docx_named_csv(tmp_path: Path):
    import docx

    path = tmp_path / "a.xlsx"
    path.write_text("teks\nsatu\n")
    with pytest.raises(InputError, match="rename it or pass --format csv"):
        open_cases(path)
    assert rows_of(open_cases(path, format="csv")) == [(2, "satu", "")]
    document = docx.Document()
    document.add_paragraph(TEXT)
    document.save(str(tmp_path / "n.csv"))
    with pytest.raises(InputError, match="a DOCX file; rename it or pass --format docx"):
        open_cases(tmp_path / "n.csv")
    assert rows_of(open_cases(tmp_path / "n.csv", format="docx"))[0][1] == TEXT


@pytest.mark.parametrize("header", ["Deskripsi Kasus", " TEXT ", "uraian_kasus", "URAIAN-KASUS"])
def test_headers_match_whatever_the_case_spaces_and_punctuation(tmp_path: Path, header: str):
    path = tmp_path / "a.csv"
    pd.DataFrame({"No. Kasus": ["K1"], header: [TEXT]}).to_csv(path, index=False)
    source = open_cases(path)
    assert source.text_column == header
    assert rows_of(source) == [(2, TEXT, "")]
    assert open_cases(path, text_column="deskripsi kasus" if "Desk" in header else header.strip().lower()).text_column == header


def test_title_rows_above_the_header_in_xlsx(tmp_path: Path):
    import openpyxl

    path = tmp_path / "rekap.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["REKAP KASUS DINAS SOSIAL KAB. X 2024"])
    sheet.append([])
    sheet.append(["No", "Tanggal", "Deskripsi Kasus", "Petugas"])
    sheet.append([1, "2024-01-02", TEXT, "Bu A"])
    sheet.append([2, "2024-01-03", "kedua", "Pak B"])
    book.save(path)
    source = open_cases(path)
    assert source.text_column == "Deskripsi Kasus" and source.id_columns == ["No"]
    assert rows_of(source) == [(4, TEXT, ""), (5, "kedua", "")]
    assert any("header found on row 3" in n for n in source.notes)
    assert rows_of(open_cases(path, header_row=3)) == [(4, TEXT, ""), (5, "kedua", "")]
    with pytest.raises(InputError, match="rekap.xlsx:1: no text column found"):
        open_cases(path, header_row=1)


def test_xlsx_chunks_closed_unread_close_the_file(tmp_path: Path):
    """A caller that only wants the columns and the total (the web page's progress) closes
    the chunks unread: the workbook's file is closed then, not left to the collector."""
    import gc
    import sys

    import openpyxl

    path = tmp_path / "rekap.xlsx"
    book = openpyxl.Workbook()
    for row in (["REKAP 2024"], [], ["No", "Deskripsi Kasus"], [1, TEXT]):
        book.active.append(row)
    book.save(path)
    leaked: list[str] = []
    before = sys.unraisablehook
    sys.unraisablehook = lambda u: leaked.append(str(u.exc_value))
    try:
        source = open_cases(path, columns="all")
        assert source.total == 1
        source.chunks.close()  # type: ignore[attr-defined]
        del source
        gc.collect()
    finally:
        sys.unraisablehook = before
    assert leaked == []


def test_title_rows_above_the_header_in_csv(tmp_path: Path):
    path = tmp_path / "rekap.csv"
    path.write_text(
        "REKAP KASUS 2024,,\n,,\nNo,Deskripsi Kasus,Petugas\n1,satu,A\n2,dua,B\n", encoding="utf-8"
    )
    source = open_cases(path)
    assert source.text_column == "Deskripsi Kasus"
    assert rows_of(source) == [(4, "satu", ""), (5, "dua", "")]
    assert rows_of(open_cases(path, header_row=3)) == [(4, "satu", ""), (5, "dua", "")]


def test_no_text_column_offers_the_header_row_option(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text("nama,umur\nA,3\n")
    with pytest.raises(InputError, match="--header-row N"):
        open_cases(path)


def test_image_only_pdf_needs_ocr(tmp_path: Path):
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with open(tmp_path / "scan.pdf", "wb") as handle:
        writer.write(handle)
    text, error = read_note(tmp_path / "scan.pdf")
    assert text == "" and "needs OCR" in error


@pytest.mark.parametrize(
    "value, kind", [(["tolong", "bantu"], "list"), (7, "number"), ({"a": "b"}, "object")]
)
def test_non_string_json_text_is_a_row_error(tmp_path: Path, value, kind: str):
    path = tmp_path / "a.jsonl"
    path.write_text(
        json.dumps({"id": 1, "text": value}) + "\n" + json.dumps({"id": 2, "text": TEXT}) + "\n"
    )
    got = rows_of(open_cases(path))
    assert got == [(1, "", f"column 'text': a JSON {kind}, not text"), (2, TEXT, "")]


def test_header_only_csv_is_one_line_and_prints_no_header(
    tmp_path: Path, trained_bundle: Path, capsys
):
    path = tmp_path / "kosong.csv"
    path.write_text("id,teks\n")
    code, out, err = run(["classify", str(path), "--model", str(trained_bundle)], capsys)
    assert code == 3 and out == ""
    assert err.strip().splitlines() == [f"error: {path}: no cases in the input: it has a header but no rows"]


def messy_spreadsheet(path: Path) -> Path:
    """A new user's office spreadsheet: a title row, a blank row, spaces and capitals in the
    headers, ids that mix numbers and text."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["REKAP KASUS KECAMATAN 2024"])
    sheet.append([])
    sheet.append(["No Kasus", "Tanggal", "Deskripsi Kasus", "Petugas", "level"])
    sheet.append([1, "2024-01-02", TEXT, "Bu A", "lama"])
    sheet.append(["2a", "2024-01-03", "Warga desa membentuk kelompok usaha bersama", "Pak B", ""])
    book.save(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".jsonl"])
def test_every_input_column_is_kept_before_the_results(
    tmp_path: Path, trained_bundle: Path, capsys, suffix: str
):
    path = messy_spreadsheet(tmp_path / "rekap.xlsx")
    out = tmp_path / f"hasil{suffix}"
    code, _, err = run(
        ["classify", str(path), "-o", str(out), "--model", str(trained_bundle)], capsys
    )
    assert code == 0, err
    back = {
        ".csv": lambda p: pd.read_csv(p, dtype=str, keep_default_na=False),
        ".parquet": pd.read_parquet,
        ".xlsx": lambda p: pd.read_excel(p, dtype=str),
        ".jsonl": lambda p: pd.read_json(p, lines=True, dtype=False),
    }[suffix](out)
    assert list(back.columns[:6]) == [
        "row", "No Kasus", "Tanggal", "Deskripsi Kasus", "Petugas", "input_level",
    ]  # fmt: skip
    assert list(back.columns[6:8]) == ["level", "confidence"]
    assert back["row"].astype(int).tolist() == [4, 5]
    assert back["Deskripsi Kasus"].tolist()[0] == TEXT
    assert [str(v) for v in back["No Kasus"]] == ["1", "2a"]


def test_columns_option_chooses_what_is_passed_through(
    tmp_path: Path, trained_bundle: Path, capsys
):
    path = messy_spreadsheet(tmp_path / "rekap.xlsx")
    for choice, expected in [
        ("id", ["row", "No Kasus", "level"]),
        ("petugas, tanggal", ["row", "Petugas", "Tanggal", "level"]),
    ]:
        out = tmp_path / "o.csv"
        code, _, err = run(
            ["classify", str(path), "-o", str(out), "--model", str(trained_bundle),
             "--columns", choice],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        assert list(pd.read_csv(out).columns[: len(expected)]) == expected
    code, _, err = run(
        ["classify", str(path), "--model", str(trained_bundle), "--columns", "nope"], capsys
    )
    assert code == 3 and "--columns names no column 'nope'" in err


def test_missing_output_folder_is_not_created(tmp_path: Path, trained_bundle: Path, capsys):
    path = tmp_path / "a.csv"
    path.write_text(f"teks\n{TEXT}\n")
    out = tmp_path / "nodir" / "out.csv"
    code, stdout, err = run(
        ["classify", str(path), "-o", str(out), "--model", str(trained_bundle)], capsys
    )
    assert code == 3 and not out.parent.exists() and stdout == ""
    assert err.strip().splitlines() == [
        f"error: {out}: output folder {out.parent} does not exist; create it first"
    ]


def test_a_note_that_is_not_text_is_a_row_error(tmp_path: Path):
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "scan.txt").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (tmp_path / "photo.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    got = {c.ids["file"][i]: c.errors[i] for c in open_cases(tmp_path).chunks for i in range(len(c.rows))}
    assert got == {
        "a.txt": "",
        "photo.md": "this looks like an image file, not text",
        "scan.txt": "this looks like a PDF file, not text",
    }


def test_subfolders_of_a_notes_folder_are_named_in_the_summary(tmp_path: Path):
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "b.txt").write_text(TEXT, encoding="utf-8")
    source = open_cases(tmp_path)
    assert "skipped 1 subfolder(s), not read (--recursive reads them): 2024" in source.notes


def test_recursive_reads_subfolders_with_their_relative_path_as_id(
    tmp_path: Path, trained_bundle: Path, capsys
):
    import os

    notes = tmp_path / "catatan"
    (notes / "2024" / "maret").mkdir(parents=True)
    (notes / ".git").mkdir()
    (notes / "a.txt").write_text(TEXT, encoding="utf-8")
    (notes / "2024" / "b.txt").write_text(TEXT, encoding="utf-8")
    (notes / "2024" / "maret" / "c.md").write_text(TEXT, encoding="utf-8")
    (notes / ".git" / "HEAD.txt").write_text("ref", encoding="utf-8")
    elsewhere = tmp_path / "rahasia"
    elsewhere.mkdir()
    (elsewhere / "s.txt").write_text("rahasia orang lain", encoding="utf-8")
    os.symlink(elsewhere, notes / "2024" / "tautan")  # a linked folder is not followed
    source = open_cases(notes, recursive=True)
    ids = [i for chunk in source.chunks for i in chunk.ids["file"]]
    assert ids == ["2024/b.txt", "2024/maret/c.md", "a.txt"]
    assert not any("subfolder" in n for n in source.notes)
    assert any("link" in n and "tautan" in n for n in source.notes)

    out = tmp_path / "hasil.csv"
    code = main(["classify", str(notes), "--recursive", "--model", str(trained_bundle), "-o", str(out)])
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["file"].tolist() == ["2024/b.txt", "2024/maret/c.md", "a.txt"]
    assert "rahasia" not in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["xlsx", "parquet", "jsonl"])
def test_a_phone_or_nik_stored_as_a_number_is_masked_and_other_numbers_kept(
    tmp_path: Path, trained_bundle: Path, capsys, kind: str
):
    """A phone typed into a spreadsheet is a number there (6281234567890), as is a NIK in a
    Parquet or JSON integer column: passed through, it is written masked, like any text; an
    age or an amount stays a number."""
    frame = pd.DataFrame(
        {
            "No Kasus": [1, 2],
            "Deskripsi Kasus": [TEXT, "Warga desa membentuk kelompok usaha bersama"],
            "Telp": [6281234567890, 6285712345678],
            "NIK": [3174012345678901, 3201012345678902],
            "Umur": [42, 67],
        }
    )
    path = tmp_path / f"rekap.{kind}"
    if kind == "xlsx":
        xlsx_file(path, frame)
    elif kind == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    out = tmp_path / "hasil.csv"
    code, _, err = run(
        ["classify", str(path), "-o", str(out), "--model", str(trained_bundle)], capsys
    )
    assert code == 0, err
    written = out.read_text(encoding="utf-8")
    for digits in ("6281234567890", "6285712345678", "3174012345678901", "3201012345678902"):
        assert digits not in written
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert back["Telp"].str.strip().tolist() == ["_telepon_", "_telepon_"]
    assert back["NIK"].str.strip().tolist() == ["_nik_", "_nik_"]
    assert back["Umur"].tolist() == ["42", "67"]


def monthly_workbook(path: Path) -> Path:
    """A workbook as offices keep one: a summary sheet first, then a sheet of cases per month
    (February's with one more column), and a sheet of codes."""
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"Kecamatan": ["A", "B"], "Jumlah": [3, 1]}).to_excel(
            xw, sheet_name="Rekap", index=False
        )
        pd.DataFrame(
            {"No": [1, 2], "Uraian Kasus": [TEXT, "Warga desa membentuk kelompok usaha"]}
        ).to_excel(xw, sheet_name="Januari", index=False)
        pd.DataFrame(
            {"No": [1], "Uraian Kasus": ["Banjir di tiga kabupaten"], "Petugas": ["Bu A"]}
        ).to_excel(xw, sheet_name="Februari", index=False)
        pd.DataFrame({"Kode": ["K1"], "Jumlah": [2]}).to_excel(xw, sheet_name="Kode", index=False)
    return path


def test_a_summary_sheet_first_is_passed_over_for_the_first_table_of_cases(tmp_path: Path):
    source = open_cases(monthly_workbook(tmp_path / "kasus.xlsx"), columns="all")
    assert source.notes == ["read sheet 'Januari' of 4, the first that is a table of cases"]
    assert (source.text_column, source.id_columns) == ("Uraian Kasus", ["No", "Uraian Kasus"])
    assert rows_of(source) == [(2, TEXT, ""), (3, "Warga desa membentuk kelompok usaha", "")]


def test_every_sheet_of_cases_is_read_with_its_name(tmp_path: Path):
    source = open_cases(monthly_workbook(tmp_path / "kasus.xlsx"), sheet="*", columns="all")
    assert source.notes[0] == "read 2 of 4 sheet(s): 'Januari', 'Februari'"
    assert "'Rekap' (" in source.notes[-1] and "'Kode' (" in source.notes[-1]
    assert source.id_columns == ["sheet", "No", "Uraian Kasus", "Petugas"]
    assert source.total == 3
    chunks = list(source.chunks)
    assert [r for c in chunks for r in c.rows] == [2, 3, 2]  # each sheet's own row numbers
    ids = {k: [v for c in chunks for v in c.ids[k]] for k in source.id_columns}
    assert ids["sheet"] == ["Januari", "Januari", "Februari"]
    assert ids["Petugas"] == [None, None, "Bu A"]  # January has no such column
    assert [t for c in chunks for t in c.texts][2] == "Banjir di tiga kabupaten"


def test_a_workbook_without_a_table_of_cases_names_every_sheet(tmp_path: Path):
    path = tmp_path / "rekap.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"Kecamatan": ["A"], "Jumlah": [3]}).to_excel(xw, sheet_name="Rekap")
        pd.DataFrame({"Jumlah": [1]}).to_excel(xw, sheet_name="Lain")
    with pytest.raises(InputError, match=r"sheet 'Rekap': .*any other sheet.*'Lain'") as info:
        open_cases(path)
    assert "Kecamatan" in (info.value.columns or [])  # the web page's column picker


def test_classify_all_sheets_writes_a_row_per_case_with_its_sheet(
    tmp_path: Path, trained_bundle: Path, capsys
):
    path = monthly_workbook(tmp_path / "kasus.xlsx")
    out = tmp_path / "hasil.csv"
    code, _, err = run(
        ["classify", str(path), "-o", str(out), "--model", str(trained_bundle), "--sheet", "*"],
        capsys,
    )
    assert code == 0, err
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(back.columns[:5]) == ["row", "sheet", "No", "Uraian Kasus", "Petugas"]
    assert back["sheet"].tolist() == ["Januari", "Januari", "Februari"]
    assert back["row"].tolist() == ["2", "3", "2"]
    assert (back["level"] != "").all()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="open files listed by /proc")
def test_closing_the_chunks_of_a_workbook_closes_the_file(tmp_path: Path):
    """A caller that only wanted the columns and the total (the web page, before it
    classifies) closes the chunks; the workbook must be closed then, not when the garbage
    collector gets to it (a ResourceWarning, and an open file on Windows)."""
    import os

    path = monthly_workbook(tmp_path / "kasus.xlsx")

    def open_now() -> bool:
        return any(
            os.path.realpath(f"/proc/self/fd/{fd}") == str(path.resolve())
            for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")
        )

    for sheet in (None, "*"):
        source = open_cases(path, columns="all", sheet=sheet)  # passed-through columns: masked
        assert open_now()
        source.chunks.close()  # type: ignore[attr-defined]
        assert not open_now()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="open files listed by /proc")
def test_a_run_stopped_halfway_closes_the_workbook(tmp_path: Path, trained_bundle: Path):
    """Parquet needs one kind per column: ids that turn from numbers to text in the second
    chunk stop the run there, and the workbook it was reading is closed with it."""
    import os

    from sw_nlp.classify import classify_file

    path = xlsx_file(tmp_path / "kasus.xlsx", pd.DataFrame({"id": [1, "K-2"], "teks": [TEXT] * 2}))

    def open_now() -> bool:
        return any(
            os.path.realpath(f"/proc/self/fd/{fd}") == str(path.resolve())
            for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")
        )

    try:
        classify_file(path, tmp_path / "o.parquet", model=trained_bundle, chunk_size=1)
    except InputError as exc:  # the caller still holds the error, and with it the run's frames
        assert "different kinds of value" in str(exc)
        assert not open_now()
    else:
        pytest.fail("ids of two kinds went into one Parquet column")


def test_a_text_column_named_in_two_words_is_found_and_named_in_the_summary(
    tmp_path: Path, capsys
):
    """"Kronologi Kejadian" under a title row, beside "No. Pengaduan" and "Tgl Lapor": the
    run reads it without --text-column and says which column it read."""
    path = tmp_path / "pengaduan.csv"
    path.write_text(
        "LAPORAN PENGADUAN MASYARAKAT 2025,,\n,,\n"
        f"No. Pengaduan,Tgl Lapor,Kronologi Kejadian\nP-01,2025-01-02,{TEXT}\n",
        encoding="utf-8",
    )
    out_path = tmp_path / "hasil.csv"
    code, _, err = run(["classify", str(path), "-o", str(out_path)], capsys)
    assert code == 0, err
    assert "text column: Kronologi Kejadian" in err and "rows in: 1, rows out: 1" in err
    result = pd.read_csv(out_path)
    assert result.loc[0, "No. Pengaduan"] == "P-01" and result.loc[0, "row"] == 4
    assert result.loc[0, "level"] == "mikro"


TAB_EXPORT = (
    "No\tUraian Kasus\tTanggal\n"
    f"1\t{TEXT}\t2025-01-02\n"
    "2\tWarga desa membentuk kelompok usaha\t2025-01-03\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_excels_tab_delimited_text_export_is_read_as_a_table(
    tmp_path: Path, capsys, encoding: str
):
    """Excel's "Text (Tab delimited)" and "Unicode Text" exports are .txt files: read as one
    note, a table of cases came back as a single row classified as one case."""
    path = tmp_path / "kasus.txt"
    path.write_text(TAB_EXPORT, encoding=encoding)
    source = open_cases(path)
    assert source.text_column == "Uraian Kasus" and source.id_columns == ["No"]
    assert rows_of(source)[0] == (2, TEXT, "")
    assert source.notes[0].startswith("read as a tab-separated table")
    out_path = tmp_path / "hasil.csv"
    code, _, err = run(["classify", str(path), "-o", str(out_path)], capsys)
    assert code == 0, err
    assert "rows in: 2, rows out: 2" in err and "pass --format txt" in err
    assert pd.read_csv(out_path)["No"].tolist() == [1, 2]
    # the user can still say it is one note
    assert rows_of(open_cases(path, format="txt"))[0][1].startswith("No\tUraian Kasus")


def test_a_note_with_tabs_stays_one_note(tmp_path: Path):
    """Tabs in a note that is no table (no header naming a text column) leave it a note."""
    path = tmp_path / "catatan.txt"
    form = f"Nama\tIbu S\nAlamat\tDesa Sukamaju\nUraian\t{TEXT}\nTindak lanjut\tdirujuk\n"
    path.write_text(form, encoding="utf-8")  # a form of "field<TAB>value" lines
    assert open_cases(path).kind == "notes"
    for first in ("Kunjungan rumah", "Catatan kunjungan"):  # a text word, then no table
        path.write_text(f"{first}\t3 Januari\n{TEXT}.\nKlien\tdidampingi\n", encoding="utf-8")
        source = open_cases(path)
        assert source.kind == "notes" and len(rows_of(source)) == 1


def test_repeated_headers_are_told_apart_and_a_repeated_text_column_is_named(
    tmp_path: Path, capsys
):
    """Two "Keterangan" columns stopped the whole file; now both are written, the second as
    "Keterangan (2)", with a note. Two columns named as the text column are a one-line error
    saying how to pick one."""
    path = tmp_path / "kasus.csv"
    path.write_text(
        f"No,Uraian Kasus,Keterangan,Keterangan\n1,{TEXT},baru,dirujuk\n", encoding="utf-8"
    )
    out_path = tmp_path / "hasil.csv"
    code, _, err = run(["classify", str(path), "-o", str(out_path)], capsys)
    assert code == 0, err
    assert "note: columns of the same name told apart: 'Keterangan (2)'" in err
    result = pd.read_csv(out_path)
    assert result.loc[0, ["Keterangan", "Keterangan (2)"]].tolist() == ["baru", "dirujuk"]
    path.write_text(f"No,Uraian,Uraian\n1,{TEXT},dirujuk\n", encoding="utf-8")
    code, _, err = run(["classify", str(path), "-o", str(out_path)], capsys)
    assert code == 3 and err.count("\n") == 1
    assert "2 columns are named 'Uraian'" in err and "--text-column 'Uraian (2)'" in err
    code, _, err = run(
        ["classify", str(path), "-o", str(out_path), "--text-column", "Uraian (2)"], capsys
    )
    assert code == 0, err
    assert pd.read_csv(out_path).loc[0, "Uraian"] == TEXT  # the first passed through


def test_a_text_cut_to_fit_an_xlsx_cell_is_named_in_the_summary(tmp_path: Path, capsys):
    path = tmp_path / "panjang.csv"
    long = " ".join([TEXT] * 600)  # about 42,000 characters
    path.write_text(f"No,Uraian\n1,{long}\n2,{TEXT}\n", encoding="utf-8")
    out_path = tmp_path / "hasil.xlsx"
    code, _, err = run(["classify", str(path), "-o", str(out_path)], capsys)
    assert code == 0, err
    assert "note: 1 cell(s) longer than an XLSX cell holds (32,767 characters)" in err
    assert pd.read_excel(out_path)["Uraian"].str.len().tolist() == [32_767, len(TEXT)]


@pytest.mark.parametrize("name", ["kasus.csv", "kasus.txt"])
def test_lines_ending_in_a_bare_carriage_return_are_rows(tmp_path: Path, name: str):
    """Excel for Mac's "CSV (Macintosh)" (and its tab-delimited text) ends each line with a
    bare CR: the header sample was read as one line, and the file called empty."""
    path = tmp_path / name
    sep = "," if name.endswith(".csv") else "\t"
    path.write_bytes(
        f"No{sep}Uraian Kasus\r1{sep}{TEXT}\r2{sep}Warga desa membentuk kelompok usaha\r".encode()
    )
    source = open_cases(path)
    assert source.text_column == "Uraian Kasus"
    assert [(r, t) for r, t, _ in rows_of(source)] == [
        (2, TEXT), (3, "Warga desa membentuk kelompok usaha")
    ]  # fmt: skip


def test_an_output_that_would_replace_the_input_is_refused(tmp_path: Path, capsys):
    """``-o kasus.csv`` on kasus.csv replaced the office's file with the results (with
    ``--columns id`` its texts were gone); a link to it too."""
    path = tmp_path / "kasus.csv"
    content = f"No,Uraian\n1,{TEXT}\n"
    path.write_text(content, encoding="utf-8")
    link = tmp_path / "tautan.csv"
    link.symlink_to(path)
    for out in (path, tmp_path / "." / "kasus.csv", link):
        code, _, err = run(["classify", str(path), "-o", str(out), "--columns", "id"], capsys)
        assert code == 3 and err.count("\n") == 1
        assert "would replace the input" in err
    assert path.read_text(encoding="utf-8") == content


def test_a_date_cell_of_a_workbook_is_written_as_a_date(tmp_path: Path, capsys):
    """A date typed in a sheet is read as a timestamp at midnight: "2025-01-02 00:00:00" in
    the CSV and a date-and-time cell in the XLSX. It is written as the date it is; a time of
    day is kept."""
    import datetime as dt

    book = openpyxl.Workbook()
    book.active.append(["No", "Tanggal Lapor", "Diterima", "Uraian Kasus"])
    book.active.append([1, dt.datetime(2025, 1, 2), dt.datetime(2025, 1, 3, 14, 5), TEXT])
    path = tmp_path / "kasus.xlsx"
    book.save(path)
    csv_out, xlsx_out = tmp_path / "hasil.csv", tmp_path / "hasil.xlsx"
    for out in (csv_out, xlsx_out):
        code, _, err = run(["classify", str(path), "-o", str(out)], capsys)
        assert code == 0, err
    row = pd.read_csv(csv_out, dtype=str).iloc[0]
    assert (row["Tanggal Lapor"], row["Diterima"]) == ("2025-01-02", "2025-01-03 14:05:00")
    sheet = openpyxl.load_workbook(xlsx_out).active
    header = [c.value for c in sheet[1]]
    date_cell = sheet.cell(2, header.index("Tanggal Lapor") + 1)
    assert date_cell.value == dt.datetime(2025, 1, 2) and date_cell.number_format == "yyyy-mm-dd"


JSON_RECORDS = [
    {"no": 1, "uraian": TEXT},
    {"no": "K-2", "uraian": "Warga desa membentuk kelompok usaha", "petugas": "Bu A"},
    ["not", "a", "record"],
]


@pytest.mark.parametrize("name", ["kasus.json", "kasus.jsonl"])
def test_a_json_array_of_records_is_read_as_a_table(tmp_path: Path, capsys, name: str):
    """An array of records, as tools export JSON: named .json it was "unsupported"; named
    .jsonl its records were listed as the columns, case text and all, in the error."""
    path = tmp_path / name
    path.write_text(json.dumps(JSON_RECORDS, ensure_ascii=False), encoding="utf-8")
    source = open_cases(path, columns="all")
    assert source.text_column == "uraian" and source.id_columns == ["no", "uraian", "petugas"]
    assert rows_of(source) == [
        (1, TEXT, ""),
        (2, "Warga desa membentuk kelompok usaha", ""),
        (3, "", "record 3 is not a JSON object"),
    ]
    if name.endswith(".jsonl"):
        assert source.notes == ["a JSON array, not JSON Lines: read as one"]
    out_path = tmp_path / "hasil.csv"
    code, _, err = run(["classify", str(path), "-o", str(out_path)], capsys)
    assert code == 0, err
    assert "rows in: 3, rows out: 3" in err
    assert pd.read_csv(out_path, dtype=str)["no"].tolist()[:2] == ["1", "K-2"]


@pytest.mark.parametrize(
    "content, message",
    [
        (json.dumps([TEXT]), "no text column found"),  # an array of texts: no columns
        ('{"no": 1, "uraian": "' + TEXT + '"}\n', None),  # JSON Lines named .json: read
        (json.dumps({"data": JSON_RECORDS[:1], "total": 1}), None),  # an API's export: read
        ("[1, 2", "not valid JSON"),
        # arrays one per line: neither one array nor JSON Lines of records (was a
        # RecursionError: each reader handed the file to the other)
        (json.dumps(JSON_RECORDS[:1]) + "\n" + json.dumps(JSON_RECORDS[1:2]) + "\n",
         "one JSON array after another"),  # fmt: skip
        ("3", "not an array of records"),
        (json.dumps({"a": 1, "b": [1]}), "no text column found"),  # one record, no text
    ],
)
def test_json_files_that_are_no_array_of_records(tmp_path: Path, content: str, message):
    """Never a traceback, and never a record's text in the message."""
    path = tmp_path / "kasus.json"
    path.write_text(content, encoding="utf-8")
    if message is None:
        source = open_cases(path)
        assert rows_of(source) == [(1, TEXT, "")]
        assert source.notes in ([], ["records read from the file's 'data'"])
        return
    with pytest.raises(InputError, match=message) as caught:
        list(open_cases(path).chunks)
    assert TEXT not in str(caught.value)


def test_a_jsonl_first_line_that_is_no_object_does_not_show_its_text(tmp_path: Path):
    path = tmp_path / "kasus.jsonl"
    path.write_text(json.dumps(TEXT) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="first line is not a JSON object") as caught:
        open_cases(path)
    assert TEXT not in str(caught.value)


def test_files_named_xls_are_read_as_what_they_are(tmp_path: Path, capsys):
    """Web systems "export to Excel" as a tab-separated text or an HTML table named .xls;
    old Excel saves .xls in its own binary format. Each was 'unsupported input type'."""
    tsv = tmp_path / "ekspor.xls"
    tsv.write_text(TAB_EXPORT, encoding="utf-8")
    source = open_cases(tsv)
    assert source.text_column == "Uraian Kasus" and rows_of(source)[0] == (2, TEXT, "")
    assert source.notes[0] == "a text table named .xls (as systems export to Excel): read as TSV"
    csv_xls = tmp_path / "koma.xls"
    csv_xls.write_text(f"No,Uraian Kasus\n1,{TEXT}\n", encoding="utf-8")
    assert rows_of(open_cases(csv_xls)) == [(2, TEXT, "")]
    workbook = tmp_path / "buku.xls"
    xlsx_file(tmp_path / "buku.xlsx", pd.DataFrame({"Uraian": [TEXT]})).rename(workbook)
    assert rows_of(open_cases(workbook)) == [(2, TEXT, "")]
    for name, content, says in (
        ("lama.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "an old Excel .xls"),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        code, _, err = run(["classify", str(path)], capsys)
        assert code == 3 and err.count("\n") == 1 and says in err and "save it as .xlsx" in err
        assert TEXT not in err


HTML_EXPORT = f"""<html><head><meta charset="utf-8"><title>Ekspor</title></head><body>
<table><tr><td>menu</td></tr></table>
<table border="1">
  <tr><th colspan="3">REKAP PENGADUAN 2025</th></tr>
  <tr><th>No</th><th>Uraian&nbsp;Kasus</th><th>Tanggal</th></tr>
  <tr><td>1</td><td>{TEXT.replace("tiga", "<b>tiga</b>")}</td><td>2025-01-02</td></tr>
  <tr><td>2</td><td>Warga desa<br>membentuk kelompok usaha</td><td></td></tr>
  <tr><td>3</td><td></td><td>2025-01-04</td></tr>
</table></body></html>"""


@pytest.mark.parametrize("name", ["ekspor.xls", "ekspor.html"])
def test_an_html_table_exported_as_excel_is_read(tmp_path: Path, capsys, name: str):
    """Web systems "export to Excel" as an HTML table named .xls: the largest table is read,
    its header found below a title row, cells as their text."""
    path = tmp_path / name
    path.write_text(HTML_EXPORT, encoding="utf-8")
    source = open_cases(path, columns="all")
    assert source.text_column == "Uraian Kasus" and source.id_columns == [
        "No", "Uraian Kasus", "Tanggal"
    ]  # fmt: skip
    assert rows_of(source) == [
        (3, TEXT, ""),
        (4, "Warga desa membentuk kelompok usaha", ""),
        (5, "", ""),  # the empty text: an error row when classified
    ]
    out_path = tmp_path / "hasil.csv"
    code, _, err = run(["classify", str(path), "-o", str(out_path)], capsys)
    assert code == 0, err
    assert "rows in: 3, rows out: 3" in err and "errors: 1" in err and "an HTML table" in err
