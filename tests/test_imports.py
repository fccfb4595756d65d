"""What importing sw-nlp and running its commands loads: start-up is paid per process, and
scikit-learn alone costs about a second.

Each check runs in a fresh interpreter, so modules the test session imported do not count.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sw_nlp.bundle import default_bundle_dir

HEAVY = ("sklearn", "scipy", "pandas", "numba", "nltk", "pyarrow")


def modules_after(code: str, tmp_path: Path) -> set[str]:
    """Every module in ``sys.modules`` after ``code`` ran in a new interpreter."""
    out = tmp_path / "modules.json"
    script = (
        f"{code}\n"
        "import json, sys\n"
        f"open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def loaded_after(code: str, tmp_path: Path) -> set[str]:
    """The heavy packages in ``sys.modules`` after ``code`` ran in a new interpreter."""
    return {m.split(".")[0] for m in modules_after(code, tmp_path)} & set(HEAVY)


def test_import_sw_nlp_loads_nothing_heavy(tmp_path: Path):
    assert loaded_after("import sw_nlp; sw_nlp.__version__", tmp_path) == set()


def test_exports_are_there_on_first_use():
    import sw_nlp

    assert set(sw_nlp.__all__) <= set(dir(sw_nlp))
    assert sw_nlp.load_model.__module__ == "sw_nlp.bundle"
    assert sw_nlp.Config.__module__ == "sw_nlp.config"
    assert sw_nlp.resolve_model.__module__ == "sw_nlp.resolve"
    assert sw_nlp.LEVELS == ("mikro", "mezzo", "makro", "global")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sw_nlp.nope  # noqa: B018


def test_help_loads_nothing_heavy(tmp_path: Path):
    code = (
        "from sw_nlp.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
    )
    assert loaded_after(code, tmp_path) == set()


@pytest.mark.slow
@pytest.mark.parametrize("explain", ["3", "0"])
def test_classify_runs_without_scikit_learn_or_scipy(tmp_path: Path, explain: str):
    """The default command (explanations included) on the shipped model: the fast path is
    built from the bundle's numbers and explains inside its compiled pass, so neither
    scikit-learn nor SciPy is used. What SciPy is loaded is Numba's own doing: when SciPy is
    installed, ``import numba`` checks its version (and its compiler's start-up would load
    ``scipy.linalg`` for a BLAS check that ``jit._import_numba`` skips; a large classify is
    checked for that in tests/test_jit.py). So: no ``scipy.sparse``, and no SciPy module
    that a one-line compiled function does not load."""
    cases = tmp_path / "cases.csv"
    cases.write_text("id,teks\na,Seorang nenek tinggal sendiri\nb,Kampanye antarnegara\n")
    out = tmp_path / "out.csv"
    code = (
        "from sw_nlp.cli import main\n"
        f"rc = main(['classify', {str(cases)!r}, '-o', {str(out)!r}, '--quiet', "
        f"'--model', {str(default_bundle_dir())!r}, '--explain', {explain!r}])\n"
        "assert rc == 0, rc\n"
    )
    modules = modules_after(code, tmp_path)
    assert not {m.split(".")[0] for m in modules} & {"sklearn", "nltk"}
    numba_alone = modules_after(
        "from numba import njit\n@njit(cache=False)\ndef f(x):\n    return x + 1\nf(1)\n",
        tmp_path,
    )
    scipy_parts = {m for m in modules if m.split(".")[0] == "scipy"}
    assert scipy_parts <= numba_alone, sorted(scipy_parts - numba_alone)
    assert "scipy.sparse" not in modules
    assert out.read_text().count("\n") == 3


@pytest.mark.slow
def test_exact_path_does_import_scikit_learn(tmp_path: Path):
    """The check above can see scikit-learn: ``--exact-path`` rebuilds the pipeline."""
    cases = tmp_path / "cases.csv"
    cases.write_text("teks\nSeorang nenek tinggal sendiri\n")
    code = (
        "from sw_nlp.cli import main\n"
        f"rc = main(['classify', {str(cases)!r}, '-o', {str(tmp_path / 'o.csv')!r}, "
        f"'--quiet', '--exact-path', '--model', {str(default_bundle_dir())!r}])\n"
        "assert rc == 0, rc\n"
    )
    assert {"sklearn", "scipy"} <= loaded_after(code, tmp_path)


def test_classifying_a_few_texts_loads_nothing_heavy(tmp_path: Path):
    """The model and the fast path on a small chunk: no compiler (the kernels run as plain
    Python), no Arrow (texts cleaned in Python), no pandas, no scikit-learn or SciPy."""
    code = (
        "from sw_nlp.bundle import load_model\n"
        f"clf = load_model({str(default_bundle_dir())!r})\n"
        "result = clf.analyse(['anak terlantar butuh bantuan', 'Kampanye antarnegara'], k=3)\n"
        "assert result.explanations[0], result\n"
    )
    assert loaded_after(code, tmp_path) == set()


def test_a_one_row_classify_loads_no_compiler_and_no_scikit_learn(tmp_path: Path):
    """A fresh ``sw-nlp classify`` of a one-row file: time to first row is start-up, and
    Numba alone cost a second of it, pandas half a second. CSV in, CSV out loads none of the
    heavy packages."""
    cases = tmp_path / "one.csv"
    cases.write_text("id,text\n1,anak terlantar butuh bantuan\n")
    out = tmp_path / "out.csv"
    code = (
        "from sw_nlp.cli import main\n"
        f"rc = main(['classify', {str(cases)!r}, '-o', {str(out)!r}, '--quiet', "
        f"'--model', {str(default_bundle_dir())!r}])\n"
        "assert rc == 0, rc\n"
    )
    assert loaded_after(code, tmp_path) == set()
    assert "bantuan +" in out.read_text()
