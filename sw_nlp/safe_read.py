"""Reading small files and opening ZIP containers without being made to hold too much.

A manifest, a config or a trust store is read whole: from a regular file only, and only up
to a limit. A ZIP container (XLSX, DOCX) is checked against a limit on its unpacked size
before a reader opens it. The lowest layer of file handling: it imports only ``errors``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from sw_nlp.errors import InputError

# Unpacked sizes of the ZIP containers read here. A note is classified on its first 100k
# characters, so a .docx with more XML than this is a zip bomb, not a case note (a 545 KB
# file unpacking to 150 MB took 2.2 GB and 65 s). In an .xlsx, openpyxl streams the sheets
# but holds every other part (shared strings above all) in memory.
MAX_DOCX_UNPACKED = 64 << 20
MAX_XLSX_PARTS_UNPACKED = 256 << 20
MAX_XLSX_SHEETS_UNPACKED = 4 << 30


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in blocks: a model records the corpus it was trained on, a
    registry the file last classified (without importing the corpus layer's pandas)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
