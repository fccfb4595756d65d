import csv
from pathlib import Path

import pandas as pd
import pytest

from sw_nlp.classify import classify_file, classify_texts
from sw_nlp.config import ReviewConfig
from sw_nlp.errors import InputError

TEXTS = [
    "Seorang nenek tinggal sendiri di rumah kontrakan dan dirujuk ke panti oleh pekerja sosial.",
    "",
    "Negara-negara ASEAN menyepakati konvensi perlindungan pekerja migran lintas negara.",
    "ok",
    "   \n\t ",
    "\U0001f600\U0001f622\x07",
]


def test_one_row_per_text_in_order_with_errors(tiny_model):
    out = classify_texts(tiny_model, TEXTS, explain=2)
    assert len(out) == len(TEXTS)
    assert list(out.columns) == [
        "level",
        "confidence",
        "proba_mikro",
        "proba_mezzo",
        "proba_makro",
        "proba_global",
        "runner_up",
        "needs_review",
        "review_reason",
        "top_terms",
        "error",
    ]
    assert out.loc[1, "error"] == "empty text" and out.loc[4, "error"] == "empty text"
    assert out.loc[1, "level"] == "" and out.loc[1, "needs_review"]
    for i in (0, 2, 3, 5):
        assert out.loc[i, "error"] == ""
        probs = out.loc[i, ["proba_mikro", "proba_mezzo", "proba_makro", "proba_global"]]
        assert abs(probs.sum() - 1) < 1e-3
        assert out.loc[i, "confidence"] == probs.max()
        assert out.loc[i, "level"] != out.loc[i, "runner_up"]
    assert "too short" in out.loc[3, "review_reason"]


def test_review_threshold_drives_the_flag(tiny_model):
    strict = classify_texts(
        tiny_model,
        TEXTS[:1],
        review=ReviewConfig(threshold=1.0, min_words=1, max_unknown_share=1.0),
    )
    lax = classify_texts(
        tiny_model,
        TEXTS[:1],
        review=ReviewConfig(threshold=0.0, min_words=1, max_unknown_share=1.0),
    )
    assert strict.loc[0, "needs_review"] and strict.loc[0, "review_reason"] == "low confidence"
    assert not lax.loc[0, "needs_review"]


def test_read_errors_pass_through(tiny_model):
    out = classify_texts(tiny_model, ["teks", "lagi"], errors=["", "invalid JSON"], explain=0)
    assert out["error"].tolist() == ["", "invalid JSON"]
    assert out.loc[1, "level"] == "" and out.loc[0, "top_terms"] == ""


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["kode", "narasi"])
        for i in range(n):
            w.writerow([f"K{i}", TEXTS[i % len(TEXTS)]])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_classify_file_keeps_every_row(tmp_path: Path, trained_bundle: Path, suffix: str):
    src = tmp_path / "in.csv"
    write_csv(src, 13)
    out = tmp_path / f"out{suffix}"
    summary = classify_file(src, out, model=trained_bundle, chunk_size=4, explain=1)
    back = {
        ".csv": lambda p: pd.read_csv(p, keep_default_na=False),
        ".jsonl": lambda p: pd.read_json(p, lines=True),
        ".parquet": pd.read_parquet,
        ".xlsx": pd.read_excel,
    }[suffix](out)
    assert back["row"].tolist() == list(range(2, 15))
    assert back["kode"].tolist() == [f"K{i}" for i in range(13)]
    assert summary.rows == 13
    assert summary.errors == sum(1 for i in range(13) if not TEXTS[i % len(TEXTS)].strip())
    assert sum(summary.per_level.values()) == 13 - summary.errors


def test_workers_give_the_same_output(tmp_path: Path, trained_bundle: Path):
    src = tmp_path / "in.csv"
    write_csv(src, 25)
    classify_file(src, tmp_path / "one.csv", model=trained_bundle, chunk_size=3)
    classify_file(src, tmp_path / "two.csv", model=trained_bundle, chunk_size=3, workers=2)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


