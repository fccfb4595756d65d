"""Reading an HTML table: what web systems write when they "export to Excel".

Such a file is an HTML page named ``.xls`` (or ``.html``) holding the data as a ``<table>``,
or Excel 2003's XML Spreadsheet (``<Row>``, ``<Cell>``) under the same name.
The page's largest table is read (menus and layout tables are smaller), a cell as its text
(tags dropped, line breaks and runs of spaces as one space, ``colspan`` as that many
cells), and its rows come in the same chunks as a sheet's (``sw_nlp.workbooks``), the header
found below title rows by the same rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from sw_nlp.errors import InputError
from sw_nlp.readers import Chunk, Source, choose_header
from sw_nlp.sniff import HEADER_SEARCH_ROWS, detect_encoding
from sw_nlp.workbooks import chunk_from_tuples

# An HTML export is parsed whole: up to this size.
MAX_HTML_BYTES = 256 << 20
_MAX_SPAN = 1000  # a colspan beyond this is a broken page, not a wide table


# Excel 2003's XML Spreadsheet, which systems also save as .xls: its rows and cells are
# read as a table's (its tags come lower-cased, as HTML's do).
_SPREADSHEET_ML = {"row": "tr", "cell": "td"}


def _count(value: str | None, default: int) -> int:
    """A span or index attribute as a count, bounded; ``default`` when it is none."""
    text = (value or "").strip()
    return min(int(text), _MAX_SPAN) if text.isdigit() else default


class _Tables(HTMLParser):
    """Every table of a page as rows of cell texts; a table inside a cell belongs to the
    cell's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._open: list[list[list[str]]] = []  # the tables being read, innermost last
        self._cell: list[str] | None = None
        self._span = 1
        self._inner = 0  # depth of tables inside the current cell
        self._hidden = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = _SPREADSHEET_ML.get(tag, tag)
        if tag in ("script", "style"):
            self._hidden += 1
        elif self._inner or (tag == "table" and self._cell is not None):
            self._inner += tag == "table"  # a table in a cell: its text is the cell's
            if tag in ("br", "tr", "td", "th") and self._cell is not None:
                self._cell.append(" ")
        elif tag == "table":
            self._open.append([])
        elif not self._open:
            return
        elif tag == "br":
            if self._cell is not None:
                self._cell.append(" ")
        elif tag == "tr":
            self._end_cell()
            self._open[-1].append([])
        elif tag in ("td", "th"):
            self._end_cell()
            if not self._open[-1]:
                self._open[-1].append([])
            self._cell = []
            named = dict(attrs)
            span = _count(named.get("colspan"), 1)
            if "ss:mergeacross" in named:  # Excel 2003 XML: cells merged to the right
                span = _count(named["ss:mergeacross"], 0) + 1
            self._span = span
            index = _count(named.get("ss:index"), 0)  # its column, when cells before are empty
            row = self._open[-1][-1]
            row.extend([""] * max(index - 1 - len(row), 0))

    def handle_endtag(self, tag: str) -> None:
        tag = _SPREADSHEET_ML.get(tag, tag)
        if tag in ("script", "style"):
            self._hidden = max(self._hidden - 1, 0)
        elif self._inner:
            self._inner -= tag == "table"
            if self._cell is not None and tag in ("td", "th", "tr", "table"):
                self._cell.append(" ")
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "table" and self._open:
            self._end_cell()
            self.tables.append(self._open.pop())

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._hidden:
            self._cell.append(data)

    def _end_cell(self) -> None:
        if self._cell is not None and self._open and self._open[-1]:
            text = " ".join("".join(self._cell).split())
            self._open[-1][-1].extend([text] + [""] * (max(self._span, 1) - 1))
        self._cell = None

    def close(self) -> None:
        super().close()
        self._end_cell()
        while self._open:  # a page cut off before its tables end
            self.tables.append(self._open.pop())


def looks_like_html(head: str) -> bool:
    """Whether a text's start is an HTML page or table."""
    start = head.lstrip("\ufeff \t\r\n")[:2000].lower()
    return start.startswith(("<!doctype html", "<html", "<table", "<?xml")) or "<table" in start


def open_html_table(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    header_row: int | None = None,
    columns: str | list[str] = "id",
) -> Source:
    if path.stat().st_size > MAX_HTML_BYTES:
        raise InputError(
            f"an HTML table over {MAX_HTML_BYTES >> 20} MB: open it in Excel and save it as "
            ".xlsx (or CSV)",
            path,
        )
    parser = _Tables()
    text = path.read_text(encoding=detect_encoding(path), errors="replace")
    parser.feed(text)
    parser.close()
    rows = max(parser.tables, key=len, default=[])
    if not any(cell for row in rows for cell in row):
        raise InputError("an HTML page with no table: nothing to read", path)
    if "urn:schemas-microsoft-com:office:spreadsheet" in text[:4096]:
        notes = [
            "an Excel 2003 XML spreadsheet (as systems export to Excel): its largest table read"
        ]
    else:
        notes = ["an HTML table (as systems export to Excel): read as one"]
    top = [list(r) for r in rows[: HEADER_SEARCH_ROWS if header_row is None else header_row]]
    at, names, text, ids = choose_header(
        top, path, "table", text_column, id_column, header_row, columns, notes
    )
    t_index = names.index(text)
    id_index = [names.index(c) for c in ids]
    body = [tuple(r) for r in rows[at + 1 :]]

    def chunks() -> Iterator[Chunk]:
        for start in range(0, len(body), chunk_size):
            batch = body[start : start + chunk_size]
            yield chunk_from_tuples(batch, at + 2 + start, t_index, ids, id_index)

    return Source(path, "html", text, ids, len(body), chunks(), notes)
