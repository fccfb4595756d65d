"""What the pages show, computed from a job's results: the results table (filtered,
sorted, paged, text masked and cut), the case page (masked text with the explanation's
terms marked, the neighbours in table order, a correction made before). Plain functions of
the job, apart from the routes, so that the routes stay about requests and answers."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pandas as pd
from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from sw_nlp.config import ServeConfig
from sw_nlp.labels import LEVELS
from sw_nlp.model import CaseClassifier
from sw_nlp.pii import mask_pii
from sw_nlp.web.corrections import find_correction, methods_for
from sw_nlp.web.jobs import DONE, Job, JobStore
from sw_nlp.web.messages import translate
from sw_nlp.web.served import ModelInfo

REVIEWER_COOKIE = "sw_nlp_reviewer"
EXPLAIN_TERMS = 12  # terms for and against on the case page
SHOWN_CELL_CHARS = 160  # a long text is cut in the results table (the case page has it all)


def index_context(cfg: ServeConfig, jobs: JobStore) -> dict[str, Any]:
    return {
        "jobs": jobs.recent(),
        "max_mb": f"{cfg.max_upload_bytes / (1 << 20):g}",
        "ttl_hours": f"{cfg.job_ttl_seconds / 3600:g}",
    }


def _input_columns(job: Job) -> list[str]:
    """The input's own columns in the results: between ``row`` and ``level``."""
    assert job.results is not None
    columns = list(job.results.columns)
    return columns[1 : columns.index("level")]


def _ordered(job: Job, level: str = "", flag: str = "", sort: str = "row") -> Any:
    """The results as the table shows them: needs-review rows first, then by confidence
    when asked, else in file order; filtered by level and review flag."""
    frame = job.results
    assert frame is not None
    keep = frame["row"] != ""
    if level:
        keep &= frame["level"] == level
    if flag in ("yes", "no"):
        keep &= frame["needs_review"] == ("True" if flag == "yes" else "False")
    view = frame[keep].assign(
        _review=(frame["needs_review"] == "True").astype(int),
        _conf=_numbers(frame["confidence"]),
        _row=_numbers(frame["row"]),
    )
    if sort in ("asc", "desc"):
        return view.sort_values(
            ["_review", "_conf", "_row"], ascending=[False, sort == "asc", True], kind="stable"
        )
    return view.sort_values(["_review", "_row"], ascending=[False, True], kind="stable")


def _numbers(column: Any) -> Any:
    return pd.to_numeric(column, errors="coerce")


def _reason(lang: str, reasons: str) -> str:
    return "; ".join(translate(lang, f"reason.{r}") for r in reasons.split("; ") if r)


def result_view(
    job: Job, level: str, flag: str, sort: str, page_no: int, size: int, lang: str
) -> dict[str, Any]:
    assert job.results is not None
    ordered = _ordered(job, level, flag, sort)
    pages = max(1, math.ceil(len(ordered) / size))
    page_no = min(max(page_no, 1), pages)
    shown = ordered.iloc[(page_no - 1) * size : page_no * size]
    inputs = _input_columns(job)
    rows = []
    for record in shown.to_dict("records"):
        cells = []
        for column in inputs:
            value = mask_pii(str(record[column]))
            if len(value) > SHOWN_CELL_CHARS:
                value = value[:SHOWN_CELL_CHARS].rstrip() + "…"
            cells.append(value)
        rows.append(
            {
                "row": record["row"],
                "level": record["level"],
                "confidence": record["confidence"],
                "review": record["needs_review"] == "True",
                "reason": _reason(lang, record["review_reason"]),
                "cells": cells,
            }
        )
    total_review = int((job.results["needs_review"] == "True").sum())
    query = {"level": level, "flag": flag, "sort": sort}
    return {
        "rows": rows,
        "inputs": inputs,
        "page_no": page_no,
        "pages": pages,
        "total": len(job.results),
        "total_review": total_review,
        "matched": len(ordered),
        "query": query,
        "query_string": "&".join(f"{k}={quote(v)}" for k, v in query.items() if v),
    }


_WORD = re.compile(r"\w+|\W+")


def _highlight(text: str, terms: list[tuple[str, float]]) -> list[tuple[str, str, float]]:
    """The text as (piece, "for"/"against"/"", weight): a word is marked when it is one of the
    explanation's terms, or holds one of at least four letters (terms are stems: "kunci"
    marks "dikunci"); a term of two words marks both."""
    parts: dict[str, float] = {}
    for term, weight in terms:
        for part in term.lower().split():
            if abs(weight) > abs(parts.get(part, 0.0)):
                parts[part] = weight
    pieces = []
    for match in _WORD.finditer(text):
        piece = match.group(0)
        word = piece.lower()
        weight = parts.get(word)
        if weight is None and piece[:1].isalnum():
            found = [w for p, w in parts.items() if len(p) >= 4 and p in word]
            weight = max(found, key=abs) if found else None
        kind = "" if weight is None else ("for" if weight > 0 else "against")
        pieces.append((piece, kind, weight or 0.0))
    return pieces


def case_context(
    request: Request,
    job: Job,
    row: str,
    clf: CaseClassifier,
    info: ModelInfo,
    corrections_path: Path,
    saved: int | None = None,
) -> dict[str, Any]:
    if job.status != DONE or job.results is None:
        raise StarletteHTTPException(404, "job.expired")
    found = job.results[job.results["row"] == row]
    if found.empty:
        raise StarletteHTTPException(404, "error.not_found")
    record = found.iloc[0].to_dict()
    column = job.text_output_column
    text = mask_pii(str(record[column])) if column else job.note_texts.get(row, "")
    terms: list[tuple[str, float]] = []
    if record["level"] and text.strip():
        terms = clf.explain(text, k=EXPLAIN_TERMS, label=record["level"])
    order = [str(r) for r in _ordered(job)["row"].tolist()]
    at = order.index(row)
    reviewer = request.cookies.get(REVIEWER_COOKIE, "")
    probabilities = [(label, float(record.get(f"proba_{label}") or 0.0)) for label in info.labels]
    correction = find_correction(corrections_path, text) if text else None
    chosen = correction or {"level": record.get("level", ""), "method": ""}
    return {
        "job": job,
        "record": record,
        "text": text,
        "pieces": _highlight(text, terms),
        "for_terms": [(t, w) for t, w in terms if w > 0],
        "against_terms": [(t, w) for t, w in terms if w < 0],
        "probabilities": probabilities,
        "reason": _reason(request.state.lang, record.get("review_reason", "")),
        "others": [(c, mask_pii(str(record[c]))) for c in _input_columns(job) if c != column],
        "levels": list(LEVELS),
        "methods": {level: methods_for(level) for level in LEVELS},
        "correction": correction,
        "saved": saved,
        "prev_row": order[at - 1] if at > 0 else None,
        "next_row": order[at + 1] if at + 1 < len(order) else None,
        "form": {  # a case corrected before opens with its correction chosen
            "level": chosen["level"],
            "method": chosen["method"],
            "note": "",
            "reviewer": unquote(reviewer),
        },
        "problem": None,
    }
