"""The report's figures as PNG bytes (matplotlib, Agg backend, imported only when drawing)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def confusion_figure(confusion: list[list[int]], labels: list[str]) -> bytes:
    """Counts and row-normalised shares side by side: rows are the true level."""
    plt = _pyplot()
    counts = np.asarray(confusion, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, data, title, fmt in (
        (axes[0], counts, "counts", "{:.0f}"),
        (axes[1], shares, "share of true level", "{:.0%}"),
    ):
        ax.imshow(data if title != "counts" else shares, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(
                    j,
                    i,
                    fmt.format(data[i, j]),
                    ha="center",
                    va="center",
                    color="white" if shares[i, j] > 0.6 else "black",
                    fontsize=10,
                )
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"Confusion matrix ({title})")
    return _png(fig)


def reliability_figure(calibration: dict[str, Any]) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    bins = [b for b in calibration["bins"] if b["count"]]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(
        [b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label="model"
    )
    for b in bins:
        ax.annotate(
            str(b["count"]),
            (b["confidence"], b["accuracy"]),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
        )
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability diagram (ECE {calibration['ece']:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right")
    return _png(fig)


def coverage_figure(curve: list[dict[str, float]], threshold: float) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    th = [c["threshold"] for c in curve]
    ax.plot(
        th,
        [c["accuracy_of_rest"] for c in curve],
        marker="o",
        label="accuracy of cases not sent to review",
    )
    ax.plot(th, [c["to_review"] for c in curve], marker="s", label="share sent to review")
    ax.axvline(threshold, color="grey", linestyle=":", label=f"current threshold {threshold:.2f}")
    ax.set_xlabel("review threshold (confidence below it → needs review)")
    ax.set_ylim(0, 1.02)
    ax.set_title("What a review threshold costs and buys")
    ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


def learning_curve_figure(points: list[dict[str, float]]) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot([p["n_train"] for p in points], [p["macro_f1"] for p in points], marker="o")
    ax.set_xlabel("training cases")
    ax.set_ylabel("test macro-F1")
    ax.set_title("Learning curve: does labelling more cases still pay?")
    ax.grid(alpha=0.3)
    return _png(fig)
