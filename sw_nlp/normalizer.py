"""``TextNormalizer``, the pipeline's first step, as a scikit-learn estimator.

In a module of its own so that ``sw_nlp.preprocess`` (which the fast path uses) does not
import scikit-learn: classification from a format-2 bundle never needs this class.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin

from sw_nlp.pii import mask_pii
from sw_nlp.preprocess import clean_text, normalise_token, tokenize


class TextNormalizer(TransformerMixin, BaseEstimator):
    """Raw case text to normalised text: masked identifiers, clean Unicode, standard words.

    The output is the tokens joined by single spaces, which both the word and the character
    n-gram features read. Stateless: ``fit`` learns nothing.

    Parameters
    ----------
    lexicon : mapping of informal token to standard form, stored in the model so a bundle
        normalises exactly as it did when it was trained.
    mask_pii : replace NIK, phone numbers, e-mail addresses and URLs before anything else.
    numbers_as_token : map every number to one token; amounts and dates are noise here.
    """

    def __init__(
        self,
        lexicon: Mapping[str, str] | None = None,
        mask_pii: bool = True,
        numbers_as_token: bool = True,
    ) -> None:
        self.lexicon = lexicon
        self.mask_pii = mask_pii
        self.numbers_as_token = numbers_as_token

    def fit(self, X: Iterable[str], y: Any = None) -> TextNormalizer:
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        return [self.normalize(text) for text in X]

    def normalize(self, text: str) -> str:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if self.mask_pii:
            text = mask_pii(text)
        cache = self._token_cache()
        out = []
        for token in tokenize(clean_text(text)):
            norm = cache.get(token)
            if norm is None:
                norm = cache[token] = normalise_token(
                    token, self.lexicon or {}, self.numbers_as_token
                )
            if norm:
                out.append(norm)
        return " ".join(out)

    def _token_cache(self) -> dict[str, str]:
        # Not a parameter and not pickled: rebuilt lazily in every process.
        cache = self.__dict__.get("_cache")
        if cache is None or len(cache) > 1 << 18:
            cache = self.__dict__["_cache"] = {}
        return cache

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)
        return state

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return input_features

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
