"""scripts/real_text.py finds a passage again by its locators and its hash, and only then."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "data" / "real" / "manifest.csv"


@pytest.fixture(scope="module")
def real_text():
    spec = importlib.util.spec_from_file_location("real_text", REPO / "scripts" / "real_text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PAGE = (
    "Berita utama. Dinas Sosial Kota X mendampingi seorang lansia. Judul berulang di sini.\n\n"
    "Dinas Sosial Kota X mendampingi   seorang lansia yang tinggal sendiri dan merujuknya ke "
    "panti werdha. Kalimat lain yang bukan bagian kutipan."
)
PASSAGE = (
    "Dinas Sosial Kota X mendampingi seorang lansia yang tinggal sendiri dan merujuknya ke "
    "panti werdha."
)


def test_locate_picks_the_span_whose_hash_matches(real_text):
    start = " ".join(PASSAGE.split()[:5])
    end = " ".join(PASSAGE.split()[-5:])
    # the start words occur twice; only the hash tells which span is the passage
    assert len(list(real_text.candidates(PAGE, start, end))) >= 2
    assert real_text.locate(PAGE, start, end, real_text.digest(PASSAGE)) == PASSAGE
    assert real_text.locate(PAGE, start, end, "0" * 64) is None


def test_rebuild_reports_a_changed_page_and_never_guesses(real_text, tmp_path, monkeypatch):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "P1.json").write_text(json.dumps({"url": "u", "text": PAGE}), "utf-8")
    (pages / "P2.json").write_text(json.dumps({"url": "u", "text": PAGE.replace("lansia", "anak")}), "utf-8")
    words = PASSAGE.split()
    row = {
        "url": "u", "locator_start": " ".join(words[:5]), "locator_end": " ".join(words[-5:]),
        "words": len(words), "sha256": real_text.digest(PASSAGE), "level": "mikro",
        "level_first": "mikro", "level_second": "mikro", "register": "berita",
        "source_kind": "news", "split": "dev",
    }
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame([{"id": "R1", "page_id": "P1", **row}, {"id": "R2", "page_id": "P2", **row}]).to_csv(
        manifest, index=False
    )
    monkeypatch.setattr(real_text, "MANIFEST", manifest)
    monkeypatch.setattr(real_text, "PAGES", pages)
    monkeypatch.setattr(real_text, "PRIVATE", tmp_path)
    monkeypatch.setattr(real_text, "OUT", tmp_path / "real.csv")
    assert real_text.rebuild(fetch=False) == 0
    out = pd.read_csv(tmp_path / "real.csv")
    assert out["id"].tolist() == ["R1"]  # R2's page changed: reported, not guessed
    assert out["text"].iloc[0] == PASSAGE
    assert pd.read_csv(tmp_path / "real_dev.csv")["id"].tolist() == ["R1"]


def test_the_committed_manifest_holds_no_passage_text():
    manifest = pd.read_csv(MANIFEST, dtype=str, keep_default_na=False)
    assert len(manifest) >= 300
    assert set(manifest["split"]) == {"dev", "test"}
    assert set(manifest["level"]) == {"mikro", "mezzo", "makro", "global"}
    assert manifest["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert manifest["id"].is_unique
    # locators only: at most five words at each end, never the passage
    for column in ("locator_start", "locator_end"):
        assert (manifest[column].str.split().str.len() <= 5).all()
    assert "text" not in manifest.columns and "passage" not in manifest.columns


def test_kappa_by_hand(real_text):
    a = ["mikro", "mikro", "mezzo", "makro"]
    b = ["mikro", "mezzo", "mezzo", "makro"]
    # observed 3/4; expected (2*1 + 1*2 + 1*1) / 16 = 5/16
    assert real_text.cohen_kappa(a, b) == pytest.approx((0.75 - 5 / 16) / (1 - 5 / 16))
