"""Training: model selection by cross-validation on the train split, then one fit.

The test split is never seen here: not for fitting, not for choosing settings. The label set
comes from the data, so the same code trains on any labelled Indonesian text.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import (
    GridSearchCV,
    PredefinedSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_val_predict,
)

from sw_nlp.calibration import (
    apply_temperature,
    calibration_rows,
    fit_temperature,
    negative_log_likelihood,
)
from sw_nlp.calibration import summary as calibration_summary
from sw_nlp.config import Config
from sw_nlp.labels import to_three_levels
from sw_nlp.errors import InputError
from sw_nlp.model import CaseClassifier, build_pipeline
from sw_nlp.preprocess import WordAnalyzer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    classifier: CaseClassifier
    config: Config  # the chosen settings, as the final model was fitted with them
    cv: dict[str, Any]  # best mean/sd macro-F1 and the whole grid
    n_train: int
    labels: list[str]
    scheme: int = 4
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def labels_for_scheme(levels: pd.Series, scheme: int) -> pd.Series:
    """Labels as trained: the contract's four, or three with ``global`` merged into ``makro``."""
    if scheme == 4:
        return levels
    if scheme == 3:
        return levels.map(to_three_levels)
    raise InputError(f"unknown scheme {scheme}: use 4 (mikro, mezzo, makro, global) or 3")


def cv_splitter(cfg: Config, labels: list[str], groups: list[str] | None) -> tuple[Any, int]:
    """Stratified k-fold, grouped when groups are given; k shrinks for tiny data."""
    smallest = int(pd.Series(labels).value_counts().min())
    folds = min(cfg.search.folds, smallest)
    if groups is not None:
        folds = min(folds, len(set(groups)))
    if folds < 2:
        raise InputError(f"too few cases to cross-validate: smallest label has {smallest} case(s)")
    if groups is not None:
        return StratifiedGroupKFold(
            n_splits=folds, shuffle=True, random_state=cfg.search.seed
        ), folds
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=cfg.search.seed), folds


def one_standard_error_choice(results: dict[str, Any], folds: int) -> int:
    """The most regularised setting (smallest C) within one standard error of the best.

    Settings that score the same within the noise of the folds are not different; the one
    that fits the training writers least tightly is the better bet on other people's texts.
    Ties on C go to the higher mean.
    """
    means = np.asarray(results["mean_test_score"])
    best = int(np.argmax(means))
    if folds < 2:
        return best
    bar = means[best] - np.asarray(results["std_test_score"])[best] / np.sqrt(folds)
    close = [i for i in range(len(means)) if means[i] >= bar]
    return min(close, key=lambda i: (results["params"][i]["classify__C"], -means[i]))


