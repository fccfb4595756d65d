"""Metrics of a classifier on labelled cases: pure functions returning JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from sw_nlp.model import CaseClassifier


def score(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro- and weighted-F1, per-class figures and the confusion matrix."""
    labels = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
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


def evaluate(clf: CaseClassifier, texts: Sequence[str], y_true: Sequence[str]) -> dict[str, Any]:
    """Score a classifier on labelled texts, with the mean confidence of its answers."""
    proba = clf.predict_proba(texts)
    y_pred = [clf.classes_[i] for i in proba.argmax(axis=1)]
    metrics = score(list(y_true), y_pred, clf.classes_)
    metrics["mean_confidence"] = float(np.mean(proba.max(axis=1))) if len(proba) else 0.0
    return metrics
