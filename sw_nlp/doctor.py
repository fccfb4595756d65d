"""``sw-nlp doctor``: what this installation is made of, and whether it can work.

A user whose ``classify`` fails (or, worse, quietly uses another model than they think) needs
one command that says which versions are installed, which model is current and whether its
file is intact, whether the registry is readable, and whether the folders sw-nlp writes to
can be written. Each check returns what it found; nothing here prints (the CLI does).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from sw_nlp.config import Paths
from sw_nlp.corpus import file_sha256
from sw_nlp.errors import SwNlpError

if TYPE_CHECKING:
    from sw_nlp.model import CaseClassifier

OK, WARNING, PROBLEM = "ok", "warning", "problem"
# The libraries a prediction or a training run depends on, by distribution name.
DEPENDENCIES = (
    "scikit-learn",
    "numpy",
    "scipy",
    "pandas",
    "numba",
    "pyarrow",
    "openpyxl",
    "python-docx",
    "pypdf",
    "typer",
)


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's answer: what was checked, its status, and what was found."""

    check: str
    status: str  # OK, WARNING or PROBLEM
    detail: str

    def line(self) -> str:
        return f"{self.status:<8} {self.check}: {self.detail}"


def check_install() -> list[Finding]:
    """sw-nlp's, Python's and the dependencies' versions; a missing dependency is a problem."""
    from sw_nlp._version import __version__

    found = [Finding("install", OK, f"sw-nlp {__version__}, Python {platform.python_version()}")]
    versions, missing = [], []
    for name in DEPENDENCIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    found.append(Finding("dependencies", OK, ", ".join(versions)))
    if missing:
        found.append(
            Finding("dependencies", PROBLEM, f"not installed: {', '.join(missing)}; reinstall sw-nlp")
        )
    return found


def check_model(paths: Paths) -> list[Finding]:
    """The current model: its folder, format version, sha256 against its manifest, and whether
    it loads (trust and scikit-learn version included, as ``classify`` would check them)."""
    from sw_nlp.bundle import FORMAT_VERSION, _expected_sha256, load_model, read_manifest
    from sw_nlp.resolve import resolve_model

    try:
        resolved = resolve_model(models_dir=paths.models)
        folder = resolved.path
        manifest = read_manifest(folder)
    except SwNlpError as exc:
        return [Finding("model", PROBLEM, str(exc))]
    found = [Finding("model", OK, f"current is {resolved.describe()}, in {folder}")]
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        found.append(
            Finding("model format", PROBLEM, f"format {version!r}; this sw-nlp reads {FORMAT_VERSION}")
        )
    else:
        found.append(Finding("model format", OK, f"format {version}"))
    files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    if not files:
        found.append(Finding("model integrity", PROBLEM, f"{folder}: the manifest lists no files"))
        return found
    for name in sorted(files):  # every file the manifest vouches for (model.json, model.npz)
        model_file = folder / name
        try:
            expected = _expected_sha256(manifest, folder, name)
            actual = file_sha256(model_file)
        except (SwNlpError, OSError) as exc:
            found.append(Finding("model integrity", PROBLEM, f"{model_file}: {exc}"))
            return found
        if actual != expected:
            found.append(
                Finding(
                    "model integrity",
                    PROBLEM,
                    f"{model_file}: sha256 {actual[:12]}… does not match the manifest's "
                    f"{expected[:12]}…: the file was changed or damaged",
                )
            )
            return found
    found.append(
        Finding("model integrity", OK, f"{', '.join(sorted(files))}: sha256 match the manifest")
    )
    try:
        clf = load_model(folder)
    except SwNlpError as exc:
        found.append(Finding("model loads", PROBLEM, str(exc)))
    else:
        found.append(Finding("model loads", OK, f"levels {', '.join(clf.classes_)}"))
        found.append(_ready_kernels(clf))
    return found


