"""The report's numbers against scikit-learn's own metrics on a small fixed example."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from sw_nlp.evaluate import (
    bootstrap_ci,
    breakdown,
    calibration,
    coverage_curve,
    keyword_baseline,
    majority_baseline,
    paired_bootstrap,
    score,
)

LABELS = ["mikro", "mezzo", "makro", "global"]
TRUE = ["mikro", "mikro", "mezzo", "makro", "global", "mezzo", "makro", "mikro", "global", "makro"]
PRED = ["mikro", "mezzo", "mezzo", "makro", "global", "makro", "makro", "mikro", "makro", "makro"]
PROBA = np.array(
    [
        [0.9, 0.05, 0.03, 0.02],
        [0.4, 0.5, 0.05, 0.05],
        [0.1, 0.7, 0.1, 0.1],
        [0.1, 0.1, 0.7, 0.1],
        [0.05, 0.05, 0.1, 0.8],
        [0.1, 0.35, 0.45, 0.1],
        [0.05, 0.05, 0.85, 0.05],
        [0.6, 0.2, 0.1, 0.1],
        [0.1, 0.1, 0.45, 0.35],
        [0.2, 0.2, 0.5, 0.1],
    ]
)


def test_score_matches_sklearn():
    s = score(TRUE, PRED, LABELS)
    assert s["accuracy"] == accuracy_score(TRUE, PRED)
    assert s["macro_f1"] == pytest.approx(f1_score(TRUE, PRED, labels=LABELS, average="macro"))
    assert s["weighted_f1"] == pytest.approx(
        f1_score(TRUE, PRED, labels=LABELS, average="weighted")
    )
    p, r, f, n = precision_recall_fscore_support(TRUE, PRED, labels=LABELS)
    for i, label in enumerate(LABELS):
        assert s["per_class"][label] == pytest.approx(
            {"precision": p[i], "recall": r[i], "f1": f[i], "support": n[i]}
        )
    assert s["confusion"] == confusion_matrix(TRUE, PRED, labels=LABELS).tolist()


def test_bootstrap_interval_contains_the_point_estimate():
    ci = bootstrap_ci(TRUE, PRED, LABELS, rounds=300)
    s = score(TRUE, PRED, LABELS)
    for key in ("accuracy", "macro_f1", "weighted_f1"):
        low, high = ci[key]
        assert 0.0 <= low <= s[key] <= high <= 1.0
    assert bootstrap_ci(TRUE, PRED, LABELS, rounds=300) == ci  # seeded


def test_calibration_by_hand():
    cal = calibration(TRUE, PROBA, LABELS, bins=2)
    conf = PROBA.max(axis=1)
    correct = np.array(TRUE) == np.array(LABELS)[PROBA.argmax(axis=1)]
    low, high = conf <= 0.5, conf > 0.5
    expected = low.mean() * abs(conf[low].mean() - correct[low].mean()) + high.mean() * abs(
        conf[high].mean() - correct[high].mean()
    )
    assert cal["ece"] == pytest.approx(expected)
    assert [b["count"] for b in cal["bins"]] == [int(low.sum()), int(high.sum())]


def test_coverage_curve():
    curve = coverage_curve(TRUE, PROBA, LABELS, thresholds=[0.0, 0.6, 0.99])
    assert curve[0] == {
        "threshold": 0.0,
        "to_review": 0.0,
        "coverage": 1.0,
        "accuracy_of_rest": 0.7,
    }
    kept = PROBA.max(axis=1) >= 0.6
    assert curve[1]["coverage"] == kept.mean()
    assert np.isnan(curve[2]["accuracy_of_rest"])


def test_breakdown_uses_labels_present_in_the_group():
    frame = pd.DataFrame({"level": TRUE, "register": ["a"] * 5 + ["b"] * 5})
    out = breakdown(frame, "register", PRED, LABELS)
    assert out["a"]["n"] == 5 and out["a"]["accuracy"] == accuracy_score(TRUE[:5], PRED[:5])
    present = [label for label in LABELS if label in TRUE[5:]]
    assert out["b"]["macro_f1"] == pytest.approx(
        f1_score(TRUE[5:], PRED[5:], labels=present, average="macro")
    )


def test_baselines():
    assert majority_baseline(["mikro", "mezzo", "mikro"], 2) == ["mikro", "mikro"]
    got = keyword_baseline(
        [
            "Konseling untuk seorang ibu dan anaknya",
            "Musyawarah desa membentuk posko di balai desa",
            "Peraturan gubernur berlaku di seluruh kabupaten",
            "Konvensi PBB tentang hak anak diratifikasi negara-negara",
            "teks tanpa petunjuk apa pun",
        ]
    )
    assert got == ["mikro", "mezzo", "makro", "global", "mikro"]


def test_paired_bootstrap_of_identical_models_is_zero():
    same = paired_bootstrap(TRUE, PRED, PRED, LABELS, rounds=200)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0, "share_b_better": 0.0}
    better = paired_bootstrap(TRUE, PRED, TRUE, LABELS, rounds=200)
    assert better["difference"] > 0 and better["low"] >= 0


def _reference_bootstrap(t, p, labels, rounds, seed):
    """The loop over scikit-learn's f1_score that the vectorised bootstrap replaced."""
    rng = np.random.default_rng(seed)
    t, p = np.asarray(t), np.asarray(p)
    draws = {"accuracy": [], "macro_f1": [], "weighted_f1": []}
    for _ in range(rounds):
        idx = rng.integers(0, len(t), len(t))
        draws["accuracy"].append(float((t[idx] == p[idx]).mean()))
        draws["macro_f1"].append(
            f1_score(t[idx], p[idx], labels=labels, average="macro", zero_division=0)
        )
        draws["weighted_f1"].append(
            f1_score(t[idx], p[idx], labels=labels, average="weighted", zero_division=0)
        )
    return {k: [np.percentile(v, 2.5), np.percentile(v, 97.5)] for k, v in draws.items()}


