"""Features: TF-IDF on word n-grams and on character n-grams within word boundaries.

Word n-grams carry phrases (``rapat koordinasi``, ``seorang lansia``); character n-grams carry
what word features miss in real case files: typos, affixes (``di-``, ``-kan``), and words the
corpus never spelled that way.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from sw_nlp.config import FeaturesConfig, PreprocessConfig
from sw_nlp.preprocess import WordAnalyzer


def build_features(features: FeaturesConfig, preprocess: PreprocessConfig) -> FeatureUnion:
    """Both TF-IDF blocks with sublinear tf and l2 norm, side by side.

    Input is the normalised text of ``TextNormalizer``: lower case, tokens joined by spaces,
    so neither vectorizer lowercases or tokenises on its own.
    """
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
