"""The one scikit-learn pipeline from raw text to probabilities, and the classifier users hold.

Step names (``normalize``, ``features`` with ``word`` and ``char``, ``classify``) are part of
the bundle format: ``explain`` and later the fast path look them up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from sw_nlp.config import Config, ReviewConfig
from sw_nlp.explain import Scored, centred_coefficients, explain_row
from sw_nlp.fast import FastPath, build_fast_path
from sw_nlp.features import vocabulary_share
from sw_nlp.labels import order_labels
from sw_nlp.pipeline_data import ModelData, build_pipeline_from
from sw_nlp.preprocess import WordAnalyzer, build_lexicon

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


def build_pipeline(cfg: Config) -> Pipeline:
    """An unfitted pipeline: normalise → word + char TF-IDF → multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from sw_nlp.features import build_features
    from sw_nlp.normalizer import TextNormalizer

    return Pipeline(
        [
            (
                "normalize",
                TextNormalizer(
                    lexicon=build_lexicon(cfg.preprocess.lexicon_path),
                    mask_pii=cfg.preprocess.mask_pii,
                    numbers_as_token=cfg.preprocess.numbers_as_token,
                ),
            ),
            ("features", build_features(cfg.features, cfg.preprocess)),
            (
                "classify",
                LogisticRegression(
                    C=cfg.model.C,
                    class_weight=cfg.model.class_weight,
                    max_iter=cfg.model.max_iter,
                ),
            ),
        ]
    )


