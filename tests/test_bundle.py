import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sw_nlp.bundle import (
    FORMAT_VERSION,
    default_bundle_dir,
    load_model,
    load_pipeline,
    save_bundle,
    upgrade_bundle,
)
from sw_nlp.errors import BundleError
from sw_nlp.model import CaseClassifier, build_pipeline
from sw_nlp.pipeline_data import data_to_pipeline, decode_arrays, encode_arrays, pipeline_to_data
from sw_nlp.safety import safe_dump, trust

TEXTS = [
    "Seorang nenek tinggal sendiri",
    "Kampanye antarnegara soal vaksin",
    "ortu gk bs byr sekolah anak2, hub 081234567890",
    "Rapat koordinasi kelurahan untuk posyandu",
    "",
]


@pytest.fixture()
def bundle_copy(trained_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained_bundle, tmp_path / "copy"))


def test_load_round_trip_predicts_the_same(trained_bundle: Path, tiny_model):
    again = load_model(trained_bundle)
    assert (again.predict_proba(TEXTS) == tiny_model.predict_proba(TEXTS)).all()
    assert again.manifest["format_version"] == FORMAT_VERSION == 2
    assert sorted(p.name for p in trained_bundle.iterdir() if p.name.startswith("model")) == [
        "model.json",
        "model.npz",
    ]


@pytest.mark.parametrize("settings", [{}, {"stem": True, "remove_stopwords": True}])
def test_rebuilt_pipeline_matches_the_trained_one(
    tmp_path: Path, tiny_corpus_path: Path, fast_config, settings
):
    """The pipeline rebuilt from the bundle's numbers gives the trained pipeline's
    probabilities (to 1e-9), on the corpus and on odd text, for both preprocessing settings."""
    cfg = fast_config.replace(preprocess=settings)
    corpus = pd.read_csv(tiny_corpus_path)
    trained = build_pipeline(cfg).fit(corpus["text"].tolist(), corpus["level"].tolist())
    labels = sorted(set(corpus["level"]))
    save_bundle(tmp_path / "b", CaseClassifier(trained), cfg, labels=labels, scheme=4,
                corpus={}, metrics={})  # fmt: skip
    rebuilt, _ = load_pipeline(tmp_path / "b")
    texts = corpus["text"].tolist() + TEXTS
    np.testing.assert_allclose(
        rebuilt.predict_proba(texts), trained.predict_proba(texts), rtol=0, atol=1e-9
    )
    assert list(rebuilt.classes_) == list(trained.classes_)
    old_word = trained.named_steps["features"].transformer_list[0][1]
    new_word = rebuilt.named_steps["features"].transformer_list[0][1]
    assert new_word.get_params() == old_word.get_params()
    assert new_word.vocabulary_ == old_word.vocabulary_


def test_shipped_model_round_trips_through_format_2(tmp_path: Path):
    """The shipped bundle (converted by ``models upgrade``, which refused to write unless the
    rebuilt pipeline predicted as the pickle did) is rebuilt, written out as numbers again and
    rebuilt once more: the same probabilities, to 1e-9, on corpus text and odd text."""
    pipeline, manifest = load_pipeline(default_bundle_dir())
    assert manifest["upgraded"]["from_format"] == 1
    spec, arrays = pipeline_to_data(pipeline, labels=manifest["labels"], config={})
    again = data_to_pipeline(spec, decode_arrays(encode_arrays(arrays)))
    texts = pd.read_csv(Path(__file__).parent.parent / "data/corpus/cases.csv")["text"][:400]
    texts = texts.tolist() + TEXTS
    np.testing.assert_allclose(
        again.predict_proba(texts), pipeline.predict_proba(texts), rtol=0, atol=1e-9
    )


def test_upgrade_converts_a_format_1_bundle_once(tmp_path: Path, trained_bundle: Path):
    """A format-1 bundle is refused by load_model with the command to run; the command
    converts it to the same predictions; running it again says there is nothing to do."""
    original, _ = load_pipeline(trained_bundle)
    bundle = _format_1_bundle(trained_bundle, tmp_path / "old", original)
    with pytest.raises(BundleError, match=r"format 1 .*sw-nlp models upgrade") as refused:
        load_model(bundle)
    assert "\n" not in str(refused.value)
    manifest = upgrade_bundle(bundle)
    assert manifest["format_version"] == 2 and not (bundle / "model.pkl.gz").exists()
    again = load_model(bundle)
    np.testing.assert_allclose(
        again.predict_proba(TEXTS), load_model(trained_bundle).predict_proba(TEXTS), atol=1e-12
    )
    with pytest.raises(BundleError, match="already bundle format 2"):
        upgrade_bundle(bundle)


def _format_1_bundle(src: Path, dst: Path, pipeline) -> Path:
    """What ``save_bundle`` wrote before format 2, trusted as ``train`` would have."""
    bundle = Path(shutil.copytree(src, dst))
    for name in ("model.json", "model.npz"):
        (bundle / name).unlink()
    safe_dump(pipeline, bundle / "model.pkl.gz")
    data = (bundle / "model.pkl.gz").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["format_version"] = 1
    manifest["files"] = {"model.pkl.gz": {"sha256": sha, "bytes": len(data)}}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    trust(sha, bundle, "test: format 1")
    return bundle


@pytest.mark.parametrize("name", ["model.npz", "model.json"])
def test_one_changed_byte_is_refused(bundle_copy: Path, name: str):
    model = bundle_copy / name
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 does not match"):
        load_model(bundle_copy)


def test_arrays_not_the_ones_model_json_records_are_refused(bundle_copy: Path, tmp_path: Path):
    """Replacing model.npz and its manifest entry is not enough: model.json, whose hash is
    the trusted one, records the arrays' hash too."""
    other = build_pipeline_numbers_changed(bundle_copy)
    data = encode_arrays(other)
    (bundle_copy / "model.npz").write_bytes(data)
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["files"]["model.npz"]["sha256"] = hashlib.sha256(data).hexdigest()
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="differs from the one model.json records"):
        load_model(bundle_copy)


def build_pipeline_numbers_changed(bundle: Path) -> dict[str, np.ndarray]:
    arrays = decode_arrays((bundle / "model.npz").read_bytes())
    arrays["intercept"] = arrays["intercept"] + 1.0
    return arrays


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


@pytest.mark.parametrize(
    "damage", ["no_manifest", "bad_json", "no_arrays", "no_spec", "not_a_folder"]
)
def test_broken_bundles_are_refused_with_a_message(bundle_copy: Path, damage: str):
    target = bundle_copy
    if damage == "no_manifest":
        (bundle_copy / "manifest.json").unlink()
    elif damage == "bad_json":
        (bundle_copy / "manifest.json").write_text("{")
    elif damage == "no_arrays":
        (bundle_copy / "model.npz").unlink()
    elif damage == "no_spec":
        (bundle_copy / "model.json").unlink()
    else:
        target = bundle_copy / "model.npz"
    with pytest.raises(BundleError) as info:
        load_model(target)
    assert "\n" not in str(info.value)
