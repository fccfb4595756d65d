"""Kernels compiled on demand: plain Python and Numba give the same results, kernel by kernel,
and a small job never imports Numba.

Every call a kernel gets in compiled mode while the fast path classifies the real corpus and
random texts is run a second time as plain Python on copies of its arguments; the two must
return the same arrays (values and dtypes) and leave their arguments in the same state. So
each kernel is checked on the inputs real use gives it, including hash overflow (uint64
products that wrap), int32 counts and integer division.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sw_nlp.fast as fast
import sw_nlp.kernels as kernels_module
import sw_nlp.piece_kernels as piece_kernels_module
import sw_nlp.text_kernels as text_kernels_module
from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.corpus import load_corpus
from sw_nlp.jit import Kernel, compiled, kernel, running_compiled

REPO = Path(__file__).resolve().parent.parent
KERNEL_MODULES = (kernels_module, text_kernels_module, piece_kernels_module)


def all_kernels() -> dict[str, Kernel]:
    return {
        name: value
        for module in KERNEL_MODULES
        for name, value in vars(module).items()
        if isinstance(value, Kernel)
    }


def assert_same(got: object, want: object, where: str) -> None:
    """Equal values of equal types: arrays by dtype, shape and every element (NaN equal)."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert got.dtype == want.dtype and got.shape == want.shape, where
        assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f"), where
    elif want is None:
        assert got is None, where
    else:  # a number: compiled code returns Python's, plain Python may return NumPy's
        assert got == want, where


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Each compiled kernel call is also run as plain Python and compared; the names of the
    kernels so checked are collected."""
    seen: set[str] = set()
    plain_call = Kernel.__call__

    def call(self: Kernel, *args: object) -> object:
        if not running_compiled():
            return plain_call(self, *args)
        plain_args = copy.deepcopy(args)
        with compiled(False):
            want = plain_call(self, *plain_args)
        got = plain_call(self, *args)
        assert_same(got, want, f"{self.__name__} result")
        assert_same(args, plain_args, f"{self.__name__} arguments after the call")
        seen.add(self.__name__)
        return got

    monkeypatch.setattr(Kernel, "__call__", call)
    return seen


@pytest.fixture(scope="module")
def path() -> fast.FastPath:
    clf = load_model(default_bundle_dir())
    assert clf._fast is not None
    return clf._fast


def reached(seen: set[str]) -> set[str]:
    """The kernels called, and every kernel those call (inside compiled code)."""
    kernels = all_kernels()
    found, todo = set(), list(seen)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(n for n in kernels[name].py_func.__code__.co_names if n in kernels)
    return found


@pytest.mark.slow  # the whole corpus, each chunk run twice
def test_every_kernel_is_the_same_compiled_and_plain_on_the_corpus(checked, path):
    texts = load_corpus(REPO / "data" / "corpus" / "cases.csv")["text"].tolist()
    for start in range(0, len(texts), 600):
        path.analyse(texts[start : start + 600], k=3)
    path.analyse(texts[:100], k=0, target=1)
    path.features_matrix(texts[:100])  # normalize_rows
    assert reached(checked) == set(all_kernels())


# Pieces of text for the kernels' odd corners: every kind of whitespace they split at (and
# some they do not), non-ASCII bytes, identifiers, n-grams of the vocabulary, repeats.
PIECES = [
    "anak", "terlantar", "butuh", "bantuan", "lansia", "anak-anak", "keluarga miskin",
    "0812-3456-7890", "budi@contoh.id", "“kutip”", "é", "İstanbul", "🙏", "２０２４", "\ud800",
    " ", "  ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\u00a0", ",", ".", "",
]  # fmt: skip
random_texts = st.lists(
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=30).map(" ".join),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=random_texts)
def test_kernels_are_the_same_compiled_and_plain_on_random_texts(
    checked, path, monkeypatch, texts
):
    monkeypatch.setattr(fast, "PLAIN_PYTHON_ROWS", -1)  # small chunks compiled too
    path.analyse(texts, k=3)
    assert {"split_pieces", "word_ngrams", "score_rows", "expand_pieces"} <= checked


def test_small_chunks_run_plain_python_and_large_ones_compiled(path, monkeypatch):
    modes: list[bool] = []
    plain_call = Kernel.__call__

    def call(self: Kernel, *args: object) -> object:
        modes.append(running_compiled())
        return plain_call(self, *args)

    monkeypatch.setattr(Kernel, "__call__", call)
    text = "anak terlantar butuh bantuan"
    monkeypatch.setattr(fast, "PLAIN_PYTHON_CHARS", 3 * len(text))
    small = path.analyse([text] * 3, k=3)
    assert modes and not any(modes)
    modes.clear()
    too_long = path.analyse([text] * 2 + [text + "!"], k=3)
    assert modes and all(modes)
    modes.clear()
    monkeypatch.setattr(fast, "PLAIN_PYTHON_CHARS", 10**6)
    monkeypatch.setattr(fast, "PLAIN_PYTHON_ROWS", 2)
    too_many = path.analyse([text] * 3, k=3)
    assert modes and all(modes)
    assert np.array_equal(small.proba, too_many.proba)
    assert small.explanations == too_many.explanations
    assert small.explanations[:2] == too_long.explanations[:2]


def test_kernels_call_each_other_in_both_modes():
    """A kernel calling another: a Python call in plain mode, a compiled one when compiled
    (the caller's copy sees the callee's dispatcher); the module's name stays the kernel."""
    double = kernel(cache=False)(_double)
    namespace = {"double": double, "np": np}
    twice = kernel(cache=False)(type(_double)(_twice.__code__, namespace, "twice"))
    x = np.arange(3, dtype=np.int64)
    with compiled(False):
        assert twice(x).tolist() == [0, 4, 8]
    assert twice(x).tolist() == [0, 4, 8]
    assert namespace["double"] is double
    assert twice.dispatcher.py_func.__globals__["double"] is double.dispatcher


