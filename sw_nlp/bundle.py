"""The model bundle: a folder with ``model.npz``, ``model.json``, ``manifest.json`` and
``MODEL_CARD.md``.

Format versions (``FORMAT_VERSION``; the rules for bumping it are in docs/bundle-format.md):

- 1: the fitted pipeline as a gzip'd pickle (``model.pkl.gz``). Never loaded: a pickle can
  run code while it loads. ``sw-nlp models upgrade PATH`` converts one, once.
- 2: numbers and text only (``sw_nlp.pipeline_data``): ``model.npz`` read with
  ``allow_pickle=False`` and ``model.json``, from which the pipeline is rebuilt.

Loading checks, in order, before a single byte of a model file is parsed: the manifest, the
format version, the sha256 of ``model.json`` against the manifest, then that this hash is
trusted — for the shipped default model the hash pinned inside the package, for any other
bundle one recorded in the user's trust store (``sw_nlp.safety``) — then the scikit-learn
version, then the sha256 of ``model.npz`` against both the manifest and ``model.json``. Each
file is read once and the bytes that were hashed are the bytes that are parsed. No code path
of ``load_model`` unpickles anything; only ``upgrade_bundle`` does, after the same checks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import platform
import secrets
import warnings
from datetime import UTC, datetime
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sw_nlp._version import __version__
from sw_nlp.config import Config
from sw_nlp.errors import BundleError, InputError
from sw_nlp.model_card import model_card
from sw_nlp.pipeline_data import (
    ARRAYS_FILE,
    FORMAT_VERSION,
    SPEC_FILE,
    ModelData,
    build_pipeline_from,
    data_to_pipeline,
    decode_arrays,
    decode_spec,
    encode_arrays,
    encode_spec,
    pipeline_to_data,
    read_model_data,
)
from sw_nlp.safe_read import read_regular_file
from sw_nlp.safety import is_trusted, trust

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from sw_nlp.model import CaseClassifier

log = logging.getLogger(__name__)

LEGACY_FORMAT = 1
LEGACY_MODEL_FILE = "model.pkl.gz"  # format 1; read only by ``upgrade_bundle``
MANIFEST_FILE = "manifest.json"
CARD_FILE = "MODEL_CARD.md"
PIN_RESOURCE = "default_model.sha256"


def default_bundle_dir() -> Path:
    """The shipped model: inside the installed wheel, or ``models/default`` in a checkout."""
    packaged = Path(str(resources.files("sw_nlp"))) / "_default_model"
    if (packaged / MANIFEST_FILE).is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "models" / "default"


def pinned_default_hash() -> str:
    """The sha256 of the shipped model's ``model.json`` (which records ``model.npz``'s)."""
    return resources.files("sw_nlp.resources").joinpath(PIN_RESOURCE).read_text("utf-8").strip()


def sklearn_version() -> str:
    """scikit-learn's version from its metadata: importing it only to ask costs a second."""
    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        return "unknown"


