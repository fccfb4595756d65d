"""The record of which bundles a user trusts, and the restricted unpickler that only
``sw-nlp models upgrade`` uses (bundle format 1; ``load_model`` never unpickles).

A pickle can call any function while it loads, and a sha256 in a manifest beside the file
stops corruption, not an attacker who rewrites both. Two defences, both outside the bundle's
control:

1. ``restricted_load`` unpickles with an allow-list: only the classes a sw-nlp pipeline is
   made of (scikit-learn estimators, NumPy arrays and scalars, SciPy sparse matrices, our
   preprocessing steps). Nothing is ever imported by a name taken from the file: a class is
   looked up only in modules sw-nlp has already imported (``sys.modules``), so a payload
   naming ``os.system``, ``builtins.exec`` or a module that runs code when imported
   (``numpy.f2py.__main__``) is refused without running anything.
2. A trust store, a JSON file in the user's config folder (not in the bundle): a bundle
   loads only if its model's sha256 was recorded there, by ``sw-nlp train`` on this machine
   or by the user with ``sw-nlp models trust PATH``. The shipped default model is trusted by
   the hash pinned inside the package.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sw_nlp.locks import current_user

# Functions NumPy needs to rebuild arrays and scalars (old and new module paths).
_NUMPY_FUNCTIONS = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
}
_OURS = {
    ("sw_nlp.normalizer", "TextNormalizer"),
    ("sw_nlp.preprocess", "WordAnalyzer"),
}
# Names format-1 files use for our classes, and where each class is defined: resolved here,
# so the modules themselves keep no aliases for pickles.
_FORMAT_1_NAMES = {
    ("sw_nlp.preprocess", "TextNormalizer"): ("sw_nlp.normalizer", "TextNormalizer"),
}
_BUILTINS = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "complex"),
}
_CLASS_MODULE_PREFIXES = ("sklearn.", "numpy", "scipy.sparse")
MAX_TRUST_FILE_BYTES = 16 << 20  # read from a regular file only, never a device or pipe


class RefusedGlobal(pickle.UnpicklingError):
    """The file asked for something a sw-nlp model never contains."""


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        key = _FORMAT_1_NAMES.get((module, name), (module, name))
        module, name = key
        if key in _NUMPY_FUNCTIONS or key in _OURS or key in _BUILTINS:
            # A fixed list of names, checked before this import.
            return super().find_class(module, name)
        if module.startswith(_CLASS_MODULE_PREFIXES) and "." not in name:
            # Already imported modules only, and their own attributes only: importing, or a
            # module's __getattr__ (NumPy's imports submodules lazily), could run code.
            loaded = sys.modules.get(module)
            obj = vars(loaded).get(name) if loaded is not None else None
            if isinstance(obj, type) and _allowed_class(obj):
                return obj
        raise RefusedGlobal(f"{module}.{name}")


def _allowed_class(cls: type) -> bool:
    import numpy as np
    import scipy.sparse as sp
    from sklearn.base import BaseEstimator

    if cls.__module__.startswith("sklearn."):
        return issubclass(cls, BaseEstimator)
    if issubclass(cls, np.memmap):  # constructing a memmap opens files
        return False
    if cls in (np.ndarray, np.dtype) or issubclass(cls, np.generic | np.dtype):
        return True
    return issubclass(cls, sp.sparray | sp.spmatrix)


def restricted_load(path: Path) -> Any:
    """Unpickle a gzip'd model file, refusing every global outside the allow-list."""
    return restricted_loads(Path(path).read_bytes())


def restricted_loads(data: bytes) -> Any:
    """Unpickle gzip'd model bytes, refusing every global outside the allow-list.

    Takes the bytes, not a path, so that a caller can check their hash and parse the very
    same bytes: reading the file twice lets a file swapped in between be loaded unchecked.
    """
    with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as handle:
        return RestrictedUnpickler(handle).load()


def safe_dump(obj: Any, path: Path) -> None:
    with gzip.open(path, "wb", compresslevel=6) as handle:
        pickle.dump(obj, handle, protocol=5)


# --- the trust store -------------------------------------------------------------------------


def trust_file() -> Path:
    """``$SW_NLP_TRUST_FILE``, else ``$XDG_CONFIG_HOME/sw-nlp/trusted.json`` (or ~/.config)."""
    if explicit := os.environ.get("SW_NLP_TRUST_FILE"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "sw-nlp" / "trusted.json"


def trusted() -> dict[str, Any]:
    from sw_nlp.errors import InputError
    from sw_nlp.safe_read import read_regular_file

    path = trust_file()
    try:
        data = json.loads(read_regular_file(path, MAX_TRUST_FILE_BYTES, "trust store"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, InputError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def is_trusted(sha256: str) -> bool:
    return sha256 in trusted()


def trust(sha256: str, bundle: Path, reason: str) -> Path:
    """Record a model hash as trusted; returns the trust file written.

    Read, change and write happen under a lock on the store, through a temporary file of
    this process's own: two ``train`` runs finishing at once must not drop each other's
    record (a dropped one makes a model just trained here refuse to load).
    """
    path = trust_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_name(path.name + ".lock")):
        records = trusted()
        records[sha256] = {
            "bundle": str(Path(bundle).resolve()),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "who": current_user(),
            "reason": reason,
        }
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    return path


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (waiting for it: the store is written in
    milliseconds). Without POSIX locks (Windows) the write is still atomic, not serialised."""
    with open(lock_path, "a", encoding="utf-8") as handle:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield

