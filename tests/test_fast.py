"""The fast path must give the fitted pipeline's own numbers, on every kind of text.

Equality is checked on the feature matrix (1e-12), the probabilities (1e-9), the labels and
the normalised texts, for the shipped model on the real corpus, for models trained with every
preprocessing setting, and on random texts built from the characters that make the fast path
take a detour (identifiers, non-ASCII letters, odd whitespace, placeholders, hyphens).
"""

from __future__ import annotations

import logging
import string
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sw_nlp.fast as fast
import sw_nlp.token_cache as token_cache
from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.config import Config
from sw_nlp.corpus import load_corpus
from sw_nlp.fast import FastPath, UnsupportedPipeline, build_fast_path
from sw_nlp.model import CaseClassifier, build_pipeline

REPO = Path(__file__).resolve().parent.parent


def assert_same(pipeline, texts: list[str], path: FastPath | None = None) -> None:
    path = path or FastPath(pipeline)
    X = path.features_matrix(texts)
    expected = pipeline[:-1].transform(texts)
    assert X.shape == expected.shape
    assert abs(X - expected).max() <= 1e-12 if expected.nnz else X.nnz == 0
    want = pipeline.named_steps["normalize"].transform(texts)
    assert [t.split() for t in path.normalized(texts)] == [t.split() for t in want]
    proba, want = path.predict_proba(texts), pipeline.predict_proba(texts)
    np.testing.assert_allclose(proba, want, rtol=0, atol=1e-9)
    assert (proba.argmax(axis=1) == want.argmax(axis=1)).all()


@pytest.fixture(scope="module")
def shipped():
    return load_model(default_bundle_dir(), fast=False).pipeline


@pytest.fixture(scope="module")
def shipped_path(shipped):
    """One fast path for every example of the property tests: its cache grows across them,
    as it does across the chunks of a file."""
    return FastPath(shipped)


@pytest.fixture(scope="module")
def classifiers(shipped):
    """The shipped pipeline on both paths, built once for the module."""
    return CaseClassifier(shipped), CaseClassifier(shipped, fast=False)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(REPO / "data" / "corpus" / "cases.csv")


@pytest.mark.slow  # the whole corpus, or many generated examples
def test_shipped_model_on_the_whole_corpus(shipped, corpus):
    assert_same(shipped, corpus["text"].tolist())


@pytest.mark.slow
def test_shipped_model_in_chunks_with_a_warm_and_a_reset_cache(shipped, corpus, monkeypatch):
    texts = corpus["text"].tolist()[:600]
    path = FastPath(shipped)
    for start in range(0, 600, 200):  # later chunks hit the cache built by earlier ones
        assert_same(shipped, texts[start : start + 200], path)
    monkeypatch.setattr(token_cache, "MAX_CACHED_TOKENS", 50)  # every chunk starts afresh
    for start in range(0, 600, 200):
        assert_same(shipped, texts[start : start + 200], path)


def test_vocabulary_share_matches_the_pipeline_path(shipped, corpus):
    texts = corpus["text"].tolist()[:300] + ["", "zzz qqq xxyyzz", "yang dan di"]
    quick = CaseClassifier(shipped).analyse(texts, k=0).vocabulary_share
    exact = CaseClassifier(shipped, fast=False).analyse(texts, k=0).vocabulary_share
    np.testing.assert_allclose(quick, exact, rtol=0, atol=1e-12)


def _same_explanations(quick, exact) -> None:
    assert len(quick) == len(exact)
    for q, e in zip(quick, exact, strict=True):
        assert [t for t, _ in q] == [t for t, _ in e]
        assert [v for _, v in q] == pytest.approx([v for _, v in e], abs=1e-6)


@pytest.mark.parametrize("label", [pytest.param(None, marks=pytest.mark.slow), "global"])
def test_explanations_are_the_same_on_both_paths(classifiers, corpus, label):
    """The default command's explanations (k=3, the predicted label) on the whole corpus:
    the compiled pass picks the very terms the exact path ranks, in the same order."""
    texts = corpus["text"].tolist() + ["", "yang dan", "anak anak anak"]
    if label is not None:
        texts = texts[:300]
    fast_clf, exact_clf = classifiers
    quick = fast_clf.analyse(texts, k=3, label=label).explanations
    exact = exact_clf.analyse(texts, k=3, label=label).explanations
    _same_explanations(quick, exact)