def select_model(
    texts: list[str],
    labels: list[str],
    cfg: Config,
    validation: list[bool] | None = None,
    groups: list[str] | None = None,
) -> tuple[Config, dict[str, Any]]:
    """Grid search over the config's ``[search]`` axes by macro-F1.

    Stratified k-fold on the given cases; or, when ``validation`` marks a predefined
    validation set (a benchmark's ``valid`` split), fit on the rest and score on it.
    Fitted transformers are cached across the grid, so trying several ``C`` values costs one
    vectorisation per fold and tokenizer setting.
    """
    search = cfg.search
    if validation is not None:
        splitter: Any = PredefinedSplit([0 if v else -1 for v in validation])
        folds = 1
    else:
        splitter, folds = cv_splitter(cfg, labels, groups)
    grid = {
        "classify__C": list(search.C),
        "features__word__tokenizer": [
            WordAnalyzer(remove_stopwords=rs, stem=st)
            for rs in search.remove_stopwords
            for st in search.stem
        ],
        "features__word__ngram_range": [tuple(r) for r in search.word_ngrams],
        "features__char__ngram_range": [tuple(r) for r in search.char_ngrams],
    }
    # min_df moves word and char features together: one sub-grid per value.
    grids = [
        grid | {"features__word__min_df": [m], "features__char__min_df": [m]}
        for m in search.min_df
    ]
    with tempfile.TemporaryDirectory(prefix="sw-nlp-cv-") as cache:
        pipeline = build_pipeline(cfg).set_params(memory=cache)
        gs = GridSearchCV(
            pipeline,
            grids,
            scoring="f1_macro",
            cv=splitter,
            n_jobs=search.n_jobs,
            refit=False,
            error_score="raise",
        )
        gs.fit(texts, labels, groups=groups)
    results = gs.cv_results_
    best = one_standard_error_choice(results, folds)
    params = results["params"][best]
    analyzer: WordAnalyzer = params["features__word__tokenizer"]
    chosen = cfg.replace(
        model={"C": float(params["classify__C"])},
        preprocess={"stem": analyzer.stem, "remove_stopwords": analyzer.remove_stopwords},
        features={
            "word_ngrams": tuple(params["features__word__ngram_range"]),
            "char_ngrams": tuple(params["features__char__ngram_range"]),
            "min_df": int(params["features__word__min_df"]),
        },
    )
    grid_rows = [
        {
            "C": float(p["classify__C"]),
            "stem": p["features__word__tokenizer"].stem,
            "remove_stopwords": p["features__word__tokenizer"].remove_stopwords,
            "word_ngrams": list(p["features__word__ngram_range"]),
            "char_ngrams": list(p["features__char__ngram_range"]),
            "min_df": int(p["features__word__min_df"]),
            "macro_f1_mean": float(m),
            "macro_f1_sd": float(s),
        }
        for p, m, s in zip(
            results["params"], results["mean_test_score"], results["std_test_score"], strict=True
        )
    ]
    cv = {
        "folds": folds,
        "grouped_by": search.group_by if groups is not None else None,
        "rule": "one standard error: smallest C within one SE of the best mean",
        "macro_f1_mean": float(results["mean_test_score"][best]),
        "macro_f1_sd": float(results["std_test_score"][best]),
        "fold_scores": [float(results[f"split{i}_test_score"][best]) for i in range(folds)],
        "grid": grid_rows,
    }
    log.info(
        "model selection: %d settings x %d folds, best macro-F1 %.4f",
        len(grid_rows),
        folds,
        cv["macro_f1_mean"],
    )
    return chosen, cv


def train(corpus: pd.DataFrame, cfg: Config, scheme: int = 4) -> TrainResult:
    """Select settings by CV on ``split == train``, then fit once on all of it."""
    started = time.perf_counter()
    train_rows = corpus[corpus["split"] == "train"]
    if train_rows.empty:
        raise InputError("the corpus has no rows with split == train")
    texts = train_rows["text"].tolist()
    labels = labels_for_scheme(train_rows["level"], scheme).tolist()
    if len(set(labels)) < 2:
        raise InputError("the train split needs at least two different labels")
    valid_rows = corpus[corpus["split"] == "valid"]
    groups = (
        train_rows[cfg.search.group_by].tolist() if cfg.search.group_by in train_rows else None
    )
    single = single_setting(cfg)
    oof: np.ndarray | None = None
    if valid_rows.empty and single is not None:
        # One setting to try: its out-of-fold predictions give both the cross-validated score
        # and the calibration data, so the folds are fitted once instead of twice.
        log.info("one setting to try: cross-validating it (%d folds)", cfg.search.folds)
        chosen = single
        oof, classes = out_of_fold_proba(texts, labels, chosen, groups)
        cv = cv_from_out_of_fold(oof, classes, texts, labels, chosen, groups)
    elif valid_rows.empty:
        chosen, cv = select_model(texts, labels, cfg, groups=groups)
    else:  # a predefined validation split chooses the settings; the model is fitted on train
        chosen, cv = select_model(
            texts + valid_rows["text"].tolist(),
            labels + labels_for_scheme(valid_rows["level"], scheme).tolist(),
            cfg,
            validation=[False] * len(texts) + [True] * len(valid_rows),
        )
    log.info("fitting the final model on %d cases", len(texts))
    pipeline = build_pipeline(chosen).fit(texts, labels)
    extra: dict[str, Any] = {}
    if chosen.calibration.method == "temperature":
        hard = train_rows["hard"].tolist() if "hard" in train_rows else None
        if oof is None:
            log.info("calibration: out-of-fold predictions (%d folds)", cfg.search.folds)
            oof, _ = out_of_fold_proba(texts, labels, chosen, groups)
        extra["calibration"] = calibrate(pipeline, oof, texts, labels, chosen, hard)
    elif chosen.calibration.method != "none":
        raise InputError(
            f"unknown calibration method {chosen.calibration.method!r}: use temperature or none"
        )
    classifier = CaseClassifier(pipeline, review=chosen.review)
    seconds = time.perf_counter() - started
    log.info("trained on %d cases in %.1f s", len(texts), seconds)
    return TrainResult(
        classifier=classifier,
        config=chosen,
        cv=cv,
        n_train=len(texts),
        labels=classifier.classes_,
        scheme=scheme,
        seconds=seconds,
        extra=extra,
    )


