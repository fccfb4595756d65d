import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sw_nlp.pii import EMAIL_TOKEN, NIK_TOKEN, PHONE_TOKEN, URL_TOKEN, mask_pii


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


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_MIXED, max_size=12))
def test_masking_a_column_equals_masking_each_text(values):
    """The column version (Arrow finds the candidates) gives exactly ``mask_pii`` per text
    and leaves other values as they are."""
    from sw_nlp.pii import mask_pii_many

    expected = [mask_pii(v) if isinstance(v, str) else v for v in values]
    got = mask_pii_many(values)
    assert len(got) == len(values)
    for g, e in zip(got, expected, strict=True):
        assert g == e or (g != g and e != e)  # NaN is kept as NaN
