"""Training: model selection by cross-validation on the train split, then one fit; and the
other figures that need fitting models (cross-validation of given settings, the learning curve).

The test split is never seen here, except by the learning curve, which scores models trained
on parts of the train split on it. The label set comes from the data, so the same code trains
on any labelled Indonesian text. Loading files, writing bundles and reports is the job of
``sw_nlp.workflows``, above this module.

Long because: every fit of the package goes through the
few helpers here (texts normalised once, one BLAS thread per fit, fits side by side with
progress as each ends): model selection, out-of-fold predictions, the report's
cross-validation and the learning curve share them, and splitting them apart would put the
same fold logic in two places.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import f1_score
from sklearn.model_selection import (
    ParameterGrid,
    PredefinedSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from sw_nlp.calibration import (
    apply_temperature,
    calibration_rows,
    fit_temperature,
    negative_log_likelihood,
)
from sw_nlp.calibration import summary as calibration_summary
from sw_nlp.config import Config
from sw_nlp.errors import InputError
from sw_nlp.evaluate import macro_f1
from sw_nlp.labels import to_three_levels
from sw_nlp.model import CaseClassifier, build_pipeline
from sw_nlp.preprocess import WordAnalyzer

log = logging.getLogger(__name__)

LEARNING_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
PARALLEL_MIN_CASES = 1000  # fewer cases are fitted in this process (see ``_processes``)


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
    Features are fitted once per fold and feature setting, so trying several ``C`` values
    costs one vectorisation per fold and tokenizer setting; each grid point is logged as its
    folds are done.
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
    points = list(
        ParameterGrid(
            [
                grid | {"features__word__min_df": [m], "features__char__min_df": [m]}
                for m in search.min_df
            ]
        )
    )
    results = _grid_scores(texts, labels, groups, splitter, points, cfg)
    best = one_standard_error_choice(results, folds)
    params = results["params"][best]
    chosen = _point_config(cfg, params)
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


def _point_config(cfg: Config, params: dict[str, Any]) -> Config:
    """The config of one grid point (``classify__C``, ``features__word__tokenizer``, …)."""
    analyzer: WordAnalyzer = params["features__word__tokenizer"]
    return cfg.replace(
        model={"C": float(params["classify__C"])},
        preprocess={"stem": analyzer.stem, "remove_stopwords": analyzer.remove_stopwords},
        features={
            "word_ngrams": tuple(params["features__word__ngram_range"]),
            "char_ngrams": tuple(params["features__char__ngram_range"]),
            "min_df": int(params["features__word__min_df"]),
        },
    )


def _grid_scores(
    texts: list[str],
    labels: list[str],
    groups: list[str] | None,
    splitter: Any,
    points: list[dict[str, Any]],
    cfg: Config,
) -> dict[str, Any]:
    """Macro-F1 of every grid point on every fold, as ``GridSearchCV.cv_results_`` has them
    (``params``, ``mean_test_score``, ``std_test_score``, ``split<k>_test_score``).

    The features are fitted once per fold and feature setting and reused for every ``C``,
    and the texts are normalised once for all. Each grid point is reported when its last
    fold is scored, so a long search shows where it is.
    """
    splits = list(splitter.split(texts, labels, groups))
    y = np.asarray(labels)
    by_features: dict[tuple[Any, ...], list[int]] = {}
    for i, params in enumerate(points):
        analyzer = params["features__word__tokenizer"]
        key = (
            analyzer.stem,
            analyzer.remove_stopwords,
            tuple(params["features__word__ngram_range"]),
            tuple(params["features__char__ngram_range"]),
            params["features__word__min_df"],
        )
        by_features.setdefault(key, []).append(i)
    scores = np.full((len(points), len(splits)), np.nan)
    # The normaliser reads no setting the grid varies: one pass serves every point.
    normalized_texts = normalize_texts(texts, cfg)
    jobs = [
        (
            f"fold {k + 1}/{len(splits)}",
            (members, k),
            delayed(_score_features)(
                normalized_texts, y, fit, held, [_point_config(cfg, points[i]) for i in members]
            ),
        )
        for members in by_features.values()
        for k, (fit, held) in enumerate(splits)
    ]
    log.info(
        "model selection: %d settings x %d folds on %d cases", len(points), len(splits), len(texts)
    )
    for _, (members, k), fold_scores in _run_parallel(jobs, _processes(cfg, len(texts))):
        scores[members, k] = fold_scores
        for i in members:
            if not np.isnan(scores[i]).any():
                log.info(
                    "grid point %d/%d (%s): macro-F1 %.4f ± %.4f",
                    i + 1,
                    len(points),
                    _describe(points[i]),
                    scores[i].mean(),
                    scores[i].std(),
                )
    results: dict[str, Any] = {
        "params": points,
        "mean_test_score": scores.mean(axis=1),
        "std_test_score": scores.std(axis=1),
    }
    for k in range(len(splits)):
        results[f"split{k}_test_score"] = scores[:, k]
    return results


def _score_features(
    normalized: list[str], y: np.ndarray, fit: np.ndarray, held: np.ndarray, configs: list[Config]
) -> list[float]:
    """One fold, one feature setting: fit the features once, then a model per ``C`` in
    ``configs``; each one's macro-F1 on the held-out rows (as the ``f1_macro`` scorer)."""
    with threadpool_limits(1):
        steps = build_pipeline(configs[0]).named_steps
        features = steps["features"]
        x_fit = features.fit_transform([normalized[i] for i in fit], y[fit])
        x_held = features.transform([normalized[i] for i in held])
        out = []
        for config in configs:
            model = build_pipeline(config).named_steps["classify"].fit(x_fit, y[fit])
            out.append(
                float(f1_score(y[held], model.predict(x_held), average="macro", zero_division=0))
            )
    return out


