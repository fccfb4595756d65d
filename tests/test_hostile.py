"""Hostile and broken input, end to end through `sw-nlp classify`: a one-line error or a
per-row error, never a traceback, never a lost row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sw_nlp.cli import main


def classify(
    path: Path, bundle: Path, tmp_path: Path, capsys, *extra: str
) -> tuple[int, pd.DataFrame | None, str]:
    out = tmp_path / "out.csv"
    code = main(
        ["classify", str(path), "-o", str(out), "--model", str(bundle), "--explain", "1", *extra]
    )
    err = capsys.readouterr().err
    frame = pd.read_csv(out, keep_default_na=False, dtype=str) if out.exists() else None
    return code, frame, err


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", "empty file"),
        ("header_only.csv", b"id,text\n", "no cases in the input"),
        ("no_text.csv", b"nama,umur\nA,3\n", "no text column found"),
        ("dupe.csv", b"text,text\na,b\n", "2 columns are named 'text': rename one"),
        ("quote.csv", b'text\n"never closed\nmore\n', "cannot parse"),
        ("blank.csv", b"\n\n\n", "empty file"),
    ],
)
def test_whole_file_errors_are_one_line(tmp_path, trained_bundle, capsys, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    code, frame, err = classify(path, trained_bundle, tmp_path, capsys)
    assert code == 3 and frame is None
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_wrong_delimiter_is_sniffed(tmp_path, trained_bundle, capsys):
    path = tmp_path / "semi.csv"
    path.write_text(
        "id;teks\n1;Seorang lansia, sakit, butuh rujukan\n2;Rapat desa\n", encoding="utf-8"
    )
    code, frame, _ = classify(path, trained_bundle, tmp_path, capsys)
    assert code == 0 and frame["id"].tolist() == ["1", "2"] and (frame["error"] == "").all()


@pytest.mark.parametrize(
    "raw",
    [
        "\ufeffid,text\n1,Anak terlantar di pasar\n".encode(),
        "id,text\n1,Caf\u00e9 \u201cpanti\u201d \u2013 lansia\n".encode("cp1252"),
        b"id,text\n1,bytes \xff\xfe\x81 rusak\n",
    ],
    ids=["bom", "cp1252", "invalid-utf8"],
)
def test_encodings(tmp_path, trained_bundle, capsys, raw):
    path = tmp_path / "enc.csv"
    path.write_bytes(raw)
    code, frame, _ = classify(path, trained_bundle, tmp_path, capsys)
    assert code == 0 and len(frame) == 1 and frame.loc[0, "id"] == "1" and frame.loc[0, "level"]


def test_odd_values_in_the_text_column(tmp_path, trained_bundle, capsys):
    import json

    texts = [
        None,
        12345,
        3.5,
        "x" * 1_000_000,
        "   \t ",
        "\U0001f600\U0001f622",
        "\x00\x07\x1b",
        "Seorang ibu butuh bantuan",
    ]
    path = tmp_path / "odd.jsonl"
    path.write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    code, frame, _ = classify(path, trained_bundle, tmp_path, capsys)
    assert code == 0 and frame["id"].tolist() == [str(i) for i in range(len(texts))]
    errors = frame["error"].tolist()
    assert errors[0] == "empty text" and errors[4] == "empty text"
    # A JSON number is no case description: a row error (issue 18), not a guess.
    assert errors[1] == "column 'text': a JSON number, not text" and errors[2].endswith("not text")
    for i in (3, 5, 6, 7):
        assert errors[i] == "" and frame.loc[i, "level"] in {"mikro", "mezzo", "makro", "global"}
    assert frame.loc[5, "needs_review"] == "True"


def test_xlsx_with_merged_cells_and_sheets(tmp_path, trained_bundle, capsys):
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "data"
    ws.append(["no", "uraian"])
    ws.append([1, "Warga desa membentuk posko"])
    ws.append([2, "Lansia tinggal sendiri"])
    ws.append([3, None])
    ws.merge_cells("B3:B4")
    book.create_sheet("catatan").append(["bukan data"])
    book.save(tmp_path / "m.xlsx")
    code, frame, err = classify(tmp_path / "m.xlsx", trained_bundle, tmp_path, capsys)
    assert code == 0 and frame["no"].tolist() == ["1", "2", "3"]
    assert frame["error"].tolist() == ["", "", "empty text"]
    assert "read sheet 'data' of 2" in err


def test_folder_with_bad_files_keeps_a_row_for_each(tmp_path, trained_bundle, capsys, monkeypatch):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Seorang anak butuh pendampingan", encoding="utf-8")
    (notes / "b.txt").write_bytes(b"")
    (notes / "c.docx").write_bytes(b"PK\x03\x04 broken")
    (notes / "d.pdf").write_bytes(b"not a pdf at all")
    (notes / "e.txt").symlink_to(notes / "missing-target.txt")
    (notes / "f.txt").write_text("tidak terbaca", encoding="utf-8")
    real_read_text = Path.read_text

    def refuse(self, *args, **kwargs):
        if self.name == "f.txt":
            raise PermissionError(13, "Permission denied")
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    code, frame, _ = classify(notes, trained_bundle, tmp_path, capsys)
    assert code == 0
    assert frame["file"].tolist() == ["a.txt", "b.txt", "c.docx", "d.pdf", "e.txt", "f.txt"]
    errors = dict(zip(frame["file"], frame["error"], strict=True))
    assert errors["a.txt"] == "" and errors["b.txt"] == "empty file"
    assert errors["c.docx"].startswith("unreadable .docx") and errors["d.pdf"].startswith(
        "unreadable .pdf"
    )
    assert errors["e.txt"] == "file not found (broken link?)"
    assert errors["f.txt"] == "file not readable (permission denied)"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=400))
def test_any_unicode_string_gets_a_label_and_probabilities(tiny_model, text):
    proba = tiny_model.predict_proba([text])
    assert proba.shape == (1, 4) and np.isclose(proba.sum(), 1.0) and (proba >= 0).all()
    assert tiny_model.predict([text])[0] in tiny_model.classes_


SECRETS = [
    "3201012345678901",
    "7371024409870003",
    "0812-3456-7890",
    "+62 857 1122 3344",
    "sari.w@contoh.id",
]


def test_personal_data_never_leaks_into_files_or_logs(tmp_path, tiny_corpus_path, capsys, caplog):
    import gzip
    import logging

    corpus = pd.read_csv(tiny_corpus_path, dtype=str, keep_default_na=False)
    corpus["text"] = [
        f"{t} Kontak: NIK {SECRETS[i % 2]}, hp {SECRETS[2 + i % 2]}, {SECRETS[4]}."
        for i, t in enumerate(corpus["text"])
    ]
    data = tmp_path / "pii.csv"
    corpus.to_csv(data, index=False)
    config = tmp_path / "fast.toml"
    config.write_text("[search]\nfolds = 2\nC = [10.0]\nstem = [false]\n")
    bundle = tmp_path / "bundle"
    caplog.set_level(logging.DEBUG, logger="sw_nlp")
    assert (
        main(["-vv", "train", "--data", str(data), "--config", str(config), "--out", str(bundle)])
        == 0
    )
    assert (
        main(
            [
                "-vv",
                "evaluate",
                "--model",
                str(bundle),
                "--data",
                str(data),
                "--out",
                str(tmp_path / "rep"),
                "--no-learning-curve",
            ]
        )
        == 0
    )
    cases = tmp_path / "cases.csv"
    corpus[["case_id", "text"]].to_csv(cases, index=False)
    assert (
        main(
            [
                "-vv",
                "classify",
                str(cases),
                "-o",
                str(tmp_path / "out.csv"),
                "--model",
                str(bundle),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    written = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and p not in (data, cases, tmp_path / "out.csv")
    ]
    assert any(p.name == "report.html" for p in written) and any(
        p.name == "MODEL_CARD.md" for p in written
    )
    for path in written:
        content = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in content, f"{secret} in {path.name}"
    logs = captured.out + captured.err + caplog.text
    for secret in SECRETS:
        assert secret not in logs
    # The user's own columns come back as they were.
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["case_id"].tolist() == corpus["case_id"].tolist()


@pytest.mark.slow
def test_sigkill_never_leaves_a_partial_output(tmp_path, trained_bundle):
    src = tmp_path / "big.csv"
    text = "Seorang lansia tinggal sendiri dan perlu rujukan ke panti sosial di kecamatan. " * 6
    # Rows enough for seconds of work: 4,000 could be done before the kill.
    pd.DataFrame({"id": range(40_000), "text": [f"{text} {i}" for i in range(40_000)]}).to_csv(
        src, index=False
    )
    out = tmp_path / "out.csv"
    args = [
        sys.executable,
        "-m",
        "sw_nlp",
        "classify",
        str(src),
        "-o",
        str(out),
        "--model",
        str(trained_bundle),
        "--chunk-size",
        "100",
        "--quiet",
    ]
    env = os.environ | {"PYTHONWARNINGS": "ignore"}

    def run_and_kill() -> None:
        proc = subprocess.Popen(args, env=env)
        deadline = time.time() + 60
        while not list(tmp_path.glob(".out.csv.*.part")) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # well inside the run: chunks are being written
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    run_and_kill()
    assert not out.exists()
    subprocess.run(args, env=env, check=True)
    complete = out.read_bytes()
    assert complete.count(b"\n") == 40_001
    run_and_kill()
    assert out.read_bytes() == complete  # the previous complete output, untouched
    subprocess.run(args, env=env, check=True)
    assert out.read_bytes() == complete  # byte-identical on a rerun
