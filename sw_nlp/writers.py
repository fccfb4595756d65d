"""Writing results (CSV, XLSX, JSON Lines, Parquet) without half-written files.

Spreadsheet formats are opened by people: text that a spreadsheet would run as a formula is
escaped. Output goes to a temporary file renamed over the target only when complete. A batch
job's result tables are written to CSV without pandas (``table``); pandas is imported only
for the other formats and for frames.
"""

from __future__ import annotations

import csv
import datetime
import glob
import json
import logging
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sw_nlp.errors import InputError
from sw_nlp.table import (
    CsvText,
    ResultTable,
    decimals_as_text,
    escaped,
    may_start_formula,
    table_csv_text,
)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

OUTPUT_SUFFIXES = {".csv", ".xlsx", ".jsonl", ".parquet"}
# The most characters an XLSX cell holds (Excel's specifications and limits).
XLSX_CELL_CHARS = 32_767
XLSX_SHEET_ROWS = 1_048_576  # rows a sheet holds, its header included


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that a spreadsheet would run as a formula prefixed with
    a single quote (OWASP's rule), so ``=HYPERLINK(...)`` in a case text, an id or a file name
    shows as text when a case worker opens the result in Excel or LibreOffice.

    Only text cells change; numbers stay numbers. Columns without such a cell are not copied.
    """
    import pandas as pd

    changed = {}
    for name, column in frame.items():
        if not _may_hold_text(column):
            continue
        values = column.tolist()
        if may_start_formula(values):
            changed[name] = pd.Series(escaped(values), index=column.index, dtype=object)
    return frame.assign(**changed) if changed else frame


def to_csv_text(frame: pd.DataFrame, *, escape_formulas: bool = True) -> CsvText:
    """The frame as CSV text, written by pandas; formula-like text cells escaped unless told
    otherwise. Result tables have their own writer (``table.table_csv_text``), pandas-free,
    giving the same bytes; this one is for other frames (an audit, cases to label)."""
    if escape_formulas:
        frame = neutralise_formulas(frame)
    ready = _with_decimals_as_text(frame)
    body = ready.to_csv(index=False, header=False, lineterminator="\n")
    # Python's csv writer quotes a line break only if it is in the line terminator ("\n"): a
    # bare carriage return would go out unquoted and be read back as the end of a row. It
    # can only come from a cell: checked once on the text made.
    if "\r" in body:
        body = ready.to_csv(index=False, header=False, lineterminator="\n", quoting=csv.QUOTE_ALL)
    return CsvText(
        header=ready.head(0).to_csv(index=False, lineterminator="\n"), body=body, rows=len(frame)
    )


def _may_hold_text(column: pd.Series) -> bool:
    import pandas as pd

    return column.dtype == object or isinstance(column.dtype, pd.StringDtype)


class ResultWriter:
    """Writes result chunks to CSV, XLSX, JSONL or Parquet by the output's suffix.

    Writes go to a temporary file in the output's folder that is renamed over the output only
    when everything is written, so a crash never leaves a half-written result in place.
    ``None`` as the path writes CSV to stdout.

    CSV and XLSX are opened by people in spreadsheets: text cells that would start a formula
    are escaped (``escape_formulas``), and XLSX text is always written as text, never as a
    formula, even with escaping off. JSON Lines and Parquet are written as they are.

    ``metadata`` (e.g. the model that answered) goes where the format has a place for it:
    Parquet's key-value metadata and XLSX's document properties. CSV and JSON Lines have
    none, and their bytes stay the results alone.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        escape_formulas: bool = True,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.suffix = self.path.suffix.lower() if self.path else ".csv"
        if self.suffix not in OUTPUT_SUFFIXES:
            raise InputError(
                f"unsupported output type {self.suffix!r}: use .csv, .xlsx, .jsonl or .parquet",
                self.path,
            )
        self._tmp: Path | None = None
        self._handle: IO[Any] | None = None
        self._started = False
        self._xlsx: Any = None
        self._parquet: Any = None
        self.rows = 0  # data rows written so far
        self.cut_cells = 0  # XLSX text cells cut to what a cell holds (``XLSX_CELL_CHARS``)
        self.sheets = 0  # XLSX sheets written: a new one every ``XLSX_SHEET_ROWS`` rows
        self._sheet_rows = 0
        self.escape_formulas = escape_formulas
        self.metadata = dict(metadata or {})

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

    def write(self, frame: pd.DataFrame | ResultTable | CsvText) -> None:
        """Append rows: a frame, a result table (CSV written without pandas, other formats
        from its frame) or CSV text a worker made."""
        if self.suffix == ".csv":
            if self._handle is None:  # a file is written in bytes (``_put``), stdout in text
                self._handle = open(self._tmp, "wb") if self._tmp else sys.stdout
            if isinstance(frame, CsvText):
                text = frame
            elif isinstance(frame, ResultTable):
                text = table_csv_text(frame, escape_formulas=self.escape_formulas)
            else:
                text = to_csv_text(frame, escape_formulas=self.escape_formulas)
            if not self._started:
                self._put(text.header)
            self._put(text.body)
            self.rows += text.rows
            self._started = True
            return
        if isinstance(frame, CsvText):
            raise ValueError(f"CSV text given for a {self.suffix} output")
        if isinstance(frame, ResultTable):
            frame = frame.to_frame()
        if self.suffix == ".jsonl":
            if self._handle is None:
                self._handle = open(self._tmp, "w", encoding="utf-8")  # type: ignore[arg-type]
            frame = _dates_as_iso(frame)
            frame.to_json(
                self._handle, orient="records", lines=True, force_ascii=False, date_format="iso"
            )
        elif self.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(_one_type_per_column(frame), preserve_index=False)
            if self._parquet is None:
                self._schema = table.schema.with_metadata(
                    {
                        **(table.schema.metadata or {}),
                        **{k.encode(): v.encode() for k, v in self.metadata.items()},
                    }
                )
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
                if self.metadata:
                    # Document properties: File > Info in Excel shows which model answered.
                    self._xlsx.properties.subject = "sw-nlp results"
                    self._xlsx.properties.description = "\n".join(
                        f"{k}: {v}" for k, v in self.metadata.items()
                    )
                    self._xlsx.properties.keywords = self.metadata.get("sw_nlp.model.sha256")
                self._header = list(frame.columns)
                self._new_sheet()
            if self.escape_formulas:
                frame = neutralise_formulas(frame)
            for values in frame.itertuples(index=False):
                if self._sheet_rows == XLSX_SHEET_ROWS:
                    self._new_sheet()
                self._sheet.append([self._xlsx_cell(v) for v in values])
                self._sheet_rows += 1
        self.rows += len(frame)
        self._started = True

    def _new_sheet(self) -> None:
        """A sheet for the rows to come, headed like the first: "hasil", "hasil (2)", …"""
        self.sheets += 1
        name = "hasil" if self.sheets == 1 else f"hasil ({self.sheets})"
        self._sheet = self._xlsx.create_sheet(name)
        self._sheet.append(self._header)
        self._sheet_rows = 1

    def notes(self) -> list[str]:
        """What a reader of the output should know that its rows do not say."""
        notes = []
        if self.sheets > 1:
            notes.append(
                f"{self.rows:,} rows written over {self.sheets} sheets: an XLSX sheet holds "
                f"{XLSX_SHEET_ROWS - 1:,} rows"
            )
        if self.cut_cells:
            notes.append(
                f"{self.cut_cells} cell(s) longer than an XLSX cell holds ({XLSX_CELL_CHARS:,} "
                "characters) cut in the output, ending in '…' (the whole text was "
                "classified); write .csv or .jsonl to keep them whole"
            )
        return notes

    def _put(self, text: str | bytes) -> None:
        """CSV text, or the same as UTF-8 bytes (a worker's ``CsvText``), into the output: a
        file takes bytes (a worker's are copied as they are), stdout text."""
        if self._handle is sys.stdout:
            self._handle.write(text.decode("utf-8") if isinstance(text, bytes) else text)
        else:
            self._handle.write(text.encode("utf-8") if isinstance(text, str) else text)

    def _xlsx_cell(self, value: Any) -> Any:
        """A value for the sheet; text that openpyxl would store as a formula is stored as
        text (openpyxl turns every string starting with "=" into a formula)."""
        value = _cell(value)
        if isinstance(value, str):
            from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

            # Control characters (a pasted text's BEL or ESC) cannot be stored in a sheet:
            # shown as U+FFFD rather than failing the whole file.
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
            if len(value) > XLSX_CELL_CHARS:  # openpyxl would cut it there without a sign
                value = value[: XLSX_CELL_CHARS - 1] + "…"
                self.cut_cells += 1
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


def _with_decimals_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with float columns of values rounded to 4 decimals in [0, 1] (confidence and
    probabilities) as the exact text ``to_csv`` would write for them (``decimals_as_text``);
    any other float column is left to pandas. The output bytes are the same."""
    import numpy as np
    import pandas as pd

    columns = {}
    for name, column in frame.items():
        if column.dtype == np.float64:
            text = decimals_as_text(column.to_numpy())
            if text is not None:
                column = pd.Series(text, index=column.index, dtype=object)
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


def _dates_as_iso(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with dates (a workbook's date cells, see ``readers``) as ISO text: pandas
    writes every date or time to JSON as a timestamp, so a date would read
    "2025-01-02T00:00:00.000". Timestamps go to pandas' own ISO text (``date_format``)."""
    import pandas as pd

    changed = {}
    for name, column in frame.items():
        if column.dtype == object:
            values = column.tolist()
            if datetime.date in set(map(type, values)):
                changed[name] = pd.Series(
                    [v.isoformat() if type(v) is datetime.date else v for v in values],
                    index=column.index,
                    dtype=object,
                )
    return frame.assign(**changed) if changed else frame


def _one_type_per_column(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with object columns that mix kinds of value (ids from JSON Lines: 1, "a",
    {"x": 1}) as text, which Arrow can store; columns of one kind are left as they are."""
    import pandas as pd

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
