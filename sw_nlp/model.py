"""The one scikit-learn pipeline from raw text to probabilities, and the classifier users hold.

Step names (``normalize``, ``features`` with ``word`` and ``char``, ``classify``) are part of
the bundle format: ``explain`` and later the fast path look them up.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from sw_nlp.config import Config, ReviewConfig
from sw_nlp.corpus import order_labels
from sw_nlp.features import build_features
from sw_nlp.preprocess import TextNormalizer, WordAnalyzer, build_lexicon


def build_pipeline(cfg: Config) -> Pipeline:
    """An unfitted pipeline: normalise → word + char TF-IDF → multinomial logistic regression."""
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
    """

    def __init__(self, pipeline: Pipeline, review: ReviewConfig | None = None) -> None:
        check_is_fitted(pipeline, msg="CaseClassifier needs a fitted pipeline")
        self.pipeline = pipeline
        self.review = review or ReviewConfig()
        fitted = list(pipeline.classes_)
        self.classes_: list[str] = order_labels(fitted)
        self._columns = np.array([fitted.index(label) for label in self.classes_])

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Probabilities, one column per label in ``classes_`` order (mikro, mezzo, …)."""
        return self.pipeline.predict_proba(_as_list(texts))[:, self._columns]

    def predict(self, texts: Iterable[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.classes_[i] for i in proba.argmax(axis=1)]

    def explain(self, text: str, k: int = 5, label: str | None = None) -> list[tuple[str, float]]:
        """The k terms that pushed the decision most, with signed weights.

        A term's weight is its share of the log-odds of ``label`` (default: the predicted
        label) against the average label. Character n-grams are credited to the words they
        came from, so a person reads words, not fragments like ``" lans"``.
        """
        normalized = self.pipeline.named_steps["normalize"].transform([text])[0]
        row = self.pipeline.named_steps["features"].transform([normalized]).tocsr()
        coef = self.pipeline.named_steps["classify"].coef_
        fitted = list(self.pipeline.classes_)
        if label is None:
            proba = self.pipeline.named_steps["classify"].predict_proba(row)[0]
            target = int(proba.argmax())
        elif label in fitted:
            target = fitted.index(label)
        else:
            raise ValueError(f"unknown label {label!r}; labels are {self.classes_}")
        if coef.shape[0] == 1:  # binary: one row of weights for the second class
            coef = np.vstack([-coef[0], coef[0]]) / 2
        weights = coef[target] - coef.mean(axis=0)
        scores: dict[str, float] = defaultdict(float)
        char_scores: dict[str, float] = {}
        names = self._feature_names
        for j, value in zip(row.indices, row.data, strict=True):
            contribution = float(value * weights[j])
            block, _, term = names[j].partition("__")
            if block == "word":
                scores[term] += contribution
            else:
                char_scores[term] = contribution
        for term, value in self._credit_chars(normalized, char_scores).items():
            scores[term] += value
        ranked = sorted(scores.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        return [(term, round(value, 6)) for term, value in ranked[:k] if value != 0.0]

    def _credit_chars(self, normalized: str, char_scores: dict[str, float]) -> dict[str, float]:
        """Split each char n-gram's contribution over the word occurrences that contain it."""
        analyzer: WordAnalyzer = self.pipeline.named_steps["features"].transformer_list[0][1].tokenizer
        counts = Counter(normalized.split())
        padded = {token: f" {token} " for token in counts}
        credit: dict[str, float] = defaultdict(float)
        for gram, value in char_scores.items():
            owners = [(t, c) for t, c in counts.items() if gram in padded[t]]
            total = sum(c for _, c in owners)
            for token, count in owners:
                shown = (analyzer(token) or [token])[0]
                credit[shown] += value * count / total
        return credit

    @cached_property
    def _feature_names(self) -> np.ndarray:
        return self.pipeline.named_steps["features"].get_feature_names_out()

    def vocabulary_share(self, texts: Sequence[str]) -> np.ndarray:
        """Share of each text's word tokens that the model has seen in training (0..1)."""
        normalize = self.pipeline.named_steps["normalize"]
        word = self.pipeline.named_steps["features"].transformer_list[0][1]
        vocab, analyzer = word.vocabulary_, word.tokenizer
        shares = []
        for text in normalize.transform(_as_list(texts)):
            tokens = analyzer(text)
            shares.append(sum(t in vocab for t in tokens) / len(tokens) if tokens else 0.0)
        return np.array(shares)


def _as_list(texts: Iterable[Any]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got one string; wrap it in a list")
    return ["" if t is None else str(t) for t in texts]
