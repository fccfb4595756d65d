"""The model bundle: a folder with ``model.pkl.gz``, ``manifest.json`` and ``MODEL_CARD.md``.

Format versions (``FORMAT_VERSION``): bump it whenever a reader of the old format would
misread the new one (a renamed pipeline step, a changed manifest field). A loader refuses
formats it does not know and says how to retrain.

- 1: first format. Pipeline steps ``normalize`` → ``features`` (``word``, ``char``) →
  ``classify``, stored as a gzip'd pickle (protocol 5) in ``model.pkl.gz``; manifest as
  written by ``save_bundle``.

Loading checks, in order, before a single byte is unpickled: the manifest, the format
version, the model file's sha256 against the manifest, then that the hash is trusted — for
the shipped default model the hash pinned inside the package, for any other bundle one
recorded in the user's trust store (``sw_nlp.safety``) — then the scikit-learn version.
The file is then read by an unpickler that resolves only the classes a pipeline is made of.
joblib's own loader cannot be restricted that way, which is why the model is a plain pickle.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import platform
import warnings
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import sklearn

from sw_nlp import __version__
from sw_nlp.config import Config
from sw_nlp.corpus import file_sha256
from sw_nlp.errors import BundleError, InputError
from sw_nlp.files import read_regular_file
from sw_nlp.model import CaseClassifier
from sw_nlp.safety import RefusedGlobal, is_trusted, restricted_loads, safe_dump, trust

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MODEL_FILE = "model.pkl.gz"
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
    return resources.files("sw_nlp.resources").joinpath(PIN_RESOURCE).read_text("utf-8").strip()


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
    """Write the bundle; returns the manifest. The model file is written first, then hashed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    tmp = model_path.with_name(model_path.name + ".tmp")
    safe_dump(classifier.pipeline, tmp)
    tmp.replace(model_path)
    manifest = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {
            "sw_nlp": __version__,
            "scikit_learn": sklearn.__version__,
            "python": platform.python_version(),
        },
        "labels": labels,
        "scheme": scheme,
        "config": config.to_dict(),
        "corpus": corpus,
        "metrics": metrics,
        "files": {
            MODEL_FILE: {"sha256": file_sha256(model_path), "bytes": model_path.stat().st_size}
        },
    }
    (out_dir / MANIFEST_FILE).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    (out_dir / CARD_FILE).write_text(model_card(manifest), "utf-8")
    sha256 = manifest["files"][MODEL_FILE]["sha256"]
    if _is_default(out_dir):
        pin = Path(__file__).resolve().parent / "resources" / PIN_RESOURCE
        pin.write_text(sha256 + "\n", "utf-8")
        log.info("pinned the new default model's sha256 in %s", pin)
    else:
        trust(sha256, out_dir, "trained here by sw-nlp train")
    return manifest


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


def _expected_sha256(manifest: dict[str, Any], bundle_dir: Path) -> str:
    """The model file's sha256 as the manifest records it, or a one-line BundleError."""
    entry = manifest.get("files", {}).get(MODEL_FILE)
    sha256 = entry.get("sha256") if isinstance(entry, dict) else None
    if not isinstance(sha256, str):
        raise BundleError(
            f"{Path(bundle_dir) / MANIFEST_FILE}: manifest has no sha256 for {MODEL_FILE} "
            '(expected "files": {"model.pkl.gz": {"sha256": ...}})'
        )
    return sha256


def load_model(path: Path | str | None = None, *, fast: bool = True) -> CaseClassifier:
    """Load a bundle after checking it.

    No path: the registry's current model (``models/registry/current`` of this checkout), or
    the model shipped with sw-nlp when there is no registry. ``fast=False`` predicts with the
    scikit-learn pipeline itself rather than the fast path built from it (same numbers).
    """
    if path is None:
        from sw_nlp.registry import current_model_dir

        bundle_dir = current_model_dir()
    else:
        bundle_dir = Path(path)
    manifest = read_manifest(bundle_dir)
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{bundle_dir}: bundle format {version!r}, this sw-nlp reads format {FORMAT_VERSION}; "
            "retrain with `sw-nlp train --out <folder>`"
        )
    model_path = bundle_dir / MODEL_FILE
    if not model_path.is_file():
        raise BundleError(f"{model_path}: model file missing")
    # Read once: the hash is checked on the very bytes that are unpickled below.
    try:
        model_bytes = read_regular_file(model_path, MAX_MODEL_BYTES, "model file")
    except InputError as exc:
        raise BundleError(str(exc)) from None
    actual = hashlib.sha256(model_bytes).hexdigest()
    expected = _expected_sha256(manifest, bundle_dir)
    if actual != expected:
        raise BundleError(
            f"{model_path}: sha256 does not match the manifest; the file was changed or damaged"
        )
    if _is_default(bundle_dir):
        if actual != pinned_default_hash():
            raise BundleError(
                f"{model_path}: not the model this sw-nlp release ships (sha256 differs from the pinned one)"
            )
    elif not is_trusted(actual):
        raise BundleError(
            f"{bundle_dir}: this bundle was not trained here and has not been trusted; if you know "
            f"where it comes from, run `sw-nlp models trust {bundle_dir}`"
        )
    _check_sklearn(manifest, bundle_dir)
    with warnings.catch_warnings():
        # Version differences were judged above; a patch-level difference is only logged.
        warnings.simplefilter("ignore", category=sklearn.exceptions.InconsistentVersionWarning)
        try:
            pipeline = restricted_loads(model_bytes)
        except RefusedGlobal as exc:
            raise BundleError(
                f"{model_path}: refused: the file asks for {exc}, which a sw-nlp model never contains"
            ) from None
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError) as exc:
            raise BundleError(
                f"{model_path}: unreadable model file ({type(exc).__name__})"
            ) from None
    review = manifest.get("config", {}).get("review", {})
    cfg = Config.from_dict({"review": review}, source=str(bundle_dir / MANIFEST_FILE))
    clf = CaseClassifier(pipeline, review=cfg.review, fast=fast)
    clf.manifest = manifest  # type: ignore[attr-defined]
    return clf


