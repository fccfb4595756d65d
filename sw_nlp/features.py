"""Features: TF-IDF on word n-grams and on character n-grams within word boundaries.

Word n-grams carry phrases (``rapat koordinasi``, ``seorang lansia``); character n-grams carry
what word features miss in real case files: typos, affixes (``di-``, ``-kan``), and words the
corpus never spelled that way.

``char_wb_grams`` and ``vocabulary_share`` are the one definition of a word's character
n-grams and of a text's known-word share that inference uses (the fast path's token cache, the
exact path's explanations); ``tests/test_features.py`` holds them against scikit-learn's own
``char_wb`` analyzer. scikit-learn is imported only when a pipeline is built, so that
classifying, which reads these definitions, never loads it.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import TYPE_CHECKING

from sw_nlp.config import FeaturesConfig, PreprocessConfig
from sw_nlp.preprocess import WordAnalyzer

if TYPE_CHECKING:
    from sklearn.pipeline import FeatureUnion


def build_features(features: FeaturesConfig, preprocess: PreprocessConfig) -> FeatureUnion:
    """Both TF-IDF blocks with sublinear tf and l2 norm, side by side.

    Input is the normalised text of ``TextNormalizer``: lower case, tokens joined by spaces,
    so neither vectorizer lowercases or tokenises on its own.
    """
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    word = TfidfVectorizer(
        tokenizer=WordAnalyzer(remove_stopwords=preprocess.remove_stopwords, stem=preprocess.stem),
        token_pattern=None,
        lowercase=False,
        ngram_range=tuple(features.word_ngrams),
        min_df=features.min_df,
        max_df=features.max_df,
        sublinear_tf=True,
        dtype=np.float64,
    )
    char = TfidfVectorizer(
        analyzer="char_wb",
        lowercase=False,
        ngram_range=tuple(features.char_ngrams),
        min_df=features.min_df,
        max_df=features.max_df,
        max_features=features.max_char_features,
        sublinear_tf=True,
        dtype=np.float64,
    )
    return FeatureUnion([("word", word), ("char", char)])


def char_wb_grams(token: str, low: int, high: int) -> list[str]:
    """The ``char_wb`` n-grams of one whitespace-free token, in scikit-learn's order.

    The token is padded with a space each side; for each n from ``low`` to ``high`` every
    window of n characters is a gram, except that a padded token no longer than n is emitted
    once, whole, and no longer n is tried. Repeats are kept: they are counts.
    """
    padded = f" {token} "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        if size <= n:
            grams.append(padded)
            break
        grams.extend([padded[i : i + n] for i in range(size - n + 1)])
    return grams


def vocabulary_share(words: Sequence[str], vocabulary: Container[str]) -> float:
    """Share of a text's word tokens (the word analyzer's output) that are unigram features:
    how much of the text the model has seen in training (0 for a text without words)."""
    return sum(w in vocabulary for w in words) / len(words) if words else 0.0
