"""A fitted pipeline as numbers and text (bundle format 2), and the pipeline rebuilt from them.

Why: a pickle can run any code while it loads, so a model stored as one is only as safe as
the unpickler's allow-list and the hash beside it. Here a model is two files that can only be
*read*: ``model.npz`` (NumPy arrays loaded with ``allow_pickle=False``, so an object array —
the one way an ``.npz`` can hold a pickle — is refused) and ``model.json`` (plain JSON). The
pipeline is then built by this module's own code, from a fixed set of classes; no class,
function or module is ever looked up by a name taken from the files.

The arrays (``model.npz``):

- ``word_vocabulary``, ``char_vocabulary``: the terms, as unicode arrays in feature order
  (term ``i`` is feature ``i``);
- ``word_idf``, ``char_idf``: the idf vectors (absent when a block does not use idf);
- ``coef``, ``intercept``: the logistic regression's weights, any calibration temperature
  already divided in (``sw_nlp.calibration.apply_temperature``);
- ``classes``: the labels in the classifier's own column order.

The text (``model.json``): the format version, the sha256 of ``model.npz`` (so that the one
hash of ``model.json`` vouches for both files), the normaliser's settings and its lexicon,
each vectorizer's parameters, the logistic regression's parameters, labels and config.

Rebuilding sets the fitted attributes scikit-learn's own ``fit`` sets (``vocabulary_``,
``idf_`` through the vectorizer's ``TfidfTransformer``, ``coef_``, ``intercept_``,
``classes_``, ``n_features_in_``), so ``predict_proba`` runs the same code on the same numbers
as the trained pipeline (tested to 1e-9; in practice bit for bit).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sw_nlp.errors import BundleError
from sw_nlp.preprocess import WordAnalyzer

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

FORMAT_VERSION = 2
ARRAYS_FILE = "model.npz"
SPEC_FILE = "model.json"

BLOCKS = ("word", "char")
# Array name -> the dtype kinds it may have (U: unicode text, f: float). Nothing else is read.
_ARRAY_KINDS: dict[str, str] = {
    "word_vocabulary": "U",
    "char_vocabulary": "U",
    "word_idf": "f",
    "char_idf": "f",
    "coef": "f",
    "intercept": "f",
    "classes": "U",
}
# Vectorizer parameters stored as JSON values. ``tokenizer`` and ``dtype`` are stored in a
# form of their own; ``preprocessor``, ``vocabulary`` (the fitted one is in the arrays) and
# ``stop_words`` must be None: a callable or a list there is not something format 2 records.
_VECTORIZER_PARAMS = (
    "analyzer", "binary", "decode_error", "encoding", "input", "lowercase", "max_df",
    "max_features", "min_df", "ngram_range", "norm", "smooth_idf", "strip_accents",
    "sublinear_tf", "token_pattern", "use_idf",
)  # fmt: skip
_MUST_BE_NONE = ("preprocessor", "vocabulary", "stop_words")
_DTYPES = {"float64": np.float64, "float32": np.float32}
MAX_LEXICON_ENTRIES = 1 << 20


def pipeline_to_data(
    pipeline: Pipeline, *, labels: list[str], config: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The spec (for ``model.json``, without the arrays' hash) and the arrays of a fitted
    pipeline. Raises ``BundleError`` for a pipeline this format does not describe exactly,
    rather than writing a bundle that would load as a different model."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

    from sw_nlp.normalizer import TextNormalizer

    names = [name for name, _ in pipeline.steps]
    if names != ["normalize", "features", "classify"]:
        raise BundleError(f"cannot store pipeline steps {names} in bundle format 2")
    normalizer, features, clf = (step for _, step in pipeline.steps)
    if not isinstance(normalizer, TextNormalizer):
        raise BundleError("bundle format 2 stores a TextNormalizer as the normalize step")
    if not isinstance(features, FeatureUnion) or [n for n, _ in features.transformer_list] != list(
        BLOCKS
    ):
        raise BundleError("bundle format 2 stores a FeatureUnion of word + char vectorizers")
    if features.transformer_weights:
        raise BundleError("bundle format 2 does not store weighted feature blocks")
    if type(clf) is not LogisticRegression:
        raise BundleError("bundle format 2 stores a LogisticRegression as the classifier")

    arrays: dict[str, np.ndarray] = {}
    blocks: dict[str, Any] = {}
    for name, vectorizer in features.transformer_list:
        if type(vectorizer) is not TfidfVectorizer:
            raise BundleError(f"feature block {name!r} is not a TfidfVectorizer")
        params = vectorizer.get_params()
        for key in _MUST_BE_NONE:
            if params[key] is not None:
                raise BundleError(f"feature block {name!r}: {key} must be None in format 2")
        tokenizer = params["tokenizer"]
        if tokenizer is not None and type(tokenizer) is not WordAnalyzer:
            raise BundleError(f"feature block {name!r}: tokenizer is not a WordAnalyzer")
        dtype = np.dtype(params["dtype"]).name
        if dtype not in _DTYPES:
            raise BundleError(f"feature block {name!r}: dtype {dtype} not stored in format 2")
        stored = {key: params[key] for key in _VECTORIZER_PARAMS}
        stored["ngram_range"] = list(stored["ngram_range"])
        stored["dtype"] = dtype
        stored["tokenizer"] = (
            None
            if tokenizer is None
            else {"remove_stopwords": tokenizer.remove_stopwords, "stem": tokenizer.stem}
        )
        blocks[name] = _json_only(stored, f"feature block {name!r}")
        terms = [""] * len(vectorizer.vocabulary_)
        for term, index in vectorizer.vocabulary_.items():
            terms[index] = term
        vocabulary = np.array(terms, dtype=str)
        if vocabulary.tolist() != terms:  # a term NumPy cannot hold (trailing NUL): refuse
            raise BundleError(f"feature block {name!r}: a term does not survive a text array")
        arrays[f"{name}_vocabulary"] = vocabulary
        if vectorizer.use_idf:
            arrays[f"{name}_idf"] = np.asarray(vectorizer.idf_, dtype=np.float64)

    clf_params = dict(clf.get_params())
    if isinstance(clf_params.get("class_weight"), dict):  # JSON keys are strings: keep pairs
        clf_params["class_weight"] = [[k, v] for k, v in clf_params["class_weight"].items()]
    arrays["coef"] = np.asarray(clf.coef_, dtype=np.float64)
    arrays["intercept"] = np.asarray(clf.intercept_, dtype=np.float64)
    classes = np.array([str(c) for c in clf.classes_], dtype=str)
    if classes.tolist() != list(clf.classes_):
        raise BundleError("bundle format 2 stores text labels only")
    arrays["classes"] = classes

    lexicon = dict(normalizer.lexicon or {})
    spec = {
        "format_version": FORMAT_VERSION,
        "steps": {
            "normalize": {
                "mask_pii": bool(normalizer.mask_pii),
                "numbers_as_token": bool(normalizer.numbers_as_token),
                "lexicon": lexicon,
            },
            "features": {"n_jobs": features.n_jobs, "blocks": blocks},
            "classify": _json_only(clf_params, "classifier"),
        },
        "labels": list(labels),
        "config": config,
    }
    return spec, arrays


@dataclass(frozen=True)
class BlockData:
    """One TF-IDF block's parameters and fitted numbers, with the attribute names of
    ``TfidfVectorizer`` that inference reads, so the fast path takes either."""

    params: dict[str, Any]  # JSON values as stored (``tokenizer`` and ``dtype`` apart)
    tokenizer: WordAnalyzer | None
    vocabulary_: dict[str, int]
    idf_: np.ndarray | None

    @property
    def dtype(self) -> type:
        return _DTYPES[self.params["dtype"]]

    @property
    def ngram_range(self) -> tuple[int, int]:
        low, high = self.params["ngram_range"]
        return low, high

    def __getattr__(self, name: str) -> Any:  # analyzer, norm, use_idf, sublinear_tf, ...
        params = self.__dict__.get("params", {})
        if name in _VECTORIZER_PARAMS and name in params:
            return params[name]
        raise AttributeError(name)

    def get_params(self) -> dict[str, Any]:
        """The ``TfidfVectorizer`` parameters these numbers were fitted with."""
        return {
            **self.params,
            "ngram_range": self.ngram_range,
            "dtype": self.dtype,
            "tokenizer": self.tokenizer,
            **{key: None for key in _MUST_BE_NONE},
        }


@dataclass(frozen=True)
class ModelData:
    """A format-2 model, checked, before any scikit-learn object exists: what the fast path
    needs (it never imports scikit-learn) and what ``build_pipeline_from`` turns into the
    exact pipeline."""

    lexicon: dict[str, str]
    mask_pii: bool
    numbers_as_token: bool
    blocks: tuple[BlockData, BlockData]  # word, char
    n_jobs: int | None
    classifier_params: dict[str, Any]
    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray


def read_model_data(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> ModelData:
    """A format-2 spec and its arrays, every value checked for type and shape; a bundle that
    does not fit raises a one-line ``BundleError``. Imports nothing from scikit-learn."""
    steps = _field(spec, "steps", dict, "model.json")
    norm = _field(steps, "normalize", dict, "steps")
    lexicon = _field(norm, "lexicon", dict, "normalize")
    if len(lexicon) > MAX_LEXICON_ENTRIES or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in lexicon.items()
    ):
        raise BundleError("model.json: the lexicon must map text to text")

    feats = _field(steps, "features", dict, "steps")
    blocks = _field(feats, "blocks", dict, "features")
    if list(blocks) != list(BLOCKS):
        raise BundleError(f"model.json: feature blocks must be {list(BLOCKS)}")
    read: list[BlockData] = []
    for name in BLOCKS:
        params = dict(_field(blocks, name, dict, "blocks"))
        if set(params) != {*_VECTORIZER_PARAMS, "dtype", "tokenizer"}:
            raise BundleError(f"model.json: feature block {name!r} has unexpected parameters")
        _int_pair(params["ngram_range"], name)
        if params["dtype"] not in _DTYPES:
            raise BundleError(f"model.json: feature block {name!r}: dtype {params['dtype']!r} unknown")
        settings = params.pop("tokenizer")
        tokenizer = None
        if settings is not None:
            if not isinstance(settings, dict) or set(settings) != {"remove_stopwords", "stem"}:
                raise BundleError(f"model.json: feature block {name!r}: bad tokenizer settings")
            tokenizer = WordAnalyzer(
                remove_stopwords=_field(settings, "remove_stopwords", bool, "tokenizer"),
                stem=_field(settings, "stem", bool, "tokenizer"),
            )
        for key in ("use_idf", "sublinear_tf", "smooth_idf", "lowercase", "binary"):
            if not isinstance(params[key], bool):
                raise BundleError(f"model.json: feature block {name!r}: {key} must be a bool")
        terms = _array(arrays, f"{name}_vocabulary", ndim=1)
        vocabulary = dict(zip(terms.tolist(), range(len(terms)), strict=True))  # C-level loop
        if len(vocabulary) != len(terms):
            raise BundleError(f"model.npz: {name}_vocabulary repeats a term")
        idf = None
        if params["use_idf"]:
            idf = _array(arrays, f"{name}_idf", ndim=1).astype(np.float64, copy=False)
            if len(idf) != len(terms):
                raise BundleError(f"model.npz: {name}_idf and {name}_vocabulary differ in length")
        read.append(BlockData(params, tokenizer, vocabulary, idf))
    n_jobs = feats.get("n_jobs")
    if n_jobs is not None and type(n_jobs) is not int:
        raise BundleError("model.json: features n_jobs must be an integer or null")

    coef = _array(arrays, "coef", ndim=2).astype(np.float64, copy=False)
    intercept = _array(arrays, "intercept", ndim=1).astype(np.float64, copy=False)
    classes = _array(arrays, "classes", ndim=1)
    width = sum(len(b.vocabulary_) for b in read)
    rows = 1 if len(classes) == 2 else len(classes)
    if len(classes) < 2 or coef.shape != (rows, width) or intercept.shape != (rows,):
        raise BundleError(
            f"model.npz: coef {coef.shape} / intercept {intercept.shape} do not fit "
            f"{len(classes)} classes and {width} features"
        )
    return ModelData(
        lexicon=lexicon,
        mask_pii=_field(norm, "mask_pii", bool, "normalize"),
        numbers_as_token=_field(norm, "numbers_as_token", bool, "normalize"),
        blocks=(read[0], read[1]),
        n_jobs=n_jobs,
        classifier_params=dict(_field(steps, "classify", dict, "steps")),
        coef=coef,
        intercept=intercept,
        classes=classes,
    )


def build_pipeline_from(data: ModelData) -> Pipeline:
    """The fitted scikit-learn pipeline of checked model data, built from a fixed set of
    classes, with the fitted attributes scikit-learn's own ``fit`` sets."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    from sw_nlp.normalizer import TextNormalizer

    normalizer = TextNormalizer(
        lexicon=dict(data.lexicon),
        mask_pii=data.mask_pii,
        numbers_as_token=data.numbers_as_token,
    )
    vectorizers = []
    for name, block in zip(BLOCKS, data.blocks, strict=True):
        params = block.get_params()
        try:
            vectorizer = TfidfVectorizer(**params)
        except TypeError as exc:  # cannot happen with the checked keys; kept one line
            raise BundleError(f"model.json: feature block {name!r}: {exc}") from None
        vectorizer.vocabulary_ = dict(block.vocabulary_)
        vectorizer.fixed_vocabulary_ = False
        if block.idf_ is not None:
            vectorizer.idf_ = block.idf_  # scikit-learn's setter builds the TfidfTransformer
            vectorizer._tfidf.n_features_in_ = len(block.vocabulary_)
        vectorizers.append((name, vectorizer))
    features = FeatureUnion(vectorizers, n_jobs=data.n_jobs)

    clf_params = dict(data.classifier_params)
    if isinstance(clf_params.get("class_weight"), list):
        clf_params["class_weight"] = {k: v for k, v in clf_params["class_weight"]}
    try:
        clf = LogisticRegression(**clf_params)
    except TypeError as exc:
        raise BundleError(f"model.json: classifier parameters: {exc}") from None
    clf.coef_ = data.coef
    clf.intercept_ = data.intercept
    clf.classes_ = data.classes
    clf.n_features_in_ = data.coef.shape[1]
    clf.n_iter_ = np.zeros(1, dtype=np.int32)  # not known after the fact; nothing reads it
    return Pipeline([("normalize", normalizer), ("features", features), ("classify", clf)])


