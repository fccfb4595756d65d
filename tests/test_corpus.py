"""Loading labelled files: the first problem, located, and how many more there are."""

from __future__ import annotations

from pathlib import Path

import pytest

from sw_nlp.corpus import (
    corpus_duplicates,
    load_corpus,
    read_labelled,
    read_new_cases,
    validate_corpus,
)
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


LANSIA = (
    "Seorang lansia tinggal sendiri tanpa keluarga di rumah kontrakan dan butuh pendampingan "
    "rutin dari pekerja sosial untuk kontrol ke puskesmas"
)
KARANG_TARUNA = (
    "Karang taruna desa meminta pendampingan untuk menyusun rencana kegiatan pencegahan "
    "narkoba bersama tokoh masyarakat dan sekolah"
)


def test_new_cases_from_an_office_csv_have_their_columns_found(tmp_path: Path):
    """An analyst's file names its columns as the office does ("Uraian Kasus", "Tingkat",
    "Metode"): retrain said 'missing column(s) text, level, method'."""
    path = tmp_path / "baru.csv"
    path.write_text(
        "No,Uraian Kasus,Tingkat,Metode\n"
        f"1,{LANSIA},mikro,casework_individual\n2,{KARANG_TARUNA},mezzo,community_education\n",
        encoding="utf-8",
    )
    frame, notes = read_new_cases(path)
    assert frame["text"].tolist() == [LANSIA, KARANG_TARUNA]
    assert frame["level"].tolist() == ["mikro", "mezzo"]
    assert "columns read as: 'Uraian Kasus' -> text, 'Tingkat' -> level, 'Metode' -> method" in notes


def test_new_cases_from_a_workbook_with_a_title_row_name_rows_as_the_sheet_does(tmp_path: Path):
    import openpyxl

    book = openpyxl.Workbook()
    for row in (
        ["KASUS BERLABEL NOVEMBER"],
        [],
        ["Uraian Kasus", "Level Intervensi", "Metode"],
        [LANSIA, "mikro", "casework_individual"],
        [KARANG_TARUNA, "tidak tahu", "community_education"],
    ):
        book.active.append(row)
    path = tmp_path / "baru.xlsx"
    book.save(path)
    with pytest.raises(InputError) as caught:
        read_new_cases(path)
    assert "baru.xlsx:5:level" in "\n".join(caught.value.details)  # the sheet's own row 5
    book.active["B5"] = "mezzo"
    book.save(path)
    frame, _ = read_new_cases(path)
    assert frame["level"].tolist() == ["mikro", "mezzo"] and frame.attrs["first_row"] == 4
    known = frame.iloc[1:].assign(case_id="SW-0009")  # the corpus has the second case
    assert corpus_duplicates(known, frame) == [
        "row 5: same text as corpus case SW-0009 (same label); skipped"
    ]
