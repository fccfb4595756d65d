"""The evaluation report: ``metrics.json`` for machines, ``report.md`` and a self-contained
``report.html`` for analysts.

``build_report`` computes everything (pure, no I/O); ``write_report`` draws the figures and
writes the files. Text excerpts appear only where an analyst needs them (misclassified and
disagreeing cases), shortened and with identifiers masked.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sw_nlp.checklist import run_checklist
from sw_nlp.config import Config
from sw_nlp.evaluate import (
    bootstrap_ci,
    breakdown,
    calibration,
    coverage_curve,
    keyword_baseline,
    macro_f1,
    majority_baseline,
    paired_bootstrap,
    review_outcome,
    score,
    score_labelled,
    top_terms_per_level,
)
from sw_nlp.model import CaseClassifier, build_pipeline
from sw_nlp.pii import mask_pii
from sw_nlp.train import cv_splitter
from sw_nlp.validate import summarise

log = logging.getLogger(__name__)

EXCERPT_CHARS = 280
LEARNING_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A masked, single-line, shortened view of a case text."""
    flat = " ".join(mask_pii(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def cross_validate(train: pd.DataFrame, cfg: Config) -> dict[str, Any]:
    """Stratified k-fold macro-F1 of the configured pipeline on the train split."""
    labels = train["level"].tolist()
    groups = train[cfg.search.group_by].tolist() if cfg.search.group_by in train else None
    splitter, folds = cv_splitter(cfg, labels, groups)
    scores = []
    for fit_idx, val_idx in splitter.split(train["text"], labels, groups):
        pipe = build_pipeline(cfg).fit(
            train["text"].iloc[fit_idx].tolist(), [labels[i] for i in fit_idx]
        )
        pred = pipe.predict(train["text"].iloc[val_idx].tolist())
        scores.append(macro_f1([labels[i] for i in val_idx], pred, sorted(set(labels))))
    return {
        "folds": folds,
        "grouped_by": cfg.search.group_by if groups else None,
        "macro_f1_mean": float(np.mean(scores)),
        "macro_f1_sd": float(np.std(scores)),
        "fold_scores": scores,
    }


def learning_curve(
    train: pd.DataFrame, test: pd.DataFrame, cfg: Config, labels: list[str]
) -> list[dict[str, float]]:
    """Test macro-F1 when training on growing stratified shares of the train split."""
    rng = np.random.default_rng(cfg.search.seed)
    shuffled = {
        level: rng.permutation(np.flatnonzero(train["level"].to_numpy() == level))
        for level in sorted(train["level"].unique())
    }
    points = []
    for fraction in LEARNING_FRACTIONS:
        take = np.concatenate(
            [idx[: max(2, math.ceil(len(idx) * fraction))] for idx in shuffled.values()]
        )
        part = train.iloc[np.sort(take)]
        pipe = build_pipeline(cfg).fit(part["text"].tolist(), part["level"].tolist())
        pred = pipe.predict(test["text"].tolist())
        points.append(
            {
                "fraction": fraction,
                "n_train": int(len(part)),
                "macro_f1": macro_f1(test["level"], pred, labels),
            }
        )
    return points


def build_report(
    clf: CaseClassifier,
    corpus: pd.DataFrame,
    *,
    cfg: Config,
    cv: dict[str, Any] | None = None,
    other: CaseClassifier | None = None,
    other_name: str = "other",
    with_learning_curve: bool = True,
    external: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Everything in the report, as a JSON-ready dict (the content of ``metrics.json``).

    ``external`` names labelled sets the model never trained on (the real-text yardstick
    above all); they are scored beside the test split, as figures only.
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
        "cv": cv if cv is not None else cross_validate(train, cfg),
        "review_threshold": clf.review.threshold,
    }
    report["test"]["ci95"] = bootstrap_ci(truth, pred, labels)
    report["test"]["mean_confidence"] = float(proba.max(axis=1).mean())
    report["settings_compared"] = settings_compared(report["cv"], cfg)
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
    if with_learning_curve:
        report["learning_curve"] = learning_curve(train, test, cfg, labels)
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


# --- writing ----------------------------------------------------------------------------------


def figures(report: dict[str, Any]) -> dict[str, bytes]:
    from sw_nlp import plots

    out = {
        "confusion": plots.confusion_figure(report["test"]["confusion"], report["test"]["labels"]),
        "reliability": plots.reliability_figure(report["calibration"]),
        "coverage": plots.coverage_figure(report["coverage"], report["review_threshold"]),
    }
    if report.get("learning_curve"):
        out["learning_curve"] = plots.learning_curve_figure(report["learning_curve"])
    return out


def write_report(
    report: dict[str, Any], out_dir: Path, title: str = "sw-nlp evaluation report"
) -> dict[str, Path]:
    """Write metrics.json, report.md (with figures/*.png) and a self-contained report.html."""
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    images = figures(report)
    for name, png in images.items():
        (out_dir / "figures" / f"{name}.png").write_bytes(png)
    paths = {
        "json": out_dir / "metrics.json",
        "md": out_dir / "report.md",
        "html": out_dir / "report.html",
    }
    paths["json"].write_text(
        json.dumps(report, indent=2, ensure_ascii=False, default=_json_default) + "\n", "utf-8"
    )
    sections = _sections(report)
    paths["md"].write_text(
        _markdown(title, sections, {k: f"figures/{k}.png" for k in images}), "utf-8"
    )
    data_uris = {
        k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in images.items()
    }
    paths["html"].write_text(_html(title, sections, data_uris), "utf-8")
    log.info("wrote report to %s", out_dir)
    return paths


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _f(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


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


def _sections(r: dict[str, Any]) -> list[tuple[str, str, list[list[str]] | None, str | None]]:
    """(heading, prose, table rows with a header row first, figure name) in report order."""
    t, cv, ci = r["test"], r["cv"], r["test"]["ci95"]
    out: list[tuple[str, str, list[list[str]] | None, str | None]] = []
    d = r["data"]
    splits = list(d["level_by_split"])
    out.append(
        (
            "Data",
            f"{d['rows']} cases; words per text: min {d['words']['min']}, median {d['words']['median']:g}, max {d['words']['max']} "
            f"({d['words']['share_under_30']:.0%} under 30 words, {d['words']['share_over_120']:.0%} over 120).",
            [["level", *splits]]
            + [
                [lv, *[str(d["level_by_split"][s].get(lv, 0)) for s in splits]]
                for lv in d["per_level"]
            ],
            None,
        )
    )
    out.append(
        (
            "Registers",
            "",
            [["register", "cases"]] + [[k, str(v)] for k, v in d["per_register"].items()],
            None,
        )
    )
    out.append(
        (
            "Headline figures (test split)",
            f"n = {t['n']}. 95% intervals from 1,000 bootstrap resamples of the test cases. Cross-validated macro-F1 on the train split "
            f"({cv['folds']} folds{', grouped by ' + cv['grouped_by'] + ' so that each fold holds topics the model has not seen' if cv.get('grouped_by') else ''}): "
            f"{cv['macro_f1_mean']:.3f} ± {cv['macro_f1_sd']:.3f}.",
            [
                ["metric", "value", "95% interval"],
                [
                    "accuracy",
                    _f(t["accuracy"]),
                    f"{ci['accuracy'][0]:.3f} – {ci['accuracy'][1]:.3f}",
                ],
                [
                    "macro-F1",
                    _f(t["macro_f1"]),
                    f"{ci['macro_f1'][0]:.3f} – {ci['macro_f1'][1]:.3f}",
                ],
                [
                    "weighted-F1",
                    _f(t["weighted_f1"]),
                    f"{ci['weighted_f1'][0]:.3f} – {ci['weighted_f1'][1]:.3f}",
                ],
            ],
            None,
        )
    )
    if r.get("external"):
        rows = [["set", "n", "accuracy", "macro-F1 (95% interval)", "mean confidence", "ECE",
                 f"flagged at {r['review_threshold']:g}", "right when not flagged",
                 "threshold for 95% right", "flagged there"]]
        test_cal = r["calibration"]["ece"]
        rows.append(
            ["corpus test split", str(t["n"]), _f(t["accuracy"]),
             f"{t['macro_f1']:.3f} ({ci['macro_f1'][0]:.3f} – {ci['macro_f1'][1]:.3f})",
             _f(t.get("mean_confidence")), _f(test_cal), _f(r["at_threshold"]["to_review"]),
             _f(r["at_threshold"]["accuracy_of_rest"]), "", ""]
        )
        for name, e in r["external"].items():
            best = e["threshold_for_target"]
            rows.append(
                [name, str(e["n"]), _f(e["accuracy"]),
                 f"{e['macro_f1']:.3f} ({e['ci95']['macro_f1'][0]:.3f} – {e['ci95']['macro_f1'][1]:.3f})",
                 _f(e["mean_confidence"]), _f(e["calibration"]["ece"]),
                 _f(e["at_threshold"]["to_review"]), _f(e["at_threshold"]["accuracy_of_rest"]),
                 _f(best["threshold"]), _f(best["to_review"])]
            )
        out.append(
            (
                "Beside the test split: texts written by others",
                "The corpus test split shares writers and brief with the training data and "
                "overstates what users get. Sets written by other people are the better "
                "guide. 'Flagged' counts every review rule (low confidence, very short text, "
                "mostly unknown words), as batch output flags rows.",
                rows,
                None,
            )
        )
    if r.get("checklist"):
        out.append(
            (
                "Behaviour: does it read the target or the actor?",
                "Template sentences, for measuring only (never trained on). Invariance: one "
                "target with eight actors, from a kabupaten BNN to UNICEF; a case fails when the "
                "actors get different levels. Directional: the target widened step by step, from "
                "one person to several countries; a step fails when the level goes down.",
                [["check", "cases", "failures", "failure rate", "sentences given the expected level"]]
                + [
                    [c["kind"], str(c["cases"]), str(c["failures"]), _f(c["failure_rate"]),
                     _f(c["expected_right"])]
                    for c in r["checklist"]
                ],
                None,
            )
        )
    if r.get("settings_compared"):
        out.append(
            (
                "Settings compared",
                "Each setting model selection tried, with the best cross-validated macro-F1 "
                "reached with each of its values (± sd over folds). Settings that differ by less "
                "than the sd are a tie; the one-standard-error rule then prefers the most "
                "regularised model. Public-data evidence for the same choices (NusaX "
                "sentiment): `benchmarks/public/RESULTS.md`.",
                [["setting", "value", "best CV macro-F1", "in use"]]
                + [
                    [
                        s["setting"],
                        s["value"],
                        f"{s['macro_f1_mean']:.3f} ± {s['macro_f1_sd']:.3f}",
                        "yes" if s["in_use"] else "",
                    ]
                    for s in r["settings_compared"]
                ],
                None,
            )
        )
    out.append(
        (
            "Per level",
            "",
            [["level", "precision", "recall", "F1", "support"]]
            + [
                [lv, _f(v["precision"]), _f(v["recall"]), _f(v["f1"]), str(v["support"])]
                for lv, v in t["per_class"].items()
            ],
            None,
        )
    )
    out.append(
        (
            "Confusion matrix",
            "Rows are the true level, columns the predicted one.",
            None,
            "confusion",
        )
    )
    at = r["at_threshold"]
    out.append(
        (
            "Calibration",
            f"Expected calibration error {r['calibration']['ece']:.3f}: how far the model's confidence is from its accuracy.",
            None,
            "reliability",
        )
    )
    out.append(
        (
            "Review threshold",
            f"At the current threshold ({r['review_threshold']:.2f}) {at['to_review']:.0%} of test cases go to review and the rest are "
            f"{_f(at['accuracy_of_rest'])} accurate. Pick the threshold where the accuracy of the rest is what your office needs.",
            [["threshold", "sent to review", "accuracy of the rest"]]
            + [
                [f"{c['threshold']:.2f}", f"{c['to_review']:.0%}", _f(c["accuracy_of_rest"])]
                for c in r["coverage"]
            ],
            "coverage",
        )
    )
    out.append(_breakdown("By register", "", "register", r["by_register"]))
    out.append(
        _breakdown(
            "Hard cases",
            "`hard` cases carry cues that point to another level (e.g. a national agency helping one family).",
            "hard",
            r["by_hard"],
        )
    )
    out.append(
        (
            "Baselines",
            "Same test split. Keyword rules are written from the label contract (`sw_nlp/resources/keyword_rules.toml`).",
            [["model", "macro-F1", "accuracy"]]
            + [[k, _f(v["macro_f1"]), _f(v["accuracy"])] for k, v in r["baselines"].items()],
            None,
        )
    )
    if r.get("learning_curve"):
        lc = r["learning_curve"]
        out.append(
            (
                "Learning curve",
                "Test macro-F1 when training on part of the train split. A curve still rising at the right means more labelled cases will help.",
                [["training cases", "macro-F1"]]
                + [[str(p["n_train"]), _f(p["macro_f1"])] for p in lc],
                "learning_curve",
            )
        )
    out.append(
        (
            "Top terms per level",
            "Word features with the largest weight towards each level.",
            [["level", "terms"]]
            + [[lv, ", ".join(term for term, _ in terms)] for lv, terms in r["top_terms"].items()],
            None,
        )
    )
    out.append(
        (
            "Misclassified test cases",
            f"{len(r['misclassified'])} cases; identifiers masked.",
            [["case", "register", "true", "predicted", "confidence", "top terms", "excerpt"]]
            + [
                [
                    m["case_id"],
                    m["register"],
                    m["true"],
                    m["predicted"],
                    _f(m["confidence"]),
                    ", ".join(f"{a} {b:+.2f}" for a, b in m["top_terms"]),
                    m["excerpt"],
                ]
                for m in r["misclassified"]
            ],
            None,
        )
    )
    if "comparison" in r:
        c = r["comparison"]
        dm = c["difference_macro_f1"]
        out.append(
            (
                f"Comparison with {c['other']}",
                f"Macro-F1: this model {t['macro_f1']:.3f}, {c['other']} {c['other_test']['macro_f1']:.3f}; difference {dm['difference']:+.3f} "
                f"(paired bootstrap 95% interval {dm['low']:+.3f} to {dm['high']:+.3f}). They disagree on {len(c['disagreements'])} cases. "
                + _gate_prose(dm),
                [["case", "true", "this", c["other"], "excerpt"]]
                + [
                    [x["case_id"], x["true"], x["this"], x["other"], x["excerpt"]]
                    for x in c["disagreements"]
                ],
                None,
            )
        )
    return out


def _gate_prose(difference: dict[str, Any]) -> str:
    """The promotion gate's rule and what it says of this comparison, so that the analyst
    reading the report knows before running ``promote`` whether it will be refused."""
    from sw_nlp.registry import GATE_RULE, gate_refuses

    if "share_b_better" not in difference:
        return f"Promotion gate: {GATE_RULE}"
    verdict = "would refuse" if gate_refuses(difference) else "would let through"
    return (
        f"Better in {difference['share_b_better']:.1%} of resamples: the promotion gate "
        f"{verdict} this model. Promotion gate: {GATE_RULE}"
    )


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _markdown(title: str, sections: list, images: dict[str, str]) -> str:
    lines = [f"# {title}", ""]
    for heading, prose, table, figure in sections:
        lines += [f"## {heading}", ""]
        if prose:
            lines += [prose, ""]
        if figure and figure in images:
            lines += [f"![{heading}]({images[figure]})", ""]
        if table:
            lines.append("| " + " | ".join(_md_cell(c) for c in table[0]) + " |")
            lines.append("|" + " --- |" * len(table[0]))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table[1:]]
            lines.append("")
    return "\n".join(lines)


def _html(title: str, sections: list, images: dict[str, str]) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}",
        "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}",
        "th{background:#f3f3f3}img{max-width:100%;margin:.5em 0}h2{border-bottom:1px solid #ddd;padding-bottom:.2em}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for heading, prose, table, figure in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if prose:
            parts.append(f"<p>{html.escape(prose)}</p>")
        if figure and figure in images:
            parts.append(f"<img alt='{html.escape(heading)}' src='{images[figure]}'>")
        if table:
            parts.append(
                "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in table[0]) + "</tr>"
            )
            parts += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in table[1:]
            ]
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _breakdown(
    title: str, note: str, column: str, groups: dict[str, dict[str, Any]]
) -> tuple[str, str, list[list[str]], None]:
    """A report section: n, accuracy and macro-F1 for each group of test cases."""
    rows = [[k, str(v["n"]), _f(v["accuracy"]), _f(v["macro_f1"])] for k, v in groups.items()]
    return title, note, [[column, "n", "accuracy", "macro-F1"], *rows], None
