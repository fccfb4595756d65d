"""Loading labelled files: the first problem, located, and how many more there are."""

from __future__ import annotations

from pathlib import Path

import pytest

from sw_nlp.corpus import load_corpus, read_labelled, validate_corpus
from sw_nlp.errors import InputError


def test_a_corpus_with_bad_rows_names_the_first_and_counts_the_rest(
    tmp_path: Path, tiny_corpus_path: Path
):
    lines = tiny_corpus_path.read_text("utf-8").splitlines(keepends=True)
    bad = [lines[0], *(ln.replace(",mikro,", ",mikroo,") for ln in lines[1:])]
    path = tmp_path / "bad.csv"
    path.write_text("".join(bad), "utf-8")
    wrong = sum(",mikroo," in ln for ln in bad)
    assert wrong > 2
    first = next(i for i, ln in enumerate(bad, 1) if ",mikroo," in ln)
    with pytest.raises(InputError) as caught:
        load_corpus(path)
    assert str(caught.value) == (
        f"{path}:{first}:level: unknown label 'mikroo' (expected mikro, mezzo, makro, global) "
        f"(and {wrong - 1} more; run `sw-nlp data validate`)"
    )
    problems, summary = validate_corpus(path)
    assert sum(p.column == "level" for p in problems) == wrong
    assert summary is not None and summary.rows == len(bad) - 1


def test_a_labelled_file_names_its_first_unknown_label_and_counts_the_rest(tmp_path: Path):
    path = tmp_path / "labelled.csv"
    path.write_text("text,label\nsatu,micro\ndua,x\ntiga,y\nempat,global\n", "utf-8")
    with pytest.raises(InputError) as caught:
        read_labelled(path)
    assert str(caught.value) == f"{path}:3:level: unknown label 'x' (and 1 more)"
    path.write_text("text,label\nsatu,micro\ndua,x\n", "utf-8")
    with pytest.raises(InputError, match=r":3:level: unknown label 'x'$"):
        read_labelled(path)
