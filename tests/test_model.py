import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sw_nlp.config import Config
from sw_nlp.model import CaseClassifier, build_pipeline


def test_pipeline_steps_are_the_bundle_contract():
    pipe = build_pipeline(Config())
    assert [name for name, _ in pipe.steps] == ["normalize", "features", "classify"]
    assert [name for name, _ in pipe.named_steps["features"].transformer_list] == ["word", "char"]


def test_unfitted_pipeline_is_refused():
    with pytest.raises(NotFittedError):
        CaseClassifier(build_pipeline(Config()))


def test_labels_come_in_contract_order(tiny_model):
    assert tiny_model.classes_ == ["mikro", "mezzo", "makro", "global"]
    assert list(tiny_model.pipeline.classes_) == sorted(tiny_model.classes_)


def test_proba_columns_follow_classes(tiny_model):
    texts = ["ASEAN dan PBB menyepakati konvensi perlindungan pekerja migran lintas negara."]
    proba = tiny_model.predict_proba(texts)
    raw = tiny_model.pipeline.predict_proba(texts)
    for k, label in enumerate(tiny_model.classes_):
        # The fast path computes the same numbers up to float rounding (tests/test_fast.py).
        assert proba[0, k] == pytest.approx(
            raw[0, list(tiny_model.pipeline.classes_).index(label)], abs=1e-12
        )
    assert np.isclose(proba.sum(), 1.0)
    assert tiny_model.predict(texts) == [tiny_model.classes_[int(proba.argmax())]]


def test_a_single_string_is_refused(tiny_model):
    with pytest.raises(TypeError, match="wrap it in a list"):
        tiny_model.predict("satu teks")


def test_explain_returns_words_with_signed_weights(tiny_model):
    text = "Negara-negara ASEAN menyepakati konvensi perlindungan pekerja migran lintas negara."
    terms = tiny_model.explain(text, k=4)
    assert 0 < len(terms) <= 4
    assert all(isinstance(t, str) and isinstance(w, float) for t, w in terms)
    weights = [abs(w) for _, w in terms]
    assert weights == sorted(weights, reverse=True)
    normalized = tiny_model.pipeline.named_steps["normalize"].transform([text])[0]
    analyzer = tiny_model.pipeline.named_steps["features"].transformer_list[0][1].tokenizer
    words = set(analyzer(normalized)) | {analyzer(w)[0] for w in normalized.split() if analyzer(w)}
    for term, _ in terms:  # words (as the word features see them) or n-grams, never char fragments
        assert set(term.split()) <= words
    assert tiny_model.explain(text, k=2, label="global") != tiny_model.explain(
        text, k=2, label="mikro"
    )


def test_explain_unknown_label(tiny_model):
    with pytest.raises(ValueError, match="unknown label"):
        tiny_model.explain("teks", label="nasional")


def test_vocabulary_share(tiny_model):
    shares = tiny_model.vocabulary_share(["anak desa", "qwxz plorf", ""])
    assert shares[0] == 1.0 and shares[1] == 0.0 and shares[2] == 0.0


def test_explain_with_no_terms_is_an_empty_list(tiny_model):
    """``sw-nlp predict --explain 0`` asks for this (found by the hostile command lines)."""
    assert tiny_model.explain("Lansia tinggal sendiri", k=0) == []
