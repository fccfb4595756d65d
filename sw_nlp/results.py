"""The per-chunk step of batch classification: texts in, the result columns out.

``classify_columns`` is pure (a classifier and texts give a ``ResultTable``, plain columns);
``result_table`` puts the input's row numbers and columns in front; ``chunk_done`` is what a
worker hands back to the writer. The same step runs in this process, in worker processes and
on Dask workers, and none of it needs pandas: ``classify_texts`` gives the same columns as a
frame for the callers that want one (``predict``, the web API).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
from operator import not_, or_
from typing import TYPE_CHECKING

import numpy as np

from sw_nlp.config import ReviewConfig
from sw_nlp.explain import explanation_texts
from sw_nlp.files import Chunk, CsvText, ResultTable, mask_passed_through
from sw_nlp.model import CaseClassifier, review_flags
from sw_nlp.table import table_csv_text

if TYPE_CHECKING:
    import pandas as pd

MAX_TEXT_CHARS = 100_000  # longer texts are classified on their first 100k characters


def classify_texts(
    clf: CaseClassifier,
    texts: Sequence[str],
    *,
    review: ReviewConfig | None = None,
    explain: int = 3,
    errors: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``classify_columns`` as a pandas frame (text as object columns, probabilities as
    floats, ``needs_review`` as booleans)."""
    return classify_columns(clf, texts, review=review, explain=explain, errors=errors).to_frame()


def classify_columns(
    clf: CaseClassifier,
    texts: Sequence[str],
    *,
    review: ReviewConfig | None = None,
    explain: int = 3,
    errors: Sequence[str] | None = None,
) -> ResultTable:
    """Level, confidence, per-label probabilities, runner-up, review flag, terms and error.

    A row that already has a read error, or whose text is empty, is not classified: it gets
    its error and ``needs_review`` set, so that it is never silently lost.
    """
    review = review or clf.review
    n = len(texts)
    texts = _usable_texts(texts)
    errors = list(errors) if errors is not None else [""] * n
    # Empty or only whitespace (what ``strip`` removes), found by C-level calls per text.
    blank = list(map(or_, map(not_, texts), map(str.isspace, texts)))
    if any(blank) or not set(errors) <= {""}:
        errors = [e or ("empty text" if b else "") for e, b in zip(errors, blank, strict=True)]
    ok = np.fromiter(map(not_, errors), bool, n)
    labels = clf.classes_
    proba = np.full((n, len(labels)), np.nan)
    level = np.full(n, "", dtype=object)
    runner_up = np.full(n, "", dtype=object)
    confidence = np.full(n, np.nan)
    reasons = np.where(ok, "", "error").astype(object)
    terms = np.full(n, "", dtype=object)
    rows = np.flatnonzero(ok)
    if len(rows):
        good = texts if len(rows) == n else list(compress(texts, ok.tolist()))
        analysis = clf.analyse(good, explain)
        p = analysis.proba
        proba[rows] = p
        order = np.argsort(-p, axis=1, kind="stable")
        names = np.array(labels, dtype=object)
        level[rows] = names[order[:, 0]]
        if len(labels) > 1:
            runner_up[rows] = names[order[:, 1]]
        confidence[rows] = p[np.arange(len(rows)), order[:, 0]]
        flags = review_flags(good, confidence[rows], analysis.vocabulary_share, review)
        low, short, unknown = (np.asarray(f, bool).astype(np.int64) for f in flags)
        reasons[rows] = np.array(list(_REASONS.values()), dtype=object)[
            4 * low + 2 * short + unknown
        ]
        if explain > 0:
            terms[rows] = explanation_texts(analysis.explanations)
    return ResultTable(
        {
            "level": level.tolist(),
            "confidence": np.round(confidence, 4),
            **{f"proba_{label}": np.round(proba[:, k], 4) for k, label in enumerate(labels)},
            "runner_up": runner_up.tolist(),
            "needs_review": reasons != "",
            "review_reason": reasons.tolist(),
            "top_terms": terms.tolist(),
            "error": errors,
        }
    )


def _usable_texts(texts: Sequence[str]) -> list[str]:
    """The texts as classified: a text cut to ``MAX_TEXT_CHARS``, anything not text empty;
    the list as it is (copied) when nothing needs either, checked by C-level calls."""
    if set(map(type, texts)) <= {str} and max(map(len, texts), default=0) <= MAX_TEXT_CHARS:
        return list(texts)
    return [t[:MAX_TEXT_CHARS] if isinstance(t, str) else "" for t in texts]


# Every combination of (low confidence, too short, mostly unknown words) as review text, in
# the order of 4 * low + 2 * short + unknown.
_REASONS = {
    key: "; ".join(
        why
        for why, on in zip(
            ("low confidence", "too short", "mostly unknown words"), key, strict=True
        )
        if on
    )
    for key in itertools.product((False, True), repeat=3)
}


@dataclass(frozen=True)
class ChunkDone:
    """A classified chunk as the writer takes it (a result table, or CSV text made by the
    worker that classified it) and what it adds to the summary."""

    output: ResultTable | CsvText
    rows: int
    per_level: dict[str, int]
    needs_review: int
    errors: int


def chunk_done(table: ResultTable, as_csv: bool, escape_formulas: bool = True) -> ChunkDone:
    levels = Counter(table["level"])
    output: ResultTable | CsvText = table
    if as_csv:  # as bytes: the writing process copies them as they are (see ``CsvText``)
        output = table_csv_text(table, escape_formulas=escape_formulas).encoded()
    return ChunkDone(
        output=output,
        rows=len(table),
        per_level={lv: c for lv, c in levels.items() if lv},
        needs_review=int(np.count_nonzero(table["needs_review"])),
        errors=len(table) - list(table["error"]).count(""),
    )


def result_table(chunk: Chunk, result: ResultTable) -> ResultTable:
    """The row number, the input's own columns as they were read, then the results.

    An input column named like a result column (an earlier run's ``level``) is kept as
    ``input_<name>``: both stay readable, and the result columns keep their names.
    Columns still to be masked are masked here at the latest: nothing is written unmasked.
    """
    mask_passed_through(chunk)
    taken = {"row", *result.columns}
    return ResultTable(
        {
            "row": np.asarray(chunk.rows, dtype=np.int64),
            **{(f"input_{k}" if k in taken else k): list(v) for k, v in chunk.ids.items()},
            **result.columns,
        }
    )
