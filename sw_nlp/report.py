"""The evaluation report rendered: ``metrics.json`` for machines, ``report.md`` and a
self-contained ``report.html`` for analysts, with the figures as PNG.

Rendering only: the numbers come from ``sw_nlp.evaluate.build_report`` (and the training
figures it is given). Each section of the report is one small function in ``SECTIONS`` that
reads the numbers and returns a ``Section`` (or None when the report has nothing for it), so
adding a section is one function and one line. Case text appears only as the masked excerpts
the numbers already hold.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from sw_nlp.evaluate import GATE_RULE, gate_refuses

log = logging.getLogger(__name__)

Report = dict[str, Any]


class Section(NamedTuple):
    """One part of the report: a heading, a paragraph, a table (header row first), a figure."""

    heading: str
    prose: str = ""
    table: list[list[str]] | None = None
    figure: str | None = None


def figures(report: Report) -> dict[str, bytes]:
    """The report's figures as PNG bytes, by name (matplotlib is imported only here)."""
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
    report: Report, out_dir: Path, title: str = "sw-nlp evaluation report"
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
    paths["md"].write_text(
        markdown(report, title, {k: f"figures/{k}.png" for k in images}), "utf-8"
    )
    data_uris = {
        k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in images.items()
    }
    paths["html"].write_text(html_page(report, title, data_uris), "utf-8")
    log.info("wrote report to %s", out_dir)
    return paths


def sections(report: Report) -> list[Section]:
    """The report's sections in order: those with something to show."""
    return [section for make in SECTIONS if (section := make(report)) is not None]


def markdown(report: Report, title: str, images: dict[str, str]) -> str:
    """The report as Markdown; ``images`` maps a figure name to its link."""
    lines = [f"# {title}", ""]
    for heading, prose, table, figure in sections(report):
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


