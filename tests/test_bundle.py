import json
import shutil
from pathlib import Path

import pytest

from sw_nlp.bundle import FORMAT_VERSION, load_model
from sw_nlp.errors import BundleError


@pytest.fixture()
def bundle_copy(trained_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained_bundle, tmp_path / "copy"))


def test_load_round_trip_predicts_the_same(trained_bundle: Path, tiny_model):
    again = load_model(trained_bundle)
    texts = ["Seorang nenek tinggal sendiri", "Kampanye antarnegara soal vaksin"]
    assert (again.predict_proba(texts) == tiny_model.predict_proba(texts)).all()
    assert again.manifest["format_version"] == FORMAT_VERSION


def test_one_changed_byte_is_refused(bundle_copy: Path):
    model = bundle_copy / "model.pkl.gz"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 does not match"):
        load_model(bundle_copy)


def test_unknown_format_version_is_refused(bundle_copy: Path):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="format 99.*retrain"):
        load_model(bundle_copy)


def test_other_sklearn_minor_version_is_refused(bundle_copy: Path):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["versions"]["scikit_learn"] = "0.24.2"
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="scikit-learn 0.24.2.*Retrain"):
        load_model(bundle_copy)


@pytest.mark.parametrize("damage", ["no_manifest", "bad_json", "no_model", "not_a_folder"])
def test_broken_bundles_are_refused_with_a_message(bundle_copy: Path, damage: str):
    target = bundle_copy
    if damage == "no_manifest":
        (bundle_copy / "manifest.json").unlink()
    elif damage == "bad_json":
        (bundle_copy / "manifest.json").write_text("{")
    elif damage == "no_model":
        (bundle_copy / "model.pkl.gz").unlink()
    else:
        target = bundle_copy / "model.pkl.gz"
    with pytest.raises(BundleError):
        load_model(target)
