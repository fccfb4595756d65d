"""Model files cannot run code, and bundles from elsewhere need the user's trust."""

import gzip
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from sw_nlp.bundle import LEGACY_MODEL_FILE, load_model, trust_bundle, upgrade_bundle
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
    """Make the bundle a format-1 one whose pickle is the payload, with a manifest that
    looks consistent: what an attacker who can write every file of a bundle would make."""
    for name in ("model.json", "model.npz"):
        (bundle / name).unlink()
    model = bundle / LEGACY_MODEL_FILE
    safe_dump(payload, model)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["format_version"] = 1
    manifest["files"] = {LEGACY_MODEL_FILE: {"sha256": file_sha256(model)}}
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_planted_pickle_is_never_loaded_and_upgrade_refuses_it(
    trained_bundle: Path, tmp_path: Path
):
    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "evil"))
    marker = tmp_path / "pwned"
    _plant(bundle, _Payload(marker))
    trust_bundle(bundle)  # even a user who trusts the bundle is protected
    # load_model has no path that unpickles: it names the command and stops.
    with pytest.raises(BundleError, match="format 1 .*sw-nlp models upgrade") as info:
        load_model(bundle)
    assert "\n" not in str(info.value)
    assert not marker.exists()
    # The explicit conversion unpickles with the allow-list, which refuses os.system.
    with pytest.raises(BundleError, match=r"refused: the file asks for (posix|os|nt)\.system"):
        upgrade_bundle(bundle)
    assert not marker.exists()


def test_pickle_beside_a_format_2_bundle_is_never_opened(trained_bundle: Path, tmp_path: Path):
    """A model.pkl.gz dropped into a format-2 bundle is ignored: never opened, never run."""
    import sys

    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "beside"))
    marker = tmp_path / "pwned"
    safe_dump(_Payload(marker), bundle / LEGACY_MODEL_FILE)
    planted = str((bundle / LEGACY_MODEL_FILE).resolve())
    opened: list[str] = []
    watching = [True]

    def hook(event: str, args: tuple) -> None:
        if watching[0] and event == "open" and args and str(args[0]).endswith(LEGACY_MODEL_FILE):
            opened.append(str(args[0]))

    sys.addaudithook(hook)  # cannot be removed: turned off below instead
    try:
        assert load_model(bundle).predict(["Seorang nenek tinggal sendiri"])
    finally:
        watching[0] = False
    assert planted not in opened and not opened
    assert not marker.exists()


def test_object_array_in_model_npz_is_refused_without_running_it(
    trained_bundle: Path, tmp_path: Path
):
    """The one way an .npz holds a pickle is an object array: allow_pickle=False refuses it
    before a byte of it is unpickled, even in a bundle whose every hash is consistent and
    trusted."""
    import hashlib
    import io

    import numpy as np

    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "npz"))
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(marker)
    np.savez(buffer, coef=payload)  # savez pickles object arrays; the loader must not
    data = buffer.getvalue()
    (bundle / "model.npz").write_bytes(data)
    spec = json.loads((bundle / "model.json").read_text())
    spec["arrays"]["sha256"] = hashlib.sha256(data).hexdigest()
    spec_bytes = json.dumps(spec).encode()
    (bundle / "model.json").write_bytes(spec_bytes)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["model.npz"]["sha256"] = spec["arrays"]["sha256"]
    manifest["files"]["model.json"]["sha256"] = hashlib.sha256(spec_bytes).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    trust_bundle(bundle)
    with pytest.raises(BundleError, match="model.npz: unreadable.*allow_pickle=False"):
        load_model(bundle)
    assert not marker.exists()


