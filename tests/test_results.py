"""The per-chunk step: which rows are classified, their review reasons and explanation text,
equal to the plain per-row definitions on hostile rows (blank in every Unicode way, not text,
too long, read errors)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.model import review_flags
from sw_nlp.results import MAX_TEXT_CHARS, chunk_done, classify_columns

# Every character ``str.strip`` removes, and some it keeps (zero-width space, BOM, NUL).
_SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u3000"
_ROW = st.one_of(
    st.text(alphabet=_SPACES + "\u200b\ufeff\x00", max_size=4),
    st.sampled_from(
        ["anak sekolah putus", "desa musyawarah warga kecamatan", "kebijakan nasional", "ok"]
    ).map(lambda t: t + " " * 2),
    st.just(" " * MAX_TEXT_CHARS + "anak sekolah"),  # blank in its first 100k characters
    st.none(),
    st.integers(),
)
_REVIEW = ("low confidence", "too short", "mostly unknown words")


@pytest.fixture(scope="module")
def shipped():
    return load_model(default_bundle_dir(), fast=True)


def _plain(clf, texts, errors, explain):
    """The step as first written: a Python test per row, reasons joined per row."""
    texts = [t[:MAX_TEXT_CHARS] if isinstance(t, str) else "" for t in texts]
    errors = [e or ("" if t.strip() else "empty text") for t, e in zip(texts, errors, strict=True)]
    good = [t for t, e in zip(texts, errors, strict=True) if not e]
    reasons = ["error" if e else "" for e in errors]
    terms = [""] * len(texts)
    if good:
        analysis = clf.analyse(good, explain)
        flags = review_flags(
            good, analysis.proba.max(axis=1), analysis.vocabulary_share, clf.review
        )
        rows = [i for i, e in enumerate(errors) if not e]
        for r, i in enumerate(rows):
            reasons[i] = "; ".join(w for w, f in zip(_REVIEW, flags, strict=True) if f[r])
            if explain:
                terms[i] = "; ".join(f"{t} {v:+.3f}" for t, v in analysis.explanations[r])
    return errors, reasons, terms


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(_ROW, st.sampled_from(["", "", "row 3: bad quote, 'x'"])), max_size=8),
    explain=st.sampled_from([0, 3]),
)
def test_the_chunk_step_is_the_per_row_definition(shipped, rows, explain):
    texts = [t for t, _ in rows]
    errors = [e for _, e in rows]
    table = classify_columns(shipped, texts, errors=errors, explain=explain)
    want_errors, want_reasons, want_terms = _plain(shipped, texts, errors, explain)
    assert table["error"] == want_errors
    assert table["review_reason"] == want_reasons
    assert table["needs_review"].tolist() == [r != "" for r in want_reasons]
    assert table["top_terms"] == want_terms
    assert [lv == "" for lv in table["level"]] == [e != "" for e in want_errors]
    done = chunk_done(table, as_csv=False)
    assert done.errors == sum(e != "" for e in want_errors) and done.rows == len(texts)


def test_every_review_reason_has_its_text(shipped, monkeypatch):
    """The eight combinations of the three flags, looked up by number, give the joined text."""
    import sw_nlp.results as results

    combos = list(itertools.product((False, True), repeat=3))
    flags = tuple(np.array([c[j] for c in combos]) for j in range(3))
    monkeypatch.setattr(results, "review_flags", lambda *args: flags)
    table = classify_columns(shipped, ["ok"] * 8, explain=0)
    assert table["review_reason"] == [
        "; ".join(w for w, f in zip(_REVIEW, c, strict=True) if f) for c in combos
    ]
