from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.columns import choose_columns
from sw_nlp.errors import InputError
from sw_nlp.files import ResultWriter, open_cases, read_note
from sw_nlp.sniff import detect_encoding
from sw_nlp.workers import usable_cpus


def rows_of(source) -> list[tuple[int, str, str]]:
    return [
        (r, t, e) for c in source.chunks for r, t, e in zip(c.rows, c.texts, c.errors, strict=True)
    ]


def test_csv_with_semicolons_bom_and_multiline_text(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_bytes('\ufeffid;uraian\n1;"baris satu\nbaris dua; masih teks"\n2;kedua\n'.encode())
    source = open_cases(path, chunk_size=1)
    assert detect_encoding(path) == "utf-8-sig"
    assert (source.text_column, source.id_columns) == ("uraian", ["id"])
    assert rows_of(source) == [(2, "baris satu\nbaris dua; masih teks", ""), (3, "kedua", "")]


def test_windows_1252_is_detected_and_noted(tmp_path: Path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "teks\nAnak dengan \u201ckebutuhan khusus\u201d \u2013 caf\u00e9\n".encode("cp1252")
    )
    source = open_cases(path)
    assert detect_encoding(path) == "cp1252"
    assert source.notes and "Windows-1252" in source.notes[0]
    assert rows_of(source)[0][1] == "Anak dengan \u201ckebutuhan khusus\u201d \u2013 caf\u00e9"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "\n", "\u2013", "\U0001f600", "\u00e9"]).map(str.encode)
        | st.sampled_from([b"\x80", b"\xe2\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"\x96"]),
        max_size=40,
    ).map(b"".join)
)
def test_large_files_checked_by_arrow_get_the_encoding_pythons_decoder_gives(data):
    """Tiny blocks, so that the cuts fall everywhere, characters of every length straddle
    them, and broken sequences sit at block ends and at the end of the file."""
    import tempfile

    from sw_nlp import sniff

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.csv"
        path.write_bytes(b"teks\n" + data)
        by_python = sniff.detect_encoding(path)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(sniff, "ARROW_CHECK_BYTES", 0)
            mp.setattr(sniff, "_BLOCK_BYTES", 3)
            by_arrow = sniff.detect_encoding(path)
    assert by_arrow == by_python


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "nama,umur\nA,3\n",
            "no text column found; name it with --text-column. Columns are: nama, umur",
        ),
        ("teks,teks\na,b\n", "2 columns are named 'teks'"),
        ("\n\n", "empty file"),
    ],
)
def test_whole_file_problems_are_one_line_errors(tmp_path: Path, content: str, message: str):
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        open_cases(path)


def test_given_text_column_must_exist(tmp_path: Path):
    with pytest.raises(InputError, match="no column 'isi'; columns are: teks"):
        choose_columns(["teks"], tmp_path / "x.csv", "isi", None)


def test_unterminated_quote_names_the_file(tmp_path: Path):
    path = tmp_path / "q.csv"
    path.write_text('teks\n"tidak ditutup\n' + "baris\n" * 3)
    with pytest.raises(InputError, match="q.csv"):
        rows_of(open_cases(path))


def test_jsonl_bad_line_becomes_a_row_error(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": 1, "text": "satu"}\n{rusak\n\n{"id": 3, "text": "tiga"}\n')
    source = open_cases(path)
    got = rows_of(source)
    assert [r for r, _, _ in got] == [1, 2, 4]
    assert got[1][2].startswith("invalid JSON")


def test_xlsx_first_sheet_by_default_and_named_sheet(tmp_path: Path):
    path = tmp_path / "a.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"no": [1, 2], "deskripsi": ["satu", None]}).to_excel(
            xw, sheet_name="kasus", index=False
        )
        pd.DataFrame({"teks": ["lain"]}).to_excel(xw, sheet_name="lain", index=False)
    source = open_cases(path)
    assert source.notes == ["read sheet 'kasus' of 2"]
    assert rows_of(source) == [(2, "satu", ""), (3, "", "")]
    assert rows_of(open_cases(path, sheet="lain")) == [(2, "lain", "")]
    with pytest.raises(InputError, match="no sheet 'x'; sheets are: kasus, lain"):
        open_cases(path, sheet="x")


def test_parquet(tmp_path: Path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"case_id": ["a", "b", "c"], "text": ["x", "y", "z"]}).to_parquet(path)
    source = open_cases(path, chunk_size=2)
    assert source.total == 3 and [len(c.rows) for c in open_cases(path, chunk_size=2).chunks] == [
        2,
        1,
    ]
    assert [t for _, t, _ in rows_of(source)] == ["x", "y", "z"]


def test_folder_of_notes_never_drops_a_file(tmp_path: Path):
    import docx

    (tmp_path / "b.txt").write_text("catatan kasus satu", encoding="utf-8")
    (tmp_path / "a.md").write_text("catatan dua", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"")
    (tmp_path / "d.docx").write_bytes(b"not a zip")
    (tmp_path / "e.pdf").write_bytes(b"%PDF-1.4 broken")
    document = docx.Document()
    document.add_paragraph("Ibu R butuh pendampingan")
    document.save(str(tmp_path / "f.docx"))
    (tmp_path / "g.png").write_bytes(b"\x89PNG")
    source = open_cases(tmp_path)
    got = {
        c.ids["file"][i]: (c.texts[i], c.errors[i])
        for c in source.chunks
        for i in range(len(c.rows))
    }
    assert list(got) == ["a.md", "b.txt", "c.txt", "d.docx", "e.pdf", "f.docx"]
    assert got["b.txt"] == ("catatan kasus satu", "")
    assert got["c.txt"][1] == "empty file"
    assert got["d.docx"][1].startswith("unreadable .docx")
    assert got["e.pdf"][1].startswith("unreadable .pdf") or got["e.pdf"][0] == ""
    assert got["f.docx"] == ("Ibu R butuh pendampingan", "")
    assert source.notes == ["skipped 1 file(s) that are not .txt/.md/.docx/.pdf"]


