"""The word vocabulary's integer keys: every n-gram is found where ``word_ngrams`` probes."""

from __future__ import annotations

import numpy as np
import pytest

from sw_nlp.bundle import default_bundle_dir, load_data
from sw_nlp.text_kernels import _slot
from sw_nlp.word_index import (
    UnsupportedVocabulary,
    fill_key_table,
    first_slots,
    index_word_vocabulary,
)


def probe(slots: np.ndarray, values: np.ndarray, key: int) -> int:
    """The feature of ``key`` as ``word_ngrams`` finds it (-1: absent)."""
    mask = len(slots) - 1
    h = _slot(key, mask)
    while slots[h] != -1:
        if slots[h] == key:
            return int(values[h])
        h = (h + 1) & mask
    return -1


def test_every_term_of_the_shipped_model_is_found():
    data, _ = load_data(default_bundle_dir())
    word = data.blocks[0]
    index = index_word_vocabulary(word.vocabulary_, word.ngram_range)
    assert len(index.token_ids) == index.base
    for term, feature in word.vocabulary_.items():
        ids = [index.token_ids[p] for p in term.split(" ")]
        if len(ids) == 1:
            assert index.unigram[ids[0]] == feature
            continue
        key = 0
        for i in ids:
            key = key * index.base + i
        assert probe(index.slots[len(ids)], index.values[len(ids)], key) == feature, term
    assert index.unigram[-1] == -1  # the unknown token's slot


def test_a_crowded_table_keeps_every_key_and_misses_others():
    """Keys that share first slots and wrap around the end of a small table."""
    rng = np.random.default_rng(7)
    keys = rng.choice(1 << 40, 40, replace=False).astype(np.int64)
    slots, values = np.full(64, -1, np.int64), np.full(64, -1, np.int64)
    fill_key_table(slots, values, keys, np.arange(40, dtype=np.int64))
    assert sorted(slots[slots >= 0].tolist()) == sorted(keys.tolist())
    assert [probe(slots, values, int(k)) for k in keys] == list(range(40))
    assert probe(slots, values, int(keys.max()) + 1) == -1


def test_first_slots_is_the_kernels_hash():
    keys = np.array([0, 1, 12345, 2**61 + 7, 2**62 - 1], np.int64)
    assert first_slots(keys, 1023).tolist() == [_slot(int(k), 1023) for k in keys]


@pytest.mark.parametrize(
    ("vocabulary", "ngram_range"),
    [({"a b c d": 0}, (1, 3)), ({"a  b": 0}, (1, 2)), ({" a": 0}, (1, 2)), ({"a": 0}, (2, 3))],
)
def test_terms_the_keys_cannot_hold_are_refused(vocabulary, ngram_range):
    with pytest.raises(UnsupportedVocabulary, match="tokens long"):
        index_word_vocabulary(vocabulary, ngram_range)
