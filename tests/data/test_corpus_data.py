"""The committed corpus: valid, large, balanced and varied as the corpus issue requires."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sw_nlp.bundle import default_bundle_dir, read_manifest
from sw_nlp.corpus import file_sha256, load_corpus, validate_corpus
from sw_nlp.labels import LEVELS
from sw_nlp.validate import actor_spread

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus" / "cases.csv"
PROVINCES = {
    "Aceh",
    "Sumatera Utara",
    "Sumatera Barat",
    "Riau",
    "Kepulauan Riau",
    "Jambi",
    "Bengkulu",
    "Sumatera Selatan",
    "Kepulauan Bangka Belitung",
    "Lampung",
    "DKI Jakarta",
    "Jawa Barat",
    "Banten",
    "Jawa Tengah",
    "DI Yogyakarta",
    "Jawa Timur",
    "Bali",
    "Nusa Tenggara Barat",
    "Nusa Tenggara Timur",
    "Kalimantan Barat",
    "Kalimantan Tengah",
    "Kalimantan Selatan",
    "Kalimantan Timur",
    "Kalimantan Utara",
    "Sulawesi Utara",
    "Gorontalo",
    "Sulawesi Tengah",
    "Sulawesi Barat",
    "Sulawesi Selatan",
    "Sulawesi Tenggara",
    "Maluku",
    "Maluku Utara",
    "Papua",
    "Papua Barat",
    "Papua Selatan",
    "Papua Tengah",
    "Papua Pegunungan",
    "Papua Barat Daya",
}


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return load_corpus(CORPUS)


def test_corpus_validates_without_errors():
    problems, _ = validate_corpus(CORPUS)
    assert [p.format(CORPUS) for p in problems if p.is_error] == []


def test_size_and_balance(corpus: pd.DataFrame):
    counts = corpus["level"].value_counts()
    assert len(corpus) >= 2000
    assert set(counts.index) == set(LEVELS)
    assert counts.min() >= 450


def test_registers_cover_every_level(corpus: pd.DataFrame):
    """Every register at every level, except single regulation articles: an article sets rules
    and never acts on one family, so a `pasal` text is never mikro."""
    table = pd.crosstab(corpus["register"], corpus["level"])
    assert len(table) >= 15
    assert (table.drop(index="pasal") > 0).all().all(), table
    assert (table.loc["pasal", ["mezzo", "makro", "global"]] > 0).all()


def test_no_actor_or_place_word_belongs_to_one_level(corpus: pd.DataFrame):
    """Issue 15's measure of actor/target shortcuts: for each actor or place word in 30 or more
    texts, no level holds more than 55% of them."""
    spread = actor_spread(corpus["text"].tolist(), corpus["level"].tolist())
    frequent = {name: shares for name, n, shares in spread if n >= 30}
    assert len(frequent) >= 18
    over = {name: max(s.values()) for name, s in frequent.items() if max(s.values()) > 0.55}
    assert over == {}


def test_news_and_official_posts_are_a_quarter(corpus: pd.DataFrame):
    assert corpus["register"].isin(["berita", "rilis"]).mean() >= 0.25


def test_topics_and_regions(corpus: pd.DataFrame):
    assert corpus["topic"].nunique() >= 25
    assert PROVINCES <= set(corpus["region"])
    assert set(corpus["region"]) - PROVINCES <= {"internasional", "nasional"}


def test_lengths(corpus: pd.DataFrame):
    words = corpus["text"].str.split().str.len()
    assert words.min() >= 8 and words.max() <= 300
    assert (words < 30).mean() >= 0.30
    assert (words > 120).mean() >= 0.05


def test_version_2_is_mostly_short_fragments(corpus: pd.DataFrame):
    """Real passages average 33 words: at least 40% of the cases written for version 2 are
    10-40 words."""
    numbers = corpus["case_id"].str[3:].astype(int)
    new = corpus[numbers > 2760]
    assert len(new) >= 2240  # 5,000 cases in all
    words = new["text"].str.split().str.len()
    assert words.between(10, 40).mean() >= 0.40


def test_hard_cases_per_level(corpus: pd.DataFrame):
    assert (corpus.groupby("level")["hard"].mean() >= 0.20).all()


def test_test_split_is_a_stratified_fifth(corpus: pd.DataFrame):
    share = (corpus["split"] == "test").mean()
    assert 0.18 <= share <= 0.22
    by_level = corpus.groupby("level")["split"].apply(lambda s: (s == "test").mean())
    assert by_level.between(0.17, 0.23).all(), by_level
    by_register = corpus.groupby("register")["split"].apply(lambda s: (s == "test").mean())
    assert by_register.between(0.12, 0.28).all(), by_register


def test_ids_are_stable_format(corpus: pd.DataFrame):
    assert corpus["case_id"].str.fullmatch(r"SW-\d{5}").all()


def test_shipped_model_was_trained_on_this_corpus():
    manifest = read_manifest(default_bundle_dir())
    assert manifest["corpus"]["sha256"] == file_sha256(CORPUS), (
        "the corpus changed since the default model was trained: run `sw-nlp train`"
    )