def test_read_note_never_raises(tmp_path: Path):
    assert read_note(tmp_path / "missing.txt")[1] != ""


def test_unsupported_types(tmp_path: Path):
    (tmp_path / "a.doc").write_text("x")
    with pytest.raises(InputError, match="unsupported input type"):
        open_cases(tmp_path / "a.doc")
    with pytest.raises(InputError, match="unsupported output type"):
        ResultWriter(tmp_path / "o.txt")


def test_shipped_example_notes_are_read_whole():
    notes = Path(__file__).resolve().parent.parent / "data" / "examples" / "notes"
    for name, expected in [
        ("asesmen_singkat.pdf", "tuli sejak lahir"),
        ("rujukan_anak.docx", "dinikahkan siri"),
        ("kunjungan_rumah_2024-03.txt", "amputasi kaki kanan"),
        ("rapat_kecamatan.md", "rumah gizi"),
    ]:
        text, error = read_note(notes / name)
        assert error == "" and expected in text, name


def write_rekap(path: Path) -> Path:
    path.write_text(
        "No,Tanggal,Deskripsi Kasus,Petugas,Kontak\n"
        "K-01,2026-11-02,Ibu S NIK 3201012345678901 butuh pendampingan,sari@contoh.id,0812-3456-7890\n"
        "2a,2026-11-03,Rapat warga RW 05 membentuk kelompok lansia,Andi,tidak ada\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_identifiers_in_every_passed_through_column_are_masked(tmp_path, workers):
    """Not only the text's copy: an officer's e-mail or a phone column written back beside
    the results is masked too, while ordinary ids, dates and numbers stay as they were; with
    worker processes too, where the workers mask (``defer_masking``)."""
    from sw_nlp.classify import classify_file

    src = write_rekap(tmp_path / "rekap.csv")
    out = tmp_path / "out.csv"
    summary = classify_file(src, out, model=default_bundle_dir(), workers=workers, chunk_size=1)
    assert summary.rows_in == summary.rows == 2
    written = out.read_text("utf-8")
    for secret in ("3201012345678901", "sari@contoh.id", "0812-3456-7890"):
        assert secret not in written
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["No"].tolist() == ["K-01", "2a"]
    assert frame["Tanggal"].tolist() == ["2026-11-02", "2026-11-03"]
    assert frame["Petugas"].tolist() == [" _email_ ", "Andi"]
    assert frame["Kontak"].str.contains("_telepon_").tolist() == [True, False]


def test_deferred_masking_is_done_before_anything_is_written(tmp_path):
    """``defer_masking`` leaves the passed-through columns as read and names them; the
    chunk's result table masks them at the latest, so no path writes them unmasked."""
    from sw_nlp.files import mask_passed_through
    from sw_nlp.results import classify_columns, result_table

    src = write_rekap(tmp_path / "rekap.csv")
    chunk = next(open_cases(src, columns="all", defer_masking=True).chunks)
    assert set(chunk.unmasked) == {"Tanggal", "Deskripsi Kasus", "Petugas", "Kontak"}
    assert chunk.ids["Petugas"][0] == "sari@contoh.id"
    clf = load_model(default_bundle_dir())
    table = result_table(chunk, classify_columns(clf, chunk.texts))
    assert table["Petugas"][0] == " _email_ " and "_nik_" in table["Deskripsi Kasus"][0]
    assert chunk.unmasked == ()
    masked = next(open_cases(src, columns="all").chunks)
    assert masked.unmasked == () and masked.ids == chunk.ids
    assert mask_passed_through(chunk) is chunk and chunk.ids == masked.ids  # done once


@pytest.mark.skipif(usable_cpus() < 2, reason="--workers 2 runs in-process on one CPU")
def test_with_workers_the_reading_process_masks_only_the_first_chunk(tmp_path, monkeypatch):
    """The workers mask their chunks (and then classify the masked text without masking it
    again, ``pii.MaskedColumn``); the reading process only reads and writes, but for the
    first chunk, which it classifies itself so that the workers start warm
    (``workers.pool_results``)."""
    import sw_nlp.pii as pii
    from sw_nlp.classify import classify_file

    calls = []
    real = pii.mask_pii_many
    monkeypatch.setattr(pii, "mask_pii_many", lambda values: calls.append(1) or real(values))
    src = write_rekap(tmp_path / "rekap.csv")
    out = tmp_path / "out.csv"
    classify_file(src, out, model=default_bundle_dir(), workers=2, chunk_size=1)
    # Two chunks of one row: the first one's four passed-through columns, each masked once.
    assert len(calls) == 4
    assert "sari@contoh.id" not in out.read_text("utf-8")
    classify_file(src, tmp_path / "one.csv", model=default_bundle_dir(), workers=1)
    assert calls  # the same patch sees the reading process mask without workers