@pytest.mark.parametrize("seed", [0, 7])
def test_vectorised_bootstrap_gives_the_loops_numbers(seed):
    rng = np.random.default_rng(seed)
    truth = list(rng.choice(LABELS, 300))
    pred = [t if rng.random() < 0.7 else str(rng.choice(LABELS + ["other"])) for t in truth]
    fast = bootstrap_ci(truth, pred, LABELS, rounds=200, seed=seed)
    slow = _reference_bootstrap(truth, pred, LABELS, 200, seed)
    for key in slow:
        assert fast[key] == pytest.approx(slow[key], abs=1e-12)


def test_paired_bootstrap_matches_the_loop():
    rng = np.random.default_rng(3)
    truth = list(rng.choice(LABELS, 200))
    a = [t if rng.random() < 0.8 else "mezzo" for t in truth]
    b = [t if rng.random() < 0.7 else "global" for t in truth]
    got = paired_bootstrap(truth, a, b, LABELS, rounds=100, seed=1)
    draws = np.random.default_rng(1)
    T, A, B = map(np.asarray, (truth, a, b))
    diffs = []
    for _ in range(100):
        i = draws.integers(0, len(T), len(T))
        diffs.append(
            f1_score(T[i], B[i], labels=LABELS, average="macro", zero_division=0)
            - f1_score(T[i], A[i], labels=LABELS, average="macro", zero_division=0)
        )
    assert got["low"] == pytest.approx(np.percentile(diffs, 2.5), abs=1e-12)
    assert got["high"] == pytest.approx(np.percentile(diffs, 97.5), abs=1e-12)
    assert got["share_b_better"] == pytest.approx(np.mean(np.asarray(diffs) > 0))


def test_review_outcome_counts_every_review_rule():
    from sw_nlp.config import ReviewConfig
    from sw_nlp.evaluate import review_outcome, threshold_for

    texts = ["satu dua tiga empat lima enam"] * 9 + ["pendek"]
    shares = np.ones(10)
    out = review_outcome(texts, TRUE, PROBA, shares, LABELS, ReviewConfig(threshold=0.6))
    # low confidence: rows 1, 5, 8, 9; the last row is also too short (one word)
    assert out["to_review"] == pytest.approx(0.4)
    kept = [0, 2, 3, 4, 6, 7]
    assert out["accuracy_of_rest"] == pytest.approx(
        np.mean([TRUE[i] == PRED[i] for i in kept])
    )
    best = threshold_for(texts, TRUE, PROBA, shares, LABELS, ReviewConfig(), target=0.95)
    assert best["accuracy_of_rest"] >= 0.95
    assert best["threshold"] is not None and best["threshold"] <= 0.6
