"""sw-nlp: triage Indonesian social-work case descriptions by intervention level.

The public API; importing it does no work (no files read, no logging configured).
"""

import logging

__version__ = "0.1.0"  # before the imports: bundle.py records it in manifests

from sw_nlp.bundle import load_model, save_bundle  # noqa: E402
from sw_nlp.config import Config  # noqa: E402
from sw_nlp.corpus import LEVELS, load_corpus  # noqa: E402
from sw_nlp.model import CaseClassifier, build_pipeline  # noqa: E402
from sw_nlp.train import train  # noqa: E402
from sw_nlp.validate import validate_corpus  # noqa: E402

__all__ = [
    "LEVELS",
    "CaseClassifier",
    "Config",
    "build_pipeline",
    "load_corpus",
    "load_model",
    "save_bundle",
    "train",
    "validate_corpus",
    "__version__",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