def test_loader_never_unpickles_nor_imports_by_a_name_from_the_files(
    trained_bundle: Path, tmp_path: Path
):
    """Watched with audit hooks while loading a good bundle and hostile ones: no
    ``pickle.find_class`` (any unpickling of a global), no module imported at all, and a
    class name written into model.json is refused as a parameter, not looked up."""
    import sys

    load_model(trained_bundle)  # everything the loader needs is imported once, before
    hostile = Path(shutil.copytree(trained_bundle, tmp_path / "names"))
    spec = json.loads((hostile / "model.json").read_text())
    spec["steps"]["classify"]["__class__"] = "os.system"
    spec["steps"]["features"]["blocks"]["word"]["tokenizer"] = {"module": "antigravity"}
    _rewrite_spec(hostile, spec)
    planted = Path(shutil.copytree(trained_bundle, tmp_path / "pickle"))
    _plant(planted, _Payload(tmp_path / "pwned"))
    trust_bundle(planted)

    events: list[tuple[str, tuple]] = []
    watching = [True]

    def hook(event: str, args: tuple) -> None:
        # Not "compile": NumPy reads each .npy header with ast.literal_eval, which compiles
        # a literal and evaluates nothing.
        if watching[0] and event in ("import", "pickle.find_class", "exec"):
            events.append((event, args[:2]))

    sys.addaudithook(hook)
    try:
        load_model(trained_bundle)
        for bundle in (hostile, planted):
            with pytest.raises(BundleError):
                load_model(bundle)
    finally:
        watching[0] = False
    assert events == []
    assert "antigravity" not in sys.modules and not (tmp_path / "pwned").exists()


def test_loader_source_has_no_pickle_or_dynamic_import():
    """The modules load_model parses bundles with never unpickle nor import by name: only
    the explicit upgrade (``_unpickle_legacy``) refers to pickle."""
    import ast
    import inspect

    import sw_nlp.bundle as bundle_module
    import sw_nlp.pipeline_data as data_module

    forbidden = {"pickle", "Unpickler", "restricted_loads", "restricted_load", "_unpickle_legacy",
                 "import_module", "__import__", "eval", "exec"}  # fmt: skip
    functions = [bundle_module.load_pipeline, bundle_module.load_model, bundle_module._read_checked]
    functions += [f for _, f in inspect.getmembers(data_module, inspect.isfunction)
                  if f.__module__ == data_module.__name__]  # fmt: skip
    for function in functions:
        tree = ast.parse(_dedent(function))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                  for a in n.names}  # fmt: skip
        assert not names & forbidden, (function.__name__, names & forbidden)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            if isinstance(call.func, ast.Attribute) and call.func.attr == "load":  # np.load
                flags = {k.arg: getattr(k.value, "value", None) for k in call.keywords}
                assert flags.get("allow_pickle") is False, function.__name__


def _dedent(function) -> str:
    import inspect
    import textwrap

    return textwrap.dedent(inspect.getsource(function))


def _rewrite_spec(bundle: Path, spec: dict) -> None:
    import hashlib

    data = json.dumps(spec).encode()
    (bundle / "model.json").write_bytes(data)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["model.json"]["sha256"] = hashlib.sha256(data).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    trust_bundle(bundle)


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
    (bundle / "model.npz").write_bytes(b"x")
    with pytest.raises(BundleError, match="not trusting a damaged bundle"):
        trust_bundle(bundle)


def test_trust_store_round_trip(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SW_NLP_TRUST_FILE", str(tmp_path / "t.json"))
    assert not is_trusted("abc")
    trust("abc", tmp_path, "test")
    assert is_trusted("abc")


def test_a_format_1_name_for_text_normalizer_is_read_as_the_class_it_names(tmp_path: Path):
    """Format-1 files name the normaliser ``sw_nlp.preprocess.TextNormalizer``; the restricted
    unpickler maps that name to the class in ``sw_nlp.normalizer`` (preprocess keeps no alias)."""
    import sw_nlp.preprocess
    from sw_nlp.normalizer import TextNormalizer

    data = pickle.dumps(TextNormalizer(lexicon={"gk": "tidak"}, mask_pii=False), protocol=5)
    old_name = data.replace(b"sw_nlp.normalizer", b"sw_nlp.preprocess")  # same length
    assert old_name != data
    path = tmp_path / "model.pkl.gz"
    path.write_bytes(gzip.compress(old_name))
    loaded = restricted_load(path)
    assert type(loaded) is TextNormalizer
    assert (loaded.lexicon, loaded.mask_pii) == ({"gk": "tidak"}, False)
    assert not hasattr(sw_nlp.preprocess, "TextNormalizer")
