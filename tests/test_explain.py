"""Explanations' shared parts: centring, char crediting and the one term ranking."""

from __future__ import annotations

import numpy as np
import pytest

from sw_nlp.explain import centred_coefficients, credit_chars, rank_terms


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
    """" an" is in "anak" (twice in the text) and "antar" (once): it is split 2:1."""
    credit = credit_chars(
        "anak anak antar", {" an": 0.3, "tar": 0.1}, lambda t: t.upper(), (3, 3)
    )
    assert credit["ANAK"] == pytest.approx(0.2)
    assert credit["ANTAR"] == pytest.approx(0.1 + 0.1)
    assert credit_chars("anak", {}, str, (3, 3)) == {}