def test_missing_text_column_writes_nothing(tmp_path: Path, trained_bundle: Path):
    src = tmp_path / "in.csv"
    src.write_text("nama,umur\nA,3\n")
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match="Columns are: nama, umur"):
        classify_file(src, out, model=trained_bundle)
    assert not out.exists()


@pytest.mark.slow
def test_dask_engine_matches_the_local_one(tmp_path: Path, trained_bundle: Path):
    src = tmp_path / "in.csv"
    write_csv(src, 17)
    classify_file(src, tmp_path / "local.csv", model=trained_bundle, chunk_size=4)
    summary = classify_file(
        src, tmp_path / "dask.csv", model=trained_bundle, chunk_size=4, engine="dask", workers=2
    )
    assert summary.rows == 17
    assert (tmp_path / "local.csv").read_bytes() == (tmp_path / "dask.csv").read_bytes()


def test_unknown_engine(tmp_path: Path, trained_bundle: Path):
    src = tmp_path / "in.csv"
    write_csv(src, 1)
    with pytest.raises(InputError, match="unknown engine 'spark'"):
        classify_file(src, tmp_path / "o.csv", model=trained_bundle, engine="spark")


def test_jsonl_with_a_lone_surrogate_escape_is_classified(tmp_path: Path, trained_bundle: Path):
    """json.loads turns "\\ud800" into a lone surrogate, which UTF-8 (and Arrow) refuses."""
    src = tmp_path / "cases.jsonl"
    src.write_text(
        '{"id": 1, "text": "Ibu lansia \\ud800 tinggal sendiri, perlu kunjungan rumah"}\n'
        '{"id": 2, "text": "Dinas sosial provinsi menyusun rencana aksi daerah"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    summary = classify_file(src, out, model=trained_bundle, explain=2)
    frame = pd.read_csv(out, keep_default_na=False)
    assert summary.rows == 2 and summary.errors == 0
    assert list(frame["error"]) == ["", ""]
    assert all(frame["level"] != "")


def test_exact_path_gives_the_same_output(tmp_path: Path, trained_bundle: Path):
    src = tmp_path / "in.csv"
    texts = [
        "Lansia terlantar di desa",
        "ASEAN dan PBB",
        "Bpk R udh 3 hr gak kerja, hp 0812-3456-7890",
    ]
    pd.DataFrame({"text": texts * 20}).to_csv(src, index=False)
    fast, exact = tmp_path / "fast.csv", tmp_path / "exact.csv"
    classify_file(src, fast, model=trained_bundle)
    classify_file(src, exact, model=trained_bundle, fast=False)
    assert fast.read_text(encoding="utf-8") == exact.read_text(encoding="utf-8")


def test_a_loaded_classifier_is_used_instead_of_loading(
    tmp_path: Path, trained_bundle: Path, monkeypatch
):
    """The web server hands its loaded model in: same bytes as loading from the path, and
    no second load for the local engine."""
    from sw_nlp import classify
    from sw_nlp.bundle import load_model

    src = tmp_path / "in.csv"
    write_csv(src, 9)
    classify_file(src, tmp_path / "loaded.csv", model=trained_bundle, chunk_size=4)
    clf = load_model(trained_bundle)

    def no_load(*args, **kwargs):
        raise AssertionError("loaded again")

    monkeypatch.setattr(classify, "load_model", no_load)
    classify_file(src, tmp_path / "given.csv", model=trained_bundle, chunk_size=4, classifier=clf)
    assert (tmp_path / "given.csv").read_bytes() == (tmp_path / "loaded.csv").read_bytes()


# An office export as a case worker has it: title rows above the header, "Deskripsi Kasus",
# ids of every shape, a formula, a quoted cell with a line break inside (CRLF), quotes in an
# unquoted text, an empty text, identifiers in the text and beside it, curly quotes, dashes.
OFFICE_CSV = (
    "Laporan Dinas Sosial Kota X\r\nPeriode: Januari 2026\r\n\r\n"
    "No,Tanggal,Deskripsi Kasus,Petugas\r\n"
    '1,2026-01-02,"Seorang lansia tinggal sendiri, butuh rujukan \u2013 \u201cmendesak\u201d",'
    "sari@dinsos.example\r\n"
    'A-2,2026-01-03,=HYPERLINK("http://x.example";"klik") anak putus sekolah,Budi\r\n'
    '3,,"Kasus KDRT\r\ndengan dua baris, telp 0812-3456-7890",\r\n'
    "004,2026-01-05,,Tono\r\n"
    '5.0,2026-01-06,Ibu bilang "tolong bantu" karena anaknya sakit,+62 812 3456 7890\r\n'
    "=1+2,2026-01-07,@SUM(A1) kampanye nasional \u2026 NIK 3201012345678901,-\r\n"
)


@pytest.mark.parametrize("workers", [1, 2])
def test_office_csv_is_written_as_pandas_wrote_it(
    tmp_path: Path, trained_bundle: Path, monkeypatch, workers: int
):
    """The pandas-free CSV writer on a real file's cells gives pandas' bytes (formulas escaped,
    the chunk with a carriage return quoted throughout, the empty text an error row)."""
    import sw_nlp.results as results
    import sw_nlp.writers as writers
    from sw_nlp.writers import to_csv_text

    src = tmp_path / "kasus.csv"
    src.write_bytes(OFFICE_CSV.encode("utf-8"))
    ours = tmp_path / "ours.csv"
    summary = classify_file(src, ours, model=trained_bundle, chunk_size=3, workers=workers)
    assert summary.rows == summary.rows_in == 6 and summary.errors == 1

    def by_pandas(table, escape_formulas=True):
        return to_csv_text(table.to_frame(), escape_formulas=escape_formulas)

    monkeypatch.setattr(writers, "table_csv_text", by_pandas)
    monkeypatch.setattr(results, "table_csv_text", by_pandas)
    theirs = tmp_path / "theirs.csv"
    classify_file(src, theirs, model=trained_bundle, chunk_size=3)
    assert ours.read_bytes() == theirs.read_bytes()
    text = ours.read_bytes().decode("utf-8")
    assert "'=HYPERLINK" in text and "'=1+2" in text and "0812-3456" not in text
    assert '"Kasus KDRT\r\ndengan dua baris' in text  # quoted: a spreadsheet keeps one row


def test_csv_to_csv_needs_no_pandas(tmp_path: Path, trained_bundle: Path):
    """``sw-nlp classify x.csv -o y.csv`` (a one-row file too) runs with pandas unimportable:
    reading, masking, classifying and writing CSV need none of it (0.5 s of start-up).

    Blocked rather than looked for in ``sys.modules``: pyarrow imports pandas whenever it is
    there, on every ``pa.array`` of a list, only to ask whether the list is one of its
    arrays, and carries on without it when it is not installed."""
    import json
    import subprocess
    import sys

    src = tmp_path / "kasus.csv"
    src.write_bytes(OFFICE_CSV.encode("utf-8"))
    one = tmp_path / "one.csv"
    one.write_text("Deskripsi Kasus\nSeorang nenek tinggal sendiri\n", encoding="utf-8")
    code = (
        "import json, sys\n"
        "class NoPandas:  # as if pandas were not installed\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'pandas':\n"
        "            raise ModuleNotFoundError(f'no {name} here')\n"
        "sys.meta_path.insert(0, NoPandas())\n"
        "from sw_nlp.cli import main\n"
        "rcs = [main(['classify', p, '-o', p + '.out.csv', '--quiet', '--model', m])\n"
        "       for p, m in json.loads(sys.argv[1])]\n"
        "print(json.dumps(rcs))\n"
    )
    runs = json.dumps([[str(src), str(trained_bundle)], [str(one), str(trained_bundle)]])
    done = subprocess.run(
        [sys.executable, "-c", code, runs], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [0, 0]
    classify_file(src, tmp_path / "here.csv", model=trained_bundle)
    assert Path(f"{src}.out.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    assert pd.read_csv(f"{one}.out.csv")["level"].notna().all()
