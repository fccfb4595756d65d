"""What a file is: its format from its bytes, its text encoding, its delimiter.

Users rename files (an XLSX saved as ``.csv`` is common); the bytes decide what a file is,
and its name only what the user meant, so a mismatch can be named in the error.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path
from typing import BinaryIO

from sw_nlp.arrow_text import valid_utf8
from sw_nlp.errors import InputError

FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl", "parquet", "html", "txt", "docx", "pdf")
FORMAT_OF_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".xlsx": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".html": "html",
    ".htm": "html",
    ".txt": "txt",
    ".md": "txt",
    ".docx": "docx",
    ".pdf": "pdf",
}
# What the bytes of each format look like, as ``sniff_format`` names it.
_CONTENT_OF_FORMAT = {
    "csv": "text",
    "tsv": "text",
    "json": "text",
    "html": "text",
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
ARTICLED = {
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

    Users rename files (an XLSX saved as ``.csv`` is common); read by its name alone, such a
    file reaches the CSV parser as noise. The bytes decide what the file is, and the name
    only what the user meant, so a mismatch can be named in the error.
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


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when every byte decodes; else Windows-1252, as Excel writes.

    The whole file is checked, incrementally: a file that is UTF-8 for 10 MB and then has one
    Windows-1252 byte is not UTF-8. A large file is checked by Arrow's validator (it builds no
    text: 1.3 s -> 0.2 s for 580 MB, before the first row), a small one by Python's decoder
    (no pyarrow import before a small file's first row); both take the same bytes as UTF-8
    (tested on hostile bytes).
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        handle.seek(0)
        if path.stat().st_size > ARROW_CHECK_BYTES:
            return "utf-8" if _utf8_in_blocks(handle) else "cp1252"
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


ARROW_CHECK_BYTES = 8 << 20  # files larger than this are checked by Arrow
_BLOCK_BYTES = 16 << 20


def _utf8_in_blocks(handle: BinaryIO) -> bool:
    """Whether the rest of ``handle`` is UTF-8, a block at a time. Each block is checked up to
    the start of its last character (the last byte that is not a continuation byte, 10xxxxxx,
    among its last four): no valid character spans that cut, so the file is valid exactly
    when every piece is; the bytes after the cut open the next block."""
    carry = b""
    while block := handle.read(_BLOCK_BYTES):
        data = carry + block
        cut = len(data)
        for i in range(len(data) - 1, max(len(data) - 5, -1), -1):
            if data[i] & 0xC0 != 0x80:
                cut = i
                break
        if not valid_utf8(memoryview(data)[:cut]):
            return False
        carry = data[cut:]
    return valid_utf8(carry)


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
