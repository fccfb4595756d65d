"""Loading labelled files: the corpus, an analyst's new cases, any labelled file to score on.

Reading and completing files happens here; the checks themselves are ``sw_nlp.validate``'s
(on DataFrames) and the label contract is ``sw_nlp.labels``'s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sw_nlp.errors import InputError, listed, with_count
from sw_nlp.labels import COLUMNS, LABEL_COLUMNS, canonical_label
from sw_nlp.safe_read import file_sha256  # noqa: F401  (the name callers of this module use)
from sw_nlp.validate import Problem, Summary, summarise, validate_frame


def read_corpus_frame(path: Path) -> pd.DataFrame:
    """Read a corpus CSV as strings, exactly as written (no type guessing, no NA parsing)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("corpus file not found", path)
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8", encoding_errors="strict"
        )
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable CSV ({str(exc).strip()})", path) from None


def validate_corpus(path: Path) -> tuple[list[Problem], Summary | None]:
    """Validate a corpus file; the summary is None when the file cannot be read as a table."""
    frame = read_corpus_frame(path)
    problems = validate_frame(frame)
    summary = summarise(frame) if {"text", "level"} <= set(frame.columns) else None
    return problems, summary


def load_corpus(path: Path) -> pd.DataFrame:
    """Load a corpus that has passed validation: labels canonical, ``hard`` as bool.

    Raises InputError naming the first problem when the file does not validate; call
    ``validate_corpus`` to see them all.
    """
    frame = read_corpus_frame(path)
    errors = [p for p in validate_frame(frame, check_duplicates=False) if p.is_error]
    if errors:
        first = errors[0]
        message = with_count(first.message, len(errors), "run `sw-nlp data validate`")
        raise InputError(message, path, first.row, first.column)
    frame = frame.copy()
    frame["level"] = frame["level"].map(canonical_label)
    frame["hard"] = frame["hard"].str.strip().str.lower().eq("true")
    frame["split"] = frame["split"].str.strip().str.lower()
    return frame


REQUIRED_NEW = ("text", "level", "method")
DEFAULTS_NEW = {
    "register": "unspecified",
    "topic": "unspecified",
    "region": "unspecified",
    "hard": "false",
    "split": "train",
}


def read_new_cases(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """An analyst's file of new labelled cases, completed to the corpus columns.

    ``text``, ``level`` (aliases accepted) and ``method`` are required; the other columns
    default (new cases go to ``train`` unless marked ``test``). Returns the rows and notes;
    raises InputError naming the first problem by row and column.
    """
    frame = read_corpus_frame(path)
    missing = [c for c in REQUIRED_NEW if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; columns are: {', '.join(frame.columns)}",
            path,
            1,
        )
    frame = frame.copy()
    for column, value in DEFAULTS_NEW.items():
        if column not in frame.columns:
            frame[column] = value
        frame[column] = frame[column].where(frame[column].str.strip() != "", value)
    if "case_id" not in frame.columns:
        frame["case_id"] = ""
    frame = frame[[c for c in COLUMNS]]
    problems = validate_frame(
        frame.assign(case_id=[f"new-{i}" for i in range(len(frame))]), check_duplicates=False
    )
    errors = [p for p in problems if p.is_error]
    if errors:
        # Every problem, not the first: an analyst fixing 30 rows should not need 30 runs.
        error = InputError(f"{len(errors)} problem(s) in the new cases; nothing was added", path)
        error.details = listed([str(InputError(p.message, path, p.row, p.column)) for p in errors])
        raise error
    notes = [p.format(path) for p in problems if not p.is_error]
    frame["level"] = frame["level"].map(canonical_label)
    return frame, notes


def corpus_duplicates(corpus: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """The rows of a new-cases file (numbered as in the file, header = row 1) that the corpus
    already has, each with the corpus case it repeats: an analyst labelling a case twice wants
    to know which, and whether the two labels agree."""
    by_id = dict(zip(corpus["case_id"], corpus["level"], strict=True))
    by_text = {
        text_key(t): (i, lv)
        for t, i, lv in zip(corpus["text"], corpus["case_id"], corpus["level"], strict=True)
    }
    found = []
    for number, (case_id, text, level) in enumerate(
        zip(new["case_id"], new["text"], new["level"], strict=True), 2
    ):
        if case_id and case_id in by_id:
            same, known = case_id, by_id[case_id]
            why = "same case_id as"
        elif text_key(text) in by_text:
            same, known = by_text[text_key(text)]
            why = "same text as"
        else:
            continue
        agree = "same label" if known == level else f"labelled {known} there, {level} here"
        found.append(f"row {number}: {why} corpus case {same} ({agree}); skipped")
    return found


def text_key(text: str) -> str:
    """The identity of a text for de-duplication: NFKC, lower case, whitespace folded."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def merge_cases(corpus: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Append new cases, skipping any whose id or normalised text the corpus already has."""
    ids = set(corpus["case_id"])
    texts = {text_key(t) for t in corpus["text"]}
    numbers = corpus["case_id"].str.extract(r"^SW-(\d+)$")[0].dropna().astype(int)
    next_number = int(numbers.max()) + 1 if len(numbers) else 1
    keep, same_id, same_text = [], 0, 0
    for _, row in new.iterrows():
        row = row.copy()
        key = text_key(row["text"])
        if row["case_id"] and row["case_id"] in ids:
            same_id += 1
            continue
        if key in texts:
            same_text += 1
            continue
        if not row["case_id"]:
            row["case_id"] = f"SW-{next_number:05d}"
            next_number += 1
        ids.add(row["case_id"])
        texts.add(key)
        keep.append(row)
    added = (
        pd.DataFrame(keep, columns=list(COLUMNS)) if keep else pd.DataFrame(columns=list(COLUMNS))
    )
    merged = pd.concat([corpus[list(COLUMNS)], added], ignore_index=True)
    return merged, {"added": len(keep), "duplicate_id": same_id, "duplicate_text": same_text}


def read_labelled(path: Path) -> pd.DataFrame:
    """Any labelled CSV to score a model on: a ``text`` column and a ``level`` (or ``label``)
    column, aliases accepted; other columns (``register``, ``split``, …) are kept.

    Raises InputError naming the first row whose label is not a level.
    """
    frame = read_corpus_frame(path)
    lowered = {c.strip().lower(): c for c in frame.columns}
    label_column = next((lowered[c] for c in LABEL_COLUMNS if c in lowered), None)
    if "text" not in lowered or label_column is None:
        raise InputError(
            "a labelled file needs a text column and a level column; "
            f"columns are: {', '.join(frame.columns)}",
            path,
            1,
        )
    frame = frame.rename(columns={lowered["text"]: "text", label_column: "level"})
    levels = frame["level"].map(canonical_label)
    bad = levels.isna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        message = with_count(f"unknown label {frame['level'].iloc[first]!r}", int(bad.sum()))
        raise InputError(message, path, first + 2, "level")
    if frame.empty:
        raise InputError("no labelled rows", path)
    return frame.assign(level=levels)
