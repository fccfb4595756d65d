"""sw-nlp: triage Indonesian social-work case descriptions by intervention level.

The public API; importing it does no work (no files read, no logging configured) and imports
nothing heavy: each name below is imported on first use (PEP 562), so ``sw-nlp --help`` and
tools that only need ``__version__`` do not pay for scikit-learn, SciPy, pandas or Numba.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from sw_nlp._version import __version__

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these load in __getattr__
    from sw_nlp.bundle import load_model, save_bundle  # noqa: F401 (in __all__ through _EXPORTS)
    from sw_nlp.config import Config  # noqa: F401 (in __all__ through _EXPORTS)
    from sw_nlp.corpus import load_corpus, validate_corpus  # noqa: F401 (in __all__ through _EXPORTS)
    from sw_nlp.labels import LEVELS  # noqa: F401 (in __all__ through _EXPORTS)
    from sw_nlp.model import CaseClassifier, build_pipeline  # noqa: F401 (in __all__ through _EXPORTS)
    from sw_nlp.resolve import resolve_model  # noqa: F401 (in __all__ through _EXPORTS)
    from sw_nlp.train import train  # noqa: F401 (in __all__ through _EXPORTS)

# Public name -> the module that defines it. A fixed table written here: nothing is ever
# imported by a name that comes from outside the package.
_EXPORTS: dict[str, str] = {
    "LEVELS": "sw_nlp.labels",
    "CaseClassifier": "sw_nlp.model",
    "Config": "sw_nlp.config",
    "build_pipeline": "sw_nlp.model",
    "load_corpus": "sw_nlp.corpus",
    "load_model": "sw_nlp.bundle",
    "resolve_model": "sw_nlp.resolve",
    "save_bundle": "sw_nlp.bundle",
    "train": "sw_nlp.train",
    "validate_corpus": "sw_nlp.corpus",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    """Import the defining module on first access and cache the name in this module."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sw_nlp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


logging.getLogger(__name__).addHandler(logging.NullHandler())