def single_setting(cfg: Config) -> Config | None:
    """The config the grid would choose when every axis of ``[search]`` has one value."""
    s = cfg.search
    axes = (s.C, s.stem, s.remove_stopwords, s.word_ngrams, s.char_ngrams, s.min_df)
    if any(len(axis) != 1 for axis in axes):
        return None
    return cfg.replace(
        model={"C": float(s.C[0])},
        preprocess={"stem": s.stem[0], "remove_stopwords": s.remove_stopwords[0]},
        features={
            "word_ngrams": tuple(s.word_ngrams[0]),
            "char_ngrams": tuple(s.char_ngrams[0]),
            "min_df": int(s.min_df[0]),
        },
    )


def cv_from_out_of_fold(
    proba: np.ndarray,
    classes: list[str],
    texts: list[str],
    labels: list[str],
    cfg: Config,
    groups: list[str] | None,
) -> dict[str, Any]:
    """The cross-validation record ``select_model`` writes, from out-of-fold predictions:
    each fold's macro-F1 on its own held-out rows (the same folds, so the same numbers)."""
    splitter, folds = cv_splitter(cfg, labels, groups)
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    truth = np.asarray(labels)
    scores = [
        f1_score(truth[held], pred[held], labels=classes, average="macro", zero_division=0)
        for _, held in splitter.split(texts, labels, groups)
    ]
    row = {
        "C": cfg.model.C,
        "stem": cfg.preprocess.stem,
        "remove_stopwords": cfg.preprocess.remove_stopwords,
        "word_ngrams": list(cfg.features.word_ngrams),
        "char_ngrams": list(cfg.features.char_ngrams),
        "min_df": cfg.features.min_df,
        "macro_f1_mean": float(np.mean(scores)),
        "macro_f1_sd": float(np.std(scores)),
    }
    return {
        "folds": folds,
        "grouped_by": cfg.search.group_by if groups is not None else None,
        "rule": "one setting given: its cross-validated score",
        "macro_f1_mean": row["macro_f1_mean"],
        "macro_f1_sd": row["macro_f1_sd"],
        "fold_scores": [float(x) for x in scores],
        "grid": [row],
    }


def out_of_fold_proba(
    texts: list[str], labels: list[str], cfg: Config, groups: list[str] | None
) -> tuple[np.ndarray, list[str]]:
    """Each training text's probabilities from a model that did not see it (same folds as
    model selection); columns in sorted label order, as the fitted pipeline has them."""
    splitter, _ = cv_splitter(cfg, labels, groups)
    proba = cross_val_predict(
        build_pipeline(cfg),
        texts,
        labels,
        groups=groups,
        cv=splitter,
        method="predict_proba",
        n_jobs=cfg.search.n_jobs,
    )
    return proba, sorted(set(labels))


