"""Reading case files of every kind in chunks, and writing results without half-written files.

Readers yield ``Chunk`` objects: the input's row numbers, its id column(s), the texts, and a
per-row read error where a single row could not be read. A row is never dropped: a row that
cannot be read still comes out, with its error.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import itertools
import json
import logging
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from sw_nlp.errors import InputError

log = logging.getLogger(__name__)

TEXT_COLUMN_NAMES = (
    "text",
    "teks",
    "uraian",
    "uraian_kasus",
    "deskripsi",
    "deskripsi_kasus",
    "narasi",
    "kasus",
    "isi",
    "catatan",
    "keterangan",
    "ringkasan",
    "kronologi",
    "description",
    "case_text",
    "note",
)
ID_COLUMN_NAMES = ("case_id", "id", "id_kasus", "no_kasus", "nomor", "no", "kode", "kode_kasus")
NOTE_SUFFIXES = {".txt", ".md", ".docx", ".pdf"}
OUTPUT_SUFFIXES = {".csv", ".xlsx", ".jsonl", ".parquet"}
# Unpacked sizes of the ZIP containers read here. A note is classified on its first 100k
# characters, so a .docx with more XML than this is a zip bomb, not a case note (a 545 KB
# file unpacking to 150 MB took 2.2 GB and 65 s). In an .xlsx, openpyxl streams the sheets
# but holds every other part (shared strings above all) in memory.
MAX_DOCX_UNPACKED = 64 << 20
MAX_XLSX_PARTS_UNPACKED = 256 << 20
MAX_XLSX_SHEETS_UNPACKED = 4 << 30


def read_regular_file(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a small file (a manifest, a config), refusing anything that is not a
    regular file or is larger than ``limit``, before reading.

    A symlink to /dev/zero would be read until memory runs out, and a FIFO would block
    forever: both are refused by their type, and the file is opened without blocking and
    checked again once open (it may have been swapped in between).
    """
    path = Path(path)
    info = os.stat(path)  # follows links; FileNotFoundError goes to the caller
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} is not a regular file (a device, pipe or socket?)", path)
    if info.st_size > limit:
        raise InputError(f"{what} is too large ({info.st_size:,} bytes; limit {limit:,})", path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InputError(f"{what} is not a regular file", path)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what} is too large (over {limit:,} bytes)", path)
    return data


def check_unpacked_size(path: Path, limit: int, sheets_limit: int | None = None) -> str:
    """An error message when the ZIP container at ``path`` unpacks to more than ``limit``
    bytes (worksheets of an .xlsx counted apart, against ``sheets_limit``); else "".

    The sizes are those the ZIP directory declares; Python's zipfile never unpacks more than
    the declared size of a member, so they bound what a reader can be made to hold.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return ""  # not a ZIP at all: the reader itself says so, in its own words
    sheets = sum(
        m.file_size
        for m in members
        if sheets_limit is not None and m.filename.startswith("xl/worksheets/")
    )
    parts = sum(m.file_size for m in members) - sheets
    if parts > limit or (sheets_limit is not None and sheets > sheets_limit):
        total = parts + sheets
        return f"unpacks to {total / 2**20:,.0f} MB (limit {limit / 2**20:,.0f} MB): refused as a zip bomb"
    return ""


@dataclass
class Chunk:
    rows: list[int]  # 1-based row numbers as the user sees them (header = row 1 in tables)
    ids: dict[str, list[Any]]  # id column name -> values
    texts: list[str]
    errors: list[str] = field(default_factory=list)  # "" where the row was read fine

    def __post_init__(self) -> None:
        if not self.errors:
            self.errors = [""] * len(self.texts)


@dataclass(frozen=True)
class Source:
    """An opened input: its kind, columns chosen, total rows if cheap to know, and chunks."""

    path: Path
    kind: str
    text_column: str | None
    id_columns: list[str]
    total: int | None
    chunks: Iterator[Chunk]
    notes: list[str] = field(default_factory=list)


FORMATS = ("csv", "tsv", "xlsx", "jsonl", "parquet", "txt", "docx", "pdf")
_FORMAT_OF_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".txt": "txt",
    ".md": "txt",
    ".docx": "docx",
    ".pdf": "pdf",
}
# What the bytes of each format look like, as ``sniff_format`` names it.
_CONTENT_OF_FORMAT = {
    "csv": "text",
    "tsv": "text",
    "jsonl": "text",
    "txt": "text",
    "xlsx": "xlsx",
    "docx": "docx",
    "pdf": "pdf",
    "parquet": "parquet",
}
_CONTENT_NAMES = {
    "xlsx": ("an XLSX", "xlsx"),
    "docx": ("a DOCX", "docx"),
    "pdf": ("a PDF", "pdf"),
    "parquet": ("a Parquet", "parquet"),
    "text": ("a text (CSV or JSON Lines?)", "csv"),
}
_ARTICLED = {
    "xlsx": "an XLSX",
    "docx": "a DOCX",
    "pdf": "a PDF",
    "parquet": "a Parquet",
    "zip": "a ZIP",
    "xls": "an old Excel .xls",
    "image": "an image",
    "binary": "a binary",
}
# Rows searched for the header when the first row is not it (titles above a table).
HEADER_SEARCH_ROWS = 30


def sniff_format(path: Path) -> str:
    """What the file's first bytes say it is: xlsx, docx, zip, pdf, parquet, xls, image,
    binary or text.

    Users rename files (an XLSX saved as ``.csv`` is common); reading by the name alone gave a
    traceback from the CSV parser or "Columns are: ‰PNG". The bytes decide what the file is,
    and the name only what the user meant, so a mismatch can be named in the error.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except OSError as exc:  # permission denied, a folder, gone since listed
        raise InputError(f"cannot read ({exc.strerror or type(exc).__name__})", path) from None
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return "zip"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.startswith("word/") for n in names):
            return "docx"
        return "zip"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")):
        return "image"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "text"
    if b"\x00" in head:
        return "binary"
    return "text"


