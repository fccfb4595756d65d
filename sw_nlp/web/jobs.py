"""Background classification of uploaded files, one thread per job.

An upload is written to its own private folder (0700) under one private folder per server,
classified there by ``classify.classify_file`` twice (CSV, then XLSX: the downloads are the
bytes ``sw-nlp classify`` writes) with the server's loaded model, and deleted as soon as both are written. The results stay
for ``job_ttl_seconds`` after the job ended, then the folder goes; everything goes when the
server stops.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sw_nlp.classify import classify_file
from sw_nlp.errors import InputError, SwNlpError
from sw_nlp.files import open_cases, read_note
from sw_nlp.model import CaseClassifier
from sw_nlp.pii import mask_pii
from sw_nlp.sniff import FORMAT_OF_SUFFIX, sniff_format

log = logging.getLogger(__name__)

QUEUED, RUNNING, PREPARING, DONE, FAILED, NEEDS_COLUMN = (
    "queued",
    "running",
    "preparing",
    "done",
    "failed",
    "needs_column",
)
_SAFE_NAME = re.compile(r"[^\w.-]+")


@dataclass
class Job:
    """One uploaded file on its way through classification; the page polls ``status``."""

    id: str
    name: str  # the uploaded file's name, as the user knows it (shown, never used as a path)
    folder: Path
    input: Path
    text_column: str | None = None
    sheet: str | None = None  # None: a workbook's first sheet of cases; ``ALL_SHEETS``: all
    status: str = QUEUED
    done_rows: int = 0
    total_rows: int | None = None
    error: str = ""
    columns: list[str] = field(default_factory=list)  # offered when no text column was found
    created: float = field(default_factory=time.time)
    ended: float | None = None
    results: pd.DataFrame | None = None
    text_output_column: str | None = None  # the text's column in the results, if any
    note_texts: dict[str, str] = field(default_factory=dict)  # a note's masked text, by row
    text_column_read: str | None = None  # the column the run read as the text, as it says
    notes: list[str] = field(default_factory=list)  # how the file was read (no case text)

    @property
    def csv(self) -> Path:
        return self.folder / "hasil.csv"

    @property
    def xlsx(self) -> Path:
        return self.folder / "hasil.xlsx"

    def progress(self) -> dict[str, Any]:
        """What the progress endpoint answers: no case text, only counts and the status."""
        return {
            "status": self.status,
            "done": self.done_rows,
            "total": self.total_rows,
            "error": self.error,
        }


class JobStore:
    """The jobs of one server, in memory, with their private folder on disk."""

    def __init__(
        self, model_path: Path, ttl_seconds: int, classifier: CaseClassifier | None = None
    ) -> None:
        self.model_path = model_path
        self.classifier = classifier  # the server's model, loaded from model_path once
        self.ttl_seconds = ttl_seconds
        self.root = Path(tempfile.mkdtemp(prefix="sw-nlp-serve-"))  # mkdtemp: mode 0700
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        # One file classified at a time: a second upload waits ("queued") instead of halving
        # the first one's speed and doubling the memory; the pages stay responsive either way.
        self._turn = threading.Semaphore(1)

    def create(
        self,
        name: str,
        data: Path,
        text_column: str | None = None,
        sheet: str | None = None,
    ) -> Job:
        """A job for an upload already written to ``data`` (moved into the job's folder)."""
        self.sweep()
        job_id = secrets.token_urlsafe(12)
        folder = Path(tempfile.mkdtemp(prefix="job-", dir=self.root))
        safe = _SAFE_NAME.sub("_", Path(name).name)[-80:] or "upload"
        target = folder / f"input-{safe}"
        shutil.move(str(data), target)
        job = Job(id=job_id, name=Path(name).name or "upload", folder=folder, input=target)
        job.text_column = text_column or None
        job.sheet = sheet
        with self._lock:
            self._jobs[job_id] = job
        self.start(job)
        return job

    def new_upload_path(self) -> Path:
        """A file in the private folder for an upload being received."""
        fd, name = tempfile.mkstemp(prefix="upload-", dir=self.root)
        import os

        os.close(fd)
        return Path(name)

    def start(self, job: Job) -> None:
        job.status, job.error, job.done_rows = QUEUED, "", 0
        threading.Thread(target=self._run, args=(job,), name=f"job-{job.id}", daemon=True).start()

    def get(self, job_id: str) -> Job | None:
        self.sweep()
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self, n: int = 10) -> list[Job]:
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)
        return jobs[:n]

    def sweep(self) -> None:
        """Delete the folders (and the results) of jobs that ended more than the TTL ago; a
        job waiting for a text column expires the same way."""
        now = time.time()
        with self._lock:
            old = [
                j
                for j in self._jobs.values()
                if j.status in (DONE, FAILED, NEEDS_COLUMN)
                and (j.ended or j.created) + self.ttl_seconds < now
            ]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            shutil.rmtree(job.folder, ignore_errors=True)
            log.info("job %s expired; its files were deleted", job.id)

    def close(self) -> None:
        """Delete every job's files: the server is stopping."""
        with self._lock:
            self._jobs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, job: Job) -> None:
        with self._turn:
            job.status = RUNNING
            self._run_now(job)

    def _run_now(self, job: Job) -> None:
        started = time.perf_counter()
        try:
            self._classify(job)
        except SwNlpError as exc:
            message = str(exc)
            columns = exc.columns if isinstance(exc, InputError) else None
            if columns:
                job.status, job.columns = NEEDS_COLUMN, columns
                log.info("job %s: no text column found; asking the user", job.id)
            else:
                job.status, job.error = FAILED, message.replace(str(job.input), job.name)
                log.info("job %s failed (%s)", job.id, type(exc).__name__)
        except Exception:  # a bug: the page says so, the log has the traceback
            job.status, job.error = FAILED, "internal error; see the server log"
            log.exception("job %s: internal error", job.id)
        else:
            job.status = DONE
            log.info(
                "job %s: %d rows in %.1f s", job.id, job.done_rows, time.perf_counter() - started
            )
        finally:
            job.ended = time.time()
            if job.status != NEEDS_COLUMN:
                job.input.unlink(missing_ok=True)  # the upload goes as soon as it is used

    def _classify(self, job: Job) -> None:
        fmt = _format_by_content(job.input)
        source = open_cases(job.input, job.text_column, columns="all", format=fmt, sheet=job.sheet)
        source.close()  # only the columns and the total were wanted
        job.total_rows = source.total

        def progress(rows: int, total: int | None, seconds: float) -> None:
            job.done_rows = rows
            job.total_rows = total

        common: dict[str, Any] = {
            "model": self.model_path,
            "text_column": job.text_column,
            "columns": "all",
            "format": fmt,
            "sheet": job.sheet,
            "classifier": self.classifier,
        }
        read = classify_file(job.input, job.csv, progress=progress, **common)
        job.status = PREPARING
        written = classify_file(job.input, job.xlsx, **common)
        job.text_column_read = read.text_column
        job.notes = list(dict.fromkeys([*read.notes, *written.notes]))  # the XLSX's cut cells
        results = pd.read_csv(job.csv, dtype=str, keep_default_na=False, encoding="utf-8")
        job.results = results
        job.text_output_column = _text_output_column(source.text_column, list(results.columns))
        if job.text_output_column is None and len(results) == 1:
            # One note (txt, md, docx, pdf): its text is in no column of the results; kept,
            # masked, for the case page, before the upload is deleted.
            text, _ = read_note(job.input, fmt)
            job.note_texts[str(results["row"].iloc[0])] = mask_pii(text)


def _format_by_content(path: Path) -> str | None:
    """The format to read an upload as when its bytes are a spreadsheet or document other
    than its name says (an XLSX saved as ``.csv`` is common): the command line's advice,
    ``--format xlsx``, has no place on the page, so the bytes decide. ``None``: the name
    decides (and a mismatch the bytes cannot settle stays a one-line error)."""
    content = sniff_format(path)
    if content in ("xlsx", "docx", "pdf", "parquet"):
        if FORMAT_OF_SUFFIX.get(path.suffix.lower()) != content:
            log.info("upload read as %s, its content, whatever its name", content)
            return content
    return None


def _text_output_column(text_column: str | None, columns: list[str]) -> str | None:
    """Where the case text is in the results: its own name, ``input_<name>`` when a result
    column has that name, or ``text`` for a note file."""
    for name in (f"input_{text_column}", text_column, "text"):
        if name and name in columns and name not in _RESULT_NAMES:
            return name
    return None


_RESULT_NAMES = {
    "row",
    "level",
    "confidence",
    "runner_up",
    "needs_review",
    "review_reason",
    "top_terms",
    "error",
}