def _ready_kernels(clf: CaseClassifier) -> Finding:
    """Compile the fast path's kernels, or load them from Numba's cache, now. Small files never
    compile; the first large one on a new machine would otherwise wait (about 14 s of CPU
    here) before its first row, so the command run after installing does it, once."""
    from sw_nlp.csv_scan import compile_scan

    start = time.perf_counter()
    try:
        compiled = clf.compile_kernels()
        compile_scan()  # large CSV files are cut by a compiled scan, whatever the model
    except ImportError as exc:  # Numba or llvmlite missing or broken
        return Finding("kernels", PROBLEM, f"cannot compile ({exc}); reinstall sw-nlp")
    seconds = time.perf_counter() - start
    if not compiled:
        return Finding("kernels", OK, "this model is scored by scikit-learn; nothing to compile")
    return Finding("kernels", OK, f"compiled or loaded from the cache in {seconds:.1f} s")


def check_registry(paths: Paths) -> list[Finding]:
    """The registry: absent (the shipped model is current), or readable with a current
    version that exists, an intact history and no half-made versions left behind."""
    from sw_nlp.registry import BUILDING, SHIPPED, Registry

    registry = Registry.at(paths.models)
    if not registry.root.exists():
        return [Finding("registry", OK, f"none at {registry.root}: the shipped model is current")]
    if not registry.root.is_dir() or not os.access(registry.root, os.R_OK | os.X_OK):
        return [Finding("registry", PROBLEM, f"{registry.root} is not a readable folder")]
    found = []
    try:
        history = registry.history()
        versions = registry.versions()
        current = registry.current()
    except (OSError, SwNlpError) as exc:
        return [Finding("registry", PROBLEM, f"{registry.root}: unreadable ({exc})")]
    if current != SHIPPED and current not in versions:
        found.append(
            Finding(
                "registry",
                PROBLEM,
                f"{registry.root / 'current'} names {current!r}, which is not a registered "
                f"version (known: {', '.join([SHIPPED, *versions])})",
            )
        )
    else:
        found.append(
            Finding(
                "registry",
                OK,
                f"{len(versions)} version(s), current {current}, {len(history)} history entries",
            )
        )
    half = [p.name for p in registry.root.iterdir() if p.is_dir() and (p / BUILDING).exists()]
    if half:
        found.append(
            Finding(
                "registry",
                WARNING,
                f"half-made version(s) {', '.join(sorted(half))}: a build still running, or "
                "stopped (the next retrain or promote quarantines them)",
            )
        )
    return found


def check_folders(paths: Paths) -> list[Finding]:
    """The folders sw-nlp writes to: the compiled-kernel cache (numba), the trust store's
    folder, and the reports folder. One that cannot be written makes every run slower
    (kernels compiled again) or makes ``train``/``trust`` fail late."""
    from sw_nlp import kernels
    from sw_nlp.safety import trust_file

    cache = Path(os.environ.get("NUMBA_CACHE_DIR") or Path(kernels.__file__).parent / "__pycache__")
    return [
        _writable("kernel cache", cache, WARNING, "kernels are compiled again on every run"),
        _writable("trust store", trust_file().parent, WARNING, "`models trust` cannot record"),
        _writable("reports", paths.reports, WARNING, "reports need --out elsewhere"),
    ]


def run_checks(paths: Paths | None = None) -> list[Finding]:
    """Every check, in the order a user would fix them."""
    paths = paths or Paths.discover()
    checks: list[Callable[[], list[Finding]]] = [
        check_install,
        lambda: check_model(paths),
        lambda: check_registry(paths),
        lambda: check_folders(paths),
    ]
    return [finding for check in checks for finding in check()]


def _writable(check: str, folder: Path, status: str, consequence: str) -> Finding:
    """Whether a file can be created in ``folder`` (or in its nearest existing parent, where
    it would be created), tried for real: permission bits say nothing of read-only mounts."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError:
        return Finding(check, status, f"{folder}: not writable; {consequence}")
    where = "" if existing == folder else f" (made when first needed, in {existing})"
    return Finding(check, OK, f"{folder} writable{where}")