def check_format(path: Path, fmt: str) -> None:
    """Raise a one-line error when the bytes of ``path`` are not what format ``fmt`` needs,
    saying what it looks like and how to read it as that."""
    content = sniff_format(path)
    if content == _CONTENT_OF_FORMAT[fmt]:
        return
    if content == "xls":
        message = "this looks like an old Excel .xls file; save it as .xlsx or .csv in Excel"
    elif content == "image":
        message = f"this looks like an image, not a {fmt.upper()} file: nothing to read"
    elif content in ("binary", "zip"):
        what = "a ZIP archive" if content == "zip" else "a binary file"
        message = f"this looks like {what}, not a {fmt.upper()} file: nothing to read"
    else:
        article, name = _CONTENT_NAMES[content]
        if content == "text" and fmt in ("docx", "pdf"):
            name = "txt"
        message = f"this looks like {article} file; rename it or pass --format {name}"
    raise InputError(message, path)


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
) -> Source:
    """Open any supported input; errors about the whole file are raised here, before work.

    ``recursive`` reads a notes folder's subfolders too (their notes get their path inside
    the folder as id); without it subfolders are named in the summary, not read.

    ``format`` overrides the file name's suffix; either way the bytes must agree with it.
    ``header_row`` (1-based) names the header row of a table; without it the first row is
    the header unless a later one (within the first 30) is the only one naming a text column.
    ``columns`` chooses the input columns passed through beside the text: "id" (the id
    column only), "all" (every column, the text included) or a list of names.
    """
    from sw_nlp.config import check_count

    check_count("chunk_size", chunk_size, low=1)
    if header_row is not None:
        check_count("header_row", header_row, low=1)
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r}: use {', '.join(FORMATS)}")
    path = Path(path)
    if not path.exists():
        raise InputError("input not found", path)
    if path.is_dir():
        return _open_folder(path, chunk_size, recursive)
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    fmt = format or _FORMAT_OF_SUFFIX.get(suffix)
    if fmt is None:
        raise InputError(
            f"unsupported input type {suffix!r}: use .csv, .tsv, .xlsx, .jsonl, .parquet or a "
            "folder, or name the format with --format",
            path,
        )
    check_format(path, fmt)
    if fmt in ("txt", "docx", "pdf"):
        return _open_notes(path, [path], chunk_size, fmt=fmt)
    if fmt in ("csv", "tsv"):
        source = _open_delimited(
            path, text_column, id_column, chunk_size, fmt == "tsv", header_row, columns
        )
    elif fmt == "xlsx":
        source = _open_xlsx(path, text_column, id_column, chunk_size, sheet, header_row, columns)
    elif fmt == "jsonl":
        source = _open_jsonl(path, text_column, id_column, chunk_size, columns)
    else:
        source = _open_parquet(path, text_column, id_column, chunk_size, columns)
    if source.text_column in source.id_columns:
        return replace(source, chunks=_text_masked(source.chunks, source.text_column))
    return source


def _text_masked(chunks: Iterator[Chunk], column: str) -> Iterator[Chunk]:
    """Chunks whose passed-through copy of the text column has identifiers masked (NIK,
    phone, e-mail, …): results are shared, and no identifier is shown in anything sw-nlp
    writes (docs/reliability.md, promise 3). The text classified is not changed here."""
    from sw_nlp.pii import mask_pii

    for chunk in chunks:
        chunk.ids[column] = [mask_pii(v) if isinstance(v, str) else v for v in chunk.ids[column]]
        yield chunk


def header_key(name: object) -> str:
    """A column name as compared: case, spaces and punctuation ignored, so that
    ``Deskripsi Kasus``, `` TEXT `` and ``uraian_kasus`` match the names looked for."""
    return re.sub(r"[\W_]+", "", str(name).casefold())


_TEXT_KEYS = [header_key(n) for n in TEXT_COLUMN_NAMES]
_ID_KEYS = [header_key(n) for n in ID_COLUMN_NAMES]


