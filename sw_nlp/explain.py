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
from functools import cache
from itertools import accumulate, chain
from operator import itemgetter

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

    The whole chunk is done by NumPy and C-level ``map`` calls (term names, rounding, one
    slice per row): a Python loop over the rows, and ``round`` on each share, cost more than
    the compiled pass's explanations. Only the rare rows that need ``rank_terms`` are visited
    one by one.
    """
    words = list(map(names.__getitem__, terms.tolist()))
    pairs = list(zip(words, rounded(shares), strict=True))
    starts, ends = ptr[:-1].tolist(), ptr[1:].tolist()
    out: list[Terms] = list(map(pairs.__getitem__, map(slice, starts, ends)))
    for r in np.flatnonzero(np.asarray(tied, bool) | (np.diff(ptr) > k)).tolist():
        a, b = starts[r], ends[r]
        out[r] = rank_terms(zip(words[a:b], shares[a:b].tolist(), strict=True), k)
    return out


def rounded(values: np.ndarray) -> list[float]:
    """``round(v, 6)`` of each value, for a whole chunk at once: the same floats.

    ``round`` picks the 6-decimal number nearest to v (half to even), then the float nearest
    to that; rint(v·10⁶)/10⁶ is the same float (division is correctly rounded too) unless v·10⁶
    is within float error (here under 10⁻⁷) of a half: those, and anything large or not
    finite, go through ``round`` itself. A call per value cost 0.3-0.7 µs.
    """
    values = np.asarray(values, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * 1e6
        steps = np.rint(scaled)
        sure = (np.abs(scaled - steps) < 0.5 - 1e-6) & (np.abs(steps) < 1e9)
    out = (steps / 1e6).tolist()
    for i in np.flatnonzero(~sure).tolist():
        out[i] = round(float(values[i]), 6)
    return out


# Shares below this times 10⁻³ in size are written by looking them up (``_share_table``).
_SHARE_STEPS = 10_000


@cache
def _share_table() -> np.ndarray:
    """ " +0.000" … " +9.999", then " -0.000" … " -9.999": a share as ``top_terms`` shows it."""
    digits = [f"{k // 1000}.{k % 1000:03d}" for k in range(_SHARE_STEPS)]
    return np.array([" +" + d for d in digits] + [" -" + d for d in digits], dtype=object)


def share_texts(values: np.ndarray) -> list[str]:
    """f" {v:+.3f}" of each value (" +1.235"; " -0.000" for a tiny negative one), for a whole
    chunk at once: the same text.

    The format rounds v·10³ to the nearest whole number (half to even) and signs it as v is
    signed; rint gives the same number unless v·10³ is within float error (under 10⁻¹²
    here) of a half. Those, and values of 10 or more in size or not finite, are formatted
    one by one; the rest are looked up. Formatting each float cost 0.3-0.6 µs.
    """
    values = np.asarray(values, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * 1e3
        steps = np.rint(scaled)
        sure = (np.abs(scaled - steps) < 0.5 - 1e-6) & (np.abs(steps) < _SHARE_STEPS)
    index = np.where(sure, np.abs(steps), 0).astype(np.int64)
    index[np.signbit(values)] += _SHARE_STEPS
    out = _share_table()[index].tolist()
    for i in np.flatnonzero(~sure).tolist():
        out[i] = f" {float(values[i]):+.3f}"
    return out


def explanation_texts(explanations: Sequence[Terms]) -> list[str]:
    """Each row's terms as the ``top_terms`` column shows them ("desa +1.235; musyawarah
    +1.208"): f"{term} {share:+.3f}" joined by "; ", the same on every inference path.

    Made a chunk at a time: the chunk's shares written at once (``share_texts``), then each
    row's slice joined, without a Python-level generator per row.
    """
    flat = list(chain.from_iterable(explanations))
    shares = np.fromiter(map(itemgetter(1), flat), np.float64, len(flat))
    items = list(map(str.__add__, map(itemgetter(0), flat), share_texts(shares)))
    ends = list(accumulate(map(len, explanations)))
    return list(map("; ".join, map(items.__getitem__, map(slice, [0, *ends[:-1]], ends))))