def _describe(params: dict[str, Any]) -> str:
    analyzer: WordAnalyzer = params["features__word__tokenizer"]
    return (
        f"C={params['classify__C']:g}, stem={analyzer.stem}, "
        f"stopwords removed={analyzer.remove_stopwords}, "
        f"word n-grams {tuple(params['features__word__ngram_range'])}, "
        f"char n-grams {tuple(params['features__char__ngram_range'])}, "
        f"min_df {params['features__word__min_df']}"
    )


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
    pipeline: Any = None
    if valid_rows.empty and single is not None:
        # One setting to try: its out-of-fold predictions give both the cross-validated score
        # and the calibration data, and the final fit needs nothing from them, so the folds
        # and the final model are fitted side by side, each fit once.
        chosen = single
        oof, classes, pipeline = out_of_fold_proba(texts, labels, chosen, groups, final=True)
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
    if pipeline is None and chosen.calibration.method == "temperature":
        log.info("calibration: out-of-fold predictions of the chosen settings")
        oof, _, pipeline = out_of_fold_proba(texts, labels, chosen, groups, final=True)
    if pipeline is None:
        log.info("fitting the final model on %d cases", len(texts))
        with threadpool_limits(1):
            pipeline = build_pipeline(chosen).fit(texts, labels)
    extra: dict[str, Any] = {}
    if chosen.calibration.method == "temperature":
        hard = train_rows["hard"].tolist() if "hard" in train_rows else None
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
    texts: list[str],
    labels: list[str],
    cfg: Config,
    groups: list[str] | None,
    *,
    final: bool = False,
) -> tuple[np.ndarray, list[str], Pipeline | None]:
    """Each training text's probabilities from a model that did not see it (same folds as
    model selection); columns in sorted label order, as the fitted pipeline has them.

    With ``final``, the model on all the texts is fitted in the same batch and returned too
    (else None): it needs nothing from the folds, so the two cores are kept busy.
    """
    splitter, folds = cv_splitter(cfg, labels, groups)
    classes = sorted(set(labels))
    normalized = normalize_texts(texts, cfg)
    y = np.asarray(labels)
    jobs: list[tuple[str, np.ndarray, np.ndarray | None]] = [
        (f"fold {k}/{folds}", fit, held)
        for k, (fit, held) in enumerate(splitter.split(texts, labels, groups), 1)
    ]
    if final:
        jobs.append(("final model", np.arange(len(texts)), None))
    log.info(
        "cross-validation: %d folds%s on %d cases, %d at a time",
        folds,
        " and the final model" if final else "",
        len(texts),
        max(1, min(_processes(cfg, len(texts)), len(jobs))),
    )
    proba = np.zeros((len(texts), len(classes)))
    fitted: Pipeline | None = None
    for name, held, result in _run_parallel(
        [(name, held, delayed(_fit_part)(normalized, y, fit, held, cfg)) for name, fit, held in jobs],
        _processes(cfg, len(texts)),
    ):
        if held is None:
            fitted = _with_normalizer(result, cfg)
            log.info("%s fitted", name)
            continue
        fold_classes, fold_proba = result
        columns = [classes.index(c) for c in fold_classes]
        proba[np.ix_(held, columns)] = fold_proba
        fold_f1 = macro_f1(y[held], np.asarray(classes)[proba[held].argmax(axis=1)], classes)
        log.info("%s done: macro-F1 %.4f on %d held-out cases", name, fold_f1, len(held))
    return proba, classes, fitted


