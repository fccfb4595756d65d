"""The label contract in code: spellings analysts use, contract order, the three-level scheme."""

from __future__ import annotations

import pytest

from sw_nlp.labels import (
    ALIASES,
    LABEL_WORDS,
    LEVELS,
    METHODS_BY_LEVEL,
    canonical_label,
    order_labels,
    to_three_levels,
)


@pytest.mark.parametrize(
    ("written", "level"),
    [
        ("micro", "mikro"),
        (" Meso ", "mezzo"),
        ("MAKRO", "makro"),
        ("internasional", "global"),
        ("international", "global"),
        ("mezo", "mezzo"),
    ],
)
def test_an_analyst_s_spelling_is_read_as_the_contract_s_label(written: str, level: str):
    assert canonical_label(written) == level


@pytest.mark.parametrize("value", ["", "mikro-mezzo", "level 1", None, 1, float("nan")])
def test_anything_else_is_no_label(value: object):
    assert canonical_label(value) is None


def test_every_alias_and_method_belongs_to_a_level():
    assert set(ALIASES.values()) == set(LEVELS)
    assert set(METHODS_BY_LEVEL) == set(LEVELS)
    assert all(METHODS_BY_LEVEL[level] for level in LEVELS)


def test_contract_order_first_then_other_labels_sorted():
    assert order_labels({"global", "mikro", "makro"}) == ["mikro", "makro", "global"]
    assert order_labels(["positive", "mezzo", "negative"]) == ["mezzo", "negative", "positive"]


def test_the_three_level_scheme_merges_global_into_makro():
    assert [to_three_levels(level) for level in LEVELS] == ["mikro", "mezzo", "makro", "makro"]


def test_label_words_are_found_as_word_starts_in_any_case():
    assert LABEL_WORDS.search("intervensi Makro di kabupaten").group(0) == "Makro"
    assert LABEL_WORDS.search("pendekatan microfinance").group(0) == "micro"
    assert LABEL_WORDS.search("kemakmuran warga") is None  # inside a word: not a label
