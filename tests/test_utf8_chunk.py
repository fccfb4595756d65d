"""``clean_chunk`` must give, row for row, the tokens of the pipeline's own cleaning and
masking (``clean_text(mask_pii(text))``): the token cache reads nothing else of its bytes.

Checked on the corpus and on random texts built from what sends a row off the ASCII route
(identifiers, letters outside ASCII, symbols of every kind, control characters, NFKC-changed
digits, placeholders, lone surrogates), with and without masking.
"""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sw_nlp.pii as pii
from sw_nlp.corpus import load_corpus
from sw_nlp.pii import SMALL_COLUMN, inert_symbols, mask_pii, mask_pii_many
from sw_nlp.preprocess import clean_text, tokenize
from sw_nlp.results import MAX_TEXT_CHARS
from sw_nlp.utf8_chunk import _SURROGATE, _clean_in_python, _positions, clean_chunk

from .test_fast import REPO


def reference_tokens(texts: list[str], mask: bool) -> list[list[str]]:
    """Each text's tokens by the reference definitions (a lone surrogate read as "#")."""
    out = []
    for text in texts:
        text = _SURROGATE.sub("#", text)
        out.append(tokenize(clean_text(mask_pii(text) if mask else text)))
    return out


def chunk_tokens(data: np.ndarray, offsets: np.ndarray) -> list[list[str]]:
    raw = data.tobytes()
    return [
        tokenize(raw[offsets[r] : offsets[r + 1]].decode("utf-8")) for r in range(len(offsets) - 1)
    ]


def assert_same_tokens(texts: list[str], mask: bool) -> None:
    want = reference_tokens(texts, mask)
    assert chunk_tokens(*clean_chunk(texts, mask)) == want
    assert chunk_tokens(*_clean_in_python(texts, mask)) == want


@pytest.mark.parametrize("mask", [True, False])
def test_the_corpus(mask):
    texts = load_corpus(REPO / "data" / "corpus" / "cases.csv")["text"].tolist()
    assert_same_tokens(texts, mask)