def html_page(report: Report, title: str, images: dict[str, str]) -> str:
    """The report as one HTML page; ``images`` maps a figure name to its (data) URI."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}",
        "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}",
        "th{background:#f3f3f3}img{max-width:100%;margin:.5em 0}h2{border-bottom:1px solid #ddd;padding-bottom:.2em}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for heading, prose, table, figure in sections(report):
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


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _f(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _interval(pair: list[float]) -> str:
    return f"{pair[0]:.3f} – {pair[1]:.3f}"


# --- the sections, in report order --------------------------------------------------------------


def data_section(r: Report) -> Section:
    d = r["data"]
    words = d["words"]
    splits = list(d["level_by_split"])
    return Section(
        "Data",
        f"{d['rows']} cases; words per text: min {words['min']}, median {words['median']:g}, "
        f"max {words['max']} ({words['share_under_30']:.0%} under 30 words, "
        f"{words['share_over_120']:.0%} over 120).",
        [["level", *splits]]
        + [
            [lv, *[str(d["level_by_split"][s].get(lv, 0)) for s in splits]]
            for lv in d["per_level"]
        ],
    )


def registers_section(r: Report) -> Section:
    return Section(
        "Registers",
        table=[["register", "cases"]]
        + [[k, str(v)] for k, v in r["data"]["per_register"].items()],
    )


def headline_section(r: Report) -> Section:
    t, cv, ci = r["test"], r["cv"], r["test"]["ci95"]
    grouped = (
        f", grouped by {cv['grouped_by']} so that each fold holds topics the model has not seen"
        if cv.get("grouped_by")
        else ""
    )
    return Section(
        "Headline figures (test split)",
        f"n = {t['n']}. 95% intervals from 1,000 bootstrap resamples of the test cases. "
        f"Cross-validated macro-F1 on the train split ({cv['folds']} folds{grouped}): "
        f"{cv['macro_f1_mean']:.3f} ± {cv['macro_f1_sd']:.3f}.",
        [
            ["metric", "value", "95% interval"],
            ["accuracy", _f(t["accuracy"]), _interval(ci["accuracy"])],
            ["macro-F1", _f(t["macro_f1"]), _interval(ci["macro_f1"])],
            ["weighted-F1", _f(t["weighted_f1"]), _interval(ci["weighted_f1"])],
        ],
    )


def external_section(r: Report) -> Section | None:
    if not r.get("external"):
        return None
    t, ci, at = r["test"], r["test"]["ci95"], r["at_threshold"]
    rows = [
        ["set", "n", "accuracy", "macro-F1 (95% interval)", "mean confidence", "ECE",
         f"flagged at {r['review_threshold']:g}", "right when not flagged",
         "threshold for 95% right", "flagged there"],
        ["corpus test split", str(t["n"]), _f(t["accuracy"]),
         f"{t['macro_f1']:.3f} ({_interval(ci['macro_f1'])})", _f(t.get("mean_confidence")),
         _f(r["calibration"]["ece"]), _f(at["to_review"]), _f(at["accuracy_of_rest"]), "", ""],
    ]  # fmt: skip
    for name, e in r["external"].items():
        best = e["threshold_for_target"]
        rows.append(
            [name, str(e["n"]), _f(e["accuracy"]),
             f"{e['macro_f1']:.3f} ({_interval(e['ci95']['macro_f1'])})",
             _f(e["mean_confidence"]), _f(e["calibration"]["ece"]),
             _f(e["at_threshold"]["to_review"]), _f(e["at_threshold"]["accuracy_of_rest"]),
             _f(best["threshold"]), _f(best["to_review"])]
        )  # fmt: skip
    return Section(
        "Beside the test split: texts written by others",
        "The corpus test split shares writers and brief with the training data and "
        "overstates what users get. Sets written by other people are the better "
        "guide. 'Flagged' counts every review rule (low confidence, very short text, "
        "mostly unknown words), as batch output flags rows.",
        rows,
    )


def checklist_section(r: Report) -> Section | None:
    if not r.get("checklist"):
        return None
    return Section(
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
        ],  # fmt: skip
    )


def settings_section(r: Report) -> Section | None:
    if not r.get("settings_compared"):
        return None
    return Section(
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
    )


def per_level_section(r: Report) -> Section:
    return Section(
        "Per level",
        table=[["level", "precision", "recall", "F1", "support"]]
        + [
            [lv, _f(v["precision"]), _f(v["recall"]), _f(v["f1"]), str(v["support"])]
            for lv, v in r["test"]["per_class"].items()
        ],
    )


def confusion_section(r: Report) -> Section:
    return Section(
        "Confusion matrix", "Rows are the true level, columns the predicted one.", None, "confusion"
    )


def calibration_section(r: Report) -> Section:
    return Section(
        "Calibration",
        f"Expected calibration error {r['calibration']['ece']:.3f}: how far the model's "
        "confidence is from its accuracy.",
        None,
        "reliability",
    )


def review_section(r: Report) -> Section:
    at = r["at_threshold"]
    return Section(
        "Review threshold",
        f"At the current threshold ({r['review_threshold']:.2f}) {at['to_review']:.0%} of test "
        f"cases go to review and the rest are {_f(at['accuracy_of_rest'])} accurate. Pick the "
        "threshold where the accuracy of the rest is what your office needs.",
        [["threshold", "sent to review", "accuracy of the rest"]]
        + [
            [f"{c['threshold']:.2f}", f"{c['to_review']:.0%}", _f(c["accuracy_of_rest"])]
            for c in r["coverage"]
        ],
        "coverage",
    )


def _breakdown(title: str, note: str, column: str, groups: dict[str, Any]) -> Section:
    """n, accuracy and macro-F1 for each group of test cases."""
    rows = [[k, str(v["n"]), _f(v["accuracy"]), _f(v["macro_f1"])] for k, v in groups.items()]
    return Section(title, note, [[column, "n", "accuracy", "macro-F1"], *rows])


def register_breakdown_section(r: Report) -> Section:
    return _breakdown("By register", "", "register", r["by_register"])


def hard_section(r: Report) -> Section:
    return _breakdown(
        "Hard cases",
        "`hard` cases carry cues that point to another level (e.g. a national agency helping "
        "one family).",
        "hard",
        r["by_hard"],
    )


def baselines_section(r: Report) -> Section:
    return Section(
        "Baselines",
        "Same test split. Keyword rules are written from the label contract "
        "(`sw_nlp/resources/keyword_rules.toml`).",
        [["model", "macro-F1", "accuracy"]]
        + [[k, _f(v["macro_f1"]), _f(v["accuracy"])] for k, v in r["baselines"].items()],
    )


def learning_curve_section(r: Report) -> Section | None:
    if not r.get("learning_curve"):
        return None
    return Section(
        "Learning curve",
        "Test macro-F1 when training on part of the train split. A curve still rising at the "
        "right means more labelled cases will help.",
        [["training cases", "macro-F1"]]
        + [[str(p["n_train"]), _f(p["macro_f1"])] for p in r["learning_curve"]],
        "learning_curve",
    )


def top_terms_section(r: Report) -> Section:
    return Section(
        "Top terms per level",
        "Word features with the largest weight towards each level.",
        [["level", "terms"]]
        + [[lv, ", ".join(term for term, _ in terms)] for lv, terms in r["top_terms"].items()],
    )


def misclassified_section(r: Report) -> Section:
    return Section(
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
    )


def comparison_section(r: Report) -> Section | None:
    if "comparison" not in r:
        return None
    c = r["comparison"]
    dm = c["difference_macro_f1"]
    return Section(
        f"Comparison with {c['other']}",
        f"Macro-F1: this model {r['test']['macro_f1']:.3f}, {c['other']} "
        f"{c['other_test']['macro_f1']:.3f}; difference {dm['difference']:+.3f} (paired "
        f"bootstrap 95% interval {dm['low']:+.3f} to {dm['high']:+.3f}). They disagree on "
        f"{len(c['disagreements'])} cases. " + _gate_prose(dm),
        [["case", "true", "this", c["other"], "excerpt"]]
        + [[x["case_id"], x["true"], x["this"], x["other"], x["excerpt"]] for x in c["disagreements"]],
    )


def _gate_prose(difference: dict[str, Any]) -> str:
    """The promotion gate's rule and what it says of this comparison, so that the analyst
    reading the report knows before running ``promote`` whether it will be refused."""
    if "share_b_better" not in difference:
        return f"Promotion gate: {GATE_RULE}"
    verdict = "would refuse" if gate_refuses(difference) else "would let through"
    return (
        f"Better in {difference['share_b_better']:.1%} of resamples: the promotion gate "
        f"{verdict} this model. Promotion gate: {GATE_RULE}"
    )


SECTIONS: list[Callable[[Report], Section | None]] = [
    data_section,
    registers_section,
    headline_section,
    external_section,
    checklist_section,
    settings_section,
    per_level_section,
    confusion_section,
    calibration_section,
    review_section,
    register_breakdown_section,
    hard_section,
    baselines_section,
    learning_curve_section,
    top_terms_section,
    misclassified_section,
    comparison_section,
]
