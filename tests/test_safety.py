"""Model files cannot run code, and bundles from elsewhere need the user's trust."""

import gzip
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from sw_nlp.bundle import MODEL_FILE, load_model, trust_bundle
from sw_nlp.corpus import file_sha256
from sw_nlp.errors import BundleError
from sw_nlp.safety import RefusedGlobal, is_trusted, restricted_load, safe_dump, trust


class _Payload:
    """Unpickling this calls os.system, which would create a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _plant(bundle: Path, payload: object) -> None:
    """Replace the model with a payload and rewrite the manifest so that it looks consistent."""
    model = bundle / MODEL_FILE
    safe_dump(payload, model)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][MODEL_FILE]["sha256"] = file_sha256(model)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_malicious_pickle_in_a_consistent_bundle_is_refused(trained_bundle: Path, tmp_path: Path):
    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "evil"))
    marker = tmp_path / "pwned"
    _plant(bundle, _Payload(marker))
    # Even a user who trusts the bundle is protected: the unpickler refuses os.system.
    trust_bundle(bundle)
    with pytest.raises(BundleError, match=r"refused: the file asks for (posix|os|nt)\.system"):
        load_model(bundle)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        (eval, ("1+1",)),
        (exec, ("x = 1",)),
        (shutil.rmtree, ("/nonexistent",)),
    ],
)
def test_other_callables_are_refused(tmp_path: Path, payload):
    class P:
        def __reduce__(self):
            return payload

    path = tmp_path / "m.pkl.gz"
    safe_dump(P(), path)
    with pytest.raises(RefusedGlobal):
        restricted_load(path)


def test_module_is_not_imported_before_it_is_refused(tmp_path: Path):
    import sys

    path = tmp_path / "m.pkl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\x80\x02cantigravity\nfly\n.")  # GLOBAL antigravity.fly, STOP
    with pytest.raises(RefusedGlobal, match="antigravity.fly"):
        restricted_load(path)
    assert "antigravity" not in sys.modules


def test_numpy_memmap_is_refused(tmp_path: Path):
    import numpy as np

    path = tmp_path / "m.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(np.memmap, f)
    with pytest.raises(RefusedGlobal):
        restricted_load(path)


def test_bundle_from_elsewhere_needs_trust(trained_bundle: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SW_NLP_TRUST_FILE", str(tmp_path / "other-machine.json"))
    with pytest.raises(BundleError, match="has not been trusted.*sw-nlp models trust"):
        load_model(trained_bundle)
    trust_bundle(trained_bundle, reason="from the provincial office")
    record = json.loads((tmp_path / "other-machine.json").read_text())
    assert list(record.values())[0]["reason"] == "from the provincial office"
    assert load_model(trained_bundle).classes_


def test_damaged_bundle_cannot_be_trusted(trained_bundle: Path, tmp_path: Path):
    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "damaged"))
    (bundle / MODEL_FILE).write_bytes(b"x")
    with pytest.raises(BundleError, match="not trusting a damaged bundle"):
        trust_bundle(bundle)


def test_trust_store_round_trip(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SW_NLP_TRUST_FILE", str(tmp_path / "t.json"))
    assert not is_trusted("abc")
    trust("abc", tmp_path, "test")
    assert is_trusted("abc")