def _match(names: list[str], wanted: str) -> str | None:
    """The column named ``wanted``: exactly, else the one column equal to it once case,
    spaces and punctuation are ignored."""
    if wanted in names:
        return wanted
    found = [n for n in names if header_key(n) == header_key(wanted)]
    return found[0] if len(found) == 1 else None


def choose_columns(
    columns: list[str],
    path: Path,
    text_column: str | None,
    id_column: str | None,
    header_row: int = 1,
    keep: str | list[str] = "id",
) -> tuple[str, list[str]]:
    """The text column (given, or found by name) and the columns to pass through: the id
    column(s) (``keep="id"``), every column (``"all"``) or those named in a list."""
    names = [str(c) for c in columns]
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise InputError(f"duplicate column name(s): {', '.join(duplicates)}", path, header_row)
    if text_column is not None:
        text = _match(names, text_column)
        if text is None:
            raise InputError(
                f"no column {text_column!r}; columns are: {', '.join(names)}", path, header_row
            )
    else:
        found = _find_text_column(names)
        if found is None:
            hint = "" if header_row != 1 else " (a header lower down? pass --header-row N)"
            raise InputError(
                "no text column found; name it with --text-column. Columns are: "
                + ", ".join(names)
                + hint,
                path,
                header_row,
            )
        text = found
    if id_column is not None:
        chosen = _match(names, id_column)
        if chosen is None:
            raise InputError(
                f"no column {id_column!r}; columns are: {', '.join(names)}", path, header_row
            )
        ids = [chosen]
    else:
        keys = {header_key(n): n for n in reversed(names)}
        ids = [keys[k] for k in _ID_KEYS if k in keys][:1]
    if keep == "all":
        return text, names
    if keep == "id":
        return text, [c for c in ids if c != text]
    kept = []
    for wanted in keep:
        chosen = _match(names, wanted)
        if chosen is None:
            raise InputError(
                f"--columns names no column {wanted!r}; columns are: {', '.join(names)}",
                path,
                header_row,
            )
        kept.append(chosen)
    return text, list(dict.fromkeys(kept))


def _find_text_column(names: list[str]) -> str | None:
    """The first column, in the order of ``TEXT_COLUMN_NAMES``, whose name matches one."""
    keys: dict[str, str] = {}
    for name in names:
        keys.setdefault(header_key(name), name)
    return next((keys[k] for k in _TEXT_KEYS if k in keys), None)


def find_header_row(rows: list[list[str]], text_column: str | None) -> int:
    """The 0-based index of the header among the first rows of a table: the first row if it
    names the text column (or the given one), else the first later row that does.

    Office spreadsheets put a title ("REKAP KASUS …") and a blank row above the table; the
    first row is then no header. When no row qualifies the first row is returned, and the
    error about it says what was looked for.
    """
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [str(c) for c in row]
        if text_column is not None:
            if _match(names, text_column) is not None:
                return index
        elif _find_text_column(names) is not None:
            return index
    return 0


def _header_names(row: list[Any] | tuple[Any, ...]) -> list[str]:
    """Header cells as names; a blank one is named by its place (``column_3``) so that every
    column can be passed through and named in errors."""
    return [
        f"column_{i}" if h is None or str(h).strip() == "" else str(h)
        for i, h in enumerate(row, 1)
    ]


# --- delimited text -----------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when every byte decodes; else Windows-1252, as Excel writes.

    The whole file is checked, incrementally: a file that is UTF-8 for 10 MB and then has one
    Windows-1252 byte is not UTF-8.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def sniff_delimiter(sample: str, suffix: str) -> str:
    """The delimiter of a delimited sample: tab for .tsv, else what ``csv.Sniffer`` finds,
    else the one found most often on a single line of the first lines (a title row above
    the table has none, so the first line alone is no guide)."""
    if suffix == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        lines = sample.splitlines()[:HEADER_SEARCH_ROWS] or [""]
        counts = {d: max(line.count(d) for line in lines) for d in ",;\t|"}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def _open_delimited(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    tsv: bool = False,
    header_row: int | None = None,
    columns: str | list[str] = "id",
) -> Source:
    encoding = detect_encoding(path)
    notes = []
    if encoding == "cp1252":
        notes.append("not UTF-8: read as Windows-1252 (as Excel exports)")
        log.warning("%s: not UTF-8; reading as Windows-1252", path)
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(65536)
    if not sample.strip():
        raise InputError("empty file", path)
    delimiter = sniff_delimiter(sample, ".tsv" if tsv else path.suffix.lower())
    try:
        first = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
    except csv.Error:
        first = []
    first = first[:HEADER_SEARCH_ROWS]
    if not first:
        raise InputError("empty file", path)
    if header_row is None:
        at = find_header_row(first, text_column)
        if at:
            notes.append(f"header found on row {at + 1}; the {at} row(s) above it skipped")
    else:
        at = header_row - 1
        if at >= len(first):
            raise InputError(f"--header-row {header_row}: the file has fewer rows", path)
    names = _header_names(first[at])
    text, ids = choose_columns(names, path, text_column, id_column, at + 1, columns)
    t_index, id_index = names.index(text), [names.index(c) for c in ids]

    def chunks() -> Iterator[Chunk]:
        yield from _read_delimited(
            path, encoding, delimiter, len(names), t_index, ids, id_index, chunk_size, at
        )

    return Source(path, "csv", text, ids, None, chunks(), notes)


