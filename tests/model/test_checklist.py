"""The behavioural checks count what they say they count, and the shipped model passes them."""

from __future__ import annotations

import pytest

from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.checklist import ACTORS, FRAMES, TARGETS, WIDENING, directional, invariance


class Fixed:
    """A predictor that answers from a table, to check the counting."""

    def __init__(self, answer):
        self.answer = answer

    def predict(self, texts):
        return [self.answer(t) for t in texts]


def test_an_actor_driven_model_fails_invariance_on_every_target():
    by_actor = Fixed(lambda t: "global" if t.startswith("UNICEF") else "mikro")
    out = invariance(by_actor)
    assert out.cases == len(TARGETS)
    assert out.failures == len(TARGETS)


def test_a_constant_model_passes_invariance_and_direction_but_is_mostly_wrong():
    constant = Fixed(lambda t: "mezzo")
    assert invariance(constant).failures == 0
    d = directional(constant)
    assert d.failures == 0
    assert d.cases == len(FRAMES) * (len(WIDENING) - 1)
    assert d.expected_right == pytest.approx(
        sum(level == "mezzo" for _, level in WIDENING) / len(WIDENING)
    )


def test_a_model_that_narrows_wider_targets_fails_direction():
    backwards = Fixed(lambda t: "mikro" if "negara" in t else "makro")
    out = directional(backwards)
    assert out.failures == len(FRAMES)  # the last step of every frame goes down


@pytest.fixture(scope="module")
def shipped():
    return load_model(default_bundle_dir())


def test_shipped_model_reads_the_target_more_than_the_actor(shipped):
    inv, dirn = invariance(shipped), directional(shipped)
    assert len(ACTORS) >= 8
    assert inv.failure_rate <= 0.20, inv.examples
    assert inv.expected_right >= 0.90
    assert dirn.failure_rate <= 0.05, dirn.examples
