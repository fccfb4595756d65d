import json
import re
from pathlib import Path

import pytest

from sw_nlp.bundle import load_model
from sw_nlp.config import Config
from sw_nlp.corpus import load_corpus
from sw_nlp.evaluate import build_report, excerpt
from sw_nlp.report import SECTIONS as SECTION_FUNCTIONS
from sw_nlp.report import html_page, markdown, sections, write_report

FIXTURES = Path(__file__).parent / "fixtures" / "report_tiny"

SECTIONS = [
    "Data",
    "Registers",
    "Headline figures (test split)",
    "Settings compared",
    "Per level",
    "Confusion matrix",
    "Calibration",
    "Review threshold",
    "By register",
    "Hard cases",
    "Baselines",
    "Learning curve",
    "Top terms per level",
    "Misclassified test cases",
]


@pytest.fixture(scope="module")
def written(trained_bundle: Path, tiny_corpus_path: Path, tmp_path_factory) -> Path:
    return trained_bundle / "report"


def test_train_writes_the_report_next_to_the_bundle(written: Path):
    for name in (
        "report.html",
        "report.md",
        "metrics.json",
        "figures/confusion.png",
        "figures/reliability.png",
        "figures/coverage.png",
        "figures/learning_curve.png",
    ):
        assert (written / name).is_file(), name


def test_every_section_and_picture_is_present(written: Path):
    md = (written / "report.md").read_text()
    page = (written / "report.html").read_text()
    for heading in SECTIONS:
        assert f"## {heading}" in md
        assert f"<h2>{heading}</h2>" in page
    assert len(re.findall(r"<img alt='[^']+' src='data:image/png;base64,", page)) == 4
    assert "src='http" not in page and "href=" not in page  # self-contained, opens offline


def test_metrics_json_agrees_with_the_manifest(written: Path, trained_bundle: Path):
    metrics = json.loads((written / "metrics.json").read_text())
    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    assert metrics["test"]["macro_f1"] == pytest.approx(manifest["metrics"]["test"]["macro_f1"])
    assert metrics["baselines"]["this model"]["macro_f1"] == metrics["test"]["macro_f1"]
    assert len(metrics["misclassified"]) == metrics["test"]["n"] - round(
        metrics["test"]["accuracy"] * metrics["test"]["n"]
    )


def test_comparison_section(trained_bundle: Path, tiny_corpus_path: Path, tmp_path: Path):
    clf = load_model(trained_bundle)
    cfg = Config.from_dict(clf.manifest["config"])
    report = build_report(
        clf,
        load_corpus(tiny_corpus_path),
        cfg=cfg,
        cv=clf.manifest["metrics"]["cv"],
        other=clf,
        other_name="same",
    )
    assert report["comparison"]["difference_macro_f1"]["difference"] == 0.0
    assert report["comparison"]["disagreements"] == []
    paths = write_report(report, tmp_path / "r")
    assert "## Comparison with same" in paths["md"].read_text()
    assert "## Learning curve" not in paths["md"].read_text()


def test_excerpts_are_masked_and_short():
    text = "Ibu Sari NIK 3201012345678901, hp 0812-3456-7890, " + "kata " * 200
    shown = excerpt(text)
    assert "3201012345678901" not in shown and "0812-3456-7890" not in shown
    assert len(shown) <= 280 and shown.endswith("…")


def test_settings_compared_shows_each_tried_value_and_the_one_in_use(written: Path):
    metrics = json.loads((written / "metrics.json").read_text())
    grid = metrics["cv"]["grid"]
    rows = metrics["settings_compared"]
    # The fixture's grid varies stemming only: two rows, one per value, one of them in use.
    assert [(r["setting"], r["value"]) for r in rows] == [("stem", "False"), ("stem", "True")]
    assert sum(r["in_use"] for r in rows) == 1
    for r in rows:
        best = max(g["macro_f1_mean"] for g in grid if str(g["stem"]) == r["value"])
        assert r["macro_f1_mean"] == best
    in_use = next(r for r in rows if r["in_use"])
    manifest = json.loads((written.parent / "manifest.json").read_text())
    assert in_use["value"] == str(manifest["config"]["preprocess"]["stem"])


def test_rendering_is_unchanged_for_a_fixed_report():
    """The fixture is the numbers of a report on the tiny corpus with every optional part
    (an outside set, a comparison, the learning curve) and the Markdown and HTML the renderer
    made of them when sections were one long function: the section functions must render the
    same titles, prose and tables, byte for byte."""
    report = json.loads((FIXTURES / "metrics.json").read_text("utf-8"))
    names = ("confusion", "reliability", "coverage", "learning_curve")
    images = {k: f"figures/{k}.png" for k in names}
    assert markdown(report, "golden", images) == (FIXTURES / "report.md").read_text("utf-8")
    assert html_page(report, "golden", images) == (FIXTURES / "report.html").read_text("utf-8")


def test_optional_sections_are_left_out_when_there_is_nothing_to_show():
    report = json.loads((FIXTURES / "metrics.json").read_text("utf-8"))
    full = [s.heading for s in sections(report)]
    assert len(full) == len(SECTION_FUNCTIONS)  # the fixture has every section
    for key in ("external", "checklist", "settings_compared", "learning_curve", "comparison"):
        report.pop(key)
    left = [s.heading for s in sections(report)]
    assert len(left) == len(SECTION_FUNCTIONS) - 5
    assert "Learning curve" not in left and not any(h.startswith("Comparison") for h in left)
    assert left == [h for h in full if h in left]  # same order