# A text is classified on its first 100k characters; a field of this size is no case text.
MAX_FIELD_CHARS = 256 << 20


def _read_delimited(
    path: Path,
    encoding: str,
    delimiter: str,
    width: int,
    t_index: int,
    ids: list[str],
    id_index: list[int],
    chunk_size: int,
    skip: int = 0,
) -> Iterator[Chunk]:
    """Records of a delimited file, parsed strictly, in chunks.

    Python's ``csv`` in strict mode, not pandas: pandas' parser reads a stray quote as the
    start of a field that runs on over the next lines, silently merging several rows into
    one. Strict parsing stops there instead, and the error names the line where the broken
    record starts. A record with more fields than the header (an unquoted delimiter in the
    text) keeps its row, with an error; one with fewer is read with the missing cells empty,
    as a spreadsheet would show it. Blank lines are not records. The first ``skip`` records
    (titles above the header) are read past and counted in the row numbers.
    """
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    row_no = skip + 1  # the header
    chunk = Chunk([], {c: [] for c in ids}, [], [])
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        record_line = 1
        try:
            for record in reader:  # titles, then the header, already read
                if record:
                    skip -= 1
                    if skip < 0:
                        break
            record_line = reader.line_num + 1
            for record in reader:
                if not record:
                    record_line = reader.line_num + 1
                    continue
                row_no += 1
                error = ""
                if len(record) > width:
                    error = (
                        f"{len(record)} fields, the header has {width}: an unquoted "
                        f"{_DELIMITER_NAMES.get(delimiter, repr(delimiter))} in the text? "
                        f"(line {record_line})"
                    )
                chunk.rows.append(row_no)
                for c, i in zip(ids, id_index, strict=True):
                    chunk.ids[c].append(record[i] if i < len(record) else "")
                chunk.texts.append(record[t_index] if t_index < len(record) and not error else "")
                chunk.errors.append(error)
                record_line = reader.line_num + 1
                if len(chunk.rows) == chunk_size:
                    yield chunk
                    chunk = Chunk([], {c: [] for c in ids}, [], [])
        except csv.Error as exc:
            raise InputError(
                f"cannot parse: malformed quoting in the record that starts on line "
                f"{record_line} ({exc}, on line {reader.line_num}); a stray or unbalanced "
                '" in a text? Nothing was written',
                path,
                row_no + 1,
            ) from None
    if chunk.rows:
        yield chunk


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}


