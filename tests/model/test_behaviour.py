"""The shipped model: it loads safely, its recorded metrics are true, and it behaves.

The behaviour cases are written for these tests and are not in the corpus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sw_nlp.bundle import default_bundle_dir, load_model, pinned_default_hash
from sw_nlp.corpus import file_sha256, load_corpus
from sw_nlp.evaluate import evaluate

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus" / "cases.csv"


@pytest.fixture(scope="module")
def model():
    return load_model(default_bundle_dir())  # the shipped model, whatever is current here


def test_default_model_is_the_pinned_one():
    assert file_sha256(default_bundle_dir() / "model.json") == pinned_default_hash()


def test_recorded_test_metrics_are_reproduced(model):
    corpus = load_corpus(CORPUS)
    test = corpus[corpus["split"] == "test"]
    fresh = evaluate(model, test["text"].tolist(), test["level"].tolist())
    recorded = model.manifest["metrics"]["test"]
    assert fresh["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=1e-9)
    assert fresh["confusion"] == recorded["confusion"]
    assert recorded["macro_f1"] >= 0.80


@pytest.mark.parametrize(
    "text, level",
    [
        (
            "Pak Tarno, 66 tahun, tinggal sendirian di gubuk dekat sawah, sakit-sakitan dan tidak punya "
            "keluarga. Mohon dibantu rujukan ke panti werdha.",
            "mikro",
        ),
        (
            "SAMARINDA – Dinas Sosial Kota Samarinda menjemput seorang anak yang ditelantarkan orang "
            "tuanya di sebuah kos dan menitipkannya sementara di rumah perlindungan anak.",
            "mikro",
        ),
        (
            "Pengurus panti sosial bina netra membenahi sistem pencatatan penerima manfaat dan membagi "
            "ulang tugas pengasuh agar pelayanan lebih tertib.",
            "mezzo",
        ),
        (
            "Warga satu kelurahan bergotong royong membuat dapur umum dan jadwal ronda setelah banjir "
            "merendam permukiman mereka.",
            "mezzo",
        ),
        (
            "Gubernur menandatangani peraturan gubernur tentang rencana aksi daerah penghapusan pekerja "
            "anak yang wajib dijalankan semua kabupaten dan kota.",
            "makro",
        ),
        (
            "Kementerian menyusun strategi nasional penanganan kemiskinan ekstrem untuk lima tahun ke "
            "depan bersama Bappenas.",
            "makro",
        ),
        (
            "Negara-negara anggota ASEAN menyepakati deklarasi bersama perlindungan anak dari "
            "eksploitasi daring yang berlaku lintas negara.",
            "global",
        ),
        (
            "Indonesia menyerahkan laporan periodik pelaksanaan konvensi hak penyandang disabilitas "
            "kepada komite PBB di Jenewa.",
            "global",
        ),
    ],
)
def test_clear_cases(model, text: str, level: str):
    assert model.predict([text]) == [level]


def test_big_agency_helping_one_family_stays_individual(model):
    text = (
        "JAKARTA – Kementerian Sosial memberikan bantuan kursi roda, sembako dan pendampingan "
        "kepada seorang ibu penyandang disabilitas dan dua anaknya di Jakarta Utara, kata "
        "pejabat Kemensos kepada wartawan."
    )
    assert model.predict([text]) == ["mikro"]


@pytest.mark.parametrize(
    "original, changed",
    [
        ("Ibu Sari", "Ibu Margaretha"),
        ("Kabupaten Bantul", "Kabupaten Sikka"),
        ("NIK 3402011234567890", "NIK 7301019876543210"),
        ("0812-3344-5566", "0857-1122-9900"),
    ],
)
def test_names_places_and_identifiers_do_not_change_the_answer(model, original: str, changed: str):
    base = (
        "{x} mengadu ke pekerja sosial karena anaknya tidak sekolah sejak ayahnya meninggal; "
        "pekerja sosial melakukan kunjungan rumah dan menyusun rencana bantuan untuk keluarga itu."
    )
    a = model.predict_proba([base.format(x=original)])
    b = model.predict_proba([base.format(x=changed)])
    assert np.argmax(a) == np.argmax(b)
    if original.startswith(("NIK", "08")):
        assert np.allclose(a, b)  # masked identifiers are invisible to the model


def test_scope_words_push_towards_wider_levels(model):
    local = "Program pelatihan keterampilan bagi pemuda pengangguran di desa ini."
    wider = "Program pelatihan keterampilan bagi pemuda pengangguran di seluruh kabupaten dan provinsi."
    world = (
        "Program pelatihan keterampilan bagi pemuda pengangguran di berbagai negara bersama ILO."
    )
    p_local, p_wider, p_world = model.predict_proba([local, wider, world])
    makro, glob = model.classes_.index("makro"), model.classes_.index("global")
    assert p_wider[makro] > p_local[makro]
    assert p_world[glob] > p_wider[glob]