class ExactPath:
    """Inference by the scikit-learn pipeline itself, behind the fast path's interface
    (``FastPath.analyse``): the reference the fast path is tested against, and the path for
    pipelines the fast path does not reproduce."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def analyse(self, texts: Sequence[str], k: int = 0, target: int | None = None) -> Scored:
        """Probabilities (the classifier's class order), explanations and vocabulary share."""
        steps = self.pipeline.named_steps
        normalized = steps["normalize"].transform(texts)
        X = steps["features"].transform(normalized).tocsr()
        proba = steps["classify"].predict_proba(X)
        word, char = (v for _, v in steps["features"].transformer_list)
        analyzer: WordAnalyzer = word.tokenizer
        shares = np.array([vocabulary_share(analyzer(t), word.vocabulary_) for t in normalized])
        explanations: list[list[tuple[str, float]]] = []
        if k > 0:
            centred = self._centred
            terms = self._feature_terms

            def shown(token: str) -> str:
                return (analyzer(token) or [token])[0]

            for i, text in enumerate(normalized):
                row = X[i]
                aim = target if target is not None else int(proba[i].argmax())
                explanations.append(
                    explain_row(
                        text, row.indices, row.data, centred[aim], terms, shown,
                        char.ngram_range, k,
                    )  # fmt: skip
                )
        return Scored(proba=proba, explanations=explanations, vocabulary_share=shares)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict_proba(texts)

    @cached_property
    def _centred(self) -> np.ndarray:
        return centred_coefficients(self.pipeline.named_steps["classify"].coef_)

    @cached_property
    def _feature_terms(self) -> tuple[np.ndarray, list[str]]:
        """For every feature: is it a word feature, and its term without the block prefix."""
        names = self.pipeline.named_steps["features"].get_feature_names_out()
        blocks, terms = zip(*(name.split("__", 1) for name in names), strict=True)
        return np.array([b == "word" for b in blocks]), list(terms)


class CaseClassifier:
    """A fitted pipeline with labels in contract order and explanations.

    It supports a case worker's decision and never makes it: ``predict_proba`` and
    ``explain`` are there so that a person can see how sure the model is, and why.

    With ``fast=True`` (the default) predictions go through ``sw_nlp.fast``, which computes the
    pipeline's own numbers a chunk at a time; a pipeline it does not support goes through the
    pipeline itself (``ExactPath``). ``fast=False`` always uses the pipeline.

    Made from a bundle's numbers (``from_data``), it builds the scikit-learn pipeline only
    when something asks for it (``fast=False``, an unsupported pipeline, training and
    evaluation code reading ``.pipeline``), so classifying with the fast path never imports
    scikit-learn.
    """

    manifest: dict[str, Any]  # the bundle's manifest, set by ``bundle.load_model``

    def __init__(
        self, pipeline: Pipeline, review: ReviewConfig | None = None, fast: bool = True
    ) -> None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(pipeline, msg="CaseClassifier needs a fitted pipeline")
        self._setup(pipeline, None, list(pipeline.classes_), review, fast)

    @classmethod
    def from_data(
        cls, data: ModelData, review: ReviewConfig | None = None, fast: bool = True
    ) -> CaseClassifier:
        """A classifier on a format-2 bundle's checked numbers (``sw_nlp.pipeline_data``)."""
        clf = cls.__new__(cls)
        pipeline = None if fast else build_pipeline_from(data)
        clf._setup(pipeline, data, [str(c) for c in data.classes.tolist()], review, fast)
        return clf

    def _setup(
        self,
        pipeline: Pipeline | None,
        data: ModelData | None,
        fitted: list[str],
        review: ReviewConfig | None,
        fast: bool,
    ) -> None:
        self._pipeline = pipeline
        self._data = data
        self.review = review or ReviewConfig()
        self._fitted = fitted  # the classifier's own column order
        self.classes_: list[str] = order_labels(fitted)
        self._columns = np.array([fitted.index(label) for label in self.classes_])
        self._fast: FastPath | None = None
        if fast:
            model = data if data is not None else pipeline
            assert model is not None
            self._fast = build_fast_path(model)

    @property
    def pipeline(self) -> Pipeline:
        """The fitted scikit-learn pipeline; built from the bundle's numbers on first use."""
        if self._pipeline is None:
            assert self._data is not None
            self._pipeline = build_pipeline_from(self._data)
        return self._pipeline

    @property
    def uses_fast_path(self) -> bool:
        return self._fast is not None

    def compile_kernels(self) -> bool:
        """Compile the fast path's kernels now (or load them from Numba's cache), so that the
        first large job does not wait for it; False when there is no fast path to compile."""
        if self._fast is None:
            return False
        self._fast.compile_kernels()
        return True

    @property
    def _inference(self) -> FastPath | ExactPath:
        if self._fast is not None:
            return self._fast
        exact = self.__dict__.get("_exact")
        if exact is None:
            exact = self.__dict__["_exact"] = ExactPath(self.pipeline)
        return exact

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Probabilities, one column per label in ``classes_`` order (mikro, mezzo, …)."""
        texts = _as_list(texts)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        return self._inference.predict_proba(texts)[:, self._columns]

    def predict(self, texts: Iterable[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.classes_[i] for i in proba.argmax(axis=1)]

    def explain(self, text: str, k: int = 5, label: str | None = None) -> list[tuple[str, float]]:
        """The k terms that pushed the decision most, with signed weights.

        A term's weight is its share of the log-odds of ``label`` (default: the predicted
        label) against the average label. Character n-grams are credited to the words they
        came from, so a person reads words, not fragments like ``" lans"``.
        """
        if label is not None and label not in self.classes_:
            raise ValueError(f"unknown label {label!r}; labels are {self.classes_}")
        if k <= 0:  # nothing asked for: no pass over the features at all
            return []
        return self.analyse([text], k, label=label).explanations[0]

    def analyse(self, texts: Sequence[str], k: int = 3, label: str | None = None) -> Analysis:
        """Probabilities, explanations and vocabulary coverage from one pass over the texts.

        Batch classification needs all three; normalising and vectorising once is what keeps
        explanations affordable on large files.
        """
        texts = _as_list(texts)
        target = self._fitted.index(label) if label is not None else None
        scored = self._inference.analyse(texts, k, target)
        return Analysis(
            proba=scored.proba[:, self._columns],
            explanations=scored.explanations,
            vocabulary_share=scored.vocabulary_share,
        )

    def vocabulary_share(self, texts: Sequence[str]) -> np.ndarray:
        """Share of each text's word tokens that the model has seen in training (0..1)."""
        return self.analyse(texts, k=0).vocabulary_share


@dataclass(frozen=True)
class Analysis:
    proba: np.ndarray  # columns in CaseClassifier.classes_ order
    explanations: list[list[tuple[str, float]]]  # empty when k == 0
    vocabulary_share: np.ndarray


def review_flags(
    texts: Sequence[str], confidence: np.ndarray, vocabulary_share: np.ndarray, review: ReviewConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Why each text needs a person: (low confidence, too short, mostly unknown words).

    One definition for batch classification and for evaluation, so the share of rows a
    report says go to review is the share a case worker will see flagged.
    """
    m = review.min_words
    # split(maxsplit=m) stops counting at m + 1 words: enough to tell "fewer than m".
    short = np.fromiter((len(t.split(maxsplit=m)) < m for t in texts), bool, len(texts))
    return (
        np.asarray(confidence) < review.threshold,
        short,
        1.0 - np.asarray(vocabulary_share) > review.max_unknown_share,
    )


def _as_list(texts: Iterable[Any]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got one string; wrap it in a list")
    return ["" if t is None else str(t) for t in texts]
