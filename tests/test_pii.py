import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sw_nlp.pii import (
    EMAIL_TOKEN,
    NIK_TOKEN,
    PHONE_TOKEN,
    PLACEHOLDERS,
    URL_TOKEN,
    is_placeholder_term,
    mask_pii,
)


@pytest.mark.parametrize(
    "text, token, secret",
    [
        ("NIK 3201012345678901 atas nama", NIK_TOKEN, "3201012345678901"),
        ("NIK: 3201 0123 4567 8901.", NIK_TOKEN, "3201 0123 4567 8901"),
        ("hubungi 0812-3456-7890 ya", PHONE_TOKEN, "0812-3456-7890"),
        ("wa +62 812 3456 7890", PHONE_TOKEN, "812 3456 7890"),
        ("telp 081234567890", PHONE_TOKEN, "081234567890"),
        ("email ibu.sari@contoh.co.id", EMAIL_TOKEN, "ibu.sari@contoh.co.id"),
        ("lihat https://dinsos.example.go.id/kasus?id=7", URL_TOKEN, "dinsos.example"),
        ("situs WWW.Dinsos.Example.go.id", URL_TOKEN, "Dinsos.Example"),
        ("HTTP://LAPOR.EXAMPLE/123 dibuka", URL_TOKEN, "LAPOR.EXAMPLE"),
    ],
)
def test_identifiers_are_masked(text, token, secret):
    masked = mask_pii(text)
    assert token in masked
    assert secret not in masked


@pytest.mark.parametrize(
    "text, secret",
    [
        ("hp ０８１２３４５６７８９０ ya", "３４５６"),  # full-width, as a phone keyboard may type
        ("telp ٠٨١٢-٣٤٥٦-٧٨٩٠ (ibu)", "٣٤٥٦"),  # Arabic-Indic
        ("wa +６２ ８１２ ３４５６ ７８９０", "３４５６"),
        ("nomor ०८१२३४५६७८९० aktif", "३४५६"),  # Devanagari
        ("hp 08１２ 3456 ７８９０ ya", "3456"),  # mixed in one number
    ],
)
def test_phone_numbers_in_any_digits_are_masked(text, secret):
    masked = mask_pii(text)
    assert PHONE_TOKEN in masked
    assert secret not in masked
    # Only the number is replaced: the words around it are kept as they were.
    assert masked.split(PHONE_TOKEN)[0].strip() == text.split()[0]


def test_other_numbers_in_any_digits_are_kept():
    text = "tahun ٢٠٢٤ ada ١٢٥٠ keluarga, umur ６７, RT ０３"
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    "text",
    ["tahun 2023 ada 1.250 keluarga", "RT 03/RW 05, umur 67 tahun", "Rp 600.000 per bulan"],
)
def test_ordinary_numbers_are_kept(text):
    assert mask_pii(text) == text


@given(st.from_regex(r"[1-9]\d{15}", fullmatch=True))
def test_any_sixteen_digit_number_is_masked(nik):
    assert nik not in mask_pii(f"warga dengan NIK {nik} tinggal sendiri")


def test_masking_is_linear_on_long_runs():
    import time

    started = time.perf_counter()
    mask_pii("x" * 1_000_000 + "@" + "y" * 1_000_000)
    mask_pii("a.b-c+" * 200_000)
    assert time.perf_counter() - started < 5  # quadratic backtracking would take minutes


