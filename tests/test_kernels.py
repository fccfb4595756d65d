"""The compiled scoring loop against the same numbers computed by SciPy, scikit-learn and
plain Python.

The fast-path tests cover them on real models; these reach the branches real cases rarely do:
counts past the look-up table, plain (not sublinear) tf, every norm, rows with no features,
repeated tokens, ties at the k-th explanation term.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import normalize

from sw_nlp.explain import rank_terms, terms_of_rows
from sw_nlp.kernels import NORM_L1, NORM_L2, NORM_NONE, score_rows, sublinear_table

NORMS = {NORM_L2: "l2", NORM_L1: "l1", NORM_NONE: None}


def tfidf(counts: np.ndarray, idf: np.ndarray, sublinear: bool, norm: int) -> np.ndarray:
    tf = counts.astype(float)
    if sublinear:
        tf[counts > 0] = 1.0 + np.log(counts[counts > 0])
    x = tf * idf
    return normalize(x, norm=NORMS[norm]) if NORMS[norm] else x


class Blocks:
    """A random chunk: rows of word-feature occurrences and of token occurrences, tokens with
    char n-gram counts, weights, and the term each token is credited to."""

    def __init__(
        self, seed: int, n_rows: int, big: bool, sublinear: bool, norm: int, n_classes: int = 4
    ) -> None:
        rng = np.random.default_rng(seed)
        self.n_word, self.n_char, self.n_tokens, self.C = 6, 15, 9, n_classes
        self.sublinear, self.norm = sublinear, norm
        self.word_rows = [rng.integers(0, self.n_word, rng.integers(0, 6)) for _ in range(n_rows)]
        # Up to 3,000 repeats of a token, so some counts pass the 4,096-entry table.
        self.token_rows = [
            np.repeat(rng.integers(0, self.n_tokens, rng.integers(0, 5)), 3000 if big else 1)
            if rng.random() < 0.9 else np.zeros(0, np.int64)
            for _ in range(n_rows)
        ]  # fmt: skip
        grams = sp.random(self.n_tokens, self.n_char, density=0.3, format="csr", random_state=rng)
        grams.data = rng.integers(1, 4, grams.nnz).astype(float)
        self.grams = grams
        self.coef = rng.normal(size=(self.C, self.n_word + self.n_char))
        self.centred = rng.normal(size=(self.C, self.n_word + self.n_char))
        self.idf = rng.uniform(1.0, 6.0, self.n_word + self.n_char)
        self.intercept = rng.normal(size=self.C)
        n_terms = self.n_word + 4
        self.shown = rng.integers(0, n_terms, self.n_tokens)
        self.hidden = np.zeros(n_terms, bool)
        self.hidden[rng.integers(0, n_terms)] = True

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.word_rows)
        word = np.zeros((n, self.n_word))
        tokens = np.zeros((n, self.n_tokens))
        for r in range(n):
            np.add.at(word[r], self.word_rows[r], 1)
            np.add.at(tokens[r], self.token_rows[r], 1)
        return word, tokens @ self.grams.toarray()

    def run(self, k: int, targets: np.ndarray | None = None) -> tuple:
        nw = self.n_word
        blocks = []
        for part in (slice(0, nw), slice(nw, None)):
            idf = self.idf[part]
            weights = [(self.coef[:, part] * idf).T, (self.centred[:, part] * idf).T]
            # Scoring alone needs only the coefficients (FastPath passes them alone).
            blocks.append(np.column_stack(weights if k > 0 else weights[:1]))
            blocks.append(idf**2 if self.norm == NORM_L2 else idf)
        scores = self.intercept[None, :].repeat(len(self.word_rows), axis=0)
        targets = np.full(len(scores), -1) if targets is None else targets.copy()
        ptr = lambda rows: np.concatenate([[0], np.cumsum([len(r) for r in rows])])  # noqa: E731
        flat = lambda rows: np.concatenate([np.zeros(0, np.int64), *rows])  # noqa: E731
        out = score_rows(
            ptr(self.word_rows).astype(np.int32), flat(self.word_rows).astype(np.int32),
            ptr(self.token_rows), flat(self.token_rows), self.grams.indptr.astype(np.int32),
            self.grams.indices.astype(np.int32), self.grams.data.astype(np.int32),
            np.stack([sublinear_table(self.sublinear)] * 2), np.array([self.sublinear] * 2),
            np.array([self.norm] * 2), *blocks, scores, targets, k,
            self.shown, self.hidden,
        )  # fmt: skip
        return scores, targets, out

    def reference_scores(self) -> np.ndarray:
        word, char = self.counts()
        nw = self.n_word
        x = [tfidf(word, self.idf[:nw], self.sublinear, self.norm),
             tfidf(char, self.idf[nw:], self.sublinear, self.norm)]  # fmt: skip
        return self.intercept + x[0] @ self.coef[:, :nw].T + x[1] @ self.coef[:, nw:].T

    def reference_terms(self, targets: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        word, char = self.counts()
        nw = self.n_word
        xw = tfidf(word, self.idf[:nw], self.sublinear, self.norm)
        xc = tfidf(char, self.idf[nw:], self.sublinear, self.norm)
        grams = self.grams.toarray() > 0
        out = []
        for r, t in enumerate(targets.tolist()):
            terms: dict[int, float] = defaultdict(float)
            for j in np.flatnonzero(xw[r]):
                terms[j] += xw[r, j] * self.centred[t, j]
            times = np.bincount(self.token_rows[r], minlength=self.n_tokens)
            for j in np.flatnonzero(xc[r]):
                share = xc[r, j] * self.centred[t, nw + j]
                holders = np.flatnonzero(grams[:, j] & (times > 0))
                for token in holders:
                    terms[self.shown[token]] += share * times[token] / times[holders].sum()
            named = [(f"t{i:02d}", v) for i, v in terms.items() if not self.hidden[i]]
            out.append(rank_terms(named, k))
        return out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_rows=st.integers(1, 12),
    big=st.booleans(),
    sublinear=st.booleans(),
    norm=st.sampled_from([NORM_L2, NORM_L1, NORM_NONE]),
    k=st.integers(0, 4),
    n_classes=st.sampled_from([2, 3, 4]),  # four: the shipped labels, summed apart
)
def test_scores_and_terms_match_scipy_and_python(seed, n_rows, big, sublinear, norm, k, n_classes):
    blocks = Blocks(seed, n_rows, big, sublinear, norm, n_classes)
    scores, targets, (ptr, terms, shares, tied) = blocks.run(k)
    want = blocks.reference_scores()
    np.testing.assert_allclose(scores, want, atol=1e-9)
    if k == 0:
        assert ptr.tolist() == [0] * (n_rows + 1)
        return
    assert targets.tolist() == want.argmax(axis=1).tolist()
    names = [f"t{i:02d}" for i in range(len(blocks.hidden))]
    got = terms_of_rows(ptr, terms, shares, tied, names, k)
    expected = blocks.reference_terms(targets, k)
    for g, e in zip(got, expected, strict=True):
        assert [t for t, _ in g] == [t for t, _ in e]
        assert [v for _, v in g] == pytest.approx([v for _, v in e], abs=1e-9)


def test_given_targets_are_kept_and_explained():
    blocks = Blocks(7, 8, False, True, NORM_L2)
    targets = np.arange(8) % blocks.C
    _, used, (ptr, terms, shares, tied) = blocks.run(3, targets)
    assert used.tolist() == targets.tolist()
    names = [f"t{i:02d}" for i in range(len(blocks.hidden))]
    assert terms_of_rows(ptr, terms, shares, tied, names, 3) == blocks.reference_terms(targets, 3)


def test_ties_at_the_kth_place_are_all_candidates():
    """Two word features with the same count, idf and weight tie exactly: both come back, and
    the ranking keeps the one first in alphabetical order."""
    C = 2
    weights = np.zeros((3, 2 * C))
    weights[:, C] = [0.5, 0.2, 0.2]  # centred weights of class 0 (idf 1)
    ptr, terms, shares, tied = score_rows(
        np.array([0, 3], np.int32), np.array([0, 2, 1], np.int32),
        np.array([0, 0]), np.zeros(0, np.int64), np.array([0], np.int32),
        np.zeros(0, np.int32), np.zeros(0, np.int32),
        np.stack([sublinear_table(True)] * 2), np.array([True, True]),
        np.array([NORM_L2, NORM_L2]), weights, np.ones(3), np.zeros((0, 2 * C)), np.ones(0),
        np.zeros((1, C)), np.zeros(1, np.int64), 2, np.zeros(0, np.int64), np.zeros(3, bool),
    )  # fmt: skip
    assert ptr.tolist() == [0, 3]
    assert terms.tolist()[0] == 0 and sorted(terms.tolist()[1:]) == [1, 2]
    assert tied.tolist() == [True]
    assert shares[terms.tolist().index(1)] == shares[terms.tolist().index(2)]
    ranked = terms_of_rows(ptr, terms, shares, tied, ["c", "b", "a"], 2)
    assert [[t for t, _ in row] for row in ranked] == [["c", "a"]]


@pytest.mark.parametrize("sublinear", [True, False])
def test_table_holds_the_tf_of_small_counts(sublinear):
    table = sublinear_table(sublinear)
    assert table[0] == 0.0
    assert table[1] == 1.0
    assert table[100] == pytest.approx(1.0 + np.log(100) if sublinear else 100.0, abs=1e-15)