SETTINGS = [
    {"preprocess": {"stem": True, "remove_stopwords": True}},
    {"preprocess": {"mask_pii": False, "numbers_as_token": False}},
    {"features": {"word_ngrams": (1, 3), "char_ngrams": (3, 4), "min_df": 1}},
    {"features": {"word_ngrams": (2, 2), "min_df": 1, "max_char_features": 500}},
]


@pytest.mark.parametrize("changes", SETTINGS, ids=lambda c: str(c)[:60])
def test_every_preprocessing_setting(changes, tiny_corpus_path, corpus):
    frame = pd.read_csv(tiny_corpus_path)
    pipeline = build_pipeline(Config().replace(**changes))
    pipeline.fit(frame["text"].tolist(), frame["level"].tolist())
    assert_same(pipeline, frame["text"].tolist() + corpus["text"].tolist()[:200])


def test_lexicon_entries_that_expand_or_vanish(tiny_corpus_path):
    frame = pd.read_csv(tiny_corpus_path)
    pipeline = build_pipeline(Config())
    lexicon = dict(pipeline.named_steps["normalize"].lexicon)
    lexicon.update({"ortu": "orang tua", "dll": "dan lain lain", "eh": "", "spasi": "  "})
    pipeline.set_params(normalize__lexicon=lexicon)
    pipeline.fit(frame["text"].tolist(), frame["level"].tolist())
    texts = ["ortu anak itu, dll. eh spasi!", "eh", "ORTU-nya dll dll", "spasi spasi ortu"]
    assert_same(pipeline, texts + frame["text"].tolist())


# Fragments that send a row off the plain ASCII route, or test a tokeniser rule.
FRAGMENTS = [
    "anak", "keluarga", "desa", "kabupaten", "yg", "gak", "anak2", "ortu", "lansia",
    "anak-anak", "-", "--", "a-", "-b", "_", "_nik_", "__x_", "_abc_def", "x_y",
    "0812-3456-7890", "+62 812 3456 789", "(+62)81234567890", "3201012345678901",
    "3201.0123.4567.8901", "budi@contoh.id", "a@b", "www.dinsos.go.id", "https://x.id/a?b",
    "“kutip”", "—", "…", "•", "é", "É", "İstanbul", "ΑΣ", "ſ", "ǅ", "①", "２０２４", "٣",
    "\u00a0", "\u2028", "\u200b", "\u0301", "\x0b", "\x1c", "\x85", "\t", "\n", "🙏", "👍🏽",
    "ﬁ", "Ⅻ", "㎏", "\ud800", "x\udfffy", "2024", "3", "rp.500.000", "dll.,", "(anak)", "a/b", "PBB", "UNHCR",
]  # fmt: skip
SEPARATORS = [" ", "  ", "\n", ", ", ". ", "", "-", "\t"]
texts_strategy = st.lists(
    st.lists(
        st.one_of(
            st.sampled_from(FRAGMENTS),
            st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8),
            st.text(min_size=1, max_size=4),
        ),
        max_size=12,
    ).flatmap(
        lambda parts: st.lists(
            st.sampled_from(SEPARATORS), min_size=len(parts), max_size=len(parts)
        ).map(lambda seps: "".join(p + s for p, s in zip(parts, seps, strict=True)))
    ),
    min_size=1,
    max_size=6,
)


@pytest.mark.slow  # the whole corpus, or many generated examples
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=texts_strategy)
def test_random_texts(shipped, shipped_path, texts):
    assert_same(shipped, texts, shipped_path)


@settings(max_examples=60, deadline=None)
@given(texts=texts_strategy)
@example(texts=["anak anak ǅanak "])  # Sastrawi stems "džanak" to two words
def test_random_texts_with_stemming(texts):
    pipeline, path = _stemming_pipeline()
    assert_same(pipeline, texts, path)


@pytest.mark.slow  # the whole corpus, or many generated examples
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=texts_strategy)
def test_explanations_of_random_texts(classifiers, texts):
    fast_clf, exact_clf = classifiers
    quick = fast_clf.analyse(texts, k=3).explanations
    exact = exact_clf.analyse(texts, k=3).explanations
    _same_explanations(quick, exact)


@cache
def _stemming_pipeline():
    frame = pd.read_csv(REPO / "tests" / "fixtures" / "tiny_corpus.csv")
    pipeline = build_pipeline(
        Config().replace(
            preprocess={"stem": True, "remove_stopwords": True}, features={"min_df": 1}
        )
    )
    pipeline.fit(frame["text"].tolist(), frame["level"].tolist())
    return pipeline, FastPath(pipeline)


