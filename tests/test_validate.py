import csv
from pathlib import Path

import pandas as pd

from sw_nlp.corpus import validate_corpus
from sw_nlp.labels import COLUMNS
from sw_nlp.validate import near_duplicates, validate_frame

GOOD = {
    "case_id": "X-1",
    "text": "Seorang lansia tinggal sendiri dan dirujuk ke panti oleh pekerja sosial kecamatan.",
    "level": "mikro",
    "method": "casework_individual",
    "register": "asesmen",
    "topic": "lansia_terlantar",
    "region": "Bali",
    "hard": "false",
    "split": "train",
}


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, **r} for r in rows], columns=list(COLUMNS))


def messages(df: pd.DataFrame) -> list[str]:
    return [f"{p.row}:{p.column}:{p.severity}:{p.message}" for p in validate_frame(df)]


def test_clean_rows_pass():
    assert messages(frame({}, {"case_id": "X-2", "text": "Warga desa membentuk posko."})) == []


def test_each_problem_names_row_and_column():
    found = messages(
        frame(
            {},
            {"case_id": "X-1", "text": "Rapat desa."},
            {"case_id": "X-3", "text": " ", "level": "mikro"},
            {"case_id": "X-4", "text": "Program kota.", "level": "nasional"},
            {"case_id": "X-5", "text": "Program kota.", "level": "makro", "method": "group_work"},
            {
                "case_id": "X-6",
                "text": "Pendekatan makro untuk kota.",
                "level": "makro",
                "method": "social_policy",
            },
            {"case_id": "X-7", "text": "Rapat RW.", "hard": "ya", "split": "dev"},
        )
    )
    assert "3:case_id:error:duplicate id 'X-1' (first at row 2)" in found
    assert "4:text:error:empty text" in found
    assert any(m.startswith("5:level:error:unknown label 'nasional'") for m in found)
    assert any(
        m.startswith("6:method:error:method 'group_work' not valid for makro") for m in found
    )
    assert "7:text:error:label word 'makro' inside the text" in found
    assert any(m.startswith("8:hard:error") for m in found)
    assert any(m.startswith("8:split:error") for m in found)


def test_aliases_are_accepted_and_reported():
    found = messages(frame({"level": "Micro "}))
    assert found == ["2:level:note:alias 'Micro ' read as 'mikro'"]


def test_missing_and_extra_columns():
    df = frame({}).drop(columns=["topic"]).assign(extra="x")
    found = messages(df)
    assert "1:topic:error:missing column" in found
    assert "1:extra:error:unexpected column" in found


def test_near_duplicates_across_splits_are_flagged():
    base = "Ibu Ani korban kekerasan dalam rumah tangga didampingi ke UPTD PPA untuk visum dan konseling lanjutan"
    df = frame(
        {"text": base},
        {"case_id": "X-2", "text": base + " besok pagi", "split": "test"},
        {
            "case_id": "X-3",
            "text": "Pemerintah provinsi menyusun rencana aksi penanganan gelandangan.",
        },
    )
    found = messages(df)
    assert len(found) == 1 and found[0].startswith(
        "3:text:error:near-duplicate of row 2 across the train/test boundary"
    )


def test_near_duplicates_scores_are_jaccard():
    pairs = near_duplicates(["a b c d e f", "a b c d e f", "a b c d e g", "x y z"])
    assert (0, 1, 1.0) in pairs
    assert all(a < b for a, b, _ in pairs)
    assert not any(3 in (a, b) for a, b, _ in pairs)


def test_validate_corpus_on_the_fixture(tiny_corpus_path: Path):
    problems, summary = validate_corpus(tiny_corpus_path)
    assert [p for p in problems if p.is_error] == []
    assert summary.rows == 40
    assert summary.per_level == {"mikro": 10, "mezzo": 10, "makro": 10, "global": 10}


def test_multiline_and_quoted_texts_keep_row_numbers(tmp_path: Path):
    path = tmp_path / "c.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerow(
            [GOOD[c] if c != "text" else 'baris satu,\n"dua"\ntiga keluarga' for c in COLUMNS]
        )
        w.writerow(
            [
                GOOD[c] if c not in ("text", "case_id") else {"text": "", "case_id": "X-9"}[c]
                for c in COLUMNS
            ]
        )
    problems, _ = validate_corpus(path)
    assert [(p.row, p.column, p.message) for p in problems] == [(3, "text", "empty text")]
