"""Explanations: which terms pushed a text towards a label, the same on every inference path.

One definition of each part, shared by the fast path (``sw_nlp.fast``, whose compiled pass
computes the shares, see ``kernels.score_rows``) and the exact path (``sw_nlp.model``, on the
scikit-learn pipeline's own TF-IDF rows):

- ``centred_coefficients``: weights against the average label, so an explanation says what
  set this label apart rather than what every label shares;
- ``credit_chars``: a character n-gram's share split over the words of the text that hold
  it, so a person reads words, not fragments like ``" lans"``;
- ``rank_terms``: the k terms largest in absolute share, ties broken by the term.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, repeat, starmap

import numpy as np

from sw_nlp.features import char_wb_grams
from sw_nlp.pii import is_placeholder_term

Terms = list[tuple[str, float]]


@dataclass(frozen=True)
class Scored:
    """What one inference pass gives for a list of texts, on either path."""

    proba: np.ndarray  # columns in the classifier's own (fitted) class order
    explanations: list[Terms]  # empty when no explanation was asked for
    vocabulary_share: np.ndarray


def centred_coefficients(coef: np.ndarray) -> np.ndarray:
    """One row of weights per class, minus the average row. A binary model stores one row
    (for its second class): its classes get minus and plus half of it."""
    if coef.shape[0] == 1:
        coef = np.vstack([-coef[0], coef[0]]) / 2
    return coef - coef.mean(axis=0)


def rank_terms(scores: Iterable[tuple[str, float]], k: int) -> Terms:
    """The k terms largest in absolute share, ties broken by the term, shares rounded to 1e-6.

    A share of exactly 0 says nothing, and masking placeholders (``_telepon_``) are never
    shown as a reason.
    """
    kept = [tv for tv in scores if tv[1] != 0.0 and not is_placeholder_term(tv[0])]
    kept.sort(key=lambda tv: (-abs(tv[1]), tv[0]))
    return [(term, round(value, 6)) for term, value in kept[:k]]


def credit_chars(
    normalized: str,
    char_scores: Mapping[str, float],
    shown: Callable[[str], str],
    ngram_range: tuple[int, int],
) -> dict[str, float]:
    """Split each char n-gram's share over the word occurrences of the text that contain it.

    ``normalized`` is the text as the vectorizers read it (tokens one space apart); each
    token's part is credited to ``shown(token)`` (its stem, or itself for a stopword).
    """
    if not char_scores:
        return {}
    counts = Counter(normalized.split())
    owners: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for token, count in counts.items():
        for gram in set(char_wb_grams(token, *ngram_range)) & char_scores.keys():
            owners[gram].append((token, count))
    names = {token: shown(token) for token in counts}
    credit: dict[str, float] = defaultdict(float)
    for gram, tokens in owners.items():
        share = char_scores[gram] / sum(c for _, c in tokens)
        for token, count in tokens:
            credit[names[token]] += share * count
    return credit


def explain_row(
    normalized: str,
    indices: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray,
    feature_terms: tuple[np.ndarray, Sequence[str]],
    shown: Callable[[str], str],
    char_ngrams: tuple[int, int],
    k: int,
) -> Terms:
    """One row's terms from its TF-IDF entries (``indices``, ``values``, both blocks side by
    side) and the centred weights of its target class: the exact path's explanation."""
    is_word, terms = feature_terms
    contributions = values * weights[indices]
    scores: dict[str, float] = defaultdict(float)
    char_scores: dict[str, float] = {}
    for j, value in zip(indices.tolist(), contributions.tolist(), strict=True):
        if is_word[j]:
            scores[terms[j]] += value
        else:
            char_scores[terms[j]] = value
    for term, value in credit_chars(normalized, char_scores, shown, char_ngrams).items():
        scores[term] += value
    return rank_terms(scores.items(), k)


def terms_of_rows(
    ptr: np.ndarray,
    terms: np.ndarray,
    shares: np.ndarray,
    tied: np.ndarray,
    names: Sequence[str],
    k: int,
) -> list[Terms]:
    """Each row's explanation from the compiled pass's candidates (``kernels.score_rows``):
    already filtered and largest |share| first, usually exactly k. A row with more (ties at
    the k-th place) or with two equal |shares| goes through ``rank_terms``, which breaks ties
    by the term; the others are taken as they are (the same result, without a sort).

    The whole chunk is done by C-level ``map`` calls (term names, rounding, one slice per
    row): a Python loop over the rows cost more than the compiled pass's explanations. Only
    the rare rows that need ``rank_terms`` are visited one by one.
    """
    words = list(map(names.__getitem__, terms.tolist()))
    values = shares.tolist()
    # Every (term, rounded share) pair made at C speed up front; a row is then one slice.
    pairs = list(zip(words, map(round, values, repeat(6)), strict=True))
    starts, ends = ptr[:-1].tolist(), ptr[1:].tolist()
    out: list[Terms] = list(map(pairs.__getitem__, map(slice, starts, ends)))
    for r in np.flatnonzero(np.asarray(tied, bool) | (np.diff(ptr) > k)).tolist():
        a, b = starts[r], ends[r]
        out[r] = rank_terms(zip(words[a:b], values[a:b], strict=True), k)
    return out


# A term and its share as ``top_terms`` shows it ("desa +1.235"): f"{term} {share:+.3f}" as
# one C-level call (the same text, tested), without a Python frame per term.
_TERM_TEXT = "{} {:+.3f}".format


def explanation_texts(explanations: Sequence[Terms]) -> list[str]:
    """Each row's terms as the ``top_terms`` column shows them ("desa +1.235; musyawarah
    +1.208"), the same on every inference path.

    Made a chunk at a time: all the chunk's terms formatted in one ``map``, then each row's
    slice joined, without a Python-level generator per row.
    """
    items = list(starmap(_TERM_TEXT, chain.from_iterable(explanations)))
    ends = list(accumulate(map(len, explanations)))
    return list(map("; ".join, map(items.__getitem__, map(slice, [0, *ends[:-1]], ends))))
