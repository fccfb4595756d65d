"""Reviewers' corrections, kept as the labelled CSV that ``sw-nlp retrain --add`` reads.

The file has the corpus columns first (``case_id`` left empty so that retrain numbers the
case; ``text``, ``level``, ``method``; the other columns at retrain's defaults), then who
corrected what and against which model. ``corpus.read_new_cases`` keeps only the corpus
columns, so the extra ones ride along without changing what retrain adds.

A case corrected twice keeps only its latest correction: two rows with one text would be
the same case twice, and retrain would skip the second.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from sw_nlp.corpus import DEFAULTS_NEW, read_new_cases, text_key
from sw_nlp.errors import InputError
from sw_nlp.labels import COLUMNS, METHODS_BY_LEVEL

log = logging.getLogger(__name__)

EXTRA_COLUMNS = (
    "reviewer",
    "reviewed_at",
    "model_version",
    "model_sha256",
    "predicted_level",
    "predicted_confidence",
    "note",
    "source_file",
    "source_row",
)
CORRECTION_COLUMNS = (*COLUMNS, *EXTRA_COLUMNS)
MAX_NOTE_CHARS = 500
MAX_REVIEWER_CHARS = 80

_LOCK = threading.Lock()  # one writer at a time within the server


@dataclass(frozen=True)
class Correction:
    """One reviewer's decision on one case, with what the model had said."""

    text: str  # as shown to the reviewer: identifiers already masked
    level: str
    method: str
    reviewer: str
    note: str
    model_version: str
    model_sha256: str
    predicted_level: str
    predicted_confidence: str
    source_file: str
    source_row: str

    def row(self, when: datetime | None = None) -> dict[str, str]:
        when = when or datetime.now(UTC)
        return {
            "case_id": "",
            "text": self.text,
            "level": self.level,
            "method": self.method,
            **DEFAULTS_NEW,
            "reviewer": self.reviewer,
            "reviewed_at": when.isoformat(timespec="seconds"),
            "model_version": self.model_version,
            "model_sha256": self.model_sha256,
            "predicted_level": self.predicted_level,
            "predicted_confidence": self.predicted_confidence,
            "note": self.note,
            "source_file": self.source_file,
            "source_row": self.source_row,
        }


def methods_for(level: str) -> list[str]:
    """The contract's methods for a level, sorted: what the correction form offers."""
    return sorted(METHODS_BY_LEVEL.get(level, ()))


def read_corrections(path: Path) -> pd.DataFrame:
    """The corrections saved so far (an empty table when there are none)."""
    if not path.is_file():
        return pd.DataFrame(columns=list(CORRECTION_COLUMNS))
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def count_corrections(path: Path) -> int:
    return len(read_corrections(path))


def save_correction(path: Path, correction: Correction) -> int:
    """Add (or replace) the correction of a case; returns how many corrections wait.

    The new row is first read back through ``read_new_cases``, retrain's own reader and
    validator, so a correction retrain would refuse (a label word inside the text, a method
    of another level) is refused here with retrain's message, and the file always feeds
    ``retrain --add`` unchanged. The file is replaced atomically.
    """
    row = correction.row()
    with tempfile.TemporaryDirectory(prefix="sw-nlp-check-") as folder:
        probe = Path(folder) / "one.csv"
        probe.write_text(_csv_text(pd.DataFrame([row], columns=list(CORRECTION_COLUMNS))))
        try:
            read_new_cases(probe)
        except InputError as exc:
            details = "; ".join(line.split(": ", 1)[-1] for line in exc.details)
            raise InputError(details or str(exc).split(": ", 1)[-1]) from None
    with _LOCK:
        frame = read_corrections(path)
        key = text_key(correction.text)
        frame = frame[[text_key(t) != key for t in frame["text"]]]
        frame = pd.concat(
            [frame, pd.DataFrame([row], columns=list(CORRECTION_COLUMNS))], ignore_index=True
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(_csv_text(frame))
        os.replace(tmp, path)
    log.info("correction saved (%d waiting)", len(frame))
    return len(frame)


def find_correction(path: Path, text: str) -> dict[str, str] | None:
    """The saved correction of this text, if any: the case page says it was corrected."""
    frame = read_corrections(path)
    key = text_key(text)
    found = [r for r in frame.to_dict("records") if text_key(r["text"]) == key]
    return found[-1] if found else None


def _csv_text(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buffer.getvalue()
