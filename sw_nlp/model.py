"""The one scikit-learn pipeline from raw text to probabilities, and the classifier users hold.

Step names (``normalize``, ``features`` with ``word`` and ``char``, ``classify``) are part of
the bundle format: ``explain`` and later the fast path look them up.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from sw_nlp.config import Config, ReviewConfig
from sw_nlp.fast import FastBatch, FastPath, UnsupportedPipeline, build_fast_path
from sw_nlp.labels import order_labels
from sw_nlp.pii import is_placeholder_term
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


class CaseClassifier:
    """A fitted pipeline with labels in contract order and explanations.

    It supports a case worker's decision and never makes it: ``predict_proba`` and
    ``explain`` are there so that a person can see how sure the model is, and why.

    With ``fast=True`` (the default) predictions go through ``sw_nlp.fast``, which computes the
    pipeline's own numbers a chunk at a time; a pipeline it does not support, or any text it
    cannot handle, goes through the pipeline itself. ``fast=False`` always uses the pipeline.

    Made from a bundle's numbers (``from_data``), it builds the scikit-learn pipeline only
    when something asks for it (``fast=False``, a fallback, training and evaluation code
    reading ``.pipeline``), so classifying with the fast path never imports scikit-learn.
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

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Probabilities, one column per label in ``classes_`` order (mikro, mezzo, …)."""
        texts = _as_list(texts)
        batch = self._fast_batch(texts)
        if batch is not None and self._fast is not None:
            return self._fast.predict_proba(batch)[:, self._columns]
        return self.pipeline.predict_proba(texts)[:, self._columns]

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
        batch = self._fast_batch(texts)
        if batch is not None and self._fast is not None:
            raw = self._fast.predict_proba(batch)
            shares = batch.vocabulary_share
        else:
            normalized = self.pipeline.named_steps["normalize"].transform(texts)
            X = self.pipeline.named_steps["features"].transform(normalized).tocsr()
            raw = self.pipeline.named_steps["classify"].predict_proba(X)
            word = self.pipeline.named_steps["features"].transformer_list[0][1]
            shares = np.array([_share(word.tokenizer(t), word.vocabulary_) for t in normalized])
        fitted = self._fitted
        explanations: list[list[tuple[str, float]]] = []
        if k > 0 and batch is not None and self._fast is not None:
            targets = (
                np.full(len(texts), fitted.index(label))
                if label is not None
                else raw.argmax(axis=1)
            )
            explanations = self._fast.explain(batch, targets, self._centred_coef, k)
        elif k > 0:
            centred = self._centred_coef
            for i, text in enumerate(normalized):
                target = fitted.index(label) if label is not None else int(raw[i].argmax())
                explanations.append(self._explain_row(text, X[i], centred[target], k))
        return Analysis(
            proba=raw[:, self._columns], explanations=explanations, vocabulary_share=shares
        )

    def _fast_batch(self, texts: list[str]) -> FastBatch | None:
        if self._fast is None or not texts:
            return None
        try:
            return self._fast.features(texts)
        except UnsupportedPipeline as exc:  # found only on some text: stop using it
            log.warning("fast inference turned off, using the pipeline itself: %s", exc)
            self._fast = None
            return None

    def _explain_row(
        self, normalized: str, row: Any, weights: np.ndarray, k: int
    ) -> list[tuple[str, float]]:
        is_word, terms = self._feature_terms
        contributions = row.data * weights[row.indices]
        scores: dict[str, float] = defaultdict(float)
        char_scores: dict[str, float] = {}
        for j, value in zip(row.indices, contributions.tolist(), strict=True):
            if is_word[j]:
                scores[terms[j]] += value
            else:
                char_scores[terms[j]] = value
        for term, value in self._credit_chars(normalized, char_scores).items():
            scores[term] += value
        ranked = sorted(scores.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        ranked = [kv for kv in ranked if kv[1] != 0.0 and not is_placeholder_term(kv[0])]
        return [(term, round(value, 6)) for term, value in ranked[:k]]

    def _credit_chars(self, normalized: str, char_scores: dict[str, float]) -> dict[str, float]:
        """Split each char n-gram's contribution over the word occurrences that contain it."""
        if not char_scores:
            return {}
        features = self.pipeline.named_steps["features"]
        analyzer: WordAnalyzer = features.transformer_list[0][1].tokenizer
        low, high = features.transformer_list[1][1].ngram_range
        counts = Counter(normalized.split())
        owners: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for token, count in counts.items():
            padded = f" {token} "
            grams = {
                padded[i : i + n]
                for n in range(low, high + 1)
                for i in range(max(1, len(padded) - n + 1))
            }
            for gram in grams & char_scores.keys():
                owners[gram].append((token, count))
        shown = {token: (analyzer(token) or [token])[0] for token in counts}
        credit: dict[str, float] = defaultdict(float)
        for gram, tokens in owners.items():
            share = char_scores[gram] / sum(c for _, c in tokens)
            for token, count in tokens:
                credit[shown[token]] += share * count
        return credit

    @cached_property
    def _centred_coef(self) -> np.ndarray:
        """Weights against the average label: explanations say what set this label apart."""
        coef = (
            self._data.coef
            if self._data is not None
            else self.pipeline.named_steps["classify"].coef_
        )
        if coef.shape[0] == 1:  # binary: one row of weights for the second class
            coef = np.vstack([-coef[0], coef[0]]) / 2
        return coef - coef.mean(axis=0)

    @cached_property
    def _feature_terms(self) -> tuple[np.ndarray, list[str]]:
        """For every feature: is it a word feature, and its term without the block prefix."""
        names = self.pipeline.named_steps["features"].get_feature_names_out()
        blocks, terms = zip(*(name.split("__", 1) for name in names), strict=True)
        return np.array([b == "word" for b in blocks]), list(terms)

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


def _share(tokens: list[str], vocabulary: dict[str, int]) -> float:
    return sum(t in vocabulary for t in tokens) / len(tokens) if tokens else 0.0


def _as_list(texts: Iterable[Any]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got one string; wrap it in a list")
    return ["" if t is None else str(t) for t in texts]
