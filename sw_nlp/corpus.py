"""Loading labelled files: the corpus, an analyst's new cases, any labelled file to score on.

Reading and completing files happens here; the checks themselves are ``sw_nlp.validate``'s
(on DataFrames) and the label contract is ``sw_nlp.labels``'s.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sw_nlp.columns import (
    find_header_row,
    find_text_column,
    header_key,
    header_names,
    shown_names,
    tell_apart,
)
from sw_nlp.errors import InputError, listed, with_count
from sw_nlp.labels import COLUMNS, LABEL_COLUMNS, canonical_label
from sw_nlp.safe_read import (  # file_sha256: the name callers of this module use
    MAX_XLSX_PARTS_UNPACKED,
    MAX_XLSX_SHEETS_UNPACKED,
    check_unpacked_size,
    file_sha256,  # noqa: F401
)
from sw_nlp.sniff import HEADER_SEARCH_ROWS
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


# What offices call a labelled file's level and method columns, beside the corpus's names.
LEVEL_NAMES = (*LABEL_COLUMNS, "tingkat_intervensi", "level_intervensi")
METHOD_NAMES = ("method", "metode", "metode_intervensi", "metode_pekerjaan_sosial")


def read_office_table(path: Path) -> pd.DataFrame:
    """A labelled table as an analyst keeps it, as strings: a CSV (UTF-8) or an XLSX's first
    sheet, its header found below title rows, repeated names told apart, blank rows at the
    end (Excel keeps formatted ones) left out. ``attrs["first_row"]``: the file's row number
    of the first row, so that errors name the rows the analyst sees."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path)
    try:
        if path.suffix.lower() == ".xlsx":
            if problem := check_unpacked_size(
                path, MAX_XLSX_PARTS_UNPACKED, MAX_XLSX_SHEETS_UNPACKED
            ):
                raise InputError(problem, path)
            raw = pd.read_excel(path, header=None, dtype=str).fillna("")
        else:
            raw = pd.read_csv(
                path,
                header=None,
                dtype=str,
                keep_default_na=False,
                encoding="utf-8",
                encoding_errors="strict",
            )
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable CSV ({str(exc).strip()})", path) from None
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"not a readable XLSX ({exc})", path) from None
    if raw.empty:
        raise InputError("empty file", path)
    at = find_header_row(raw.head(HEADER_SEARCH_ROWS).to_numpy().tolist(), None)
    names, _ = tell_apart(header_names(raw.iloc[at].tolist()))
    frame = raw.iloc[at + 1 :].reset_index(drop=True)
    frame.columns = names
    filled = (frame != "").any(axis=1).to_numpy()
    frame = frame.iloc[: int(filled.nonzero()[0].max()) + 1 if filled.any() else 0]
    frame.attrs["first_row"] = at + 2
    return frame


def corpus_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The frame with its columns named as the corpus names them, found as ``classify``
    finds a text column (``Uraian Kasus``, ``Kronologi Kejadian``) and by the names offices
    give the level and method (``Tingkat``, ``Metode``); a note says which were renamed."""
    names = [str(c) for c in frame.columns]
    keys: dict[str, str] = {}
    for name in names:
        keys.setdefault(header_key(name), name)
    chosen: dict[str, str] = {}  # the file's name -> the corpus's

    def pick(corpus_name: str, candidates: tuple[str, ...]) -> None:
        for candidate in candidates:
            name = keys.get(header_key(candidate))
            if name is not None and name not in chosen and corpus_name not in chosen.values():
                chosen[name] = corpus_name

    for column in COLUMNS:
        pick(column, (column,))
    pick("level", LEVEL_NAMES)
    pick("method", METHOD_NAMES)
    if "text" not in chosen.values():
        text = find_text_column([n for n in names if n not in chosen])
        if text is not None:
            chosen[text] = "text"
    renamed = [n for n in names if n in chosen and chosen[n] != n]
    notes = []
    if renamed:
        notes.append("columns read as: " + ", ".join(f"{n!r} -> {chosen[n]}" for n in renamed))
    return frame.rename(columns=chosen), notes


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
    frame, notes = corpus_columns(read_office_table(path))
    first_row = frame.attrs["first_row"]
    missing = [c for c in REQUIRED_NEW if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; columns are: "
            + shown_names([str(c) for c in frame.columns]),
            path,
            first_row - 1,
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
    # validate_frame numbers rows as if the header were row 1: moved to the file's own.
    problems = [
        replace(p, row=None if p.row is None else p.row + first_row - 2) for p in problems
    ]
    errors = [p for p in problems if p.is_error]
    if errors:
        # Every problem, not the first: an analyst fixing 30 rows should not need 30 runs.
        error = InputError(f"{len(errors)} problem(s) in the new cases; nothing was added", path)
        error.details = listed([str(InputError(p.message, path, p.row, p.column)) for p in errors])
        raise error
    notes = [*notes, *(p.format(path) for p in problems if not p.is_error)]
    frame["level"] = frame["level"].map(canonical_label)
    frame.attrs["first_row"] = first_row
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
        zip(new["case_id"], new["text"], new["level"], strict=True),
        new.attrs.get("first_row", 2),
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
    """Any labelled CSV or XLSX to score a model on: a text column and a level column, found
    as ``corpus_columns`` finds them; other columns (``register``, ``split``, …) are kept.

    Raises InputError naming the first row whose label is not a level.
    """
    frame, _ = corpus_columns(read_office_table(path))
    first_row = frame.attrs["first_row"]
    if "text" not in frame.columns or "level" not in frame.columns:
        raise InputError(
            "a labelled file needs a text column and a level column; "
            f"columns are: {shown_names([str(c) for c in frame.columns])}",
            path,
            first_row - 1,
        )
    levels = frame["level"].map(canonical_label)
    bad = levels.isna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        message = with_count(f"unknown label {frame['level'].iloc[first]!r}", int(bad.sum()))
        raise InputError(message, path, first + first_row, "level")
    if frame.empty:
        raise InputError("no labelled rows", path)
    return frame.assign(level=levels)