# Symbols the tokenizer's engine reads as word characters although Python's ``re`` does not
# (connector punctuation, squared letters): the reference keeps "a‿b" one token.
WORDY_SYMBOLS = ["\u203f", "\u2040", "\u2054", "\U0001f150", "\U0001f170", "\U0001f189"]
# Fragments that send a row off the ASCII route, or test a rule of cleaning or masking.
FRAGMENTS = [
    "anak", "KELUARGA", "Desa", "_nik_", "_telepon_", "_email_", "_x_", "__", "-", "a-b",
    "3201012345678901", "3201 0123 4567 8901", "32.01.01.010190.0001", "0812-3456-7890",
    "+62 812 3456 789", "(0812) 3456 7890", "wa081234567890", "budi@contoh.id", "a@b",
    "www.dinsos.go.id", "HTTPS://X.ID/a", "rek 1234567890", "REKENING BRI a.n. Sari 123-456-789",
    "\uff10\uff18\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10",  # full-width 0812…
    "\u0663\u0662\u0660\u0661", "\u2460", "\u00b2", "\u00bd", "\u2153", "\ufb01", "\u212a",
    "\u017f", "\u0130", "\u01c5", "é", "e\u0301", "=\u0338", "\u00a0", "\u2007", "\u3000",
    "\u2028", "\u200b", "\ufeff", "\x00", "\x0b", "\x1c", "\x1f", "\x7f", "\x85", "\t", "\r\n",
    "“", "”", "—", "…", "•", "·", "→", "🙏", "👍🏽", "❤️", "\u200d", "\ud800", "x\udfffy",
    *WORDY_SYMBOLS,
]  # fmt: skip
SEPARATORS = [" ", "", "\n", ", ", "-", ".", "/", "\t", "“", "\u203f"]
symbols = st.sampled_from(sorted(set(inert_symbols())))
texts_strategy = st.lists(
    st.lists(
        st.one_of(
            st.sampled_from(FRAGMENTS),
            symbols,
            st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8),
            st.text(min_size=1, max_size=4),
        ),
        max_size=14,
    ).flatmap(
        lambda parts: st.lists(
            st.sampled_from(SEPARATORS), min_size=len(parts), max_size=len(parts)
        ).map(lambda seps: "".join(p + s for p, s in zip(parts, seps, strict=True)))
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(texts=texts_strategy, mask=st.booleans())
@example(texts=["anak\u203fkorban", "ANAK\U0001f170 ibu"], mask=True)
@example(texts=["no“3201012345678901”", "hp—0812—3456—7890"], mask=True)
def test_random_texts(texts, mask):
    assert_same_tokens(texts, mask)


def texts_of_every_kind() -> list[str]:
    """The corpus and, beside it, identifiers at the edges of texts and of the length at
    which a text is cut before classification (masking changes lengths)."""
    cut = MAX_TEXT_CHARS
    texts = load_corpus(REPO / "data" / "corpus" / "cases.csv")["text"].tolist()
    edge = ["3201012345678901", "0812-3456-7890", "sari@contoh.id", "www.x.id", "rek 123456"]
    for found in edge:
        texts += [found, f"{found} anak", f"anak {found}", "a" * (cut - len(found) // 2) + found]
        texts += ["b " * (cut // 2 - 3) + found + " c", "\u201c" * (cut - 3) + found]
        texts += [f"{found} " + "kasus anak " * (cut // 10)]  # identifier far before the cut
    return texts + ["kasus\u2014anak " * (cut // 10)]  # nothing for Python, over the cap


@pytest.mark.parametrize("mask", [True, False])
@pytest.mark.parametrize("longest", [MAX_TEXT_CHARS, 2 * MAX_TEXT_CHARS])
def test_cleaning_after_the_column_was_masked_gives_the_same_bytes(mask, longest, monkeypatch):
    """The written-back text column is masked (``mask_pii_many``) just before the chunk is
    cleaned, which then takes that column's work (``pii.MaskedColumn``): the same bytes as
    cleaning and masking afresh. With texts over the length cap the chunk's texts are cut
    copies, masked afresh; without, the column's own objects, whose pass is reused."""
    texts = [t for t in texts_of_every_kind() if len(t) <= longest]
    cut = [t[:MAX_TEXT_CHARS] for t in texts]
    monkeypatch.setattr(pii, "_last_column", pii.MaskedColumn((), {}))
    fresh = clean_chunk(cut, mask)
    mask_pii_many(list(texts))
    column = pii.last_masked_column()
    assert len(column.masked) > 50
    assert (_positions(cut, column.texts) is not None) == (longest == MAX_TEXT_CHARS)
    again = clean_chunk(cut, mask)
    assert again[0].tobytes() == fresh[0].tobytes()
    assert again[1].tolist() == fresh[1].tolist()


@pytest.mark.parametrize("mask", [True, False])
def test_a_chunk_without_its_empty_rows_takes_the_columns_work(mask, monkeypatch):
    """Empty and blank rows are not classified: the chunk cleaned is the column without
    them, the very objects, and takes their rows of the column's array and pass."""
    texts = texts_of_every_kind()[:3000]
    for i in range(0, len(texts), 7):
        texts[i] = ["", " ", "\t\n"][i % 3]
    kept = [t for t in texts if t.strip()]
    monkeypatch.setattr(pii, "_last_column", pii.MaskedColumn((), {}))
    fresh = clean_chunk(kept, mask)
    mask_pii_many(list(texts))
    where = _positions(kept, pii.last_masked_column().texts)
    assert where is not None and len(where) == len(kept) < len(texts)
    again = clean_chunk(kept, mask)
    assert again[0].tobytes() == fresh[0].tobytes()
    assert np.diff(again[1]).tolist() == np.diff(fresh[1]).tolist()


def test_positions_are_of_the_very_objects():
    column = ["a b", "c d", "e f"]
    copy = "".join(["c", " d"])  # equal to column[1], another object
    assert _positions([column[0], column[2]], column).tolist() == [0, 2]
    assert _positions([column[0], copy], column) is None
    assert _positions([column[2], column[0]], column) is None
    assert _positions(list(column), column).tolist() == [0, 1, 2]


@settings(max_examples=150, deadline=None)
@given(texts=texts_strategy)
def test_random_texts_after_the_column_was_masked(texts):
    """As above, on random texts, through both column paths (Arrow and text by text)."""
    for column in (texts, texts * (SMALL_COLUMN // len(texts) + 1)):
        pii._last_column = pii.MaskedColumn((), {})
        fresh = [clean_chunk(column, True), _clean_in_python(column, True)]
        mask_pii_many(list(column))
        again = [clean_chunk(column, True), _clean_in_python(column, True)]
        for (data, offsets), (want, bounds) in zip(again, fresh, strict=True):
            assert data.tobytes() == want.tobytes() and offsets.tolist() == bounds.tolist()


def test_the_tokenizers_word_symbols_keep_a_word_whole():
    """The "‿" and the squared letters are symbols to Python's ``re`` but word characters to the
    tokenizer's engine: the fast path once replaced them by "#" and split the word in two."""
    texts = ["anak\u203fkorban", "ibu\U0001f170anak"]
    assert chunk_tokens(*clean_chunk(texts, True)) == [["anak\u203fkorban"], ["ibu\U0001f170anak"]]
