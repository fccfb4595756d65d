"""Where labelling time goes: the audit finds wrong labels, suggestions beat random picks."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from sw_nlp.config import Config
from sw_nlp.corpus import load_corpus
from sw_nlp.evaluate import macro_f1
from sw_nlp.labelling import (
    AUDIT_COLUMNS,
    CANDIDATES_PER_PICK,
    LABEL_ERROR,
    audit,
    confident_errors,
    suggest,
)
from sw_nlp.labels import LEVELS
from sw_nlp.model import CaseClassifier, build_pipeline
from sw_nlp.validate import NEAR_DUPLICATE_JACCARD, shingles

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus" / "cases.csv"
FAST = Config().replace(search={"folds": 4, "n_jobs": 2}, model={"C": 10.0})


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return load_corpus(CORPUS)


@pytest.fixture(scope="module")
def small_model(corpus: pd.DataFrame) -> CaseClassifier:
    """Fitted on 200 train cases, so that plenty of the rest is uncertain."""
    train = corpus[corpus["split"] == "train"]
    seed, _ = train_test_split(train, train_size=200, stratify=train["level"], random_state=1)
    pipe = build_pipeline(FAST).fit(seed["text"].tolist(), seed["level"].tolist())
    return CaseClassifier(pipe)


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def margins(clf: CaseClassifier, texts: list[str]) -> np.ndarray:
    top = np.sort(clf.predict_proba(texts), axis=1)
    return top[:, -1] - top[:, -2]


# --- audit ---------------------------------------------------------------------------------


def test_confident_learning_rule_by_hand():
    # columns a, b, c; thresholds = mean own-label probability: a 0.53, b 0.6, c 0.5
    proba = np.array(
        [
            [0.8, 0.1, 0.1],  # labelled a, a is sure: fine
            [0.6, 0.3, 0.1],  # labelled a, nothing else clears its bar: fine
            [0.2, 0.7, 0.1],  # labelled a, b clears 0.6 and wins: likely error
            [0.1, 0.9, 0.0],  # labelled b: fine
            [0.3, 0.3, 0.4],  # labelled b, model prefers c below its bar 0.5: possible error
            [0.1, 0.3, 0.6],  # labelled c, fine
            [0.1, 0.5, 0.4],  # labelled c, b below its bar: possible error, suggests b
        ]
    )
    given = np.array([0, 0, 0, 1, 1, 2, 2])
    strict, loose, suggested, thresholds = confident_errors(proba, given)
    assert thresholds == pytest.approx([0.5333333, 0.6, 0.5])
    assert strict.tolist() == [False, False, True, False, False, False, False]
    assert loose.tolist() == [False, False, False, False, True, False, True]
    assert suggested[2] == 1 and suggested[4] == 2 and suggested[6] == 1


@pytest.mark.slow
def test_audit_finds_planted_label_errors(corpus: pd.DataFrame):
    sample, _ = train_test_split(corpus, train_size=800, stratify=corpus["level"], random_state=0)
    sample = sample.reset_index(drop=True)
    rng = np.random.default_rng(0)
    planted = rng.choice(len(sample), 10, replace=False)
    truth = dict(zip(sample["case_id"], sample["level"], strict=True))
    for i in planted:
        wrong = [lv for lv in LEVELS if lv != sample.at[i, "level"]]
        sample.at[i, "level"] = str(rng.choice(wrong))
    flipped = set(sample["case_id"].iloc[planted])

    out = audit(sample, FAST)

    assert list(out.columns) == list(AUDIT_COLUMNS)
    top = out.head(50)
    hits = flipped & set(top["case_id"])
    print(f"\naudit: {len(hits)} of 10 planted label errors in the top 50 ({len(out)} flagged)")
    assert len(hits) >= 8
    found = top[top["case_id"].isin(hits)]
    assert (found["suggested"] == found["case_id"].map(truth)).sum() >= 8  # the original label
    assert (found["p_suggested"] > found["p_given"]).all()
    assert out["p_given"].is_monotonic_increasing
    likely = out[out["reason"] == LABEL_ERROR]  # the strict tier: mostly the planted errors
    # Corpus v2 is deliberately confusable (actor and target apart, short fragments): its
    # strict tier also holds hard cases whose labels are right (checked by hand), so the
    # planted errors are a third of it rather than half.
    assert len(likely) and likely["case_id"].isin(flipped).mean() >= 0.3
    assert set(out["split"]) <= {"train", "test"}
    assert out["excerpt"].str.len().max() <= 160


def test_audit_reports_near_duplicate_label_conflicts(tiny_corpus_path: Path, fast_config: Config):
    tiny = load_corpus(tiny_corpus_path)
    original = tiny[tiny["case_id"] == "T-003"].iloc[0]
    copy = original.copy()
    copy["case_id"], copy["level"], copy["method"] = "T-900", "makro", "social_policy"
    copy["text"] = original["text"] + " Hubungi 0812-3456-7890."
    assert jaccard(copy["text"], original["text"]) >= NEAR_DUPLICATE_JACCARD
    frame = pd.concat([tiny, copy.to_frame().T], ignore_index=True)

    out = audit(frame, fast_config)

    conflicts = out[out["reason"].str.contains("near-duplicate of")].set_index("case_id")
    assert sorted(conflicts.index) == ["T-003", "T-900"]
    assert "near-duplicate of T-900 labelled makro" in conflicts.at["T-003", "reason"]
    assert "near-duplicate of T-003 labelled mikro" in conflicts.at["T-900", "reason"]
    assert conflicts.at["T-003", "level"] == "mikro" and conflicts.at["T-900", "level"] == "makro"
    assert conflicts.at["T-900", "suggested"] == "mikro"
    assert "0812" not in conflicts.at["T-900", "excerpt"]  # excerpts are masked
    assert conflicts["p_given"].notna().all()


def test_audit_odd_input(fast_config: Config):
    with pytest.raises(ValueError, match="level"):
        audit(pd.DataFrame({"text": ["a b c"]}), fast_config)
    odd = pd.DataFrame(
        {
            "text": ["", None, pd.NA, "Konseling untuk seorang ibu", "Rapat desa membahas"],
            "level": ["mikro", "mezzo", "makro", "mikro", None],
        }
    )
    out = audit(odd, fast_config)  # nothing a model can judge: no rows, no exception
    assert out.empty and list(out.columns) == list(AUDIT_COLUMNS)


# --- suggest -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(corpus: pd.DataFrame, small_model: CaseClassifier) -> pd.DataFrame:
    """600 train cases, an empty text, and near-copies of the three most uncertain ones."""
    train = corpus[corpus["split"] == "train"]
    base = train.sample(600, random_state=2)
    uncertain = base.iloc[np.argsort(margins(small_model, base["text"].tolist()))[:3]]
    copies = []
    for k, (_, row) in enumerate(uncertain.iterrows()):
        for j in (1, 2):
            copy = row.copy()
            copy["case_id"] = f"COPY-{k}-{j}"
            copy["text"] = row["text"] + (
                " Mohon ditindaklanjuti." if j == 1 else " Terima kasih."
            )
            copies.append(copy)
    empty = base.iloc[0].copy()
    empty["case_id"], empty["text"] = "EMPTY", "   "
    return pd.concat([base, pd.DataFrame(copies), empty.to_frame().T]).reset_index(drop=True)


def test_suggest_picks_uncertain_diverse_cases(small_model: CaseClassifier, pool: pd.DataFrame):
    n = 10
    plain_top = pool.iloc[np.argsort(margins(small_model, pool["text"].tolist()))[:n]]
    assert any(  # the pool is built so that plain uncertainty sampling picks near-copies
        jaccard(a, b) >= NEAR_DUPLICATE_JACCARD for a, b in combinations(plain_top["text"], 2)
    )

    picks = suggest(small_model, pool, n, seed=0)

    assert len(picks) == n
    assert list(picks.columns) == [*pool.columns, "predicted", "runner_up", "margin"]
    assert (picks["level"] == "").all()
    pd.testing.assert_frame_equal(
        picks[[c for c in pool.columns if c != "level"]],
        pool.loc[picks.index, [c for c in pool.columns if c != "level"]],
    )
    assert picks["case_id"].is_unique and "EMPTY" not in set(picks["case_id"])
    for a, b in combinations(picks["text"], 2):
        assert jaccard(a, b) < NEAR_DUPLICATE_JACCARD
    assert picks["margin"].to_numpy() == pytest.approx(
        margins(small_model, picks["text"].tolist())
    )
    assert picks["margin"].mean() < margins(small_model, pool["text"].tolist()).mean() / 2
    assert (picks["predicted"] != picks["runner_up"]).all()
    assert set(picks["predicted"]) | set(picks["runner_up"]) <= set(LEVELS)
    assert suggest(small_model, pool, n, seed=0).index.equals(picks.index)  # seeded


def test_suggest_vectorises_only_its_candidates(
    small_model: CaseClassifier, pool: pd.DataFrame, monkeypatch
):
    """The pool is scored by the fast path; only the candidates for clustering get TF-IDF
    vectors from the pipeline (the whole pool's took 1.3 GB for 20,000 cases)."""
    assert small_model.uses_fast_path
    features = small_model.pipeline.named_steps["features"]
    sizes: list[int] = []
    real = features.transform

    def counted(texts):
        sizes.append(len(texts))
        return real(texts)

    monkeypatch.setattr(features, "transform", counted)
    picks = suggest(small_model, pool, 10, seed=0)
    assert len(picks) == 10
    assert sizes == [CANDIDATES_PER_PICK * 10]
    assert picks["margin"].to_numpy() == pytest.approx(
        margins(small_model, picks["text"].tolist()), abs=1e-9
    )


def test_suggest_small_and_odd_pools(small_model: CaseClassifier, pool: pd.DataFrame):
    with pytest.raises(ValueError, match="body"):
        suggest(small_model, pool, 3, text_column="body")
    few = pool.iloc[:3].drop(columns="level").rename(columns={"text": "body"})
    picks = suggest(small_model, few, 10, text_column="body")
    assert sorted(picks.index) == [0, 1, 2] and (picks["level"] == "").all()
    assert picks["margin"].is_monotonic_increasing
    none = suggest(small_model, pool, 0)
    assert none.empty and {"predicted", "runner_up", "margin", "level"} <= set(none.columns)
    blank = pd.DataFrame({"text": ["", "  ", None]})
    assert suggest(small_model, blank, 2).empty
    same = pd.DataFrame({"text": ["Lansia tinggal sendiri tanpa keluarga"] * 20})
    assert len(suggest(small_model, same, 2)) == 2  # one text: nothing for k-means to split


@pytest.mark.slow  # eight fits and predictions on the whole corpus
def test_suggest_beats_random_picking(corpus: pd.DataFrame):
    """Four rounds of 40 labels from a 40-case seed, scored on the test split."""
    train = corpus[corpus["split"] == "train"].reset_index(drop=True)
    test = corpus[corpus["split"] == "test"]
    labels = list(LEVELS)
    seed_rows, _ = train_test_split(
        train.index, train_size=40, stratify=train["level"], random_state=0
    )
    rng = np.random.default_rng(0)
    curves: dict[str, list[tuple[int, float]]] = {}
    for strategy in ("uncertainty", "random"):
        labelled = list(seed_rows)
        curve = []
        for round_ in range(5):
            part = train.loc[labelled]
            pipe = build_pipeline(FAST).fit(part["text"].tolist(), part["level"].tolist())
            score = macro_f1(test["level"], pipe.predict(test["text"].tolist()), labels)
            curve.append((len(labelled), round(score, 4)))
            if round_ == 4:
                break
            pool = train.drop(index=labelled)
            if strategy == "uncertainty":
                picked = suggest(CaseClassifier(pipe), pool, 40, seed=0).index
            else:
                picked = rng.choice(pool.index, 40, replace=False)
            labelled += list(picked)
        curves[strategy] = curve
    for strategy, curve in curves.items():
        print(f"\n{strategy:>11}: " + "  ".join(f"{n}: {f:.4f}" for n, f in curve))
    final = {s: c[-1][1] for s, c in curves.items()}
    mean = {s: np.mean([f for _, f in c[1:]]) for s, c in curves.items()}
    assert curves["uncertainty"][0] == curves["random"][0]  # same seed set
    assert final["uncertainty"] >= final["random"]
    assert mean["uncertainty"] >= mean["random"]
