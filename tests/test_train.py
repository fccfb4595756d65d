import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sw_nlp.config import Config
from sw_nlp.corpus import load_corpus
from sw_nlp.errors import InputError
from sw_nlp.train import labels_for_scheme, train
from sw_nlp.workflows import run_training


def test_train_fits_on_train_split_only(tiny_corpus_path: Path, fast_config):
    corpus = load_corpus(tiny_corpus_path)
    result = train(corpus, fast_config)
    assert result.n_train == int((corpus["split"] == "train").sum())
    assert result.cv["folds"] == 2
    assert result.cv["grouped_by"] == "topic"
    assert len(result.cv["grid"]) == 2  # stem on and off
    assert result.config.preprocess.stem in (True, False)
    assert 0.0 <= result.cv["macro_f1_mean"] <= 1.0


def test_training_is_reproducible(tiny_corpus_path: Path, fast_config):
    corpus = load_corpus(tiny_corpus_path)
    texts = corpus["text"].tolist()
    a = train(corpus, fast_config).classifier.predict_proba(texts)
    b = train(corpus, fast_config).classifier.predict_proba(texts)
    assert np.array_equal(a, b)


def test_label_set_comes_from_the_data(tiny_corpus_path: Path, fast_config):
    corpus = load_corpus(tiny_corpus_path)
    corpus = corpus[corpus["level"].isin(["mikro", "global"])]
    result = train(corpus, fast_config)
    assert result.labels == ["mikro", "global"]


def test_three_level_scheme_merges_global_into_makro(tiny_corpus_path: Path, fast_config):
    result = train(load_corpus(tiny_corpus_path), fast_config, scheme=3)
    assert result.labels == ["mikro", "mezzo", "makro"]
    assert labels_for_scheme(pd.Series(["global", "mikro"]), 3).tolist() == ["makro", "mikro"]
    with pytest.raises(InputError, match="unknown scheme"):
        labels_for_scheme(pd.Series(["mikro"]), 5)


def test_training_refuses_an_invalid_corpus(tmp_path: Path, tiny_corpus_path: Path, fast_config):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        tiny_corpus_path.read_text(encoding="utf-8").replace(
            ",mikro,casework_family,", ",nasional,casework_family,", 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"bad.csv:\d+:level: unknown label 'nasional'"):
        run_training(bad, tmp_path / "out", fast_config)


def test_manifest_records_metrics_and_config(trained_bundle: Path, tiny_corpus_path: Path):
    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    assert manifest["labels"] == ["mikro", "mezzo", "makro", "global"]
    assert manifest["corpus"]["rows"] == 40 and manifest["corpus"]["test"] == 12
    test = manifest["metrics"]["test"]
    assert test["n"] == 12 and 0.0 <= test["macro_f1"] <= 1.0
    assert manifest["config"]["search"]["folds"] == 2
    card = (trained_bundle / "MODEL_CARD.md").read_text()
    assert "never makes it" in card and f"{test['macro_f1']:.3f}" in card


def test_grouped_folds_never_split_a_topic(tiny_corpus_path: Path, fast_config):
    from sw_nlp.train import cv_splitter

    train_rows = load_corpus(tiny_corpus_path).query("split == 'train'")
    splitter, folds = cv_splitter(
        fast_config, train_rows["level"].tolist(), train_rows["topic"].tolist()
    )
    for fit_idx, val_idx in splitter.split(
        train_rows["text"], train_rows["level"], train_rows["topic"]
    ):
        assert not set(train_rows["topic"].iloc[fit_idx]) & set(train_rows["topic"].iloc[val_idx])


def test_one_standard_error_rule_prefers_stronger_regularisation():
    from sw_nlp.train import one_standard_error_choice

    results = {
        "mean_test_score": [0.90, 0.95, 0.96, 0.80],
        "std_test_score": [0.01, 0.02, 0.04, 0.01],
        "params": [
            {"classify__C": 1.0},
            {"classify__C": 3.0},
            {"classify__C": 30.0},
            {"classify__C": 0.1},
        ],
    }
    # best 0.96 with se 0.04/2 = 0.02: 0.95 (C=3) is within, 0.90 is not
    assert one_standard_error_choice(results, folds=4) == 1
    assert one_standard_error_choice(results, folds=1) == 2


def test_one_setting_is_cross_validated_once_with_the_grid_searchs_numbers(tiny_corpus_path):
    """A one-point grid skips GridSearchCV: its out-of-fold predictions give the CV record
    (the same folds, the same scores) and feed the calibration."""
    from sw_nlp.corpus import load_corpus
    from sw_nlp.train import select_model, single_setting, train

    corpus = load_corpus(tiny_corpus_path)
    cfg = Config().replace(
        search={"C": (3.0,), "stem": (False,), "remove_stopwords": (False,), "folds": 3,
                "n_jobs": 1}
    )
    assert single_setting(cfg).model.C == 3.0
    assert single_setting(cfg.replace(search={"C": (1.0, 3.0)})) is None
    result = train(corpus, cfg)
    rows = corpus[corpus["split"] == "train"]
    _, grid_cv = select_model(
        rows["text"].tolist(), rows["level"].tolist(), cfg, groups=rows["topic"].tolist()
    )
    assert result.cv["fold_scores"] == grid_cv["fold_scores"]
    assert result.cv["macro_f1_mean"] == grid_cv["macro_f1_mean"]
    assert result.extra["calibration"]["temperature"] > 0


def test_training_scores_a_real_text_file_into_the_manifest_and_card(
    tiny_corpus_path, fast_config, tmp_path
):
    corpus = load_corpus(tiny_corpus_path)
    real = corpus[corpus["split"] == "test"][["text", "level"]].head(10)
    out = tmp_path / "bundle"
    manifest = run_training(
        tiny_corpus_path, out, fast_config, with_report=False, external={"nyata": real}
    )
    figures = manifest["metrics"]["external"]["nyata"]
    assert figures["n"] == 10
    assert 0.0 <= figures["macro_f1"] <= 1.0
    card = (out / "MODEL_CARD.md").read_text()
    assert "## On real text" in card and "| nyata | 10 |" in card
    assert "## Confidence" in card and "Temperature scaling" in card
    # figures only: no text of the scored file is kept
    assert real["text"].iloc[0][:50] not in json.dumps(manifest)
