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
import json
import logging
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
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


def open_cases(
    path: Path,
    text_column: str | None = None,
    id_column: str | None = None,
    chunk_size: int = 2000,
    sheet: str | None = None,
) -> Source:
    """Open any supported input; errors about the whole file are raised here, before work."""
    from sw_nlp.config import check_count

    check_count("chunk_size", chunk_size, low=1)
    path = Path(path)
    if not path.exists():
        raise InputError("input not found", path)
    if path.is_dir():
        return _open_folder(path, chunk_size)
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    if suffix in NOTE_SUFFIXES:
        return _open_notes(path, [path], chunk_size)
    if suffix in (".csv", ".tsv"):
        return _open_delimited(path, text_column, id_column, chunk_size)
    if suffix == ".xlsx":
        return _open_xlsx(path, text_column, id_column, chunk_size, sheet)
    if suffix in (".jsonl", ".ndjson"):
        return _open_jsonl(path, text_column, id_column, chunk_size)
    if suffix == ".parquet":
        return _open_parquet(path, text_column, id_column, chunk_size)
    raise InputError(
        f"unsupported input type {suffix!r}: use .csv, .tsv, .xlsx, .jsonl, .parquet or a folder",
        path,
    )


def choose_columns(
    columns: list[str], path: Path, text_column: str | None, id_column: str | None
) -> tuple[str, list[str]]:
    """The text column (given, or found by name) and the id column(s) to pass through."""
    names = [str(c) for c in columns]
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise InputError(f"duplicate column name(s): {', '.join(duplicates)}", path, 1)
    lowered = {c.strip().lower(): c for c in names}
    if text_column is not None:
        if text_column not in names:
            raise InputError(
                f"no column {text_column!r}; columns are: {', '.join(names)}", path, 1
            )
        text = text_column
    else:
        found = [lowered[n] for n in TEXT_COLUMN_NAMES if n in lowered]
        if not found:
            raise InputError(
                "no text column found; name it with --text-column. Columns are: "
                + ", ".join(names),
                path,
                1,
            )
        text = found[0]
    if id_column is not None:
        if id_column not in names:
            raise InputError(f"no column {id_column!r}; columns are: {', '.join(names)}", path, 1)
        ids = [id_column]
    else:
        ids = [lowered[n] for n in ID_COLUMN_NAMES if n in lowered][:1]
    return text, [c for c in ids if c != text]


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
    if suffix == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def _open_delimited(
    path: Path, text_column: str | None, id_column: str | None, chunk_size: int
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
    delimiter = sniff_delimiter(sample, path.suffix.lower())
    try:
        header = next(csv.reader(io.StringIO(sample), delimiter=delimiter))
    except StopIteration:
        raise InputError("empty file", path) from None
    text, ids = choose_columns(header, path, text_column, id_column)

    names = [str(c) for c in header]
    t_index, id_index = names.index(text), [names.index(c) for c in ids]

    def chunks() -> Iterator[Chunk]:
        yield from _read_delimited(
            path, encoding, delimiter, len(names), t_index, ids, id_index, chunk_size
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
) -> Iterator[Chunk]:
    """Records of a delimited file, parsed strictly, in chunks.

    Python's ``csv`` in strict mode, not pandas: pandas' parser reads a stray quote as the
    start of a field that runs on over the next lines, silently merging several rows into
    one. Strict parsing stops there instead, and the error names the line where the broken
    record starts. A record with more fields than the header (an unquoted delimiter in the
    text) keeps its row, with an error; one with fewer is read with the missing cells empty,
    as a spreadsheet would show it. Blank lines are not records.
    """
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    row_no = 1  # the header
    chunk = Chunk([], {c: [] for c in ids}, [], [])
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        record_line = 1
        try:
            next(reader)  # the header, already read
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
    path: Path, text_column: str | None, id_column: str | None, chunk_size: int, sheet: str | None
) -> Source:
    import openpyxl

    if problem := check_unpacked_size(path, MAX_XLSX_PARTS_UNPACKED, MAX_XLSX_SHEETS_UNPACKED):
        raise InputError(problem, path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"not a readable .xlsx file ({type(exc).__name__})", path) from None
    names = book.sheetnames
    if sheet is not None and sheet not in names:
        raise InputError(f"no sheet {sheet!r}; sheets are: {', '.join(names)}", path)
    ws = book[sheet or names[0]]
    notes = [f"read sheet {ws.title!r} of {len(names)}"] if len(names) > 1 else []
    rows = ws.iter_rows(values_only=True)
    try:
        header = [("" if h is None else str(h)) for h in next(rows)]
    except StopIteration:
        raise InputError("empty sheet", path) from None
    text, ids = choose_columns(header, path, text_column, id_column)
    t_index, id_index = header.index(text), [header.index(c) for c in ids]
    total = max((ws.max_row or 1) - 1, 0)

    def chunks() -> Iterator[Chunk]:
        batch: list[tuple[Any, ...]] = []
        row_no = 2
        for values in rows:
            batch.append(values)
            if len(batch) == chunk_size:
                yield _chunk_from_tuples(batch, row_no, t_index, ids, id_index)
                row_no += len(batch)
                batch = []
        if batch:
            yield _chunk_from_tuples(batch, row_no, t_index, ids, id_index)
        book.close()

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
    path: Path, text_column: str | None, id_column: str | None, chunk_size: int
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
    text, ids = choose_columns(keys, path, text_column, id_column)

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
                chunk.rows.append(line_no)
                for c in ids:
                    chunk.ids[c].append(record.get(c))
                chunk.texts.append(_as_text(record.get(text)))
                chunk.errors.append(error)
                if len(chunk.rows) == chunk_size:
                    yield chunk
                    chunk = Chunk([], {c: [] for c in ids}, [], [])
        if chunk.rows:
            yield chunk

    return Source(path, "jsonl", text, ids, None, chunks())


