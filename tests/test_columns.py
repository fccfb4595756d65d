"""Finding the text, id and header columns as office files name them."""

from pathlib import Path

import pytest

from sw_nlp.columns import (
    choose_columns,
    find_header_row,
    header_key,
    match_column,
    tell_apart,
)
from sw_nlp.errors import InputError


def test_names_match_ignoring_case_spaces_and_punctuation():
    assert header_key(" Deskripsi Kasus ") == header_key("deskripsi_kasus") == "deskripsikasus"
    assert match_column(["No", "Deskripsi Kasus"], "deskripsi_kasus") == "Deskripsi Kasus"
    assert match_column(["a b", "a_b"], "ab") is None  # two candidates: no guess


def test_the_header_is_found_below_title_rows():
    rows = [["REKAP KASUS 2024", ""], ["", ""], ["No", "Uraian Kasus"], ["1", "teks"]]
    assert find_header_row(rows, None) == 2
    assert find_header_row(rows, "No") == 2
    assert find_header_row([["a", "b"], ["c", "d"]], None) == 0  # none: the first row


def test_columns_kept_by_choice(tmp_path: Path):
    names = ["No", "Tanggal", "Narasi"]
    path = tmp_path / "f.csv"
    assert choose_columns(names, path, None, None) == ("Narasi", ["No"])
    assert choose_columns(names, path, None, None, keep="all") == ("Narasi", names)
    assert choose_columns(names, path, None, None, keep=["tanggal"]) == ("Narasi", ["Tanggal"])
    with pytest.raises(InputError, match="--columns names no column 'petugas'"):
        choose_columns(names, path, None, None, keep=["petugas"])
    with pytest.raises(InputError, match=r"f.csv:1: no text column found.*--header-row N"):
        choose_columns(["No", "Tanggal"], path, None, None)


def test_text_column_errors_carry_the_header_as_data(tmp_path: Path):
    """A caller offering a choice reads ``columns``: when no text column is found and when
    the one named is not there; other input errors have none."""
    names = ["No", "Pesan, panjang", "Tanggal"]
    with pytest.raises(InputError) as caught:
        choose_columns(names, tmp_path / "f.csv", None, None)
    assert caught.value.columns == names
    with pytest.raises(InputError) as named:
        choose_columns(names, tmp_path / "f.csv", "narasi", None)
    assert named.value.columns == names
    with pytest.raises(InputError) as other:
        choose_columns(names, tmp_path / "f.csv", "Pesan, panjang", "petugas")
    assert other.value.columns is None


@pytest.mark.parametrize(
    ("names", "text"),
    [
        (["No", "Nama Klien", "Kronologi Kejadian", "Tgl Lapor"], "Kronologi Kejadian"),
        (["No. Pengaduan", "Tanggal Pengaduan", "Isi Pengaduan"], "Isi Pengaduan"),
        (["Jenis Permasalahan", "Uraian Permasalahan"], "Uraian Permasalahan"),
        (["ID", "Deskripsi Masalah", "Catatan Pendamping"], "Deskripsi Masalah"),
        (["Kode", "Catatan Pekerja Sosial"], "Catatan Pekerja Sosial"),
        (["no_laporan", "ringkasan_laporan"], "ringkasan_laporan"),
        (["Case notes", "Status"], "Case notes"),
        # a whole-name match comes before a word in a longer one
        (["Uraian Singkat", "Narasi"], "Narasi"),
        # ... but a remarks column ("Keterangan", "Catatan", "Isi") comes after a case's
        # story named in words (found trying an office workbook: "Keterangan" was taken)
        ([" No ", " Kronologi Kejadian ", "Keterangan", "Keterangan (2)"], " Kronologi Kejadian "),
        (["Catatan", "Uraian Masalah"], "Uraian Masalah"),
        (["Catatan", "Keterangan Lain"], "Catatan"),
    ],
)
def test_a_longer_header_is_found_by_its_words(names: list[str], text: str, tmp_path: Path):
    """Offices name the column by what it holds, in two or three words: a header whose words
    include one of the text words is the text column, unless another word says it holds a
    number, date or category about the case."""
    assert choose_columns(names, tmp_path / "f.csv", None, None)[0] == text


@pytest.mark.parametrize(
    "names",
    [
        ["No. Laporan", "Tanggal Laporan", "Status Laporan"],
        ["Jenis Permasalahan", "Kategori Masalah", "Tgl Pengaduan"],
        ["Nama Klien", "Alamat"],
    ],
)
def test_headers_about_the_case_are_not_its_text(names: list[str], tmp_path: Path):
    with pytest.raises(InputError, match="no text column found"):
        choose_columns(names, tmp_path / "f.csv", None, None)


def test_a_title_cell_with_a_text_word_is_not_the_header():
    """A one-cell title row ("LAPORAN PENGADUAN MASYARAKAT") holds text words too; the header
    below it, with its several cells, is the header."""
    rows = [
        ["LAPORAN PENGADUAN MASYARAKAT 2025", "", ""],
        ["", "", ""],
        ["No", "Tanggal", "Kronologi Kejadian"],
        ["1", "2025-01-02", "teks"],
    ]
    assert find_header_row(rows, None) == 2
    padded = [["LAPORAN PENGADUAN MASYARAKAT 2025", None, None], *rows[1:]]  # as a sheet's
    assert find_header_row(padded, None) == 2
    one_column = [["Catatan Kasus"], ["Ibu S melapor suaminya tidak memberi nafkah."]]
    assert find_header_row(one_column, None) == 0  # nothing else qualifies: the first row


def test_columns_of_the_same_name_are_told_apart():
    """Offices repeat a header ("Keterangan" twice); each column keeps its values under a name
    of its own, never one that another column already has."""
    names = ["No", "Keterangan", "Uraian", "Keterangan", "Keterangan (2)", "Keterangan"]
    told, repeats = tell_apart(names)
    assert told == ["No", "Keterangan", "Uraian", "Keterangan (3)", "Keterangan (2)",
                    "Keterangan (4)"]  # fmt: skip
    assert repeats == {"Keterangan": ["Keterangan (3)", "Keterangan (4)"]}
    assert tell_apart(["a", "b"]) == (["a", "b"], {})


def test_errors_show_column_names_masked_and_cut(tmp_path: Path):
    """A file without a header row has its first case as its "columns": the error showed
    the text whole, NIK and phone number included."""
    first = ["1", "Ibu Sari NIK 3201010101900001 hp 081234567890 " + "tinggal sendiri " * 6, "x"]
    with pytest.raises(InputError) as caught:
        choose_columns(first, tmp_path / "f.csv", None, None)
    message = str(caught.value)
    assert "3201010101900001" not in message and "081234567890" not in message
    assert "the first row looks like a case, not a header" in message
    assert "tinggal sendiri tinggal sendiri tinggal" not in message  # cut
    assert caught.value.columns == first  # the web page's picker still gets the names
    with pytest.raises(InputError) as named:
        choose_columns(first, tmp_path / "f.csv", "uraian", None)
    assert "3201010101900001" not in str(named.value)