_ASCII_PII = st.lists(
    st.sampled_from(
        ["0812", "-", " ", ".", "3456", "7890", "+62", "62", "(+62)", "8", "@", "a", "www.",
         "http://", "HTTPS://", "3201", "\x0b", "\x1c", "\t", "_", "x", "08", "123"]
    ),
    max_size=20,
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(_ASCII_PII, st.text(alphabet=st.characters(max_codepoint=127))))
def test_text_without_a_candidate_is_left_alone(text):
    """The fast path masks in Python only where PII_CANDIDATE (RE2, in Arrow) finds something."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from sw_nlp.pii import PII_CANDIDATE

    candidate = pc.match_substring_regex(pa.array([text]), PII_CANDIDATE)[0].as_py()
    if not candidate:
        assert mask_pii(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("wWhHtTpPsS.:/ a1")), max_size=30))
def test_url_precheck_never_skips_a_url(text):
    """``mask_pii`` only scans for URLs when "://" or "www." is there; the scan itself must
    find nothing in the texts it skips."""
    from sw_nlp.pii import _URL

    assert mask_pii(text) == mask_pii(_URL.sub(f" {URL_TOKEN} ", text))


_MIXED = st.one_of(
    _ASCII_PII,
    st.text(max_size=40),  # any Unicode: non-ASCII digits, lone surrogates, …
    st.sampled_from(["NIK ３２０１０１２３４５６７８９０１", "telp ٠٨١٢٣٤٥٦٧٨٩٠", "", "a\ud800b"]),
    st.none(),
    st.floats(allow_nan=True),
)


def _above_small(values: list) -> list:
    """The values repeated until the column is longer than ``SMALL_COLUMN``, so that
    ``mask_pii_many`` takes its Arrow path (shorter columns are masked text by text)."""
    from sw_nlp.pii import SMALL_COLUMN

    return values * (SMALL_COLUMN // max(len(values), 1) + 1)


def _same(got: list, expected: list) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g == e or (g != g and e != e)  # NaN is kept as NaN


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_MIXED, max_size=12))
def test_masking_a_column_equals_masking_each_text(values):
    """The column version (Arrow finds the candidates) gives exactly ``mask_pii`` per text
    and leaves other values as they are."""
    from sw_nlp.pii import mask_pii_many

    column = _above_small(values)
    each = [mask_pii(v) if isinstance(v, str) else mask_pii_many([v])[0] for v in column]
    _same(mask_pii_many(column), each)


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (6281234567890, " _telepon_ "),  # a phone typed into a spreadsheet: a number there
        (6281234567890.0, " _telepon_ "),  # the same read as a float
        (3174012345678901, " _nik_ "),  # a NIK in a Parquet int64 column
        (np.int64(6281234567890), " _telepon_ "),
        (42, 42),  # an age
        (2_500_000.0, 2_500_000.0),  # an amount
        (81234567890, 81234567890),  # ten digits, but no phone prefix: not an identifier
        (1234567890123.5, 1234567890123.5),  # not a whole number
        (True, True),
        (None, None),
    ],
)
def test_numbers_that_are_identifiers_are_masked_and_other_numbers_kept(cell, written):
    from sw_nlp.pii import mask_pii_many

    for column in ([cell], _above_small([cell, "teks"])):
        got = mask_pii_many(column)[0]
        assert got == written and type(got) is type(written)


def _inert() -> list[str]:
    from sw_nlp.pii import inert_symbols

    return list(inert_symbols())


# Identifiers and their pieces, ASCII words and separators, the symbols of office and chat
# text, and characters where RE2 and Python's ``re`` part ways: non-ASCII letters and digits,
# the Kelvin sign and long s (case folding), no-break and other Unicode spaces.
_PIECES = st.one_of(
    st.sampled_from(
        ["3201012345678901", "3201 0123 4567 8901", "32.01.01.010190.0001", "0812-3456-7890",
         "+62 812 3456 7890", "(0812) 3456 7890", "wa081234567890", "ibu.sari@contoh.co.id",
         "sari@contoh", "https://x.example/a", "www.dinsos.go.id", "rek", "rekening", "no. rek",
         "BRI a.n. Sari", "1234567890", "0812", "3456", "7890", "62", "08", "@", " ", "-", ".",
         "/", ":", "_", "\t", "\n", "\x0b", "\x1c", "kasus", "Lansia", "k", "s", "RT 03"]
    ),
    st.deferred(lambda: st.sampled_from(_inert())),
    st.sampled_from(["é", "\u212a", "\u017f", "\xa0", "\u2007", "\u3000", "\x85",
                     "٠٨١٢", "３２０１", "ı", "İ", "\u0301", "\ufe0f", "\u200d"]),
)  # fmt: skip
_TEXTS = st.lists(_PIECES, max_size=25).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=_TEXTS)
def test_text_that_needs_no_python_is_left_alone(text):
    """Where ``needs_python`` (RE2) finds nothing, ``mask_pii`` changes nothing: curly
    quotes, dashes and emoji beside identifiers do not hide them from the fast check."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from sw_nlp.pii import needs_python

    if not pc.match_substring_regex(pa.array([text]), needs_python())[0].as_py():
        assert mask_pii(text) == text


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(_TEXTS, min_size=1, max_size=8))
def test_masking_symbol_rich_texts_equals_masking_each(texts):
    """Texts mixing the inert symbols with identifiers (and letters RE2 reads otherwise):
    the column version equals ``mask_pii`` on each, on the Arrow path and on the small one."""
    from sw_nlp.pii import mask_pii_many

    _same(mask_pii_many(texts), [mask_pii(t) for t in texts])
    column = _above_small(texts)
    _same(mask_pii_many(column), [mask_pii(t) for t in column])


