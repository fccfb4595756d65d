"""Which model answers: --model, else the registry's current model, else the shipped one;
never a registry found from the working directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sw_nlp.bundle import default_bundle_dir, pinned_default_hash
from sw_nlp.cli import main
from sw_nlp.config import Paths, user_data_dir
from sw_nlp.errors import BundleError
from sw_nlp.registry import Registry
from sw_nlp.resolve import resolve_model

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "data" / "examples" / "cases.csv"


def registered(models_dir: Path, bundle: Path, version: str = "v20260101-000000") -> str:
    """``bundle`` as a registered version of the registry under ``models_dir``, made current."""
    registry = Registry.at(models_dir)
    shutil.copytree(bundle, registry.root / version)
    (registry.root / "current").write_text(version + "\n", "utf-8")
    return version


def manifest_sha256(folder: Path) -> str:
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    return manifest["files"]["model.json"]["sha256"]


def test_without_a_registry_the_shipped_model_answers(tmp_path: Path):
    model = resolve_model(models_dir=tmp_path / "models")
    assert (model.source, model.name, model.path) == ("shipped", "shipped", default_bundle_dir())
    assert model.sha256 == pinned_default_hash()
    assert model.describe() == (
        f"shipped (created {model.version}, sha256 {pinned_default_hash()[:12]})"
    )


def test_an_explicit_folder_wins_over_the_registry(tmp_path: Path, trained_bundle: Path):
    registered(tmp_path / "models", trained_bundle)
    model = resolve_model(default_bundle_dir(), models_dir=tmp_path / "models")
    assert (model.source, model.path) == ("--model", default_bundle_dir())
    assert model.sha256 == pinned_default_hash()


def test_the_registry_current_model_wins_over_the_shipped_one(
    tmp_path: Path, trained_bundle: Path
):
    version = registered(tmp_path / "models", trained_bundle)
    model = resolve_model(models_dir=tmp_path / "models")
    assert (model.source, model.name) == ("registry", version)
    assert model.path == tmp_path / "models" / "registry" / version
    assert model.sha256 == manifest_sha256(trained_bundle)
    assert f"{version} (registry, created " in model.describe()
    assert model.metadata()["sw_nlp.model.sha256"] == model.sha256


def test_an_explicit_folder_that_is_no_bundle_is_a_bundle_error(tmp_path: Path):
    with pytest.raises(BundleError, match="no model bundle here"):
        resolve_model(tmp_path / "nothing")


def test_the_registry_is_not_found_from_the_working_directory(
    tmp_path: Path, trained_bundle: Path, monkeypatch: pytest.MonkeyPatch
):
    """A folder that looks like a checkout, with a registry whose current model is another
    one, does not change which model answers when a command runs inside it."""
    checkout = tmp_path / "checkout"
    (checkout / "data" / "corpus").mkdir(parents=True)
    registered(checkout / "models", trained_bundle)
    monkeypatch.delenv("SW_NLP_HOME", raising=False)
    monkeypatch.chdir(checkout)
    inside = resolve_model()
    monkeypatch.chdir(tmp_path)
    outside = resolve_model()
    assert inside == outside
    assert inside.source == "shipped"
    assert Paths.discover().models == user_data_dir() / "models"


def test_sw_nlp_home_names_the_registry(
    tmp_path: Path, trained_bundle: Path, monkeypatch: pytest.MonkeyPatch
):
    version = registered(tmp_path / "models", trained_bundle)
    monkeypatch.setenv("SW_NLP_HOME", str(tmp_path))
    monkeypatch.chdir(REPO)
    assert (resolve_model().source, resolve_model().name) == ("registry", version)


def test_the_user_data_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert user_data_dir() == tmp_path / "sw-nlp"
    monkeypatch.delenv("SW_NLP_HOME", raising=False)
    assert Paths.discover(tmp_path).models == tmp_path / "sw-nlp" / "models"


def test_classify_gives_the_same_bytes_inside_and_outside_a_checkout(
    tmp_path: Path, trained_bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """The repository, a look-alike checkout with another current model, and an empty folder:
    the same command, the same model, the same bytes (SW_NLP_HOME unset)."""
    checkout = tmp_path / "checkout"
    (checkout / "data" / "corpus").mkdir(parents=True)
    registered(checkout / "models", trained_bundle)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.delenv("SW_NLP_HOME", raising=False)
    outputs, summaries = [], []
    for folder in (REPO, checkout, elsewhere):
        monkeypatch.chdir(folder)
        out = tmp_path / f"{folder.name}.csv"
        assert main(["classify", str(EXAMPLES), "-o", str(out)]) == 0
        outputs.append(out.read_bytes())
        summaries.append([ln for ln in capsys.readouterr().err.splitlines() if "model:" in ln])
    assert outputs[0] == outputs[1] == outputs[2]
    assert summaries[0] == summaries[1] == summaries[2]
    assert summaries[0] == [f"  model: {resolve_model(models_dir=tmp_path / 'none').describe()}"]


def test_the_summary_verbose_log_and_predict_name_the_model(
    tmp_path: Path, trained_bundle: Path, capsys
):
    described = resolve_model(trained_bundle).describe()
    out = tmp_path / "o.csv"
    argv = ["classify", str(EXAMPLES), "--model", str(trained_bundle), "-o", str(out)]
    assert main(["-v", *argv]) == 0
    err = capsys.readouterr().err
    assert f"INFO sw_nlp.classify: model: {described}" in err
    assert f"  model: {described}" in err
    assert described.startswith(f"{trained_bundle.name} (--model, created ")

    assert main(["predict", "Seorang nenek tinggal sendiri", "--model", str(trained_bundle)]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"model: {described}\n"
    assert captured.out.startswith("level\tconfidence")  # stdout stays the table alone
    assert main(["-q", "predict", "Seorang nenek", "--model", str(trained_bundle)]) == 0
    assert capsys.readouterr().err == ""


def test_parquet_and_xlsx_output_carry_the_model_csv_does_not(tmp_path: Path, capsys):
    import openpyxl
    import pyarrow.parquet as pq

    model = resolve_model(default_bundle_dir())
    for suffix in (".csv", ".parquet", ".xlsx", ".jsonl"):
        out = tmp_path / f"out{suffix}"
        argv = ["classify", str(EXAMPLES), "--model", str(default_bundle_dir()), "-o", str(out)]
        assert main(argv) == 0
    capsys.readouterr()
    metadata = pq.read_schema(tmp_path / "out.parquet").metadata
    assert metadata[b"sw_nlp.model.sha256"] == model.sha256.encode()
    assert metadata[b"sw_nlp.model.source"] == b"--model"
    assert pd.read_parquet(tmp_path / "out.parquet")["level"].tolist() == pd.read_csv(
        tmp_path / "out.csv"
    )["level"].tolist()
    properties = openpyxl.load_workbook(tmp_path / "out.xlsx").properties
    assert f"sw_nlp.model.sha256: {model.sha256}" in properties.description
    assert properties.keywords == model.sha256
    for plain in ("out.csv", "out.jsonl"):
        assert model.sha256 not in (tmp_path / plain).read_text("utf-8")
