"""Metrics of a classifier on labelled cases: pure functions returning JSON-ready dicts.

Everything an analyst needs to decide whether a model is good enough and where it fails:
headline figures with bootstrap intervals, calibration, what a review threshold costs,
breakdowns, baselines, a paired comparison of two models, and ``build_report``, which puts
them together as the report's numbers. Nothing here trains: numbers that need training
(cross-validation, the learning curve) come from ``sw_nlp.train`` and are passed in, and
``sw_nlp.report`` renders the result.

Long because: it is the one place each figure of the
report is computed; the functions are small and independent, and splitting them by section
would make the report's numbers harder to find, not easier.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from sw_nlp.checklist import run_checklist
from sw_nlp.config import Config, ReviewConfig
from sw_nlp.model import CaseClassifier, review_flags
from sw_nlp.pii import mask_pii
from sw_nlp.validate import summarise

BOOTSTRAP_ROUNDS = 1000
EXCERPT_CHARS = 280

GATE_RULE = (
    "A challenger is promoted only if, on the corpus's frozen test split, it is better than the "
    "current model in some of 1,000 paired bootstrap resamples and the upper end of the 95% "
    "interval for the difference in macro-F1 (challenger minus current) is above zero; a "
    "challenger never better in any resample, or whose whole interval is at or below zero, is "
    'refused. `sw-nlp models promote --force --reason "..."` overrides, and is recorded.'
)


def gate_refuses(gate: dict[str, Any]) -> bool:
    """The promotion gate's rule (``GATE_RULE``) on a ``paired_bootstrap`` result.

    It lives with the comparison it reads, so the report can say what the registry will do
    without importing the registry."""
    return gate["share_b_better"] == 0 or gate["high"] <= 0


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A masked, single-line, shortened view of a case text: the only form in which case
    text appears in a report or an audit."""
    flat = " ".join(mask_pii(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def score(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro- and weighted-F1, per-class figures and the confusion matrix."""
    labels = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": macro_f1(y_true, y_pred, labels),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
        ),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "labels": labels,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> float:
    return float(f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0))


def evaluate(clf: CaseClassifier, texts: Sequence[str], y_true: Sequence[str]) -> dict[str, Any]:
    """Score a classifier on labelled texts, with the mean confidence of its answers."""
    proba = clf.predict_proba(texts)
    y_pred = [clf.classes_[i] for i in proba.argmax(axis=1)]
    metrics = score(list(y_true), y_pred, clf.classes_)
    metrics["mean_confidence"] = float(np.mean(proba.max(axis=1))) if len(proba) else 0.0
    return metrics


def review_outcome(
    texts: Sequence[str],
    y_true: Sequence[str],
    proba: np.ndarray,
    vocabulary_share: np.ndarray,
    labels: Sequence[str],
    review: ReviewConfig,
) -> dict[str, float | None]:
    """What a case worker would see: the share of rows flagged for review (by every rule the
    batch output uses, not only confidence) and how often the unflagged rows are right."""
    pred = np.asarray(labels)[proba.argmax(axis=1)]
    low, short, unknown = review_flags(texts, proba.max(axis=1), vocabulary_share, review)
    kept = ~(low | short | unknown)
    return {
        "threshold": review.threshold,
        "to_review": float(1 - kept.mean()) if len(kept) else 0.0,
        "accuracy_of_rest": float((np.asarray(y_true)[kept] == pred[kept]).mean())
        if kept.any()
        else None,
    }


def threshold_for(
    texts: Sequence[str],
    y_true: Sequence[str],
    proba: np.ndarray,
    vocabulary_share: np.ndarray,
    labels: Sequence[str],
    review: ReviewConfig,
    target: float = 0.95,
) -> dict[str, float | None]:
    """The lowest review threshold at which the unflagged rows are at least ``target`` right.

    Lowest, because each step up sends more rows to a person: this is the threshold that
    keeps the promise to the case worker with the least review work.
    """
    for th in np.round(np.arange(0.30, 0.991, 0.01), 2):
        cfg = ReviewConfig(
            threshold=float(th),
            min_words=review.min_words,
            max_unknown_share=review.max_unknown_share,
        )
        outcome = review_outcome(texts, y_true, proba, vocabulary_share, labels, cfg)
        if outcome["accuracy_of_rest"] is not None and outcome["accuracy_of_rest"] >= target:
            return {"target": target, **outcome}
    return {"target": target, "threshold": None, "to_review": 1.0, "accuracy_of_rest": None}


def score_labelled(
    clf: CaseClassifier, frame: pd.DataFrame, target: float = 0.95
) -> dict[str, Any]:
    """Everything the report says about one labelled set of texts the model did not train on
    (e.g. the real-text yardstick): scores with intervals, calibration, what review costs,
    and a breakdown by register. Figures only: no text of the set is kept."""
    texts, truth = frame["text"].tolist(), frame["level"].tolist()
    labels = clf.classes_
    analysis = clf.analyse(texts, k=0)
    proba = analysis.proba
    pred = [labels[i] for i in proba.argmax(axis=1)]
    out = score(truth, pred, labels)
    out["ci95"] = bootstrap_ci(truth, pred, labels)
    out["mean_confidence"] = float(proba.max(axis=1).mean()) if len(proba) else 0.0
    out["calibration"] = calibration(truth, proba, labels)
    out["coverage"] = coverage_curve(truth, proba, labels)
    shares = analysis.vocabulary_share
    out["at_threshold"] = review_outcome(texts, truth, proba, shares, labels, clf.review)
    out["threshold_for_target"] = threshold_for(
        texts, truth, proba, shares, labels, clf.review, target
    )
    if "register" in frame:
        out["by_register"] = breakdown(frame.reset_index(drop=True), "register", pred, labels)
    return out


def _resampled_f1(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accuracy, macro-F1 and weighted-F1 of every resample (a row of ``idx``) at once.

    One confusion matrix per resample from a single ``bincount``: the same figures as
    scikit-learn's ``f1_score`` (labels given, zero_division=0) in milliseconds rather than
    seconds, which is what every ``evaluate`` and every promotion used to wait for.
    """
    labels = list(labels)
    k = len(labels)
    code = {label: i for i, label in enumerate(labels)}
    t = np.array([code.get(v, k) for v in y_true])
    p = np.array([code.get(v, k) for v in y_pred])
    width = k + 1  # one slot for values outside the labels: they count as errors only
    rounds = idx.shape[0]
    cells = (t[idx] * width + p[idx]) + (np.arange(rounds) * width * width)[:, None]
    cm = np.bincount(cells.ravel(), minlength=rounds * width * width).reshape(
        rounds, width, width
    )
    tp = np.diagonal(cm, axis1=1, axis2=2)[:, :k].astype(float)
    support = cm.sum(axis=2)[:, :k].astype(float)
    predicted = cm.sum(axis=1)[:, :k].astype(float)
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    total = support.sum(axis=1)
    weighted = np.divide(
        (f1 * support).sum(axis=1), total, out=np.zeros_like(total), where=total > 0
    )
    accuracy = (t[idx] == p[idx]).mean(axis=1)
    return accuracy, f1.mean(axis=1), weighted


def bootstrap_ci(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict[str, list[float]]:
    """95% percentile intervals of accuracy, macro-F1 and weighted-F1 over resampled cases."""
    n = len(y_true)
    idx = np.random.default_rng(seed).integers(0, n, (rounds, n))
    accuracy, macro, weighted = _resampled_f1(y_true, y_pred, labels, idx)
    draws = {"accuracy": accuracy, "macro_f1": macro, "weighted_f1": weighted}
    return {
        k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in draws.items()
    }


def calibration(
    y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str], bins: int = 10
) -> dict[str, Any]:
    """Reliability of the top probability: per-bin confidence vs accuracy, and the ECE."""
    confidence = proba.max(axis=1)
    correct = np.asarray(y_true) == np.asarray(labels)[proba.argmax(axis=1)]
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            rows.append(
                {
                    "low": edges[b],
                    "high": edges[b + 1],
                    "count": 0,
                    "confidence": None,
                    "accuracy": None,
                }
            )
            continue
        conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
        ece += mask.mean() * abs(conf - acc)
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "count": int(mask.sum()),
                "confidence": conf,
                "accuracy": acc,
            }
        )
    return {"ece": float(ece), "bins": rows}


def coverage_curve(
    y_true: Sequence[str],
    proba: np.ndarray,
    labels: Sequence[str],
    thresholds: Sequence[float] | None = None,
) -> list[dict[str, float]]:
    """For each review threshold: the share of cases sent to review, and accuracy on the rest."""
    thresholds = thresholds if thresholds is not None else np.round(np.arange(0.25, 0.96, 0.05), 2)
    confidence = proba.max(axis=1)
    correct = np.asarray(y_true) == np.asarray(labels)[proba.argmax(axis=1)]
    out = []
    for th in thresholds:
        kept = confidence >= th
        out.append(
            {
                "threshold": float(th),
                "to_review": float(1 - kept.mean()),
                "coverage": float(kept.mean()),
                "accuracy_of_rest": float(correct[kept].mean()) if kept.any() else float("nan"),
            }
        )
    return out


def breakdown(
    frame: pd.DataFrame, column: str, y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy and macro-F1 for each value of a column (register, hard, …)."""
    pred = pd.Series(list(y_pred), index=frame.index)
    out = {}
    for value, group in frame.groupby(column):
        present = [
            label for label in labels if label in set(group["level"])
        ]  # absent labels would score 0
        out[str(value)] = {
            "n": int(len(group)),
            "accuracy": float((group["level"] == pred[group.index]).mean()),
            "macro_f1": macro_f1(group["level"], pred[group.index], present),
        }
    return out


# --- baselines --------------------------------------------------------------------------------


def majority_baseline(train_labels: Sequence[str], n: int) -> list[str]:
    most = pd.Series(list(train_labels)).value_counts().idxmax()
    return [most] * n


def keyword_rules() -> dict[str, list[str]]:
    text = resources.files("sw_nlp.resources").joinpath("keyword_rules.toml").read_text("utf-8")
    return {label: list(words) for label, words in tomllib.loads(text)["keywords"].items()}


def keyword_baseline(texts: Sequence[str], fallback: str = "mikro") -> list[str]:
    """Rules written from the label contract: the level whose cue words appear most often.

    Ties go to the wider level (a text naming a province and a family is more often about
    the province); no cue at all gives ``fallback``, the most common level in case files.
    """
    rules = keyword_rules()
    patterns = {
        label: re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")", re.IGNORECASE)
        for label, words in rules.items()
    }
    order = list(rules)
    out = []
    for text in texts:
        counts = {label: len(p.findall(text)) for label, p in patterns.items()}
        best = max(counts.values())
        if best == 0:
            out.append(fallback)
        else:
            out.append([label for label in order if counts[label] == best][-1])
    return out


# --- comparison -------------------------------------------------------------------------------


def paired_bootstrap(
    y_true: Sequence[str],
    pred_a: Sequence[str],
    pred_b: Sequence[str],
    labels: Sequence[str],
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict[str, float]:
    """Macro-F1 of B minus A on the same resampled cases: the difference and its 95% interval."""
    n = len(y_true)
    idx = np.random.default_rng(seed).integers(0, n, (rounds, n))
    diffs = (
        _resampled_f1(y_true, pred_b, labels, idx)[1]
        - _resampled_f1(y_true, pred_a, labels, idx)[1]
    )
    return {
        "difference": macro_f1(y_true, pred_b, labels) - macro_f1(y_true, pred_a, labels),
        "low": float(np.percentile(diffs, 2.5)),
        "high": float(np.percentile(diffs, 97.5)),
        "share_b_better": float(np.mean(diffs > 0)),
    }


def top_terms_per_level(clf: CaseClassifier, k: int = 15) -> dict[str, list[tuple[str, float]]]:
    """The word features with the largest weight for each level (against the average level)."""
    names = clf.pipeline.named_steps["features"].get_feature_names_out()
    coef = clf.pipeline.named_steps["classify"].coef_
    fitted = list(clf.pipeline.classes_)
    if coef.shape[0] == 1:
        coef = np.vstack([-coef[0], coef[0]]) / 2
    centred = coef - coef.mean(axis=0)
    word = np.array([n.startswith("word__") for n in names])
    out = {}
    for label in clf.classes_:
        row = np.where(word, centred[fitted.index(label)], -np.inf)
        best = np.argsort(-row)[:k]
        out[label] = [(names[j].removeprefix("word__"), round(float(row[j]), 4)) for j in best]
    return out


# --- the report's numbers ---------------------------------------------------------------------

# Grid axes as ``cv["grid"]`` rows name them, and where the config keeps each one.
_AXES = {
    "C": ("model", "C"),
    "stem": ("preprocess", "stem"),
    "remove_stopwords": ("preprocess", "remove_stopwords"),
    "word_ngrams": ("features", "word_ngrams"),
    "char_ngrams": ("features", "char_ngrams"),
    "min_df": ("features", "min_df"),
}


def settings_compared(cv: dict[str, Any], cfg: Config) -> list[dict[str, Any]]:
    """For each setting model selection tried more than one value of: each value's best
    cross-validated macro-F1 (over the other settings), and whether it is the one in use.

    This is the evidence behind the defaults: an analyst sees what stemming, stopword removal
    or the n-gram ranges were worth on this corpus, not just which won.
    """
    rows = []
    grid = cv.get("grid") or []
    for axis, (section, name) in _AXES.items():
        values = {str(row[axis]): row[axis] for row in grid if axis in row}
        if len(values) < 2:
            continue
        used = getattr(getattr(cfg, section), name)
        used = list(used) if isinstance(used, tuple) else used
        for value in sorted(values, key=values.__getitem__):
            best = max(
                (row for row in grid if str(row[axis]) == value),
                key=lambda row: row["macro_f1_mean"],
            )
            rows.append(
                {
                    "setting": axis,
                    "value": value,
                    "macro_f1_mean": best["macro_f1_mean"],
                    "macro_f1_sd": best["macro_f1_sd"],
                    "in_use": value == str(used),
                }
            )
    return rows


def build_report(
    clf: CaseClassifier,
    corpus: pd.DataFrame,
    *,
    cfg: Config,
    cv: dict[str, Any],
    learning_curve: list[dict[str, Any]] | None = None,
    other: CaseClassifier | None = None,
    other_name: str = "other",
    external: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Everything in the report, as a JSON-ready dict (the content of ``metrics.json``).

    Pure: it scores the fitted model(s) and trains nothing. ``cv`` (model selection's record,
    or ``sw_nlp.train.cross_validate``) and ``learning_curve`` (``sw_nlp.train.learning_curve``;
    None leaves the section out) are computed by the caller. ``external`` names labelled sets
    the model never trained on (the real-text yardstick above all); they are scored beside the
    test split, as figures only.
    """
    labels = clf.classes_
    train = corpus[corpus["split"] == "train"]
    test = corpus[corpus["split"] == "test"].copy()
    if test.empty:
        raise ValueError("the corpus has no test split to evaluate on")
    analysis = clf.analyse(test["text"].tolist(), k=0)
    proba = analysis.proba
    pred = [labels[i] for i in proba.argmax(axis=1)]
    truth = test["level"].tolist()
    summary = summarise(corpus)
    report: dict[str, Any] = {
        "data": {
            "rows": summary.rows,
            "per_level": summary.per_level,
            "per_register": summary.per_register,
            "per_split": summary.per_split,
            "level_by_split": pd.crosstab(corpus["level"], corpus["split"]).to_dict(),
            "words": {
                "min": summary.words_min,
                "median": summary.words_median,
                "max": summary.words_max,
                "share_under_30": summary.share_under_30,
                "share_over_120": summary.share_over_120,
            },
        },
        "test": score(truth, pred, labels),
        "cv": cv,
        "review_threshold": clf.review.threshold,
    }
    report["test"]["ci95"] = bootstrap_ci(truth, pred, labels)
    report["test"]["mean_confidence"] = float(proba.max(axis=1).mean())
    report["settings_compared"] = settings_compared(cv, cfg)
    report["calibration"] = calibration(truth, proba, labels)
    report["coverage"] = coverage_curve(truth, proba, labels)
    report["at_threshold"] = review_outcome(
        test["text"].tolist(), truth, proba, analysis.vocabulary_share, labels, clf.review
    )
    report["by_register"] = breakdown(test, "register", pred, labels) if "register" in test else {}
    report["by_hard"] = breakdown(test, "hard", pred, labels) if "hard" in test else {}
    majority = majority_baseline(train["level"], len(test))
    keywords = keyword_baseline(test["text"].tolist())
    report["baselines"] = {
        "majority class": {
            "macro_f1": macro_f1(truth, majority, labels),
            "accuracy": float(np.mean(np.asarray(majority) == truth)),
        },
        "keyword rules": {
            "macro_f1": macro_f1(truth, keywords, labels),
            "accuracy": float(np.mean(np.asarray(keywords) == truth)),
        },
        "this model": {
            "macro_f1": report["test"]["macro_f1"],
            "accuracy": report["test"]["accuracy"],
        },
    }
    report["top_terms"] = top_terms_per_level(clf)
    wrong = [i for i in range(len(test)) if pred[i] != truth[i]]
    rows = test.reset_index(drop=True)
    report["misclassified"] = [
        {
            "case_id": str(rows.loc[i, "case_id"]) if "case_id" in rows else str(i),
            "register": str(rows.loc[i, "register"]) if "register" in rows else "",
            "true": truth[i],
            "predicted": pred[i],
            "confidence": round(float(proba[i].max()), 4),
            "top_terms": clf.explain(rows.loc[i, "text"], 5),
            "excerpt": excerpt(rows.loc[i, "text"]),
        }
        for i in wrong
    ]
    report["checklist"] = run_checklist(clf)
    if external:
        report["external"] = {name: score_labelled(clf, frame) for name, frame in external.items()}
    if learning_curve is not None:
        report["learning_curve"] = learning_curve
    if other is not None:
        report["comparison"] = compare(clf, other, test, other_name)
    return report


def compare(
    clf: CaseClassifier, other: CaseClassifier, test: pd.DataFrame, other_name: str
) -> dict[str, Any]:
    """Both models on the same cases: scores, the paired difference and where they disagree."""
    texts, truth = test["text"].tolist(), test["level"].tolist()
    labels = clf.classes_
    a, b = other.predict(texts), clf.predict(texts)
    rows = test.reset_index(drop=True)
    disagree = [i for i in range(len(texts)) if a[i] != b[i]]
    return {
        "other": other_name,
        "other_test": score(truth, a, labels),
        "difference_macro_f1": paired_bootstrap(truth, a, b, labels),
        "disagreements": [
            {
                "case_id": str(rows.loc[i, "case_id"]) if "case_id" in rows else str(i),
                "true": truth[i],
                "this": b[i],
                "other": a[i],
                "excerpt": excerpt(rows.loc[i, "text"]),
            }
            for i in disagree
        ],
    }
