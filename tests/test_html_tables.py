"""HTML tables as web systems export them to "Excel": read as a sheet would be."""

from __future__ import annotations

from pathlib import Path

import pytest

from sw_nlp.errors import InputError
from sw_nlp.files import open_cases


def rows(path: Path) -> list[tuple[int, str]]:
    source = open_cases(path, columns="all")
    return [(r, t) for chunk in source.chunks for r, t in zip(chunk.rows, chunk.texts, strict=True)]


@pytest.mark.parametrize(
    "page, expected",
    [
        # tags left open, as hand-written exports leave them
        ("<table><tr><td>Uraian<td>No<tr><td>teks satu dua<td>1", [(2, "teks satu dua")]),
        # a table in a cell is the cell's text; a script's text is nobody's
        (
            "<table><tr><th>Uraian</th></tr><tr><td><table><tr><td>di dalam</td></tr></table>"
            "di luar<script>var t = '<td>x</td>';</script></td></tr></table>",
            [(2, "di dalam di luar")],
        ),
        # colspan keeps the cells under their headers; a broken one counts as 1
        (
            "<table><tr><th>No</th><th>Uraian</th><th>Catatan</th></tr>"
            "<tr><td colspan='2'>gabungan</td><td>x</td></tr>"
            "<tr><td colspan='-3'>1</td><td>teks</td></tr></table>",
            [(2, ""), (3, "teks")],
        ),
        ("<TABLE><TR><TH>URAIAN KASUS</TH></TR><TR><TD>Ibu &amp; anak</TD></TR></TABLE>",
         [(2, "Ibu & anak")]),  # fmt: skip
    ],
)
def test_cells_are_read_as_their_text(tmp_path: Path, page: str, expected):
    path = tmp_path / "ekspor.html"
    path.write_text(page, encoding="utf-8")
    assert rows(path) == expected


@pytest.mark.parametrize(
    "page", ["<html><p>tidak ada tabel</p><script>'<table>'</script></html>", "<table></table>"]
)
def test_a_page_without_a_table_is_one_line(tmp_path: Path, page: str):
    path = tmp_path / "ekspor.html"
    path.write_text(page, encoding="utf-8")
    with pytest.raises(InputError, match="an HTML page with no table: nothing to read"):
        open_cases(path)


def test_a_huge_colspan_is_bounded(tmp_path: Path):
    path = tmp_path / "ekspor.html"
    path.write_text(
        "<table><tr><th>Uraian</th><th colspan='99999999'>x</th></tr><tr><td>a b</td></tr>"
        "</table>",
        encoding="utf-8",
    )
    source = open_cases(path)
    assert len(source.id_columns) == 0 and rows(path) == [(2, "a b")]


SPREADSHEET_ML = """<?xml version="1.0"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="Kasus"><Table>
  <Row><Cell ss:MergeAcross="2"><Data ss:Type="String">REKAP KASUS</Data></Cell></Row>
  <Row><Cell><Data ss:Type="String">No</Data></Cell><Cell><Data ss:Type="String">Uraian Kasus</Data></Cell><Cell><Data ss:Type="String">Tanggal</Data></Cell></Row>
  <Row><Cell><Data ss:Type="Number">1</Data></Cell><Cell><Data ss:Type="String">Ibu &amp; anak butuh bantuan</Data></Cell></Row>
  <Row><Cell><Data ss:Type="Number">2</Data></Cell><Cell ss:Index="3"><Data ss:Type="String">2025-01-02</Data></Cell></Row>
 </Table></Worksheet>
</Workbook>"""


def test_an_excel_2003_xml_spreadsheet_is_read(tmp_path: Path):
    """Excel 2003's XML Spreadsheet, named .xls as systems export it: Row and Cell as a
    table's rows and cells, ss:Index and ss:MergeAcross keeping cells under their headers."""
    path = tmp_path / "ekspor.xls"
    path.write_text(SPREADSHEET_ML, encoding="utf-8")
    source = open_cases(path, columns="all")
    assert source.notes[0].startswith("an Excel 2003 XML spreadsheet")
    assert source.id_columns == ["No", "Uraian Kasus", "Tanggal"]
    chunks = list(source.chunks)
    assert [(r, t) for c in chunks for r, t in zip(c.rows, c.texts, strict=True)] == [
        (3, "Ibu & anak butuh bantuan"), (4, "")
    ]  # fmt: skip
    assert [d for c in chunks for d in c.ids["Tanggal"]] == [None, "2025-01-02"]