def _chunk_from_frame(frame: pd.DataFrame, start: int, text: str, ids: list[str]) -> Chunk:
    values = frame[text].tolist()
    return Chunk(
        rows=list(range(start, start + len(frame))),
        ids={c: frame[c].tolist() for c in ids},
        # CSV cells come as str already; the check is cheaper than converting.
        texts=values if all(type(v) is str for v in values) else [_as_text(v) for v in values],
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


# --- spreadsheets, JSON Lines, Parquet -----------------------------------------------------


def _open_xlsx(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    sheet: str | None,
    header_row: int | None = None,
    columns: str | list[str] = "id",
) -> Source:
    import openpyxl

    if problem := check_unpacked_size(path, MAX_XLSX_PARTS_UNPACKED, MAX_XLSX_SHEETS_UNPACKED):
        raise InputError(problem, path)
    try:
        # Opened as a stream: openpyxl refuses a file by its name when that does not end in
        # .xlsx, and an XLSX read with --format xlsx may be called anything.
        stream = open(path, "rb")  # closed with the book, after the last chunk
    except OSError as exc:
        raise InputError(f"cannot open ({exc.strerror})", path) from None
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        stream.close()
        raise InputError(f"not a readable .xlsx file ({type(exc).__name__})", path) from None
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise InputError(f"no sheet {sheet!r}; sheets are: {', '.join(names)}", path)
        ws = book[sheet or names[0]]
        notes = [f"read sheet {ws.title!r} of {len(names)}"] if len(names) > 1 else []
        rows = ws.iter_rows(values_only=True)
        limit = HEADER_SEARCH_ROWS if header_row is None else header_row
        top = list(itertools.islice(rows, limit))
        if not top:
            raise InputError("empty sheet", path)
        if header_row is None:
            at = find_header_row([list(r) for r in top], text_column)
            if at:
                notes.append(f"header found on row {at + 1}; the {at} row(s) above it skipped")
        else:
            at = header_row - 1
            if at >= len(top):
                raise InputError(f"--header-row {header_row}: the sheet has fewer rows", path)
        header = _header_names(top[at])
        text, ids = choose_columns(header, path, text_column, id_column, at + 1, columns)
        t_index, id_index = header.index(text), [header.index(c) for c in ids]
    except BaseException:  # the whole-file errors above: the file is not read further
        book.close()
        stream.close()
        raise
    total = max((ws.max_row or 1) - 1 - at, 0)
    below = itertools.chain(top[at + 1 :], rows)

    def chunks() -> Iterator[Chunk]:
        batch: list[tuple[Any, ...]] = []
        row_no = at + 2
        for values in below:
            batch.append(values)
            if len(batch) == chunk_size:
                yield _chunk_from_tuples(batch, row_no, t_index, ids, id_index)
                row_no += len(batch)
                batch = []
        if batch:
            yield _chunk_from_tuples(batch, row_no, t_index, ids, id_index)
        book.close()
        stream.close()

    return Source(path, "xlsx", text, ids, total, chunks(), notes)


def _chunk_from_tuples(
    batch: list[tuple[Any, ...]], start: int, t_index: int, ids: list[str], id_index: list[int]
) -> Chunk:
    def cell(values: tuple[Any, ...], i: int) -> Any:
        return values[i] if i < len(values) else None

    return Chunk(
        rows=list(range(start, start + len(batch))),
        ids={c: [cell(v, i) for v in batch] for c, i in zip(ids, id_index, strict=True)},
        texts=[_as_text(cell(v, t_index)) for v in batch],
    )


def _open_jsonl(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    columns: str | list[str] = "id",
) -> Source:
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, errors="replace") as handle:
        first = next((ln for ln in handle if ln.strip()), None)
    if first is None:
        raise InputError("empty file", path)
    try:
        keys = list(json.loads(first))
    except (json.JSONDecodeError, TypeError):
        raise InputError("first line is not a JSON object", path, 1) from None
    except RecursionError:
        raise InputError("first line is nested too deeply to read", path, 1) from None
    text, ids = choose_columns(keys, path, text_column, id_column, 1, columns)

    def chunks() -> Iterator[Chunk]:
        chunk = Chunk([], {c: [] for c in ids}, [], [])
        with open(path, encoding=encoding, errors="replace") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                error, record = "", {}
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        error, record = "line is not a JSON object", {}
                except json.JSONDecodeError as exc:
                    error = f"invalid JSON ({exc.msg})"
                except RecursionError:  # "[[[[…" thousands deep: one bad row, not a crash
                    error, record = "JSON nested too deeply to read", {}
                value = record.get(text)
                if not error and value is not None and not isinstance(value, str):
                    # A list or object joined into words would be classified as if it were a
                    # text someone wrote; a number or true is no case description either.
                    error, value = f"column {text!r}: {_json_kind(value)}, not text", None
                chunk.rows.append(line_no)
                for c in ids:
                    chunk.ids[c].append(_encodable(record.get(c)))
                chunk.texts.append(_as_text(value))
                chunk.errors.append(error)
                if len(chunk.rows) == chunk_size:
                    yield chunk
                    chunk = Chunk([], {c: [] for c in ids}, [], [])
        if chunk.rows:
            yield chunk

    return Source(path, "jsonl", text, ids, None, chunks())


def _encodable(value: Any) -> Any:
    """A JSON string with a lone surrogate (``"\\ud800"``, valid JSON, no valid text) with
    it replaced, so that it can be written out; any other value as it is."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _json_kind(value: Any) -> str:
    """A JSON value's kind as a user knows it (never the value: it may be case text)."""
    if isinstance(value, bool):
        return "a JSON true/false"
    if isinstance(value, int | float):
        return "a JSON number"
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, dict):
        return "a JSON object"
    return f"a JSON {type(value).__name__}"


def _open_parquet(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    columns: str | list[str] = "id",
) -> Source:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, …
        raise InputError(f"not a readable Parquet file ({type(exc).__name__})", path) from None
    text, ids = choose_columns(parquet.schema_arrow.names, path, text_column, id_column, 1, columns)
    wanted = list(dict.fromkeys([text, *ids]))

    def chunks() -> Iterator[Chunk]:
        start = 1
        for batch in parquet.iter_batches(batch_size=chunk_size, columns=wanted):
            frame = batch.to_pandas()
            yield _chunk_from_frame(frame, start, text, ids)
            start += len(frame)

    return Source(path, "parquet", text, ids, parquet.metadata.num_rows, chunks())


# --- a folder of notes ---------------------------------------------------------------------