def trust_bundle(bundle_dir: Path, reason: str = "trusted by the user") -> Path:
    """Record a bundle from elsewhere as trusted, after checking it is intact."""
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    model_path = bundle_dir / MODEL_FILE
    if not model_path.is_file():
        raise BundleError(f"{model_path}: model file missing")
    actual = file_sha256(model_path)
    if actual != _expected_sha256(manifest, bundle_dir):
        raise BundleError(
            f"{model_path}: sha256 does not match the manifest; not trusting a damaged bundle"
        )
    return trust(actual, bundle_dir, reason)


def _check_sklearn(manifest: dict[str, Any], bundle_dir: Path) -> None:
    saved = str(manifest.get("versions", {}).get("scikit_learn", "unknown"))
    here = sklearn.__version__
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


def model_card(manifest: dict[str, Any]) -> str:
    """The model card: what the model is for, what it was trained on, how well it does."""
    m = manifest["metrics"]
    test, cv = m.get("test", {}), m.get("cv", {})
    corpus = manifest["corpus"]
    per_class = "\n".join(
        f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
        for label, v in test.get("per_class", {}).items()
    )
    cfg = manifest["config"]
    return f"""# Model card: sw-nlp intervention-level classifier

Created {manifest["created"]} with sw-nlp {manifest["versions"]["sw_nlp"]},
scikit-learn {manifest["versions"]["scikit_learn"]}, Python {manifest["versions"]["python"]}.

## What it does
Reads an Indonesian social-work case description and estimates which intervention level
it calls for: {", ".join(manifest["labels"])} (the label contract,
`docs/annotation-guideline.md`). It returns probabilities and the words that drove them.

## Intended use
Triage support for case workers and analysts at Dinas Sosial, Kemensos, LKS and NGOs: sorting
and prioritising case files, flagging the ones a person should read first. **The model
supports a case worker's decision and never makes it.** Low-confidence predictions are flagged
for review; every prediction can be overruled.

## Not for
Decisions about a person's eligibility for assistance, legal status or services; any use
without a person reviewing the output; texts that are not case descriptions in Indonesian.

## Model
Normalisation (NFKC, lower case, masking of NIK/KK, phone, e-mail, URL and bank account
numbers, slang lexicon) →
TF-IDF on word n-grams {cfg["features"]["word_ngrams"]} and character n-grams
{cfg["features"]["char_ngrams"]} (sublinear tf) → multinomial logistic regression
(C = {cfg["model"]["C"]}, class weights {cfg["model"]["class_weight"]}); stemming
{"on" if cfg["preprocess"]["stem"] else "off"}, stopword removal
{"on" if cfg["preprocess"]["remove_stopwords"] else "off"}, chosen by {cv.get("folds", "?")}-fold
cross-validation on the train split.

## Data
{corpus.get("rows", "?")} labelled cases ({corpus.get("train", "?")} train,
{corpus.get("test", "?")} test), written by hand for this project in many registers (assessment
reports, chats, complaints, minutes, proposals, news, official posts, memos, forms,
interviews). No real case; no real personal data. Corpus sha256 `{corpus.get("sha256", "?")}`.

## Evaluation
Cross-validated macro-F1 on the train split: {cv.get("macro_f1_mean", float("nan")):.3f}
± {cv.get("macro_f1_sd", float("nan")):.3f}.
Held-out test split (n = {test.get("n", "?")}): accuracy {test.get("accuracy", float("nan")):.3f},
macro-F1 {test.get("macro_f1", float("nan")):.3f}.

| label | precision | recall | F1 | support |
| --- | --- | --- | --- | --- |
{per_class}

{_real_text_section(m)}{_calibration_section(m)}## Limits
The corpus is written for the project, so scores on it overstate what to expect on other
people's case files; real news and government texts are harder. The boundary between
mezzo and makro depends on geography words (kecamatan vs kabupaten), and texts that mention
several levels are labelled by their main intervention, which a bag of words can misread.
Retrain when the scikit-learn minor version changes.
"""


def _real_text_section(metrics: dict[str, Any]) -> str:
    """Figures on texts written by other people, when training scored any (``--real``)."""
    external = metrics.get("external") or {}
    if not external:
        return ""
    rows = "\n".join(
        f"| {name} | {e['n']} | {e['macro_f1']:.3f} | {e['accuracy']:.3f} | {e['ece']:.3f} | "
        f"{e['to_review']:.0%} | {_pct(e['accuracy_of_rest'])} |"
        for name, e in external.items()
    )
    return f"""## On real text
Texts written by other people (passages of public Indonesian news, agency, NGO, academic and
regulation pages; `data/real/README.md`), never trained on. These, not the corpus test split,
say what to expect on real files.

| set | n | macro-F1 | accuracy | calibration error | flagged for review | right when not flagged |
| --- | --- | --- | --- | --- | --- | --- |
{rows}

"""


def _calibration_section(metrics: dict[str, Any]) -> str:
    cal = metrics.get("calibration")
    if not cal:
        return ""
    return f"""## Confidence
Temperature scaling, T = {cal["temperature"]:.3f}, fitted on {cal["fitted_on"]} (mean
negative log-likelihood {cal["nll_before"]:.3f} before, {cal["nll_after"]:.3f} after). It changes
how sure the model says it is, never which level it picks.

"""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"
