"""The training commands end to end, and the layering they rely on: every import between the
training, evaluation and report modules points one way (``workflows`` on top)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import sw_nlp.train as training
from sw_nlp.config import Config
from sw_nlp.corpus import load_corpus
from sw_nlp.train import cross_validate, learning_curve, single_setting, train

PACKAGE = Path(__file__).resolve().parent.parent / "sw_nlp"
# Lowest first: a module may import only modules listed before it (and ones outside the list).
LAYERS = ["checklist", "calibration", "plots", "evaluate", "report", "train", "labelling",
          "registry", "workflows", "cli"]  # fmt: skip


def top_level_modules() -> list[str]:
    """The package's modules and subpackages (``cli``, ``web``), by their first name."""
    return sorted(
        [path.stem for path in PACKAGE.glob("*.py")]
        + [path.parent.name for path in PACKAGE.glob("*/__init__.py")]
    )


def sw_nlp_imports(module: str) -> set[str]:
    """Every ``sw_nlp`` module a module (or a subpackage, all its files) imports, at the top or
    inside a function."""
    single = PACKAGE / f"{module}.py"
    files = [single] if single.exists() else sorted((PACKAGE / module).rglob("*.py"))
    found = set()
    for node in (n for f in files for n in ast.walk(ast.parse(f.read_text("utf-8")))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sw_nlp."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "sw_nlp":
            found |= {alias.name for alias in node.names if (PACKAGE / f"{alias.name}.py").exists()}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("sw_nlp.")}
    return found - {module}


@pytest.mark.parametrize("module", LAYERS)
def test_training_and_report_modules_import_only_downwards(module: str):
    above = set(LAYERS[LAYERS.index(module) + 1 :])
    assert not sw_nlp_imports(module) & above, f"{module} imports {sw_nlp_imports(module) & above}"


def test_only_the_cli_imports_workflows():
    importers = [name for name in top_level_modules() if "workflows" in sw_nlp_imports(name)]
    assert importers == ["cli"]


def test_report_only_renders():
    """No fitting, no scoring of texts: the report module reads numbers, and only the
    commands that write a report use it (the audit takes its excerpts from ``evaluate``)."""
    assert sw_nlp_imports("report") <= {"evaluate", "plots"}
    importers = {name for name in top_level_modules() if "report" in sw_nlp_imports(name)}
    assert importers <= {"workflows", "cli"}
    source = (PACKAGE / "report.py").read_text("utf-8")
    assert "build_pipeline" not in source and ".fit(" not in source


@pytest.fixture(scope="module")
def tiny(tiny_corpus_path: Path):
    """A model trained with its fits in two worker processes, as on a real corpus (the tiny
    corpus would otherwise be fitted in this process)."""
    corpus = load_corpus(tiny_corpus_path)
    cfg = Config().replace(
        search={"C": (3.0,), "stem": (False,), "remove_stopwords": (False,), "folds": 3,
                "n_jobs": 2}
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "PARALLEL_MIN_CASES", 0)
        return corpus, cfg, train(corpus, cfg)


def test_fits_in_worker_processes_give_the_same_model_as_in_this_process(tiny):
    corpus, cfg, parallel = tiny
    here = train(corpus, cfg)  # the tiny corpus is under PARALLEL_MIN_CASES: one process
    assert here.cv == parallel.cv
    assert here.extra["calibration"] == parallel.extra["calibration"]
    texts = corpus["text"].tolist()
    assert np.array_equal(
        here.classifier.predict_proba(texts), parallel.classifier.predict_proba(texts)
    )


def test_cross_validate_gives_training_its_own_fold_scores(tiny):
    """The report's cross-validation of given settings (run in parallel) and model selection's
    out-of-fold record score the same folds with the same fits."""
    corpus, cfg, result = tiny
    again = cross_validate(corpus[corpus["split"] == "train"], single_setting(cfg))
    assert again["fold_scores"] == result.cv["fold_scores"]
    assert again["folds"] == 3 and again["grouped_by"] == "topic"


def test_learning_curve_takes_its_last_point_from_the_final_model(tiny):
    """Fitting the whole train split again gives the final model's predictions (calibration
    does not move the predicted level), so ``train`` skips that fit."""
    corpus, _, result = tiny
    rows, test = corpus[corpus["split"] == "train"], corpus[corpus["split"] == "test"]
    labels = result.labels
    fitted = learning_curve(rows, test, result.config, labels)
    reused = learning_curve(rows, test, result.config, labels, final=result.classifier)
    assert reused == fitted
    assert [p["n_train"] for p in fitted][-1] == len(rows)
    assert [p["fraction"] for p in fitted] == sorted(p["fraction"] for p in fitted)