def calibrate(
    pipeline: Any,
    proba: np.ndarray,
    texts: list[str],
    labels: list[str],
    cfg: Config,
    hard: list[bool] | None,
) -> dict[str, Any]:
    """Fit the temperature on out-of-fold predictions (``proba``, sorted label order) for the
    rows most like real use, and fold it into the fitted pipeline's coefficients."""
    classes = sorted(set(labels))
    rows = calibration_rows(texts, hard, cfg.calibration.fit_on, cfg.calibration.short_words)
    if rows.sum() < 20:  # too few to fit one number reliably: use every row
        rows = np.ones(len(texts), bool)
    y = [labels[i] for i in np.flatnonzero(rows)]
    temperature = fit_temperature(proba[rows], y, classes)
    index = {c: i for i, c in enumerate(classes)}
    log_p = np.log(np.clip(proba[rows], 1e-12, 1.0))
    codes = np.array([index[v] for v in y])
    apply_temperature(pipeline, temperature)
    out = calibration_summary(
        temperature,
        int(rows.sum()),
        cfg.calibration.fit_on,
        negative_log_likelihood(log_p, codes, 1.0),
        negative_log_likelihood(log_p, codes, temperature),
    )
    log.info("calibration: temperature %.3f fitted on %d rows", temperature, rows.sum())
    return out


