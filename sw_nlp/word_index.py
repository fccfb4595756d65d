"""The word vocabulary as integer keys, the form ``text_kernels.word_ngrams`` looks n-grams up in.

Each distinct token of the word features gets an id; an n-gram of token ids (a, b, c) is the
key (a·base + b)·base + c. Unigrams are found by token id in an array, longer n-grams in one
open-addressing hash table per n-gram size (linear probing from ``text_kernels._slot``).

Built when a model loads, for every process that classifies, with NumPy over all terms at
once: a Python loop over the ~37,000 terms, and a compiled table builder that had to be
imported and loaded from Numba's cache first, took most of the model's load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sw_nlp.text_kernels import _GOLDEN  # the one definition of the slots' hash multiplier


class UnsupportedVocabulary(ValueError):
    """Word features these integer keys cannot hold (``fast`` then uses the pipeline)."""


@dataclass(frozen=True)
class WordIndex:
    """Word n-gram features as integer keys: a key is the n-gram's token ids in base ``base``;
    unigrams are looked up directly, longer n-grams in one hash table per size."""

    token_ids: dict[str, int]
    base: int
    unigram: np.ndarray  # token id -> unigram feature or -1 (last slot: unknown token)
    slots: np.ndarray  # [n-gram size, slot] -> key, -1 empty (rows 0 and 1 unused)
    values: np.ndarray  # [n-gram size, slot] -> feature


def index_word_vocabulary(
    vocabulary: Mapping[str, int], ngram_range: tuple[int, int]
) -> WordIndex:
    """The index of a word vocabulary (term -> feature) of n-grams in ``ngram_range``; token
    ids are numbered in order of first appearance in the vocabulary."""
    low, high = ngram_range
    terms = list(vocabulary)
    features = np.fromiter(vocabulary.values(), np.int64, len(terms))
    lengths = np.strings.count(np.array(terms, dtype=str), " ").astype(np.int64) + 1
    parts = " ".join(terms).split(" ") if terms else []
    bad = (lengths < low) | (lengths > high)
    if bad.any() or "" in parts:
        n = lengths[bad][0] if bad.any() else lengths[0]
        raise UnsupportedVocabulary(f"word feature {n} tokens long")
    distinct = dict.fromkeys(parts)
    token_ids = dict(zip(distinct, range(len(distinct)), strict=True))
    base = max(len(token_ids), 1)
    if base**high >= 2**62:
        raise UnsupportedVocabulary("word n-grams too long for integer keys")
    ids = np.fromiter(map(token_ids.__getitem__, parts), np.int64, len(parts))
    first = np.cumsum(lengths) - lengths  # each term's first part
    unigram = np.full(base + 1, -1, dtype=np.int64)
    single = lengths == 1
    unigram[ids[first[single]]] = features[single]
    keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for n in range(2, high + 1):
        of_n = np.flatnonzero(lengths == n)
        if len(of_n):
            key = np.zeros(len(of_n), np.int64)
            for i in range(n):
                key = key * base + ids[first[of_n] + i]
            keys[n] = key, features[of_n]
    # One hash table per n-gram size, all of one power-of-two size, at most half full.
    size = 1 << max(4, 2 * max((len(k) for k, _ in keys.values()), default=1)).bit_length()
    slots = np.full((high + 1, size), -1, np.int64)
    values = np.full((high + 1, size), -1, np.int64)
    for n, (k, f) in keys.items():
        fill_key_table(slots[n], values[n], k, f)
    return WordIndex(token_ids, base, unigram, slots, values)


def fill_key_table(
    slots: np.ndarray, values: np.ndarray, keys: np.ndarray, features: np.ndarray
) -> None:
    """Enter distinct ``keys`` (and their features) into an empty table, in place, where
    linear probing from ``first_slots`` finds them."""
    places = probe_places(first_slots(keys, len(slots) - 1), len(slots))
    slots[places] = keys
    values[places] = features


def probe_places(first: np.ndarray, size: int) -> np.ndarray:
    """The slot of each entry in an open-addressing table of ``size`` slots (a power of two)
    with linear probing, entry ``i`` first trying ``first[i]``; all entries at once: each
    round, every entry still waiting tries its current slot; of those trying one free slot
    the first takes it, the others move on to the next slot (wrapping). An entry thus only
    ever passes slots already taken, which is all a lookup relies on."""
    mask = size - 1
    taken = np.zeros(size, bool)
    places = np.empty(len(first), np.int64)
    at = first.astype(np.int64, copy=True)
    waiting = np.arange(len(first))
    while len(waiting):
        free = np.flatnonzero(~taken[at])
        taken_at, winner = np.unique(at[free], return_index=True)
        placed = free[winner]
        taken[taken_at] = True
        places[waiting[placed]] = taken_at
        left = np.ones(len(waiting), bool)
        left[placed] = False
        waiting = waiting[left]
        at = (at[left] + 1) & mask
    return places


def first_slots(keys: np.ndarray, mask: int) -> np.ndarray:
    """``text_kernels._slot`` of every key, vectorised (unsigned products wrap, silently)."""
    return ((keys.astype(np.uint64) * _GOLDEN) >> np.uint64(32)).astype(np.int64) & mask