def normalize_texts(texts: list[str], cfg: Config) -> list[str]:
    """The pipeline's first step on every text, once: it learns nothing from the data, so
    each fold, the final fit and the learning curve start from the same normalised texts."""
    return build_pipeline(cfg).named_steps["normalize"].transform(texts)


def _fit_part(
    normalized: list[str], y: np.ndarray, fit: np.ndarray, held: np.ndarray | None, cfg: Config
) -> Any:
    """Fit the features and the model on rows ``fit`` of normalised texts; return the
    probabilities (with the fitted classes) for rows ``held``, or the fitted steps if None.

    One BLAS thread per fit: the optimiser's vector work is small, and two threads per fit
    on two shared cores made one fit three times slower (measured, benchmarks/README.md).
    """
    steps = Pipeline(build_pipeline(cfg).steps[1:])
    with threadpool_limits(1):
        steps.fit([normalized[i] for i in fit], y[fit].tolist())
        if held is None:
            return steps
        return list(steps.classes_), steps.predict_proba([normalized[i] for i in held])


def _with_normalizer(steps: Pipeline, cfg: Config) -> Pipeline:
    """The full pipeline: the (stateless) normaliser in front of steps fitted on its output."""
    return Pipeline([build_pipeline(cfg).steps[0], *steps.steps])


def _processes(cfg: Config, cases: int) -> int:
    """``n_jobs``, or 1 below ``PARALLEL_MIN_CASES``: starting worker processes (each imports
    scikit-learn) takes longer than fitting a few hundred texts. Same numbers either way."""
    return cfg.search.n_jobs if cases >= PARALLEL_MIN_CASES else 1


def _run_parallel(jobs: list[tuple[str, Any, Any]], n_jobs: int) -> Any:
    """Run ``(name, tag, delayed call)`` jobs on ``n_jobs`` processes; yield ``(name, tag,
    result)`` as each finishes, so progress is reported per fold rather than at the end."""
    if n_jobs == 1 or len(jobs) == 1:
        for name, tag, (function, args, kwargs) in jobs:
            yield name, tag, function(*args, **kwargs)
        return
    runner = Parallel(n_jobs=min(n_jobs, len(jobs)), return_as="generator_unordered")
    tagged = [delayed(_tagged)(i, call) for i, (_, _, call) in enumerate(jobs)]
    for i, result in runner(tagged):
        yield jobs[i][0], jobs[i][1], result


def _tagged(i: int, call: tuple[Any, tuple[Any, ...], dict[str, Any]]) -> tuple[int, Any]:
    function, args, kwargs = call
    return i, function(*args, **kwargs)


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