def _double(x: np.ndarray) -> np.ndarray:
    return x * 2


def _twice(x: np.ndarray) -> np.ndarray:
    return double(double(x))  # noqa: F821 (a global of the test's namespace)


def test_plain_python_wraps_integers_as_compiled_code_does():
    """The long pieces' key hash overflows uint64: compiled code wraps silently; plain NumPy
    scalars wrap too but warn, and warnings are errors here."""
    data = np.frombuffer("anak-anak “terlantar” kesejahteraan".encode(), np.uint8)
    offsets = np.array([0, len(data)], np.int32)
    slots = np.full((16, 2), -1, np.int64)
    words = piece_kernels_module.padded_words(data)
    args = (data, words, offsets, slots, np.zeros(1, np.int64), np.zeros(1, np.uint8))
    with compiled(False):
        plain = piece_kernels_module.split_pieces(*args)
    assert_same(piece_kernels_module.split_pieces(*args), plain, "split_pieces")
    assert plain[4][2] == _key(b"kesejahteraan")


def _key(raw: bytes) -> int:
    """``piece_kernels._piece_key`` of a piece of 9 to 16 bytes (two words), in Python ints."""
    m = 2**64 - 1
    h = len(raw) * 0x9E3779B97F4A7C15 & m
    for word, shift in ((raw[:8], 31), (raw[-8:], 29)):
        h = (h ^ int.from_bytes(word, "little")) * 0xBF58476D1CE4E5B9 & m
        h ^= h >> shift
    return h | 1 << 63


def classify_modules(tmp_path: Path, rows: int) -> set[str]:
    """The modules in ``sys.modules`` after ``sw-nlp classify`` of ``rows`` rows."""
    cases = tmp_path / "cases.csv"
    cases.write_text(
        "id,text\n" + "".join(f"{i},anak terlantar butuh bantuan {i}\n" for i in range(rows))
    )
    out = tmp_path / "out.csv"
    code = (
        "import json, sys\n"
        "from sw_nlp.cli import main\n"
        f"rc = main(['classify', {str(cases)!r}, '-o', {str(out)!r}, '--quiet', "
        f"'--model', {str(default_bundle_dir())!r}])\n"
        "assert rc == 0, rc\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text().count("\n") == rows + 1
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.slow  # compiles the kernels if this machine has not yet
def test_a_large_classify_runs_compiled(tmp_path: Path):
    large = classify_modules(tmp_path, fast.PLAIN_PYTHON_ROWS + 1)
    assert "numba" in large
    assert "numba" not in classify_modules(tmp_path, fast.PLAIN_PYTHON_ROWS)
    # Numba's import checks SciPy's version, and its start-up in some releases loads
    # scipy.linalg for a BLAS check: both skipped (jit._import_numba). Nor does a chunk's
    # cleaning import pyarrow.compute (its wrapper per Arrow function: sw_nlp.arrow_text).
    assert not {m for m in large if m.split(".")[0] in ("scipy", "sklearn")}
    assert "pyarrow" in large
    assert "pyarrow.compute" not in large


def test_numba_start_up_leaves_scipy_importable():
    """Keeping scipy.linalg out of Numba's start-up must not keep it out of the process: after
    the kernels are loaded, SciPy's BLAS imports and a compiled ``np.dot`` (which needs it)
    works."""
    code = (
        "import sys\n"
        "from sw_nlp.bundle import default_bundle_dir, load_model\n"
        "assert load_model(default_bundle_dir()).compile_kernels()\n"
        "assert 'scipy.linalg' not in sys.modules\n"
        "assert 'scipy.linalg.cython_blas' not in sys.modules\n"
        "from scipy.linalg import cython_blas\n"
        "import numba, numpy as np\n"
        "dot = numba.njit(cache=False)(lambda a, b: np.dot(a, b))\n"
        "print(dot(np.arange(3.0), np.arange(3.0)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5.0"]
