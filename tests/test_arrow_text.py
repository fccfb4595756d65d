"""Arrow string arrays from Python text: the same array as ``pa.array``, without pandas."""

import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sw_nlp import arrow_text
from sw_nlp.arrow_text import string_array


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"])), max_size=20))
def test_same_array_as_pa_array(texts):
    """Any text: empty, NUL inside, every plane of Unicode."""
    ours = string_array(texts)
    assert ours.type == pa.string()
    assert ours.equals(pa.array(texts, type=pa.string()))
    assert ours.to_pylist() == texts


def test_a_lone_surrogate_is_refused_as_pa_array_refuses_it():
    with pytest.raises(UnicodeEncodeError):
        string_array(["ok", "a\ud800b"])


def test_pandas_is_not_imported():
    """``pa.array`` of a list imports pandas (to ask whether it is one of its arrays), and so
    does ``to_numpy``: neither the array nor masking a column (Arrow's path) uses them."""
    code = (
        "import sys\n"
        "import pyarrow.compute as pc\n"
        "from sw_nlp.arrow_text import string_array\n"
        "from sw_nlp.pii import SMALL_COLUMN, mask_pii_many\n"
        "assert pc.match_substring(string_array(['a', 'b\u2013c']), 'c').to_pylist() == [False, True]\n"
        "texts = ['telp 0812-3456-7890 \u2013 ya', 'tidak ada'] * SMALL_COLUMN\n"
        "assert mask_pii_many(texts)[0] == 'telp  _telepon_  \u2013 ya'\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_compute_functions_are_pyarrow_computes_own():
    """The functions are called through ``call_function`` and ``MatchSubstringOptions`` of
    Arrow's extension module: the very objects ``pyarrow.compute`` exports as public API."""
    import pyarrow.compute as pc

    module = arrow_text.compute_module()
    assert module.call_function is pc.call_function
    assert module.MatchSubstringOptions is pc.MatchSubstringOptions


_TEXTS = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
    | st.sampled_from(["", "ABC", "Ünï", "a.b", "0812 3456", "x@y", "K\u212a"]),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(_TEXTS, st.sampled_from([r"\d", "(?i)a|@", r"[^\x00-\x7f]", "^$", "[A-Z]"]))
@example(["abc", "ABC", "K\u212a", "ijk"], "[A-Z]")
def test_compute_functions_equal_pyarrow_compute(texts, pattern):
    """Each function gives what ``pyarrow.compute``'s wrapper of the same name gives, on any
    text (every plane of Unicode, empty ones, case folding patterns)."""
    import pyarrow.compute as pc

    array = string_array(texts)
    found = arrow_text.match_substring_regex(array, pattern)
    assert found.equals(pc.match_substring_regex(array, pattern))
    assert arrow_text.ascii_lower(array).equals(pc.ascii_lower(array))
    where = arrow_text.indices_nonzero(found)
    assert where.equals(pc.indices_nonzero(found))
    replacements = string_array([f"<{i}>" for i in range(len(where))])
    assert arrow_text.replace_with_mask(array, found, replacements).equals(
        pc.replace_with_mask(array, found, replacements)
    )
    assert arrow_text.take(array, where).equals(array.take(where))
    assert arrow_text.take(found, where).to_pylist() == [True] * len(where)


def test_take_checks_bounds():
    with pytest.raises(IndexError):
        arrow_text.take(string_array(["a"]), pa.array([1], pa.int64()))


def test_compute_functions_do_not_import_pyarrow_compute():
    """Its import builds a wrapper for every Arrow function (50-60 ms in each process):
    cleaning and masking a chunk on Arrow's path need none of them."""
    code = (
        "import sys\n"
        "from sw_nlp.pii import SMALL_COLUMN, mask_pii_many\n"
        "from sw_nlp.jit import compiled\n"
        "from sw_nlp.utf8_chunk import clean_chunk\n"
        "texts = ['Telp 0812-3456-7890 \u2013 Ya', 'Tidak ADA'] * SMALL_COLUMN\n"
        "assert mask_pii_many(texts)[0] == 'Telp  _telepon_  \u2013 Ya'\n"
        "with compiled(True):\n"
        "    data, offsets = clean_chunk(texts[1:], True)\n"
        "assert data.tobytes()[: offsets[1]] == b'tidak ada'\n"
        "print('pyarrow' in sys.modules, 'pyarrow.compute' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


# Bytes where UTF-8 decoders disagree when one is careless: ASCII, continuation bytes, the lead
# bytes of overlong forms (C0, C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF), the last
# planes (F4 8F / F4 90) and bytes that never occur (F5-FF), NUL.
_TRICKY = [0x00, 0x0A, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
           0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]  # fmt: skip


def python_says_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_TRICKY), max_size=12).map(bytes) | st.binary(max_size=40))
@example(b"\xed\xa0\x80")  # a surrogate, encoded
@example(b"\xf4\x90\x80\x80")  # past U+10FFFF
@example(b"\xe0\x9f\xbf")  # overlong
@example("kasus \u2013 anak \U0001f600".encode())
def test_valid_utf8_agrees_with_pythons_decoder(data):
    assert arrow_text.valid_utf8(data) == python_says_utf8(data)
    assert arrow_text.valid_utf8(memoryview(b"x" + data)[1:]) == python_says_utf8(data)
