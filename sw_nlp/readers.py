"""Reading tables in chunks of rows: what every reader yields, and JSON Lines and Parquet.

Readers yield ``Chunk`` objects: the input's row numbers, its id column(s), the texts, and a
per-row read error where a single row could not be read. A row is never dropped: a row that
cannot be read still comes out, with its error. The other tables have modules of their own
(``delimited``, ``workbooks``), built on ``choose_header`` here; ``sw_nlp.files.open_cases``
picks the reader.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sw_nlp.columns import choose_columns, find_header_row, header_names, tell_apart
from sw_nlp.errors import InputError
from sw_nlp.sniff import detect_encoding

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


@dataclass
class Chunk:
    rows: list[int]  # 1-based row numbers as the user sees them (header = row 1 in tables)
    ids: dict[str, list[Any]]  # id column name -> values
    texts: list[str]
    errors: list[str] = field(default_factory=list)  # "" where the row was read fine
    # Passed-through columns whose identifiers are still to be masked (``files.open_cases``
    # with ``defer_masking``: a worker process masks them, not the reading one).
    unmasked: tuple[str, ...] = ()
    # Texts and ids still as the file's bytes (``delimited`` with ``defer_decoding``): an
    # object whose ``decode()`` gives ``(texts, ids)``, for the worker process that classifies
    # the chunk to decode (``decoded``); ``texts`` and ``ids`` are empty until then.
    undecoded: Any = None

    def __post_init__(self) -> None:
        if not self.errors:
            self.errors = [""] * len(self.texts)

    def decoded(self) -> Chunk:
        """The chunk with its texts and ids decoded (in place; nothing to do the second
        time, or for a chunk read as text)."""
        if self.undecoded is not None:
            self.texts, self.ids = self.undecoded.decode()
            self.undecoded = None
        return self


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

    def close(self) -> None:
        """Close the chunks, read or not, and with them the file they come from: a caller
        that stops early (an error halfway, or only the columns and the total wanted) does
        not leave the file open until the garbage collector gets to it."""
        close_chunks(self.chunks)


def close_chunks(chunks: Iterator[Chunk]) -> None:
    """A reader's chunks closed, as a generator is (an iterator without ``close`` has
    nothing to close)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def chunk_from_frame(frame: pd.DataFrame, start: int, text: str, ids: list[str]) -> Chunk:
    values = frame[text].tolist()
    return Chunk(
        rows=list(range(start, start + len(frame))),
        ids={c: frame[c].tolist() for c in ids},
        # CSV cells come as str already; the check is cheaper than converting.
        texts=values if all(type(v) is str for v in values) else [as_text(v) for v in values],
    )


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


# --- JSON Lines, Parquet ---------------------------------------------------------------------


