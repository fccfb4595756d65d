"""Temperature scaling: it finds the temperature that made the data, it never changes a
prediction, and the calibrated model is still what the fast path reproduces."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from sw_nlp.calibration import apply_temperature, calibration_rows, fit_temperature

CLASSES = ["global", "makro", "mezzo", "mikro"]


def test_fit_recovers_the_temperature_that_generated_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 4))
    true_t = 2.5
    p_true = softmax(logits / true_t, axis=1)
    y = [CLASSES[rng.choice(4, p=row)] for row in p_true]
    # the model reports softmax(logits): overconfident by a factor of 2.5
    fitted = fit_temperature(softmax(logits, axis=1), y, CLASSES)
    assert fitted == pytest.approx(true_t, rel=0.1)


def test_temperature_keeps_every_prediction_and_scales_the_scores(tiny_model):
    import copy

    texts = ["Seorang ibu dan dua anaknya butuh rumah aman.", "Perda provinsi tentang lansia."]
    pipeline = copy.deepcopy(tiny_model.pipeline)
    before = pipeline.decision_function(texts)
    apply_temperature(pipeline, 4.0)
    after = pipeline.decision_function(texts)
    np.testing.assert_allclose(after, before / 4.0, rtol=1e-12)
    assert (pipeline.predict(texts) == tiny_model.pipeline.predict(texts)).all()
    with pytest.raises(ValueError):
        apply_temperature(pipeline, 0.0)


def test_calibration_rows_pick_short_or_hard_texts():
    texts = ["satu dua tiga", " ".join(["kata"] * 60), " ".join(["kata"] * 60)]
    rows = calibration_rows(texts, [False, False, True], "hard_or_short", short_words=40)
    assert rows.tolist() == [True, False, True]
    assert calibration_rows(texts, None, "all", 40).all()
    with pytest.raises(ValueError):
        calibration_rows(texts, None, "everything", 40)


def test_training_records_the_temperature(trained_bundle):
    import json

    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    cal = manifest["metrics"]["calibration"]
    assert cal["method"] == "temperature" and cal["temperature"] > 0
    assert cal["nll_after"] <= cal["nll_before"] + 1e-9