# -- fallback ---------------------------------------------------------------------------------


def test_unsupported_pipelines_fall_back_to_the_pipeline(tiny_corpus_path, caplog):
    frame = pd.read_csv(tiny_corpus_path)
    pipeline = build_pipeline(Config())
    pipeline.set_params(features__char__analyzer="char")  # not char_wb: not reproduced
    pipeline.fit(frame["text"].tolist(), frame["level"].tolist())
    with caplog.at_level(logging.INFO, logger="sw_nlp.fast"):
        assert build_fast_path(pipeline) is None
    assert "fast inference not available" in caplog.text
    clf = CaseClassifier(pipeline)
    assert not clf.uses_fast_path
    texts = frame["text"].tolist()
    proba = clf.predict_proba(texts)
    np.testing.assert_allclose(proba, pipeline.predict_proba(texts)[:, clf._columns], atol=0)


@pytest.mark.parametrize(
    "change",
    [
        {"features__word__ngram_range": (1, 4)},
        {"features__word__lowercase": True},
        {"features__char__binary": True},
        {"features__word__tokenizer": None, "features__word__token_pattern": r"(?u)\b\w+\b"},
    ],
)
def test_each_unsupported_setting_is_detected(change, tiny_corpus_path):
    frame = pd.read_csv(tiny_corpus_path)
    pipeline = build_pipeline(Config()).set_params(**change)
    pipeline.fit(frame["text"].tolist(), frame["level"].tolist())
    with pytest.raises(UnsupportedPipeline):
        FastPath(pipeline)


def test_load_model_can_skip_the_fast_path(trained_bundle):
    assert load_model(trained_bundle).uses_fast_path
    assert not load_model(trained_bundle, fast=False).uses_fast_path


def test_threads_can_share_one_classifier_and_it_pickles(shipped, corpus):
    import pickle
    import threading

    texts = corpus["text"].tolist()[:400]
    want = shipped.predict_proba(texts)
    clf = CaseClassifier(shipped)
    results: dict[int, np.ndarray] = {}

    def run(i: int) -> None:
        results[i] = clf.predict_proba(texts[i * 50 :] + texts[: i * 50])  # different orders

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, got in results.items():
        np.testing.assert_allclose(got, np.roll(want, -i * 50, axis=0)[:, clf._columns], atol=1e-9)
    again = pickle.loads(pickle.dumps(clf))
    assert again.uses_fast_path
    np.testing.assert_allclose(again.predict_proba(texts), want[:, clf._columns], atol=1e-9)


def test_features_are_numbered_most_frequent_first_inside_the_fast_path(shipped_path):
    """Each block's features, renumbered by idf (most frequent first): a permutation of the
    vectorizer's columns, and the vocabularies the fast path looks terms up in agree with it."""
    path = shipped_path
    rules = path._cache._rules
    for block, old, vocabulary in (
        (path._word, path._word_old, rules.word_vocabulary),
        (path._char, path._char_old, rules.char_vocabulary),
    ):
        assert sorted(old.tolist()) == list(range(len(block.vocabulary_)))
        assert (np.diff(block.idf_[old]) >= 0).all()
        assert (old != np.arange(len(old))).any()  # alphabetical is not frequency order
        assert vocabulary.keys() == block.vocabulary_.keys()
        assert all(old[j] == block.vocabulary_[term] for term, j in vocabulary.items())


def test_the_numbering_changes_no_bit_of_any_result(shipped, corpus, monkeypatch):
    """The scoring pass sums in the order a row touches its features, never by number: with
    the vectorizer's own numbering, probabilities and explanations are the same to the bit."""
    texts = corpus["text"].tolist()[:400] + ["", "yang dan", "anak anak anak"]
    renumbered = FastPath(shipped).analyse(texts, k=5)
    monkeypatch.setattr(
        fast,
        "_frequent_first",
        lambda block: (np.arange(len(block.vocabulary_)), dict(block.vocabulary_)),
    )
    plain = FastPath(shipped)
    assert (plain._char_old == np.arange(len(plain._char_old))).all()
    as_numbered = plain.analyse(texts, k=5)
    assert renumbered.proba.tobytes() == as_numbered.proba.tobytes()
    assert renumbered.explanations == as_numbered.explanations  # terms and shares, exactly
