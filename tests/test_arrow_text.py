"""Arrow string arrays from Python text: the same array as ``pa.array``, without pandas."""

import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
