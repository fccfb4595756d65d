"""The token cache: pieces found by their bytes, each tokenised once, memory bounded."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import sw_nlp.token_cache as token_cache
from sw_nlp.jit import compiled
from sw_nlp.preprocess import WordAnalyzer
from sw_nlp.text_kernels import STOP
from sw_nlp.token_cache import UNKNOWN, Growing, TokenCache, TokenRules


def rules() -> TokenRules:
    return TokenRules(
        lexicon={"yg": "yang"},
        numbers_as_token=True,
        word_analyzer=WordAnalyzer(remove_stopwords=True),
        word_token_ids={"anak": 0, "desa": 1},
        word_vocabulary={"anak": 0, "desa": 1, "anak desa": 2},
        char_vocabulary={" an": 0, "ana": 1, "nak": 2, "ak ": 3},
        char_ngrams=(3, 3),
    )


def tokens_of(cache: TokenCache, texts: list[str]) -> list[list[str]]:
    array = pa.array(texts, type=pa.string())
    data = np.frombuffer(array.buffers()[2] or b"", np.uint8)
    offsets = np.frombuffer(array.buffers()[1], np.int32)[: len(texts) + 1]
    docs, ids = cache.tokens(data, offsets)
    strings = cache.tables().strings
    out: list[list[str]] = [[] for _ in texts]
    for d, g in zip(docs.tolist(), ids.tolist(), strict=True):
        out[d].append(strings[g])
    return out


def test_pieces_become_normalised_tokens_with_their_features():
    cache = TokenCache(rules())
    assert tokens_of(cache, ["anak-anak, yg desa", "", "qqq anak"]) == [
        ["anak-anak", "yang", "desa"], [], ["qqq", "anak"]
    ]  # fmt: skip
    tables = cache.tables()
    final = {s: i for i, s in enumerate(tables.strings)}
    assert tables.word_id[final["anak"]] == 0
    assert tables.word_id[final["yang"]] == STOP  # an Indonesian stopword
    assert tables.word_id[final["qqq"]] == UNKNOWN
    anak = final["anak"]
    grams = tables.gram_ids[tables.gram_ptr[anak] : tables.gram_ptr[anak + 1]]
    assert sorted(grams.tolist()) == [0, 1, 2, 3]
    # The stopword is shown as itself, after the word features.
    assert tables.extra_terms[tables.shown[final["yang"]] - 3] == "yang"


def test_new_tokens_get_the_same_grams_compiled_or_as_plain_python():
    """A small chunk finds its new tokens' n-grams with the vocabulary dict, a large one with
    the compiled table (``text_kernels.token_grams``): the same features, counts and order."""
    texts = ["anak-anak, yg desa", "ananak nakan", "qqq anak é-anak", ""]
    found = []
    for wanted in (True, False):
        cache = TokenCache(rules())
        with compiled(wanted):
            tokens_of(cache, texts)
        tables = cache.tables()
        bounds = list(zip(tables.gram_ptr[:-1], tables.gram_ptr[1:], strict=True))
        grams = [tables.gram_ids[a:b].tolist() for a, b in bounds]
        counts = [tables.gram_counts[a:b].tolist() for a, b in bounds]
        found.append((tables.strings, grams, counts))
    assert found[0] == found[1]
    strings, grams, counts = found[0]
    assert counts[strings.index("ananak")] == [1, 2, 1, 1]  # " an", "ana" twice, "nak", "ak "


def test_a_second_chunk_reuses_known_pieces():
    cache = TokenCache(rules())
    tokens_of(cache, ["anak desa"])
    before = len(cache.tables().strings)
    assert tokens_of(cache, ["desa anak anak"]) == [["desa", "anak", "anak"]]
    assert len(cache.tables().strings) == before


def test_a_full_cache_starts_afresh_and_old_tables_stay_whole(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(token_cache, "MAX_CACHED_TOKENS", 3)
    cache = TokenCache(rules())
    tokens_of(cache, ["a b c d e"])
    old = cache.tables()
    assert cache.full
    cache.reset()
    assert not cache.full
    assert tokens_of(cache, ["desa"]) == [["desa"]]
    assert old.strings[:5] == ["a", "b", "c", "d", "e"]


def test_growing_keeps_what_was_appended():
    grown = Growing(np.int64)
    for start in range(0, 3000, 700):
        grown.extend(np.arange(start, start + 700))
    assert grown.view.tolist() == list(range(3500))
