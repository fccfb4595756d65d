"""Office spreadsheets as a new user uploads them: title rows above the header, a header
with a space, mixed ids, a stray quote, an XLSX saved under a ``.csv`` name. Each ends in a
readable result or a one-line error on the page, never a server error."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
from fastapi.testclient import TestClient

from sw_nlp.bundle import default_bundle_dir
from sw_nlp.classify import classify_file

from .conftest import upload, wait

ABUSE = "Anak usia 9 tahun sering dipukuli ayahnya dan tidak bersekolah sejak bulan lalu"
WATER = "Warga satu desa kekurangan air bersih dan meminta bantuan pemerintah daerah"


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_title_rows_a_spaced_header_and_mixed_ids_give_results(client: TestClient):
    rows = [
        ["REKAP KASUS DINSOS 2024"],
        [],
        ["No", "Tanggal", "Deskripsi Kasus"],
        [1, "2024-01-02", ABUSE],
        ["K-002", "2024-01-03", WATER],
    ]
    job = upload(client, "rekap.xlsx", xlsx_bytes(rows))
    assert wait(client, job)["status"] == "done"
    page = client.get(f"{job}/results")
    assert page.status_code == 200
    # rows are numbered as the spreadsheet numbers them: the header is row 3
    assert 'href="' + job + '/rows/4"' in page.text and 'href="' + job + '/rows/5"' in page.text
    assert "K-002" in page.text and "Deskripsi Kasus" in page.text
    for row in ("4", "5"):
        assert client.get(f"{job}/rows/{row}").status_code == 200


def test_a_stray_quote_is_a_one_line_error_naming_the_line(client: TestClient):
    data = f'No,Deskripsi Kasus\n1,"{ABUSE}\n2,{WATER}\n3,Ibu "Sari tinggal sendiri\n'
    job = upload(client, "kutip.csv", data.encode())
    status = wait(client, job)
    assert status["status"] == "failed"
    assert status["error"].startswith("kutip.csv:2: ") and "\n" not in status["error"]
    page = client.get(job)
    assert page.status_code == 200 and "kutip.csv:2:" in page.text


def test_an_xlsx_saved_as_csv_is_read_as_the_spreadsheet_it_is(client: TestClient, tmp_path: Path):
    """The page has no --format to pass: the bytes decide, and the downloads are what
    ``sw-nlp classify --format xlsx`` writes."""
    data = xlsx_bytes([["No", "Deskripsi Kasus"], [1, ABUSE], [2, WATER]])
    job = upload(client, "kasus.csv", data)
    status = wait(client, job)
    assert status["status"] == "done", status["error"]
    source = tmp_path / "kasus.csv"
    source.write_bytes(data)
    expected = tmp_path / "out.csv"
    classify_file(source, expected, model=default_bundle_dir(), columns="all", format="xlsx")
    assert client.get(f"{job}/download.csv").content == expected.read_bytes()
    assert client.get(f"{job}/download.xlsx").status_code == 200


def monthly_workbook() -> bytes:
    """A summary sheet first, then a sheet of cases per month."""
    book = openpyxl.Workbook()
    book.active.title = "Rekap"
    for row in (["Bulan", "Jumlah"], ["Januari", 1], ["Februari", 1]):
        book.active.append(row)
    for name, text in (("Januari", ABUSE), ("Februari", WATER)):
        sheet = book.create_sheet(name)
        sheet.append(["No", "Deskripsi Kasus"])
        sheet.append([1, text])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_workbook_gives_its_first_sheet_of_cases_or_every_one(client: TestClient):
    first = upload(client, "bulanan.xlsx", monthly_workbook())
    assert wait(client, first)["status"] == "done"
    page = client.get(f"{first}/results").text
    assert "dipukuli" in page and "air bersih" not in page  # January's sheet, not the summary
    every = upload(client, "bulanan.xlsx", monthly_workbook(), all_sheets="1")
    assert wait(client, every)["status"] == "done"
    page = client.get(f"{every}/results").text
    assert "dipukuli" in page and "air bersih" in page and "Februari" in page
    rows = client.get(f"{every}/download.csv")  # the results as a file: each row's sheet
    assert rows.status_code == 200
    assert rows.text.lstrip("\ufeff").splitlines()[0].startswith("row,sheet,No,Deskripsi Kasus")


def test_the_results_page_says_how_the_file_was_read(client: TestClient):
    """What the command line's summary says (the text column read, a header found below a
    title) the page says too: a user who uploads a workbook sees which column was read."""
    rows = [
        ["LAPORAN PENGADUAN 2025"],
        [],
        ["No. Pengaduan", "Tgl Lapor", "Kronologi Kejadian"],
        ["P-1", "2025-01-02", ABUSE],
    ]
    job = upload(client, "pengaduan.xlsx", xlsx_bytes(rows))
    assert wait(client, job)["status"] == "done"
    page = client.get(f"{job}/results").text
    notes = page[page.index('<ul class="notes">') :]
    notes = notes[: notes.index("</ul>")]
    assert "Kronologi Kejadian" in notes and "header found on row 3" in notes
    assert ABUSE not in notes


def test_the_column_picker_of_a_file_without_a_header_masks_what_it_shows(client: TestClient):
    """Without a header row the first case is offered as the "columns": shown masked and
    cut, each still chosen by its own name."""
    first = f"Ibu Sari NIK 3201010101900001 hp 081234567890 {ABUSE}"
    job = upload(client, "tanpa_header.csv", f"1,{first}\n2,{WATER}\n".encode())
    assert wait(client, job)["status"] == "needs_column"
    page = client.get(job).text
    picker = page[page.index('<select id="column"') : page.index("</select>")]
    shown = re.sub(r'value="[^"]*"', "", picker)
    assert "_nik_" in shown and "3201010101900001" not in shown and ABUSE not in shown
    assert f'value="{first}"' in picker


def test_an_html_export_and_a_json_file_upload_like_a_spreadsheet(client: TestClient):
    """What web systems "export to Excel" (an HTML table named .xls) and a JSON array of
    records give results on the page, with the note saying how the file was read."""
    page = (
        "<html><body><table><tr><th>No</th><th>Uraian Kasus</th></tr>"
        f"<tr><td>1</td><td>{ABUSE}</td></tr><tr><td>2</td><td>{WATER}</td></tr>"
        "</table></body></html>"
    )
    job = upload(client, "ekspor.xls", page.encode())
    assert wait(client, job)["status"] == "done"
    results = client.get(f"{job}/results").text
    assert "an HTML table (as systems export to Excel)" in results and "Uraian Kasus" in results
    records = f'[{{"no": 1, "uraian": "{ABUSE}"}}, {{"no": 2, "uraian": "{WATER}"}}]'
    job = upload(client, "kasus.json", records.encode())
    assert wait(client, job)["status"] == "done"
    assert client.get(f"{job}/rows/2").status_code == 200


def test_a_sheet_is_chosen_by_its_name_on_the_upload_page(client: TestClient):
    """The command line's --sheet NAME, on the page: the named sheet only; a name the
    workbook lacks fails the job with the sheets it has."""
    job = upload(client, "bulanan.xlsx", monthly_workbook(), sheet=" Februari ")
    assert wait(client, job)["status"] == "done"
    page = client.get(f"{job}/results").text
    assert "air bersih" in page and "dipukuli" not in page
    wrong = upload(client, "bulanan.xlsx", monthly_workbook(), sheet="Maret")
    status = wait(client, wrong)
    assert status["status"] == "failed"
    assert "no sheet 'Maret'; sheets are: Rekap, Januari, Februari" in status["error"]
    assert 'id="sheet"' in client.get("/").text
