import json
import re
from pathlib import Path

import pytest

from sw_nlp.bundle import load_model
from sw_nlp.config import Config
from sw_nlp.corpus import load_corpus
from sw_nlp.report import build_report, excerpt, write_report

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
        other=clf,
        other_name="same",
        with_learning_curve=False,
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
