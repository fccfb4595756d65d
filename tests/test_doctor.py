"""`sw-nlp doctor`: versions, the current model's format and sha256, the registry, folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sw_nlp.bundle import default_bundle_dir
from sw_nlp.cli import main
from sw_nlp.registry import Registry


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data" / "corpus").mkdir(parents=True)
    (tmp_path / "models").mkdir()
    monkeypatch.setenv("SW_NLP_HOME", str(tmp_path))
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def registered_copy(home: Path, capsys) -> Path:
    registry = Registry.at(home / "models")
    out = registry.new_version_dir()
    shutil.copytree(default_bundle_dir(), out, dirs_exist_ok=True)
    registry.record("register", out.name)
    assert main(["models", "trust", str(out)]) == 0
    (registry.root / "current").write_text(out.name + "\n")
    capsys.readouterr()
    return out


def test_a_healthy_install_says_what_it_found(home: Path, capsys):
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and out.rstrip().endswith("no problems found")
    assert "install: sw-nlp " in out and "scikit-learn " in out
    assert "model: current is shipped" in out and "model format: format 2" in out
    assert "model.json, model.npz: sha256 match the manifest" in out and "registry: none at" in out
    assert "kernel cache:" in out and "trust store:" in out
    assert "kernels: compiled or loaded from the cache in" in out


def test_doctor_readies_the_csv_scan_for_the_first_large_file(home: Path, capsys):
    """The scan's machine code is there (compiled, or loaded from the cache) for the argument
    types a large CSV brings: its first chunk then waits for no compiler."""
    import numpy as np
    from numba import typeof

    from sw_nlp.csv_scan import scan_records

    assert run(capsys, "doctor")[0] == 0
    as_scanned = typeof(np.frombuffer(bytearray(b"bytes"), np.uint8))  # as scanned_columns has them
    assert as_scanned in [sig[0] for sig in scan_records.dispatcher.signatures]


def test_a_changed_model_file_is_a_problem(home: Path, capsys):
    out_dir = registered_copy(home, capsys)
    assert run(capsys, "doctor")[0] == 0
    model = out_dir / "model.npz"
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF
    model.write_bytes(bytes(data))
    code, out, err = run(capsys, "doctor")
    assert code == 1 and "problem  model integrity:" in out and "does not match" in out
    assert "1 problem(s) found" in err


def test_current_naming_a_missing_version_is_a_problem(home: Path, capsys):
    out_dir = registered_copy(home, capsys)
    shutil.rmtree(out_dir)
    code, out, _ = run(capsys, "doctor")
    assert code == 1 and "problem  model:" in out and "problem  registry:" in out
    assert "which is not a registered version" in out


def test_an_unknown_format_version_is_a_problem(home: Path, capsys):
    import json

    out_dir = registered_copy(home, capsys)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    manifest["format_version"] = 99
    (out_dir / "manifest.json").write_text(json.dumps(manifest))
    code, out, _ = run(capsys, "doctor")
    assert code == 1 and "problem  model format: format 99; this sw-nlp reads 2" in out