def _open_folder(path: Path, chunk_size: int, recursive: bool = False) -> Source:
    """One case per note file in the folder, and with ``recursive`` in its subfolders (without
    it, subfolders are named in a note). Hidden files and folders are left out.

    Broken links and unreadable entries are kept: they come out as rows with an error. Links
    that lead outside the folder, and linked folders, are skipped and named in the summary:
    classifying a folder must not read (and show the words of) a file from elsewhere.
    """
    from sw_nlp.pii import mask_pii

    def shown(names: list[str]) -> str:
        listed = ", ".join(" ".join(mask_pii(name).split()) for name in names[:20])
        return listed + (f" and {len(names) - 20} more" if len(names) > 20 else "")

    root = path.resolve()
    files: list[Path] = []
    subfolders: list[str] = []
    linked_folders: list[str] = []
    pending = [path]
    while pending:
        folder = pending.pop()
        for entry in folder.iterdir():
            if entry.name.startswith((".", "~$")):
                continue
            name = entry.relative_to(path).as_posix()
            if entry.is_dir():
                if entry.is_symlink():
                    linked_folders.append(name)
                elif recursive:
                    pending.append(entry)
                else:
                    subfolders.append(name)
            else:
                files.append(entry)
    files.sort(key=lambda p: p.relative_to(path).as_posix())
    outside = {p for p in files if p.is_symlink() and not _inside(p, root)}
    files = [p for p in files if p not in outside]
    skipped = [p for p in files if p.suffix.lower() not in NOTE_SUFFIXES]
    notes = [f"skipped {len(skipped)} file(s) that are not .txt/.md/.docx/.pdf"] if skipped else []
    if subfolders:  # not read: say so, rather than leave the user to count rows
        notes.append(
            f"skipped {len(subfolders)} subfolder(s), not read (--recursive reads them): "
            f"{shown(sorted(subfolders))}"
        )
    if outside:
        names = sorted(p.relative_to(path).as_posix() for p in outside)
        notes.append(f"skipped {len(names)} link(s) to files outside the folder: {shown(names)}")
    if linked_folders:
        notes.append(
            f"skipped {len(linked_folders)} linked folder(s), not followed: "
            f"{shown(sorted(linked_folders))}"
        )
    files = [p for p in files if p.suffix.lower() in NOTE_SUFFIXES]
    if not files:
        raise InputError("no .txt, .md, .docx or .pdf files in the folder", path)
    return _open_notes(path, files, chunk_size, notes)


def _inside(link: Path, root: Path) -> bool:
    try:
        return link.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop: nothing can be read through it, so it
        return True  # stays, and comes out as a row with its read error


def _open_notes(
    path: Path,
    files: list[Path],
    chunk_size: int,
    notes: list[str] | None = None,
    fmt: str | None = None,
) -> Source:
    """One case per file, the file name as its id; ``fmt`` reads them as that format."""

    def chunks() -> Iterator[Chunk]:
        for offset in range(0, len(files), chunk_size):
            part = files[offset : offset + chunk_size]
            texts, errors = [], []
            for file in part:
                text, error = read_note(file, fmt)
                texts.append(text)
                errors.append(error)
            yield Chunk(
                rows=list(range(offset + 1, offset + 1 + len(part))),
                ids={"file": [_note_id(path, p) for p in part]},
                texts=texts,
                errors=errors,
            )

    return Source(path, "notes", None, ["file"], len(files), chunks(), notes or [])


def _note_id(root: Path, file: Path) -> str:
    """A note's id: its path inside the folder read (its name, for a single note)."""
    return file.relative_to(root).as_posix() if root.is_dir() else file.name


def read_note(path: Path, fmt: str | None = None) -> tuple[str, str]:
    """(text, error) of one case note, read as ``fmt`` (default: by its suffix); never
    raises for a bad file."""
    suffix = f".{fmt}" if fmt else path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            return "", "empty file"
        if suffix in (".txt", ".md"):
            if (content := sniff_format(path)) != "text":
                # A PDF or image named .txt would come out as a row of mojibake, classified.
                return "", f"this looks like {_ARTICLED.get(content, 'a binary')} file, not text"
            encoding = detect_encoding(path)
            return path.read_text(encoding=encoding, errors="replace"), ""
        if suffix == ".docx":
            import docx

            if problem := check_unpacked_size(path, MAX_DOCX_UNPACKED):
                return "", problem

            document = docx.Document(str(path))
            return "\n".join(p.text for p in document.paragraphs), ""
        if suffix == ".pdf":
            import pypdf

            reader = pypdf.PdfReader(str(path))
            text = "\n".join((page.extract_text() or "") for page in reader.pages)
            if reader.pages and not text.strip():
                # Pages but no text layer: a scan or photo. "empty text" would send the user
                # looking for a blank document; what is missing is OCR.
                return "", (
                    f"no text in the PDF's {len(reader.pages)} page(s): a scan or image? "
                    "It needs OCR first (e.g. ocrmypdf)"
                )
            return text, ""
    except PermissionError:
        return "", "file not readable (permission denied)"
    except FileNotFoundError:
        return "", "file not found (broken link?)"
    except Exception as exc:  # a corrupt .docx/.pdf raises library-specific errors
        return "", f"unreadable {suffix} file ({type(exc).__name__})"
    return "", f"unsupported file type {suffix}"


