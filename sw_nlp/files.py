"""Opening case files of every kind: ``open_cases`` checks the whole file, picks the reader
and hands back a ``Source`` of chunks.

The jobs live in modules of their own, below this one: ``sniff`` (what a file is),
``columns`` (which columns hold text and ids), ``readers`` and ``delimited`` (tables in
chunks), ``notes`` (one case per file), ``table`` (a chunk's results as columns, and their
CSV text), ``writers`` (results, atomically) and ``safe_read`` (bounded reads).
The names callers use are importable from here.
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from sw_nlp.columns import (
    PROSE_WORDS,
    find_header_row,
    find_id_column,
    find_text_column,
    match_column,
)
from sw_nlp.config import check_count
from sw_nlp.delimited import open_delimited
from sw_nlp.errors import InputError
from sw_nlp.notes import open_folder, open_notes, read_note
from sw_nlp.readers import Chunk, Source, close_chunks, open_json, open_jsonl, open_parquet
from sw_nlp.sniff import (
    ARTICLED,
    FORMAT_OF_SUFFIX,
    FORMATS,
    HEADER_SEARCH_ROWS,
    check_format,
    detect_encoding,
    sniff_format,
)
from sw_nlp.table import CsvText, ResultTable
from sw_nlp.workbooks import ALL_SHEETS, open_xlsx
from sw_nlp.writers import ResultWriter, to_csv_text

# The names callers use, defined in the modules this one puts together.
__all__ = [
    "ALL_SHEETS",
    "Chunk",
    "CsvText",
    "ResultTable",
    "ResultWriter",
    "Source",
    "mask_passed_through",
    "open_cases",
    "read_note",
    "sniff_format",
    "to_csv_text",
]


def open_cases(
    path: Path,
    text_column: str | None = None,
    id_column: str | None = None,
    chunk_size: int = 2000,
    sheet: str | None = None,
    *,
    format: str | None = None,
    header_row: int | None = None,
    columns: str | list[str] = "id",
    recursive: bool = False,
    defer_masking: bool = False,
) -> Source:
    """Open any supported input; errors about the whole file are raised here, before work.

    ``recursive`` reads a notes folder's subfolders too (their notes get their path inside
    the folder as id); without it subfolders are named in the summary, not read.

    ``format`` overrides the file name's suffix; either way the bytes must agree with it.
    ``header_row`` (1-based) names the header row of a table; without it the first row is
    the header unless a later one (within the first 30) is the only one naming a text column.
    ``columns`` chooses the input columns passed through beside the text: "id" (the id
    column only), "all" (every column, the text included) or a list of names.
    Passed-through columns other than the row's id have their identifiers masked; with
    ``defer_masking`` the chunks only name them (``Chunk.unmasked``) for whoever classifies
    the chunk to mask (``mask_passed_through``): worker processes, so that the reading
    process only reads and the worker masks the text once for writing and classifying.
    """
    check_count("chunk_size", chunk_size, low=1)
    if header_row is not None:
        check_count("header_row", header_row, low=1)
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r}: use {', '.join(FORMATS)}")
    path = Path(path)
    if not path.exists():
        raise InputError("input not found", path)
    if path.is_dir():
        return open_folder(path, chunk_size, recursive)
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    fmt = format or FORMAT_OF_SUFFIX.get(suffix)
    named_note = None
    if fmt is None and suffix == ".xls":
        fmt, named_note = _named_xls(path)
    if fmt is None:
        raise InputError(
            f"unsupported input type {suffix!r}: use .csv, .tsv, .xlsx, .json, .jsonl, .parquet or a "
            "folder, or name the format with --format",
            path,
        )
    check_format(path, fmt)
    table_note = None
    if fmt == "txt" and format is None and _is_tab_table(path, text_column):
        fmt = "tsv"
        table_note = (
            "read as a tab-separated table (as Excel saves text), its header naming a text "
            "column; pass --format txt to read the file as one note"
        )
    if fmt in ("txt", "docx", "pdf"):
        return open_notes(path, [path], chunk_size, fmt=fmt)
    if fmt in ("csv", "tsv"):
        source = open_delimited(
            path, text_column, id_column, chunk_size, fmt == "tsv", header_row, columns,
            defer_decoding=defer_masking,
        )  # fmt: skip
    elif fmt == "xlsx":
        source = open_xlsx(path, text_column, id_column, chunk_size, sheet, header_row, columns)
    elif fmt == "html":
        from sw_nlp.html_tables import open_html_table  # html.parser: only for such a page

        source = open_html_table(path, text_column, id_column, chunk_size, header_row, columns)
    elif fmt == "json":
        source = open_json(path, text_column, id_column, chunk_size, columns)
    elif fmt == "jsonl":
        source = open_jsonl(path, text_column, id_column, chunk_size, columns)
    else:
        source = open_parquet(path, text_column, id_column, chunk_size, columns)
    if table_note or named_note:
        source = replace(source, notes=[n for n in (named_note, table_note) if n] + source.notes)
    # The row's id is how results are joined back: it is written as read, everything else
    # passed through has its identifiers masked.
    others = [c for c in source.id_columns if c != source.text_column]
    row_id = (match_column(others, id_column) if id_column else None) or find_id_column(others)
    # The text's copy last: the fast path's cleaning then finds it masked (``pii.MaskedColumn``).
    shown = sorted(
        (c for c in source.id_columns if c != row_id), key=lambda c: c == source.text_column
    )
    if shown:
        return replace(source, chunks=_Masked(source.chunks, tuple(shown), defer_masking))
    return source


STDIN = "-"  # the input name that means standard input, as Unix tools take it
_SPOOL_SUFFIX = {"xlsx": ".xlsx", "parquet": ".parquet", "pdf": ".pdf", "docx": ".docx"}


@contextlib.contextmanager
def stdin_file(stream: BinaryIO, format: str | None = None) -> Iterator[Path]:
    """Standard input (``… | sw-nlp classify -``) as a file the readers can open: copied into
    a private temporary folder (0700), deleted when the run ends, error or not. Its name
    says its format: ``format`` if given, else what its bytes are (a workbook, Parquet, …;
    text starting with "{" is JSON Lines, with "[" a JSON array, else CSV)."""
    folder = Path(tempfile.mkdtemp(prefix="sw-nlp-stdin-"))
    try:
        spool = folder / "stdin"
        with open(spool, "wb") as handle:
            shutil.copyfileobj(stream, handle, 1 << 20)
        if format is not None:
            suffix = next(s for s, f in FORMAT_OF_SUFFIX.items() if f == format)
        else:
            suffix = _SPOOL_SUFFIX.get(sniff_format(spool), "")
            if not suffix:
                with open(spool, "rb") as handle:
                    start = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
                suffix = {b"{": ".jsonl", b"[": ".json"}.get(start, ".csv")
        yield spool.rename(spool.with_suffix(suffix))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _named_xls(path: Path) -> tuple[str, str | None]:
    """The format of a file named .xls, and a note: systems that "export to Excel" often
    write a tab-separated (or comma-separated) text or an HTML table under that name, and
    old Excel its own binary format, which no reader here takes."""
    advice = "open it in Excel and save it as .xlsx (or CSV)"
    content = sniff_format(path)
    if content in ("xlsx", "parquet", "pdf", "docx"):
        return content, f"{ARTICLED[content]} file named .xls: read as one"
    if content == "xls":
        raise InputError(f"an old Excel .xls workbook: {advice}", path)
    if content != "text":
        raise InputError(f"this looks like {ARTICLED[content]} file: nothing to read", path)
    with open(path, "rb") as handle:
        head = handle.read(8192).decode("utf-8", "replace")
    from sw_nlp.html_tables import looks_like_html

    if looks_like_html(head):
        return "html", None  # the reader notes what it read
    lines = head.splitlines()[:HEADER_SEARCH_ROWS]
    tabbed = max((line.count("\t") for line in lines), default=0) > 0
    fmt = "tsv" if tabbed else "csv"
    return fmt, f"a text table named .xls (as systems export to Excel): read as {fmt.upper()}"


def _is_tab_table(path: Path, text_column: str | None) -> bool:
    """Whether a .txt file is a table: Excel saves a sheet as "Text (Tab delimited)" or
    "Unicode Text", both named .txt, and read as one note such a file's cases came back as
    one row. A table here has a header (within the first rows) of two cells or more naming
    the text column, and most records after it have as many cells. A note with a tab or
    two has neither."""
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(65536)
    try:
        rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter="\t") if r]
    except csv.Error:
        return False
    rows = rows[: HEADER_SEARCH_ROWS + 10]
    if not rows:
        return False
    at = find_header_row(rows, text_column)
    names = rows[at]
    if len(names) < 2:
        return False
    # Above a table's header are only titles and blank lines, and its header names columns
    # rather than saying something: a form of "field<TAB>value" lines ("Uraian<TAB>Ibu S
    # melapor …") is neither, and stays a note.
    if any(sum(bool(c.strip()) for c in row) > 1 for row in rows[:at]):
        return False
    if any(len(c.split()) >= PROSE_WORDS for c in names):
        return False
    if text_column is not None:
        found = match_column(names, text_column)
    else:
        found = find_text_column(names)
    after = rows[at + 1 :]
    return found is not None and 2 * sum(len(r) == len(names) for r in after) > len(after)


class _Masked(Iterator[Chunk]):
    """Chunks whose passed-through columns (the text's copy, an officer's e-mail, a phone
    column; not the row's id) have identifiers masked in their text cells (NIK, phone,
    e-mail, …): results are shared, and no identifier is shown in anything sw-nlp writes
    (docs/reliability.md, promise 3). The text classified is not changed. With ``defer``
    the chunks name the columns instead (see ``open_cases``).

    An iterator rather than a generator so that ``close()`` reaches the reader's chunks
    even before the first chunk: a generator never started ignores ``close()``, and the
    file it reads stayed open until the garbage collector came to it."""

    def __init__(self, chunks: Iterator[Chunk], columns: tuple[str, ...], defer: bool) -> None:
        self._chunks, self._columns, self._defer = chunks, columns, defer

    def __next__(self) -> Chunk:
        chunk = next(self._chunks)
        chunk.unmasked = self._columns
        return chunk if self._defer else mask_passed_through(chunk)

    def close(self) -> None:
        """Close the reader's chunks (and with them its file), as a generator's ``close``."""
        close_chunks(self._chunks)


def mask_passed_through(chunk: Chunk) -> Chunk:
    """The chunk with the columns it names as unmasked masked (in place; nothing to do the
    second time)."""
    chunk.decoded()
    if chunk.unmasked:
        from sw_nlp.pii import mask_pii_many

        for column in chunk.unmasked:
            chunk.ids[column] = mask_pii_many(list(chunk.ids[column]))
        chunk.unmasked = ()
    return chunk