def run_training(
    data: Path,
    out_dir: Path,
    cfg: Config | None = None,
    scheme: int = 4,
    with_report: bool = True,
    external: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """What ``sw-nlp train`` does: load → validate → select and fit → test once → bundle.

    Returns the manifest written next to the model.
    """
    from sw_nlp.bundle import save_bundle
    from sw_nlp.corpus import file_sha256, load_corpus
    from sw_nlp.evaluate import evaluate

    cfg = cfg or Config()
    corpus = load_corpus(data)
    result = train(corpus, cfg, scheme=scheme)
    test_rows = corpus[corpus["split"] == "test"]
    metrics: dict[str, Any] = {"cv": result.cv}
    if not test_rows.empty:
        truth = labels_for_scheme(test_rows["level"], scheme).tolist()
        metrics["test"] = evaluate(result.classifier, test_rows["text"].tolist(), truth)
        log.info(
            "test split: macro-F1 %.4f on %d cases", metrics["test"]["macro_f1"], len(test_rows)
        )
    corpus_info = {
        "file": Path(data).name,
        "sha256": file_sha256(data),
        "rows": len(corpus),
        "train": int((corpus["split"] == "train").sum()),
        "test": int(len(test_rows)),
        "per_level": {k: int(v) for k, v in corpus["level"].value_counts().items()},
    }
    metrics["train_seconds"] = round(result.seconds, 2)
    if "calibration" in result.extra:
        metrics["calibration"] = result.extra["calibration"]
    if external:
        from sw_nlp.evaluate import score_labelled

        metrics["external"] = {}
        for name, frame in external.items():
            scored = score_labelled(result.classifier, frame)
            metrics["external"][name] = {
                "n": scored["n"],
                "macro_f1": scored["macro_f1"],
                "accuracy": scored["accuracy"],
                "ece": scored["calibration"]["ece"],
                "mean_confidence": scored["mean_confidence"],
                "to_review": scored["at_threshold"]["to_review"],
                "accuracy_of_rest": scored["at_threshold"]["accuracy_of_rest"],
                "threshold_for_95": scored["threshold_for_target"]["threshold"],
            }
    manifest = save_bundle(
        out_dir,
        result.classifier,
        result.config,
        labels=result.labels,
        scheme=scheme,
        corpus=corpus_info,
        metrics=metrics,
    )
    if not test_rows.empty and scheme == 4 and with_report:
        from sw_nlp.report import build_report, write_report

        scored = corpus.assign(level=labels_for_scheme(corpus["level"], scheme))
        report = build_report(
            result.classifier, scored, cfg=result.config, cv=result.cv, external=external
        )
        write_report(
            report,
            Path(out_dir) / "report",
            title=f"sw-nlp evaluation report: {Path(out_dir).name}",
        )
    return manifest


def retrain(add: Path, data: Path, models_dir: Path, cfg: Config | None = None) -> dict[str, Any]:
    """Add labelled cases, train a challenger, compare it with the current model, register it.

    All under the registry's lock, so two retrains never interleave (the second stops with a
    message). The merged corpus is written to a staging copy and trained on there; the corpus
    file is replaced by it only once the challenger is registered, so a retrain stopped at any
    point leaves the corpus as it was (all or nothing), and no labelled row is lost: the
    staged copy is checked to hold every old and every added row. The frozen test split is
    left as it was. The challenger is registered, not promoted: ``sw-nlp models promote``
    decides.
    """
    from sw_nlp.registry import Registry

    registry = Registry.at(models_dir)
    with registry.lock("retrain"):
        return _retrain(Path(add), Path(data), registry, cfg)


def _retrain(add: Path, data: Path, registry: Any, cfg: Config | None) -> dict[str, Any]:
    import csv
    import shutil
    import tempfile

    from sw_nlp.bundle import load_model
    from sw_nlp.corpus import (
        corpus_duplicates,
        file_sha256,
        load_corpus,
        merge_cases,
        read_corpus_frame,
        read_new_cases,
    )
    from sw_nlp.errors import InputError, SwNlpError, listed
    from sw_nlp.report import build_report, write_report

    for stale in data.parent.glob(".retrain-*"):  # staging left by a retrain that was killed
        shutil.rmtree(stale, ignore_errors=True)
    new, notes = read_new_cases(add)
    before = file_sha256(data)
    existing = read_corpus_frame(data)
    merged, counts = merge_cases(existing, new)
    repeated = corpus_duplicates(existing, new)
    if not counts["added"]:
        # Training on the same corpus again gives the same model minutes later: stop here.
        error = InputError(
            f"nothing new to train on: all {len(new)} row(s) are already in the corpus "
            f"({counts['duplicate_id']} by case_id, {counts['duplicate_text']} by text); "
            "nothing was trained or registered",
            add,
        )
        error.details = listed(repeated)
        raise error
    notes = [*notes, *(f"{add}: {line}" for line in listed(repeated))]
    staging = Path(tempfile.mkdtemp(prefix=".retrain-", dir=data.parent))
    try:
        train_on = data
        if counts["added"]:
            train_on = staging / data.name  # same name: the manifest records the corpus file
            with open(train_on, "w", encoding="utf-8", newline="") as handle:
                merged.to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            written = len(read_corpus_frame(train_on))
            if written != len(existing) + counts["added"]:
                raise SwNlpError(
                    f"{data}: the merged corpus has {written} rows, expected "
                    f"{len(existing)} + {counts['added']}; the corpus was not changed"
                )
        champion_name = registry.current()
        champion = load_model(registry.path(champion_name))
        out = registry.new_version_dir()
        manifest = run_training(train_on, out, cfg, with_report=False)
        challenger = load_model(out)
        corpus = load_corpus(train_on)
        report = build_report(
            challenger,
            corpus,
            cfg=Config.from_dict(manifest["config"]),
            cv=manifest["metrics"]["cv"],
            other=champion,
            other_name=f"current ({champion_name})",
        )
        write_report(
            report, out / "report", title=f"sw-nlp challenger {out.name} vs {champion_name}"
        )
        comparison = report["comparison"]["difference_macro_f1"]
        if file_sha256(data) != before:
            raise SwNlpError(
                f"{data}: the corpus was changed by something else during the retrain; "
                f"nothing was registered or written (the challenger is in {out}, unregistered)"
            )
        registry.record(
            "register",
            out.name,
            champion=champion_name,
            added=counts,
            test_macro_f1=manifest["metrics"]["test"]["macro_f1"],
            difference_vs_champion=comparison,
        )
        if train_on != data:
            train_on.replace(data)  # same folder: an atomic rename
    except BaseException:
        registry.quarantine_half_made()  # the challenger, if its build had started
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("registered challenger %s (%d new cases)", out.name, counts["added"])
    return {
        "version": out.name,
        "path": out,
        "counts": counts,
        "notes": notes,
        "comparison": comparison,
        "challenger_macro_f1": manifest["metrics"]["test"]["macro_f1"],
        "champion": champion_name,
        "champion_macro_f1": report["comparison"]["other_test"]["macro_f1"],
    }
