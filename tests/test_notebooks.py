"""The analysts' notebooks run from a clean checkout, and are committed without outputs.

Each notebook is executed as an analyst would run it: in a fresh ``python3`` kernel started
in the notebooks folder, every cell in order. Any error in any cell fails the test. The
notebook is executed in memory, so the file on disk is never rewritten; the kernel's
temporary files (notebook 02 trains into ``tempfile.mkdtemp()``) go to pytest's tmp_path,
and the trust store is the private one from conftest (the kernel inherits the environment).

They run on a copy of the checkout's data with a sample of the corpus (``$SW_NLP_HOME``, which
the notebooks' ``Paths.discover()`` honours): every cell still trains, audits and draws, in
seconds rather than minutes. The notebooks themselves are unchanged and read the whole corpus
when an analyst runs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
# The notebooks there must be, with the least number of figures each must show when run.
FIGURES = {
    "01_corpus_exploration.ipynb": 2,  # registers per level, text lengths
    "02_train_and_evaluate.ipynb": 4,  # confusion, reliability, review threshold, learning curve
    "03_error_analysis_and_labelling.ipynb": 0,
}
CELL_TIMEOUT = 300  # seconds; each notebook as a whole runs in well under two minutes
SAMPLE_ROWS = 1500  # of the corpus, drawn in proportion to each split and level


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder with the examples and a stratified sample of the corpus (no models:
    the shipped model is current)."""
    repo = NOTEBOOKS_DIR.parent
    home = tmp_path_factory.mktemp("notebook-home")
    corpus = pd.read_csv(repo / "data" / "corpus" / "cases.csv", dtype=str, keep_default_na=False)
    share = SAMPLE_ROWS / len(corpus)
    sample = corpus.groupby(["split", "level"], group_keys=False).sample(frac=share, random_state=0)
    (home / "data" / "corpus").mkdir(parents=True)
    sample.sort_index().to_csv(home / "data" / "corpus" / "cases.csv", index=False)
    (home / "data" / "examples").mkdir(parents=True)
    examples = repo / "data" / "examples" / "cases.csv"
    (home / "data" / "examples" / "cases.csv").write_bytes(examples.read_bytes())
    return home


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_three_notebooks_are_there():
    assert [path.name for path in NOTEBOOKS] == sorted(FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or an execution count; clear them with "
        f"`jupyter nbconvert --clear-output --inplace {path.relative_to(NOTEBOOKS_DIR.parent)}`"
    )


@pytest.mark.slow  # a kernel per notebook; 02 trains and 03 audits
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path: Path, tmp_path: Path, sample_home: Path):
    before = path.read_bytes()
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},  # the kernel's working directory
    )
    env = {**os.environ, "TMPDIR": str(tmp_path), "SW_NLP_HOME": str(sample_home)}
    client.execute(env=env)  # CellExecutionError on failure

    assert all(cell.execution_count is not None for cell in code_cells(notebook))
    errors = [
        output
        for cell in code_cells(notebook)
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in code_cells(notebook)
        for output in cell.outputs
    )
    assert figures >= FIGURES[path.name], f"{path.name}: {figures} figure(s) shown"
    assert path.read_bytes() == before
