"""Confidence that means what it says: temperature scaling of the fitted model.

One number, the temperature T, divides the logistic regression's scores before the softmax.
It changes how sure the model says it is, never which level it picks. Because dividing the
scores by T is the same as dividing the coefficients and intercepts by T, the calibrated model
is still a plain ``LogisticRegression``: the fast path, explanations and the bundle format need
nothing new, and the fast path reproduces the calibrated probabilities exactly.

Where T is fitted matters more than how. Fitted on predictions the model gets almost always
right (the corpus's clean texts), T comes out small and the model turns overconfident on real
text. So T is fitted on out-of-fold predictions for the training texts most like real use:
the short fragments and the ``hard`` cases whose cues point to another level (see
``CalibrationConfig.fit_on``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

T_BOUNDS = (0.05, 20.0)


def negative_log_likelihood(log_proba: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean NLL of the true labels after dividing the (log-)scores by ``temperature``.

    Log-probabilities differ from the scores by a per-row constant, which the softmax ignores.
    """
    z = log_proba / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


def fit_temperature(proba: np.ndarray, y_true: Sequence[str], classes: Sequence[str]) -> float:
    """The T that minimises the NLL of held-out probabilities (bounded search on log T)."""
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[v] for v in y_true])
    log_proba = np.log(np.clip(proba, 1e-12, 1.0))
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(log_proba, y, float(np.exp(log_t))),
        bounds=tuple(np.log(T_BOUNDS)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))


def apply_temperature(pipeline: Pipeline, temperature: float) -> Pipeline:
    """Divide the final classifier's coefficients and intercepts by T, in place."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    clf = pipeline.steps[-1][1]
    clf.coef_ = clf.coef_ / temperature
    clf.intercept_ = clf.intercept_ / temperature
    return pipeline


def calibration_rows(
    texts: Sequence[str], hard: Sequence[bool] | None, fit_on: str, short_words: int
) -> np.ndarray:
    """Which training rows the temperature is fitted on (a boolean mask)."""
    short = np.array([len(t.split()) <= short_words for t in texts])
    hard_mask = np.asarray(hard, dtype=bool) if hard is not None else np.zeros(len(texts), bool)
    masks = {
        "all": np.ones(len(texts), bool),
        "short": short,
        "hard": hard_mask,
        "hard_or_short": short | hard_mask,
    }
    if fit_on not in masks:
        raise ValueError(f"unknown calibration rows {fit_on!r}; use one of {', '.join(masks)}")
    return masks[fit_on]


def summary(temperature: float, rows: int, fit_on: str, nll_before: float, nll_after: float) -> dict[str, Any]:
    return {
        "method": "temperature",
        "temperature": round(temperature, 6),
        "fitted_on": f"out-of-fold predictions on {rows} training rows ({fit_on})",
        "nll_before": round(nll_before, 6),
        "nll_after": round(nll_after, 6),
    }