# --- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvText:
    """A result chunk already turned into CSV text, header apart: worker processes do this so
    that the process writing the file only copies text."""

    header: str
    body: str
    rows: int  # counted here: a text may hold line breaks, so the body's lines are no count


# What a spreadsheet may read as the start of a formula (OWASP's CSV injection rule).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A formula start right after the separator ``_scan_text`` joins a column's cells with.
_FORMULA_AFTER_SEPARATOR = re.compile("\x00[=+\\-@\t\r]")


def _scan_text(values: list[Any]) -> tuple[bool, bool]:
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


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that a spreadsheet would run as a formula prefixed with
    a single quote (OWASP's rule), so ``=HYPERLINK(...)`` in a case text, an id or a file name
    shows as text when a case worker opens the result in Excel or LibreOffice.

    Only text cells change; numbers stay numbers. Columns without such a cell are not copied.
    """
    changed = {}
    for name, column in frame.items():
        if not _may_hold_text(column):
            continue
        values = column.tolist()
        if _scan_text(values)[0]:
            changed[name] = pd.Series(
                [
                    "'" + v if type(v) is str and v.startswith(FORMULA_STARTS) else v
                    for v in values
                ],
                index=column.index,
                dtype=object,
            )
    return frame.assign(**changed) if changed else frame


def to_csv_text(frame: pd.DataFrame, *, escape_formulas: bool = True) -> CsvText:
    """The frame as CSV text; formula-like text cells escaped unless told otherwise."""
    if escape_formulas:
        frame = neutralise_formulas(frame)
    ready = _with_decimals_as_text(frame)
    # Python's csv writer quotes a line break only if it is in the line terminator ("\n"): a
    # bare carriage return would go out unquoted and be read back as the end of a row.
    quoting = csv.QUOTE_ALL if _has_carriage_return(frame) else csv.QUOTE_MINIMAL
    return CsvText(
        header=ready.head(0).to_csv(index=False, lineterminator="\n"),
        body=ready.to_csv(index=False, header=False, lineterminator="\n", quoting=quoting),
        rows=len(frame),
    )


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    return any(
        _scan_text(column.tolist())[1] for _, column in frame.items() if _may_hold_text(column)
    )


def _may_hold_text(column: pd.Series) -> bool:
    return column.dtype == object or isinstance(column.dtype, pd.StringDtype)


class ResultWriter:
    """Writes result chunks to CSV, XLSX, JSONL or Parquet by the output's suffix.

    Writes go to a temporary file in the output's folder that is renamed over the output only
    when everything is written, so a crash never leaves a half-written result in place.
    ``None`` as the path writes CSV to stdout.

    CSV and XLSX are opened by people in spreadsheets: text cells that would start a formula
    are escaped (``escape_formulas``), and XLSX text is always written as text, never as a
    formula, even with escaping off. JSON Lines and Parquet are written as they are.
    """

    def __init__(self, path: Path | None, *, escape_formulas: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self.suffix = self.path.suffix.lower() if self.path else ".csv"
        if self.suffix not in OUTPUT_SUFFIXES:
            raise InputError(
                f"unsupported output type {self.suffix!r}: use .csv, .xlsx, .jsonl or .parquet",
                self.path,
            )
        self._tmp: Path | None = None
        self._handle: IO[str] | None = None
        self._started = False
        self._xlsx: Any = None
        self._parquet: Any = None
        self.rows = 0  # data rows written so far
        self.escape_formulas = escape_formulas

    def __enter__(self) -> ResultWriter:
        if self.path is not None:
            # A mistyped folder is not created: the result would land somewhere unexpected.
            folder = self.path.parent
            if not folder.is_dir():
                what = "is not a folder" if folder.exists() else "does not exist"
                raise InputError(f"output folder {folder} {what}; create it first", self.path)
            remove_stale_parts(self.path)
            # The process id in the name tells a later run whether the writer is still alive.
            fd, name = tempfile.mkstemp(
                prefix=f".{self.path.name}.{os.getpid()}.", suffix=".part", dir=self.path.parent
            )
            os.close(fd)
            os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
            self._tmp = Path(name)
        return self

    def write(self, frame: pd.DataFrame | CsvText) -> None:
        if self.suffix == ".csv":
            if self._handle is None:
                self._handle = (
                    open(self._tmp, "w", encoding="utf-8", newline="") if self._tmp else sys.stdout
                )
            text = (
                frame
                if isinstance(frame, CsvText)
                else to_csv_text(frame, escape_formulas=self.escape_formulas)
            )
            if not self._started:
                self._handle.write(text.header)
            self._handle.write(text.body)
        elif isinstance(frame, CsvText):
            raise ValueError(f"CSV text given for a {self.suffix} output")
        elif self.suffix == ".jsonl":
            if self._handle is None:
                self._handle = open(self._tmp, "w", encoding="utf-8")  # type: ignore[arg-type]
            frame.to_json(self._handle, orient="records", lines=True, force_ascii=False)
        elif self.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(_one_type_per_column(frame), preserve_index=False)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(str(self._tmp), self._schema)
            try:
                table = table.cast(self._schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                changed = [
                    f.name for f in table.schema if f.type != self._schema.field(f.name).type
                ]
                raise InputError(
                    f"column(s) {', '.join(changed)} hold different kinds of value in different "
                    f"rows (after row {self.rows + 1}: numbers, then text?); Parquet needs one "
                    "kind per column: write .csv or .jsonl, or make the ids all text"
                ) from None
            self._parquet.write_table(table)
        else:
            if self._xlsx is None:
                import openpyxl

                self._xlsx = openpyxl.Workbook(write_only=True)
                self._sheet = self._xlsx.create_sheet("hasil")
                self._sheet.append(list(frame.columns))
            if self.escape_formulas:
                frame = neutralise_formulas(frame)
            for values in frame.itertuples(index=False):
                self._sheet.append([self._xlsx_cell(v) for v in values])
        self.rows += frame.rows if isinstance(frame, CsvText) else len(frame)
        self._started = True

    def _xlsx_cell(self, value: Any) -> Any:
        """A value for the sheet; text that openpyxl would store as a formula is stored as
        text (openpyxl turns every string starting with "=" into a formula)."""
        value = _cell(value)
        if isinstance(value, str):
            from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

            # Control characters (a pasted text's BEL or ESC) cannot be stored in a sheet:
            # shown as U+FFFD rather than failing the whole file.
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if isinstance(value, str) and value.startswith("="):
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(self._sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._handle is not None and self._handle is not sys.stdout:
            self._handle.close()
        if self._parquet is not None:
            self._parquet.close()
        if self._xlsx is not None:
            self._xlsx.save(str(self._tmp))  # also on error: an unsaved write-only book leaks
        if self._tmp is None:
            return
        if exc_type is None:
            self._tmp.replace(self.path)  # type: ignore[arg-type]
        else:
            self._tmp.unlink(missing_ok=True)


def remove_stale_parts(output: Path) -> list[Path]:
    """Delete temporary files an earlier writer of ``output`` left when it was killed.

    Only files of our own naming (``.<output name>.<pid>.<random>.part``) whose process is
    gone are removed: a run still writing the same output keeps its file.
    """
    removed = []
    pattern = re.compile(rf"^\.{re.escape(output.name)}\.(\d+)\.[^.]+\.part$")
    for candidate in output.parent.glob(f".{glob.escape(output.name)}.*.part"):
        found = pattern.match(candidate.name)
        if found and not _process_alive(int(found.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
            log.info("removed %s, left by a run that was stopped", candidate)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # another user's process, or not knowable here
        return True
    return True


@cache
def _four_decimals() -> np.ndarray:
    """How ``to_csv`` writes 0, 0.0001, …, 1 (``repr`` of each float), then NaN (empty)."""
    return np.array([repr(k / 10_000) for k in range(10_001)] + [""], dtype=object)


def _with_decimals_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with float columns of values rounded to 4 decimals in [0, 1] (confidence and
    probabilities) as the exact text ``to_csv`` would write for them, looked up in a table.

    pandas formats every float on its own, which was half the cost of writing a result row;
    the output bytes are the same. Any other float column is left to pandas.
    """
    columns = {}
    for name, column in frame.items():
        if column.dtype == np.float64:
            values = column.to_numpy()
            missing = np.isnan(values)
            with np.errstate(over="ignore", invalid="ignore"):  # inf and huge values: left
                steps = np.rint(np.where(missing, 0.0, values) * 10_000)
            exact = missing | ((steps / 10_000 == values) & ~np.signbit(values))
            if exact.all() and ((steps >= 0) & (steps <= 10_000)).all():
                index = np.where(missing, 10_001, steps).astype(np.int64)
                column = pd.Series(_four_decimals()[index], index=column.index, dtype=object)
        columns[name] = column
    return pd.DataFrame(columns)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, dict | list | tuple | set):  # an id from JSON Lines: shown as JSON
        return _as_json_text(value)
    return value


def _as_json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):
        return str(type(value).__name__)


def _one_type_per_column(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with object columns that mix kinds of value (ids from JSON Lines: 1, "a",
    {"x": 1}) as text, which Arrow can store; columns of one kind are left as they are."""
    changed = {}
    for name, column in frame.items():
        if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in (
            "string", "integer", "floating", "boolean", "empty", "decimal", "bytes",
        ):  # fmt: skip
            changed[name] = pd.Series(
                [
                    None if v is None else v if isinstance(v, str) else _as_json_text(v)
                    if isinstance(v, dict | list | tuple | set) else str(v)
                    for v in column.tolist()
                ],
                index=column.index,
                dtype=object,
            )  # fmt: skip
    return frame.assign(**changed) if changed else frame
