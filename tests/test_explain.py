"""Explanations' shared parts: centring, char crediting, the one term ranking, and the
chunk-at-a-time terms and texts (equal to the per-row definitions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.corpus import load_corpus
from sw_nlp.explain import (
    centred_coefficients,
    credit_chars,
    explanation_texts,
    rank_terms,
    rounded,
    share_texts,
    terms_of_rows,
)

REPO = Path(__file__).resolve().parent.parent


def test_rank_terms_breaks_ties_by_the_term_and_hides_placeholders():
    scores = [("zeta", 0.5), ("alfa", -0.5), ("beta", 0.2), ("_telepon_", 0.9), ("nol", 0.0)]
    assert rank_terms(scores, 2) == [("alfa", -0.5), ("zeta", 0.5)]
    assert rank_terms(scores, 10) == [("alfa", -0.5), ("zeta", 0.5), ("beta", 0.2)]
    assert rank_terms([("a", 0.1234567)], 1) == [("a", 0.123457)]


def test_centred_coefficients_sum_to_zero_over_classes():
    coef = np.array([[1.0, 2.0], [3.0, -2.0], [2.0, 0.0]])
    centred = centred_coefficients(coef)
    np.testing.assert_allclose(centred.sum(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(centred[0], [-1.0, 2.0])


def test_a_binary_model_gets_two_opposite_rows():
    centred = centred_coefficients(np.array([[0.4, -1.0]]))
    np.testing.assert_allclose(centred, [[-0.2, 0.5], [0.2, -0.5]])


def test_credit_chars_splits_a_gram_over_the_words_that_hold_it():
    """ " an" is in "anak" (twice in the text) and "antar" (once): it is split 2:1."""
    credit = credit_chars("anak anak antar", {" an": 0.3, "tar": 0.1}, lambda t: t.upper(), (3, 3))
    assert credit["ANAK"] == pytest.approx(0.2)
    assert credit["ANTAR"] == pytest.approx(0.1 + 0.1)
    assert credit_chars("anak", {}, str, (3, 3)) == {}


# -- the chunk-at-a-time parts: equal to the plain per-row definitions ------------------------


def _terms_row_by_row(ptr, terms, shares, names, k) -> list[list[tuple[str, float]]]:
    """The plain definition: every row ranked on its own."""
    bounds = ptr.tolist()
    return [
        rank_terms(
            (
                (names[t], v)
                for t, v in zip(terms[a:b].tolist(), shares[a:b].tolist(), strict=True)
            ),
            k,
        )
        for a, b in zip(bounds[:-1], bounds[1:], strict=False)
    ]


def _texts_row_by_row(explanations) -> list[str]:
    """``top_terms`` as it was first written: a generator and a join per row."""
    return ["; ".join(f"{term} {weight:+.3f}" for term, weight in found) for found in explanations]


# Shares as the compiled pass hands them over, and the floats that test formatting and
# rounding: exact ties for "+.3f" (0.0625), halves at the 6th decimal, tiny ones rounding to a
# signed zero, large ones, subnormals.
_SHARE = st.one_of(
    st.floats(-50, 50, allow_nan=False, allow_subnormal=True).filter(lambda v: v != 0),
    st.sampled_from(
        [0.0625, -0.0625, 0.0005, -0.0005, 0.0004999999, 1.0000005, -2.5e-7, 4.9e-7, 5e-7,
         1e-17, -1e-17, 5e-324, 1e300, -1e300, 0.1234565, 0.9995, -0.0015, 2.675]
    ),
)  # fmt: skip


def _near_halves(scale: float) -> st.SearchStrategy[float]:
    """The floats nearest to (m + ½)/scale and their neighbours, either sign: where rounding
    to 1/scale is decided by the float's last bits (rint of a product would round them
    wrong)."""
    return st.builds(
        lambda m, step, sign: (
            sign * float(np.nextafter((m + 0.5) / scale, np.inf * step))
            if step
            else sign * (m + 0.5) / scale
        ),
        st.integers(0, 20_000),
        st.sampled_from([-1, 0, 1]),
        st.sampled_from([-1.0, 1.0]),
    )


_HOSTILE_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.floats(-20, 20),
    _near_halves(1e6),
    _near_halves(1e3),
    st.sampled_from(
        [0.0, -0.0, 1.0, 1e-17, -1e-17, 5e-324, 9.9995, 9.9994999, 10.0, 1e9, 0.0078125]
    ),
)


@settings(max_examples=500, deadline=None)
@given(values=st.lists(_HOSTILE_FLOAT, max_size=20))
def test_rounded_is_round_of_each(values):
    """The same floats as ``round(v, 6)``, signed zeros and NaN included (compared by repr)."""
    got = rounded(np.array(values, np.float64))
    assert list(map(repr, got)) == [repr(round(v, 6)) for v in values]


@settings(max_examples=500, deadline=None)
@given(values=st.lists(_HOSTILE_FLOAT, max_size=20))
def test_share_texts_are_the_format_of_each(values):
    """The same text as f" {v:+.3f}": halves at the third decimal, -0.000, NaN, inf, huge."""
    assert share_texts(np.array(values, np.float64)) == [f" {v:+.3f}" for v in values]


@st.composite
def candidates(draw: st.DrawFn):
    """One chunk's candidates as ``kernels.score_rows`` hands them over: each row nonzero
    shares largest |share| first, ``tied`` set where two |shares| are equal (equal values
    drawn on purpose); more than k in a row for a tie at the k-th place, and also without
    one (never handed over, but still ranked right)."""
    k = draw(st.integers(1, 4))
    names = [f"w{i}" for i in range(draw(st.integers(1, 8)))]
    ptr, terms, shares, tied = [0], [], [], []
    for _ in range(draw(st.integers(0, 12))):
        pool = draw(st.lists(_SHARE, max_size=3))
        picked = draw(st.lists(st.sampled_from(pool) if pool else _SHARE, max_size=k + 2))
        row = sorted(picked, key=lambda v: -abs(v))
        if len(row) > k and abs(row[k - 1]) != abs(row[k]) and draw(st.booleans()):
            row = row[:k]  # the pass gives more than k only for a tie at the k-th place
        terms += [draw(st.integers(0, len(names) - 1)) for _ in row]
        shares += row
        tied.append(len({abs(v) for v in row}) < len(row))
        ptr.append(len(shares))
    return (
        np.array(ptr, np.int64), np.array(terms, np.int64), np.array(shares, np.float64),
        np.array(tied, bool), names, k,
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(found=candidates())
def test_terms_of_rows_is_ranking_each_row(found):
    """The chunk at a time gives each row's own ranking: ties at the k-th place and equal
    |shares| broken by the term, the rest as handed over, shares rounded."""
    ptr, terms, shares, tied, names, k = found
    assert terms_of_rows(ptr, terms, shares, tied, names, k) == _terms_row_by_row(
        ptr, terms, shares, names, k
    )


@settings(max_examples=300, deadline=None)
@given(
    explanations=st.lists(
        st.lists(st.tuples(st.text(max_size=6), _SHARE.map(lambda v: round(v, 6))), max_size=5),
        max_size=8,
    )
)
def test_explanation_texts_are_the_per_row_texts(explanations):
    """Every float (signed zeros, ties at the third decimal, huge and tiny ones) and every
    term (empty, ";", spaces) written as the per-row f-string writes it; empty rows empty."""
    assert explanation_texts(explanations) == _texts_row_by_row(explanations)


def test_explanations_of_the_corpus_written_as_before():
    """The shipped model's explanations of the real corpus, k=3 and k=50 (rows with fewer
    terms than asked for), and of texts with one term or none, written as the per-row
    definition writes them."""
    texts = load_corpus(REPO / "data" / "corpus" / "cases.csv")["text"].tolist()
    texts += ["anak", "qqq zzz", "_telepon_"]
    clf = load_model(default_bundle_dir(), fast=True)
    for k in (3, 50):
        found = clf.analyse(texts, k).explanations
        assert len(found) == len(texts) and found[-1] == [] and len(found[-3]) == 1
        assert explanation_texts(found) == _texts_row_by_row(found)