def save_bundle(
    out_dir: Path,
    classifier: CaseClassifier,
    config: Config,
    *,
    labels: list[str],
    scheme: int,
    corpus: dict[str, Any],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """Write a format-2 bundle; returns the manifest. The model files are written first,
    then hashed; the manifest is written last."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = _write_model_files(out_dir, classifier.pipeline, labels, config.to_dict())
    manifest = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {
            "sw_nlp": __version__,
            "scikit_learn": sklearn_version(),
            "python": platform.python_version(),
        },
        "labels": labels,
        "scheme": scheme,
        "config": config.to_dict(),
        "corpus": corpus,
        "metrics": metrics,
        "files": files,
    }
    _write_text(out_dir / MANIFEST_FILE, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    (out_dir / CARD_FILE).write_text(model_card(manifest), "utf-8")
    _record_trust(out_dir, files[SPEC_FILE]["sha256"], "trained here by sw-nlp train")
    return manifest


def _write_model_files(
    out_dir: Path, pipeline: Pipeline, labels: list[str], config: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """``model.npz`` then ``model.json`` (which records the npz's sha256); their entries for
    the manifest's ``files``."""
    spec, arrays = pipeline_to_data(pipeline, labels=labels, config=config)
    array_bytes = encode_arrays(arrays)
    spec["arrays"] = {"file": ARRAYS_FILE, "sha256": hashlib.sha256(array_bytes).hexdigest()}
    spec_bytes = encode_spec(spec)
    files = {}
    for name, data in ((ARRAYS_FILE, array_bytes), (SPEC_FILE, spec_bytes)):
        _write_bytes(out_dir / name, data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return files


def _record_trust(bundle_dir: Path, sha256: str, reason: str) -> None:
    """Pin the default model's hash in the package, or trust any other bundle's."""
    if _is_default(bundle_dir):
        pin = Path(__file__).resolve().parent / "resources" / PIN_RESOURCE
        pin.write_text(sha256 + "\n", "utf-8")
        log.info("pinned the new default model's sha256 in %s", pin)
    else:
        trust(sha256, bundle_dir, reason)


def _write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, then rename: never half a file.
    Opened with ``open`` rather than ``mkstemp`` so the file gets the user's usual
    permissions (a shared model folder must stay readable to others)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_text(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


MAX_MODEL_BYTES = 2 << 30  # the shipped model is a few MB; read whole, to hash what is parsed
MAX_MANIFEST_BYTES = 16 << 20  # a manifest with the whole CV grid is a few hundred KB


def read_manifest(bundle_dir: Path) -> dict[str, Any]:
    """The bundle's manifest, read with a size limit from a regular file only (a manifest
    that is a link to /dev/zero or a FIFO must not eat memory or hang), shape-checked."""
    path = Path(bundle_dir) / MANIFEST_FILE
    if not Path(bundle_dir).is_dir():
        raise BundleError(f"{bundle_dir}: no model bundle here (expected a folder)")
    try:
        manifest = json.loads(read_regular_file(path, MAX_MANIFEST_BYTES, "manifest"))
    except FileNotFoundError:
        raise BundleError(f"{path}: manifest missing; is this a sw-nlp model bundle?") from None
    except InputError as exc:
        raise BundleError(str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: manifest is not valid JSON ({exc})") from None
    except RecursionError:
        raise BundleError(f"{path}: manifest is nested too deeply to read") from None
    except OSError as exc:
        raise BundleError(f"{path}: manifest unreadable ({exc.strerror or exc})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: manifest is not a JSON object")
    for key in ("files", "versions", "config", "metrics", "corpus"):
        if key in manifest and not isinstance(manifest[key], dict):
            raise BundleError(f"{path}: manifest field {key!r} must be a JSON object")
    return manifest


def _expected_sha256(manifest: dict[str, Any], bundle_dir: Path, name: str) -> str:
    """A model file's sha256 as the manifest records it, or a one-line BundleError."""
    entry = manifest.get("files", {}).get(name)
    sha256 = entry.get("sha256") if isinstance(entry, dict) else None
    if not isinstance(sha256, str):
        raise BundleError(
            f"{Path(bundle_dir) / MANIFEST_FILE}: manifest has no sha256 for {name} "
            f'(expected "files": {{"{name}": {{"sha256": ...}}}})'
        )
    return sha256


def _read_checked(bundle_dir: Path, manifest: dict[str, Any], name: str) -> tuple[bytes, str]:
    """A model file's bytes, read once, and their sha256, checked against the manifest."""
    path = bundle_dir / name
    if not path.is_file():
        raise BundleError(f"{path}: model file missing")
    try:
        data = read_regular_file(path, MAX_MODEL_BYTES, "model file")
    except InputError as exc:
        raise BundleError(str(exc)) from None
    except OSError as exc:
        raise BundleError(f"{path}: unreadable ({exc.strerror or exc})") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != _expected_sha256(manifest, bundle_dir, name):
        raise BundleError(
            f"{path}: sha256 does not match the manifest; the file was changed or damaged"
        )
    return data, actual


def _check_trusted(bundle_dir: Path, path: Path, sha256: str) -> None:
    if _is_default(bundle_dir):
        if sha256 != pinned_default_hash():
            raise BundleError(
                f"{path}: not the model this sw-nlp release ships (sha256 differs from the pinned one)"
            )
    elif not is_trusted(sha256):
        raise BundleError(
            f"{bundle_dir}: this bundle was not trained here and has not been trusted; if you know "
            f"where it comes from, run `sw-nlp models trust {bundle_dir}`"
        )


def _check_format(manifest: dict[str, Any], bundle_dir: Path) -> None:
    found = manifest.get("format_version")
    if found == FORMAT_VERSION:
        return
    if found == LEGACY_FORMAT:
        raise BundleError(
            f"{bundle_dir}: bundle format 1 (a pickle) is no longer loaded; convert it once "
            f"with `sw-nlp models upgrade {bundle_dir}`"
        )
    raise BundleError(
        f"{bundle_dir}: bundle format {found!r}, this sw-nlp reads format {FORMAT_VERSION}; "
        "retrain with `sw-nlp train --out <folder>`"
    )


def load_data(bundle_dir: Path) -> tuple[ModelData, dict[str, Any]]:
    """The checked numbers of a format-2 bundle and its manifest, after every check.

    Nothing here unpickles (``model.npz`` is read with ``allow_pickle=False``) and nothing
    imports scikit-learn: the fast path classifies from these numbers directly.
    """
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    _check_format(manifest, bundle_dir)
    spec_bytes, spec_sha = _read_checked(bundle_dir, manifest, SPEC_FILE)
    _check_trusted(bundle_dir, bundle_dir / SPEC_FILE, spec_sha)
    _check_sklearn(manifest, bundle_dir)
    array_bytes, array_sha = _read_checked(bundle_dir, manifest, ARRAYS_FILE)
    spec = decode_spec(spec_bytes)
    recorded = spec.get("arrays")
    if not isinstance(recorded, dict) or recorded.get("sha256") != array_sha:
        raise BundleError(
            f"{bundle_dir / ARRAYS_FILE}: sha256 differs from the one model.json records"
        )
    return read_model_data(spec, decode_arrays(array_bytes)), manifest


def load_pipeline(bundle_dir: Path) -> tuple[Pipeline, dict[str, Any]]:
    """The fitted scikit-learn pipeline of a format-2 bundle, rebuilt from its numbers by
    ``sw_nlp.pipeline_data`` from a fixed set of classes, and the manifest."""
    data, manifest = load_data(bundle_dir)
    return build_pipeline_from(data), manifest


def load_model(path: Path | str, *, fast: bool = True) -> CaseClassifier:
    """Load exactly the bundle in folder ``path``, after checking it; which folder (explicit,
    the registry's current model, the shipped one) is ``sw_nlp.resolve``'s decision.
    ``fast=False`` predicts with the scikit-learn pipeline itself rather than the fast path
    built from it (same numbers).
    """
    from sw_nlp.model import CaseClassifier

    bundle_dir = Path(path)
    data, manifest = load_data(bundle_dir)
    review = manifest.get("config", {}).get("review", {})
    cfg = Config.from_dict({"review": review}, source=str(bundle_dir / MANIFEST_FILE))
    clf = CaseClassifier.from_data(data, review=cfg.review, fast=fast)
    clf.manifest = manifest
    return clf


def upgrade_bundle(bundle_dir: Path) -> dict[str, Any]:
    """Convert a format-1 bundle to format 2 in place, once; returns the new manifest.

    The one place sw-nlp still unpickles, run only on the user's explicit request: after the
    same checks format 1 had (the hash against the manifest, then the pin or the trust store,
    then the scikit-learn version), with the restricted unpickler of ``sw_nlp.safety``. The
    rebuilt pipeline must give the unpickled one's probabilities before anything is written;
    the pickle is then removed and the new ``model.json`` hash pinned or trusted in its place.
    """
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    found = manifest.get("format_version")
    if found == FORMAT_VERSION:
        raise BundleError(f"{bundle_dir}: already bundle format {FORMAT_VERSION}; nothing to do")
    if found != LEGACY_FORMAT:
        raise BundleError(
            f"{bundle_dir}: bundle format {found!r} cannot be upgraded; retrain with "
            "`sw-nlp train --out <folder>`"
        )
    data, sha256 = _read_checked(bundle_dir, manifest, LEGACY_MODEL_FILE)
    _check_trusted(bundle_dir, bundle_dir / LEGACY_MODEL_FILE, sha256)
    _check_sklearn(manifest, bundle_dir)
    old = _unpickle_legacy(data, bundle_dir / LEGACY_MODEL_FILE)
    labels = manifest.get("labels") or [str(c) for c in old.classes_]
    config = manifest.get("config", {})
    spec, arrays = pipeline_to_data(old, labels=labels, config=config)
    rebuilt = data_to_pipeline(spec, arrays)
    _check_same_predictions(old, rebuilt, bundle_dir)
    try:
        files = _write_model_files(bundle_dir, old, labels, config)
        manifest["format_version"] = FORMAT_VERSION
        manifest["files"] = files
        manifest["upgraded"] = {
            "from_format": LEGACY_FORMAT,
            "from_sha256": sha256,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "sw_nlp": __version__,
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        _write_text(bundle_dir / MANIFEST_FILE, text)  # the switch: format 2 from here on
        (bundle_dir / LEGACY_MODEL_FILE).unlink()
        _record_trust(bundle_dir, files[SPEC_FILE]["sha256"], f"upgraded from format 1 ({sha256})")
    except OSError as exc:
        raise BundleError(
            f"{bundle_dir}: could not write the upgraded bundle ({exc.strerror or exc}); "
            "copy the folder somewhere writable and upgrade the copy"
        ) from None
    return manifest


def _unpickle_legacy(data: bytes, path: Path) -> Pipeline:
    """A format-1 model from bytes already hashed and trusted, by the restricted unpickler."""
    # The allow-list resolves classes only from modules already imported: import the ones a
    # pipeline is made of (a fixed list, here, never names from the file).
    import scipy.sparse  # noqa: F401
    import sklearn
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.pipeline  # noqa: F401

    import sw_nlp.normalizer  # noqa: F401
    from sw_nlp.safety import RefusedGlobal, restricted_loads

    with warnings.catch_warnings():
        # Version differences were judged before; a patch-level difference is only logged.
        warnings.simplefilter("ignore", category=sklearn.exceptions.InconsistentVersionWarning)
        try:
            return restricted_loads(data)
        except RefusedGlobal as exc:
            raise BundleError(
                f"{path}: refused: the file asks for {exc}, which a sw-nlp model never contains"
            ) from None
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError) as exc:
            raise BundleError(f"{path}: unreadable model file ({type(exc).__name__})") from None


# Texts the upgrade checks the rebuilt pipeline on: every level, slang, numbers, an
# identifier to mask, and an empty row.
_PROBE_TEXTS = (
    "Seorang nenek lansia tinggal sendiri dan butuh pendampingan",
    "Rapat koordinasi kelurahan untuk posyandu di RT 05",
    "Kebijakan nasional perlindungan anak dibahas di DPR",
    "Kampanye antarnegara soal pengungsi bersama UNHCR",
    "ortu gk bs byr sekolah anak2, hubungi 081234567890",
    "",
)


def _check_same_predictions(old: Pipeline, new: Pipeline, bundle_dir: Path) -> None:
    import numpy as np

    before = old.predict_proba(list(_PROBE_TEXTS))
    after = new.predict_proba(list(_PROBE_TEXTS))
    if not np.allclose(before, after, rtol=0, atol=1e-9):
        raise BundleError(f"{bundle_dir}: the converted model predicts differently; not upgraded")


def trust_bundle(bundle_dir: Path, reason: str = "trusted by the user") -> Path:
    """Record a bundle from elsewhere as trusted, after checking it is intact.

    Format 2: the hash recorded is ``model.json``'s, which vouches for ``model.npz`` too.
    A format-1 bundle can be trusted as well, so that it can then be upgraded.
    """
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    names = (
        [LEGACY_MODEL_FILE]
        if manifest.get("format_version") == LEGACY_FORMAT
        else [SPEC_FILE, ARRAYS_FILE]
    )
    hashes = []
    for name in names:
        try:
            hashes.append(_read_checked(bundle_dir, manifest, name)[1])
        except BundleError as exc:
            if "sha256 does not match" in str(exc):
                raise BundleError(
                    f"{bundle_dir / name}: sha256 does not match the manifest; not trusting a "
                    "damaged bundle"
                ) from None
            raise
    return trust(hashes[0], bundle_dir, reason)


def _check_sklearn(manifest: dict[str, Any], bundle_dir: Path) -> None:
    saved = str(manifest.get("versions", {}).get("scikit_learn", "unknown"))
    here = sklearn_version()
    if saved == here:
        return
    if saved.split(".")[:2] != here.split(".")[:2]:
        raise BundleError(
            f"{bundle_dir}: trained with scikit-learn {saved}, this is {here}; models do not "
            "carry across minor versions. Retrain: `sw-nlp train --out <folder>`"
        )
    log.warning(
        "%s: trained with scikit-learn %s, running %s (patch difference)", bundle_dir, saved, here
    )


def _is_default(bundle_dir: Path) -> bool:
    try:
        return Path(bundle_dir).resolve() == default_bundle_dir().resolve()
    except OSError:
        return False
