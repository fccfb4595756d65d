"""What the training commands do, end to end: ``sw-nlp train``, ``retrain``, ``evaluate`` and
``models promote``.

The top of the library (only the CLI is above it): it loads the corpus, calls ``sw_nlp.train``
to select and fit, ``sw_nlp.evaluate`` for the numbers, ``sw_nlp.report`` to render them,
``sw_nlp.bundle`` to write the model and ``sw_nlp.registry`` to register it. None of those
imports this module, so every arrow points down.
"""

from __future__ import annotations

import csv
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from sw_nlp.bundle import load_model, save_bundle
from sw_nlp.config import Config
from sw_nlp.corpus import (
    corpus_duplicates,
    file_sha256,
    load_corpus,
    merge_cases,
    read_corpus_frame,
    read_new_cases,
)
from sw_nlp.errors import InputError, SwNlpError, listed
from sw_nlp.evaluate import build_report, evaluate, score_labelled
from sw_nlp.files import open_cases
from sw_nlp.model import CaseClassifier
from sw_nlp.registry import Registry, last_classified
from sw_nlp.report import write_report
from sw_nlp.train import cross_validate, labels_for_scheme, learning_curve, train

log = logging.getLogger(__name__)


def evaluation_report(
    clf: CaseClassifier,
    corpus: pd.DataFrame,
    *,
    cfg: Config,
    cv: dict[str, Any] | None = None,
    other: CaseClassifier | None = None,
    other_name: str = "other",
    with_learning_curve: bool = True,
    external: dict[str, pd.DataFrame] | None = None,
    trained_here: bool = False,
) -> dict[str, Any]:
    """The report's numbers for a fitted model: the figures that need training (cross-
    validation when ``cv`` is not given, the learning curve) from ``sw_nlp.train``, the rest
    from ``sw_nlp.evaluate.build_report``. ``trained_here``: ``clf`` was just fitted on this
    corpus's whole train split with ``cfg``, so it is the learning curve's last point."""
    train_rows = corpus[corpus["split"] == "train"]
    test_rows = corpus[corpus["split"] == "test"]
    if cv is None:
        cv = cross_validate(train_rows, cfg)
    curve = None
    if with_learning_curve and not test_rows.empty:
        final = clf if trained_here else None
        curve = learning_curve(train_rows, test_rows, cfg, clf.classes_, final=final)
    return build_report(
        clf,
        corpus,
        cfg=cfg,
        cv=cv,
        learning_curve=curve,
        other=other,
        other_name=other_name,
        external=external,
    )


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
        scored = corpus.assign(level=labels_for_scheme(corpus["level"], scheme))
        report = evaluation_report(
            result.classifier,
            scored,
            cfg=result.config,
            cv=result.cv,
            external=external,
            trained_here=True,
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
    registry = Registry.at(models_dir)
    with registry.lock("retrain"):
        return _retrain(Path(add), Path(data), registry, cfg)


def _retrain(add: Path, data: Path, registry: Any, cfg: Config | None) -> dict[str, Any]:
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
        report = evaluation_report(
            challenger,
            corpus,
            cfg=Config.from_dict(manifest["config"]),
            cv=manifest["metrics"]["cv"],
            other=champion,
            other_name=f"current ({champion_name})",
            trained_here=True,
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


def promote(
    version: str,
    corpus_path: Path,
    models_dir: Path,
    *,
    force: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    """What ``sw-nlp models promote`` does: the gate on the corpus's test split, and the
    effect on review workload there and on the last classified file, when it can be read
    exactly as ``classify`` read it."""
    registry = Registry.at(models_dir)
    return registry.promote(
        version,
        load_corpus(corpus_path),
        force=force,
        reason=reason,
        workload=last_classified_texts(models_dir),
    )


def last_classified_texts(models_dir: Path) -> dict[str, Any] | None:
    """The texts of the file ``classify`` read last, read the same way (same text column,
    sheet, header row and format), if it is still there with the same sha256; else why not.

    None when no file was recorded. Only rows read without an error count: the others get
    no level from either model. The texts are used to count, never stored or shown.
    """
    record = last_classified(models_dir)
    if record is None:
        return None
    path = Path(record["path"])
    shown = {"path": str(path), "rows_recorded": record.get("rows")}
    if not path.is_file():
        return shown | {"why": "the file is no longer there"}
    if file_sha256(path) != record.get("sha256"):
        return shown | {"why": "the file has changed since it was classified"}
    try:
        source = open_cases(
            path,
            text_column=record.get("text_column"),
            sheet=record.get("sheet"),
            format=record.get("format"),
            header_row=record.get("header_row"),
        )
        texts: list[str] = []
        rows = 0
        for chunk in source.chunks:
            rows += len(chunk.texts)
            texts += [t for t, error in zip(chunk.texts, chunk.errors, strict=True) if not error]
    except SwNlpError as error:
        return shown | {"why": f"it could not be read again: {error}"}
    if record.get("rows") is not None and rows != record["rows"]:
        return shown | {"why": f"it reads as {rows} rows now, {record['rows']} then"}
    return shown | {"texts": texts, "rows": rows}