@settings(max_examples=200, deadline=None)
@given(column=st.lists(_TEXTS, min_size=1, max_size=8), probes=st.lists(_TEXTS, max_size=4))
def test_a_text_masked_once_is_masked_as_again(column, probes):
    """``mask_pii_once`` right after ``mask_pii_many`` gives the very string ``mask_pii``
    gives: for the column's texts (found), for others and for cut-off copies (masked anew),
    after either column path."""
    from sw_nlp.pii import mask_pii_many, mask_pii_once

    for values in (column, _above_small(column)):
        mask_pii_many(values)
        for text in [*values, *probes, *(t[: len(t) // 2] for t in values)]:
            assert mask_pii_once(text) == mask_pii(text)


def test_inert_symbols_are_the_office_ones_and_no_letters():
    """Curly quotes, dashes, bullets, ellipsis and emoji are in; letters, digits, spaces and
    anything with a case are out (``\\w``/``\\s``/case folding would differ in RE2)."""
    import re

    inert = set(_inert())
    assert set("\u201c\u201d\u2018\u2019\u2013\u2014\u2022\u2026\u00b7\U0001f64f\ufe0f") <= inert
    assert not inert & set("é\u212a\u017f\xa0\u2007\u3000\x85\u0660\uff13\u24b6")
    assert not [c for c in inert if re.match(r"[\w\s]", c) or c.isascii()]


def test_plain_symbols_are_inert_for_masking():
    """Masking and the fast cleaning step (``utf8_chunk``) leave a row with plain symbols to
    Arrow when ``PII_CANDIDATE`` finds nothing in it: that is right only if each of them is
    one the patterns read as "#", i.e. in ``inert_symbols``."""
    from sw_nlp.pii import plain_symbols

    cleaning = set(plain_symbols())
    assert len(cleaning) > 1000
    assert cleaning <= set(_inert())


def test_a_few_texts_are_masked_without_arrow(tmp_path):
    """A one-row file pays no Arrow import (0.2 s) for masking: Python's definition does it."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from sw_nlp.pii import mask_pii_many\n"
        "out = mask_pii_many(['hubungi 0812-3456-7890 \u2013 \u201cya\u201d', None])\n"
        "print(json.dumps([out, 'pyarrow' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    masked, arrow = json.loads(done.stdout)
    assert masked == [mask_pii("hubungi 0812-3456-7890 \u2013 \u201cya\u201d"), None]
    assert "_telepon_" in masked[0]
    assert not arrow


def _every_pattern_everywhere(text: str) -> str:
    """``mask_pii`` without the checks that skip a pattern: every substitution, in order."""
    from sw_nlp import pii

    text = pii._URL.sub(f" {URL_TOKEN} ", text)
    text = pii._EMAIL.sub(f" {EMAIL_TOKEN} ", text)
    text = pii._ACCOUNT.sub(rf"\1 {pii.ACCOUNT_TOKEN} ", text)
    text = pii._DIGIT_GROUPS.sub(pii._mask_nik, text)
    return pii._mask_phones(text)


# Digits (ASCII and not), separators, the letters of "rek" in every case IGNORECASE matches,
# operator codes, numbers just short of and just over a NIK, in any order.
_NUMBER_PIECES = st.one_of(
    st.sampled_from(
        ["8", "08", "+62", "(0812)", "62 812", "rek", "REK", "re\u212a", "Rek.", "rekening",
         "no rek", "norek", " ", "-", ".", "/", " - ", "wa", "hp", "a.n.", "bri", "3201",
         "0101", "900001", "12345678901234", "1234567890123456", "٣", "٨", "３", "2018"]
    ),
    st.from_regex(r"\d{1,6}", fullmatch=True),
    st.text(alphabet=st.sampled_from(list("0123456789 ./-8")), max_size=8),
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(text=st.lists(_NUMBER_PIECES, max_size=20).map("".join))
def test_skipping_a_pattern_where_nothing_can_match_changes_nothing(text):
    assert mask_pii(text) == _every_pattern_everywhere(text)


@pytest.mark.parametrize(
    "text",
    [
        "rek BRI 1234567890 a.n. Sari",
        "RE\u212aENING 0123456789",  # KELVIN SIGN matches k under IGNORECASE
        "hp 0812-3456-7890 dan NIK 3201.0101.9000.0001",
        "telp (0812) 3456 7890 / 62 812 3456 7890",
        "nomor 12 3456 7890 1234 56 78",
    ],
)
def test_skipping_keeps_every_identifier_in_office_texts(text):
    assert mask_pii(text) == _every_pattern_everywhere(text) != text


@given(
    st.lists(
        st.one_of(st.sampled_from(sorted(PLACEHOLDERS)), st.text(min_size=1, max_size=8)),
        min_size=1,
        max_size=4,
    )
)
@settings(max_examples=300, deadline=None)
def test_placeholder_terms_are_found_by_their_words(words):
    """A term is hidden when one of its words is a placeholder, and only then (the quick
    underscore check must not change an answer)."""
    term = " ".join(words)
    assert is_placeholder_term(term) == any(w in PLACEHOLDERS for w in term.split())
    for placeholder in PLACEHOLDERS:
        assert is_placeholder_term(f"bantuan {placeholder}")
        assert not is_placeholder_term(placeholder.strip("_"))


def test_a_text_of_every_character_does_not_grow_the_digit_table_for_ever():
    from sw_nlp import pii

    hostile = "".join(map(chr, range(0x100, 0x30000, 3))) + " hp ٠٨١٢٣٤٥٦٧٨٩٠"
    assert PHONE_TOKEN in mask_pii(hostile)
    digits = sum(1 for c in map(chr, range(0x100, 0x30000, 3)) if c.isdecimal())
    assert len(pii._ASCII_DIGITS) <= pii._TABLE_CHARACTERS + digits + 10
