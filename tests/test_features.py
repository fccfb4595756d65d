"""The one Python definition of a word's character n-grams, held against scikit-learn's own
``char_wb`` analyzer, and the vocabulary share."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from sw_nlp.config import Config
from sw_nlp.features import build_features, char_wb_grams, vocabulary_share


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet=st.sampled_from(list("ab-é_1 ")), min_size=0, max_size=9), max_size=5
    ),
    low=st.integers(1, 4),
    extra=st.integers(0, 3),
)
def test_char_wb_grams_are_scikit_learns(words, low, extra):
    """Per text, the grams of its whitespace-separated tokens are the analyzer's, counts and
    all (tokens shorter than n, the padded token emitted once, repeats)."""
    high = low + extra
    text = " ".join(words)
    analyzer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(low, high), lowercase=False
    ).build_analyzer()
    ours = Counter(g for token in text.split() for g in char_wb_grams(token, low, high))
    assert ours == Counter(analyzer(text))


def test_char_wb_grams_of_a_short_token():
    assert char_wb_grams("ab", 3, 5) == [" ab", "ab ", " ab "]
    assert char_wb_grams("a", 2, 3) == [" a", "a ", " a "]


def test_vocabulary_share():
    assert vocabulary_share(["anak", "desa", "qqq", "anak"], {"anak", "desa"}) == 0.75
    assert vocabulary_share([], {"anak"}) == 0.0


def test_the_char_block_uses_char_wb():
    features = build_features(Config().features, Config().preprocess)
    char = dict(features.transformer_list)["char"]
    assert char.analyzer == "char_wb"
    assert char.lowercase is False