def cross_validate(train: pd.DataFrame, cfg: Config) -> dict[str, Any]:
    """Stratified k-fold macro-F1 of the configured settings on the train split: the
    report's figure for a model whose own model-selection record is not for this corpus."""
    texts, labels = train["text"].tolist(), train["level"].tolist()
    groups = train[cfg.search.group_by].tolist() if cfg.search.group_by in train else None
    splitter, folds = cv_splitter(cfg, labels, groups)
    classes = sorted(set(labels))
    y = np.asarray(labels)
    scores = [
        macro_f1(y[held], np.asarray(fold_classes)[proba.argmax(axis=1)], classes)
        for held, (fold_classes, proba) in _held_out(texts, y, splitter.split(texts, labels, groups), cfg)
    ]
    return {
        "folds": folds,
        "grouped_by": cfg.search.group_by if groups else None,
        "macro_f1_mean": float(np.mean(scores)),
        "macro_f1_sd": float(np.std(scores)),
        "fold_scores": scores,
    }


def _held_out(
    texts: list[str], y: np.ndarray, splits: Any, cfg: Config
) -> list[tuple[np.ndarray, tuple[list[str], np.ndarray]]]:
    """For each ``(fit, held)`` split, in split order: the held rows and the classes and
    probabilities a model fitted on the fit rows gives them (fits in parallel)."""
    normalized = normalize_texts(texts, cfg)
    jobs = [
        (f"fold {k}", held, delayed(_fit_part)(normalized, y, fit, held, cfg))
        for k, (fit, held) in enumerate(splits, 1)
    ]
    runs = _run_parallel(jobs, _processes(cfg, len(texts)))
    done = {name: (held, result) for name, held, result in runs}
    for name, _, _ in jobs:
        log.info("%s done", name)
    return [done[name] for name, _, _ in jobs]


def learning_curve(
    train: pd.DataFrame,
    test: pd.DataFrame,
    cfg: Config,
    labels: list[str],
    final: Any = None,
) -> list[dict[str, float]]:
    """Test macro-F1 when training on growing stratified shares of the train split.

    ``final``, a model already fitted on the whole train split with these settings (as
    ``sw-nlp train`` has), gives the last point without fitting it again; its calibration
    scales the scores and leaves the predicted level as it is.
    """
    rng = np.random.default_rng(cfg.search.seed)
    shuffled = {
        level: rng.permutation(np.flatnonzero(train["level"].to_numpy() == level))
        for level in sorted(train["level"].unique())
    }
    parts = []
    for fraction in LEARNING_FRACTIONS:
        take = np.concatenate(
            [idx[: max(2, math.ceil(len(idx) * fraction))] for idx in shuffled.values()]
        )
        parts.append((fraction, np.sort(take)))
    texts, test_texts = train["text"].tolist(), test["text"].tolist()
    normalized = normalize_texts(texts + test_texts, cfg)
    y = np.concatenate([train["level"].to_numpy(), test["level"].to_numpy()])
    held = np.arange(len(texts), len(texts) + len(test_texts))
    jobs = [
        (f"learning curve: {len(rows)} cases", fraction, delayed(_fit_part)(normalized, y, rows, held, cfg))
        for fraction, rows in parts
        if not (final is not None and len(rows) == len(texts))
    ]
    predicted: dict[float, Any] = {}
    for name, fraction, (fold_classes, proba) in _run_parallel(jobs, _processes(cfg, len(texts))):
        predicted[fraction] = np.asarray(fold_classes)[proba.argmax(axis=1)]
        log.info("%s done", name)
    points = []
    for fraction, rows in parts:
        pred = predicted[fraction] if fraction in predicted else final.predict(test_texts)
        points.append(
            {
                "fraction": fraction,
                "n_train": int(len(rows)),
                "macro_f1": macro_f1(test["level"], pred, labels),
            }
        )
    return points
