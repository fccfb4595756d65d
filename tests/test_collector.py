"""The garbage collector's threshold while a batch runs: raised, and put back afterwards."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from sw_nlp.classify import classify_file
from sw_nlp.collector import BATCH_THRESHOLD, fewer_collections


@pytest.fixture
def default_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*before)


def test_raised_inside_and_restored_after_even_on_error(default_thresholds):
    with fewer_collections():
        assert gc.get_threshold() == (BATCH_THRESHOLD, 10, 10)
    assert gc.get_threshold() == default_thresholds
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failed batch")
    assert gc.get_threshold() == default_thresholds


def test_overlapping_blocks_restore_only_when_the_last_ends(default_thresholds):
    """Two jobs of the web server: the first ends while the second still runs."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, tuple[int, ...]] = {}

    def first() -> None:
        with fewer_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with fewer_collections():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["after the first ended"][0] == BATCH_THRESHOLD
    assert gc.get_threshold() == default_thresholds


def test_a_higher_setting_is_not_lowered(default_thresholds):
    gc.set_threshold(10 * BATCH_THRESHOLD, 10, 10)
    with fewer_collections():
        assert gc.get_threshold()[0] == 10 * BATCH_THRESHOLD
    assert gc.get_threshold()[0] == 10 * BATCH_THRESHOLD


def test_classify_file_runs_its_chunks_with_fewer_collections(tmp_path, default_thresholds):
    during: list[int] = []
    summary = classify_file(
        Path("data/examples/cases.csv"),
        tmp_path / "out.csv",
        chunk_size=5,
        progress=lambda rows, total, seconds: during.append(gc.get_threshold()[0]),
    )
    assert summary.rows == 12
    assert during and set(during) == {BATCH_THRESHOLD}
    assert gc.get_threshold() == default_thresholds