def _open_parquet(
    path: Path, text_column: str | None, id_column: str | None, chunk_size: int
) -> Source:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, …
        raise InputError(f"not a readable Parquet file ({type(exc).__name__})", path) from None
    text, ids = choose_columns(parquet.schema_arrow.names, path, text_column, id_column)

    def chunks() -> Iterator[Chunk]:
        start = 1
        for batch in parquet.iter_batches(batch_size=chunk_size, columns=[text, *ids]):
            frame = batch.to_pandas()
            yield _chunk_from_frame(frame, start, text, ids)
            start += len(frame)

    return Source(path, "parquet", text, ids, parquet.metadata.num_rows, chunks())


# --- a folder of notes ---------------------------------------------------------------------


def _open_folder(path: Path, chunk_size: int) -> Source:
    """One case per note file in the folder (not its subfolders).

    Broken links and unreadable entries are kept: they come out as rows with an error. Links
    that lead outside the folder are skipped, and named in the summary: classifying a folder
    must not read (and show the words of) a file from elsewhere.
    """
    from sw_nlp.pii import mask_pii

    files = sorted(
        (p for p in path.iterdir() if not p.is_dir() and not p.name.startswith((".", "~$"))),
        key=lambda p: p.name,
    )
    root = path.resolve()
    outside = [p.name for p in files if p.is_symlink() and not _inside(p, root)]
    files = [p for p in files if p.name not in outside]
    skipped = [p.name for p in files if p.suffix.lower() not in NOTE_SUFFIXES]
    notes = [f"skipped {len(skipped)} file(s) that are not .txt/.md/.docx/.pdf"] if skipped else []
    if outside:
        shown = ", ".join(" ".join(mask_pii(name).split()) for name in outside)
        notes.append(f"skipped {len(outside)} link(s) to files outside the folder: {shown}")
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
    path: Path, files: list[Path], chunk_size: int, notes: list[str] | None = None
) -> Source:
    """One case per file, the file name as its id."""

    def chunks() -> Iterator[Chunk]:
        for offset in range(0, len(files), chunk_size):
            part = files[offset : offset + chunk_size]
            texts, errors = [], []
            for file in part:
                text, error = read_note(file)
                texts.append(text)
                errors.append(error)
            yield Chunk(
                rows=list(range(offset + 1, offset + 1 + len(part))),
                ids={"file": [p.name for p in part]},
                texts=texts,
                errors=errors,
            )

    return Source(path, "notes", None, ["file"], len(files), chunks(), notes or [])


def read_note(path: Path) -> tuple[str, str]:
    """(text, error) of one case note; never raises for a bad file."""
    suffix = path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            return "", "empty file"
        if suffix in (".txt", ".md"):
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
            return "\n".join((page.extract_text() or "") for page in reader.pages), ""
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
            self.path.parent.mkdir(parents=True, exist_ok=True)
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