def data_to_pipeline(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Pipeline:
    """The fitted scikit-learn pipeline described by a format-2 spec and its arrays."""
    return build_pipeline_from(read_model_data(spec, arrays))


def encode_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """The arrays as ``.npz`` bytes (compressed); object arrays are refused, not pickled."""
    for name, array in arrays.items():
        if name not in _ARRAY_KINDS or array.dtype.kind not in _ARRAY_KINDS[name]:
            raise BundleError(f"model.npz: array {name!r} of dtype {array.dtype} not in format 2")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def decode_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of ``.npz`` bytes, with ``allow_pickle=False``: an object array is refused
    by NumPy before anything in it is unpickled. Only the names and dtype kinds this format
    defines are accepted."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            unknown = sorted(set(npz.files) - set(_ARRAY_KINDS))
            if unknown:
                raise BundleError(f"model.npz: unexpected arrays {unknown}")
            arrays = {name: npz[name] for name in npz.files}
    except BundleError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise BundleError(f"model.npz: unreadable ({_first_line(exc)})") from None
    for name, array in arrays.items():
        if array.dtype.kind not in _ARRAY_KINDS[name]:
            raise BundleError(f"model.npz: array {name!r} has dtype {array.dtype}")
    return arrays


def encode_spec(spec: dict[str, Any]) -> bytes:
    return (json.dumps(spec, indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode()


def decode_spec(data: bytes) -> dict[str, Any]:
    try:
        spec = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BundleError(f"model.json: not valid JSON ({_first_line(exc)})") from None
    if not isinstance(spec, dict):
        raise BundleError("model.json: not a JSON object")
    if spec.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"model.json: format {spec.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    return spec


def _json_only(values: dict[str, Any], what: str) -> dict[str, Any]:
    """``values`` if it survives JSON unchanged (numbers, text, lists, None), else an error:
    a parameter that is an object (a random state, a callable) has no place in format 2."""
    try:
        again = json.loads(json.dumps(values))
    except (TypeError, ValueError):
        again = None
    if again != _lists(values):
        raise BundleError(f"{what}: a parameter is not plain data; not stored in format 2")
    return again


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


def _field(mapping: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise BundleError(f"model.json: {where}.{key} must be a {kind.__name__}")
    return value


def _int_pair(value: Any, name: str) -> list[int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(type(v) is int and v >= 1 for v in value)
        or value[0] > value[1]
    ):
        raise BundleError(f"model.json: feature block {name!r}: bad ngram_range {value!r}")
    return value


def _array(arrays: dict[str, np.ndarray], name: str, *, ndim: int) -> np.ndarray:
    array = arrays.get(name)
    if array is None:
        raise BundleError(f"model.npz: array {name!r} missing")
    if array.ndim != ndim:
        raise BundleError(f"model.npz: array {name!r} has {array.ndim} dimensions, not {ndim}")
    return array


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