def open_jsonl(
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
    if first.lstrip().startswith("["):  # an array of records, named .jsonl
        return open_json(path, text_column, id_column, chunk_size, columns, from_jsonl=True)
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        record = None
    except RecursionError:
        raise InputError("first line is nested too deeply to read", path, 1) from None
    if not isinstance(record, dict):  # never listed: its values may be case text
        raise InputError("first line is not a JSON object", path, 1)
    text, ids = choose_columns(list(record), path, text_column, id_column, 1, columns)

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
                _add_record(chunk, line_no, record, error, text, ids)
                if len(chunk.rows) == chunk_size:
                    yield chunk
                    chunk = Chunk([], {c: [] for c in ids}, [], [])
        if chunk.rows:
            yield chunk

    return Source(path, "jsonl", text, ids, None, chunks())


# A JSON array is parsed whole (the standard library has no streaming parser): up to this.
MAX_JSON_ARRAY_BYTES = 512 << 20


def open_json(
    path: Path,
    text_column: str | None,
    id_column: str | None,
    chunk_size: int,
    columns: str | list[str] = "id",
    from_jsonl: bool = False,
) -> Source:
    """A .json file as tools export one: an array of records, or an object holding one under
    a name (``{"data": [...]}``), read whole; one object per line is JSON Lines, whatever
    the file's name. A record that is not an object keeps its row, with an error."""
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, errors="replace") as handle:
        head = handle.read(4096).lstrip()
    if not head:
        raise InputError("empty file", path)
    if path.stat().st_size > MAX_JSON_ARRAY_BYTES:
        if not head.startswith("["):
            return open_jsonl(path, text_column, id_column, chunk_size, columns)
        raise InputError(
            f"a JSON array over {MAX_JSON_ARRAY_BYTES >> 20} MB is read whole: write it as "
            "JSON Lines (one record per line)",
            path,
        )
    try:
        data = json.loads(path.read_text(encoding=encoding, errors="replace"))
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and head.startswith("["):
            raise InputError(
                "one JSON array after another: write one array, or JSON Lines (one record "
                "per line)",
                path,
                exc.lineno,
            ) from None
        if exc.msg == "Extra data":  # one value after another: JSON Lines
            return open_jsonl(path, text_column, id_column, chunk_size, columns)
        raise InputError(f"not valid JSON ({exc.msg})", path, exc.lineno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply to read", path) from None
    notes = ["a JSON array, not JSON Lines: read as one"] if from_jsonl else []
    if isinstance(data, dict):
        held = [
            k
            for k, v in data.items()
            if isinstance(v, list) and any(isinstance(r, dict) for r in v)
        ]
        if len(held) != 1:  # one record on its own
            return open_jsonl(path, text_column, id_column, chunk_size, columns)
        notes.append(f"records read from the file's {held[0]!r}")
        data = data[held[0]]
    if not isinstance(data, list):
        raise InputError(f"not an array of records: {json_kind(data)}", path)
    keys = list(dict.fromkeys(k for r in data if isinstance(r, dict) for k in r))
    text, ids = choose_columns(keys, path, text_column, id_column, 1, columns)

    def chunks() -> Iterator[Chunk]:
        for start in range(0, len(data), chunk_size):
            chunk = Chunk([], {c: [] for c in ids}, [], [])
            for number, record in enumerate(data[start : start + chunk_size], start + 1):
                if isinstance(record, dict):
                    _add_record(chunk, number, record, "", text, ids)
                else:
                    _add_record(
                        chunk, number, {}, f"record {number} is not a JSON object", text, ids
                    )
            yield chunk

    return Source(path, "json", text, ids, len(data), chunks(), notes)


def _add_record(
    chunk: Chunk, number: int, record: dict[str, Any], error: str, text: str, ids: list[str]
) -> None:
    """A JSON record as the chunk's next row (``error``: why it could not be read, ``record``
    then empty). A text that is a list or object would be classified as words someone wrote,
    and a number or true is no case description either: the row's error."""
    value = record.get(text)
    if not error and value is not None and not isinstance(value, str):
        error, value = f"column {text!r}: {json_kind(value)}, not text", None
    chunk.rows.append(number)
    for c in ids:
        chunk.ids[c].append(encodable(record.get(c)))
    chunk.texts.append(as_text(value))
    chunk.errors.append(error)


def encodable(value: Any) -> Any:
    """A JSON string with a lone surrogate (``"\\ud800"``, valid JSON, no valid text) with
    it replaced, so that it can be written out; any other value as it is."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
    return value


def json_kind(value: Any) -> str:
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


def open_parquet(
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
    text, ids = choose_columns(
        parquet.schema_arrow.names, path, text_column, id_column, 1, columns
    )
    wanted = list(dict.fromkeys([text, *ids]))

    def chunks() -> Iterator[Chunk]:
        start = 1
        for batch in parquet.iter_batches(batch_size=chunk_size, columns=wanted):
            frame = batch.to_pandas()
            yield chunk_from_frame(frame, start, text, ids)
            start += len(frame)

    return Source(path, "parquet", text, ids, parquet.metadata.num_rows, chunks())


def choose_header(
    top: list[list[Any]],
    path: Path,
    kind: str,
    text_column: str | None,
    id_column: str | None,
    header_row: int | None,
    columns: str | list[str],
    notes: list[str],
) -> tuple[int, list[str], str, list[str]]:
    """The header row of a table's first rows (found under title rows, or the one given),
    its names, and the text and id columns chosen from them: the same rules for CSV and XLSX.
    """
    if header_row is None:
        at = find_header_row(top, text_column)
        if at:
            notes.append(f"header found on row {at + 1}; the {at} row(s) above it skipped")
    else:
        at = header_row - 1
        if at >= len(top):
            raise InputError(f"--header-row {header_row}: the {kind} has fewer rows", path)
    names, repeats = tell_apart(header_names(top[at]))
    text, ids = choose_columns(names, path, text_column, id_column, at + 1, columns)
    if text in repeats:
        raise InputError(
            f"{len(repeats[text]) + 1} columns are named {text!r}: rename one, or pass "
            f"--text-column {repeats[text][0]!r} for the second",
            path,
            at + 1,
            columns=names,
        )
    if repeats:
        told = ", ".join(repr(n) for new in repeats.values() for n in new)
        notes.append(f"columns of the same name told apart: {told}")
    return at, names, text, ids
