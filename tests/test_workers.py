"""The local worker pool: the first chunk classified in the reading process, so that the
workers forked after it start warm, the rest on the workers, all in input order."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import pytest

import sw_nlp.workers as workers
from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.files import open_cases
from sw_nlp.results import chunk_done, classify_columns, result_table

# Where ``recording_work`` notes which process classified which chunk; set per test. A forked
# worker inherits it with the module.
_LOG: list[Path] = []
_REAL_WORK = workers.work


def recording_work(chunk):  # module level: the pool sends it to workers by name
    with _LOG[0].open("a", encoding="utf-8") as f:
        f.write(f"{os.getpid()} {chunk.rows[0]}\n")
    return _REAL_WORK(chunk)


@pytest.fixture(params=["fork", "forkserver"])
def default_start_method(request):
    """The default way of starting processes: Linux's before Python 3.14, and from 3.14 on."""
    if sys.platform != "linux":
        pytest.skip("the pool forks on Linux only")
    before = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method(request.param, force=True)
    yield request.param
    multiprocessing.set_start_method(before, force=True)


@pytest.mark.skipif(workers.usable_cpus() < 2, reason="needs two CPUs for two workers")
def test_first_chunk_here_the_rest_on_workers_in_input_order(
    tmp_path, monkeypatch, default_start_method
):
    """Whatever the default start method, the workers are forked from this process: they
    run the ``work`` set here (a worker started afresh would run the module's own)."""
    src = Path("data/corpus/cases.csv")
    model = default_bundle_dir()
    clf = load_model(model)
    expected = [
        chunk_done(result_table(c, classify_columns(clf, c.texts, errors=c.errors)), True)
        for c in open_cases(src, columns="all", chunk_size=150).chunks
    ]
    assert len(expected) >= 4
    _LOG[:] = [tmp_path / "pids.txt"]
    recording_work.__qualname__ = "recording_work"
    monkeypatch.setattr(workers, "work", recording_work)
    chunks = open_cases(src, columns="all", chunk_size=150, defer_masking=True).chunks
    done = list(
        workers.pool_results(
            chunks, clf, str(model), clf.review, 3, True, True, True, workers=2
        )
    )
    assert done == expected  # same bytes and counts, in input order
    seen = [line.split() for line in _LOG[0].read_text("utf-8").splitlines()]
    first_rows = sorted(int(row) for _, row in seen)
    assert first_rows == [c.rows[0] for c in open_cases(src, chunk_size=150).chunks]
    here = [int(row) for pid, row in seen if int(pid) == os.getpid()]
    assert here == [2]  # the first chunk (header is row 1) and only it, in this process
    assert len({pid for pid, _ in seen}) == 3  # this process and two workers


def test_an_empty_source_starts_no_pool(monkeypatch):
    clf = load_model(default_bundle_dir())
    monkeypatch.setattr(workers, "ProcessPoolExecutor", None)  # would fail if used
    assert list(workers.pool_results(iter([]), clf, "m", clf.review, 3, True, True, True, 2)) == []


@pytest.mark.skipif(workers.usable_cpus() < 2, reason="needs two CPUs for two workers")
def test_a_scanned_files_chunks_are_decoded_and_masked_by_the_workers(tmp_path, monkeypatch):
    """A large CSV cut by the compiled scan goes to the workers as bytes: the reading process
    decodes only the first chunk (which it classifies itself), each worker decodes and masks
    the chunks it classifies, and the output is byte for byte the one-process output, with no
    identifier left in it."""
    from sw_nlp import csv_scan, delimited
    from sw_nlp.classify import classify_file

    monkeypatch.setattr(delimited, "SCAN_BYTES", -1)  # scan this small file as a large one
    decoders = tmp_path / "decoders.txt"
    real = csv_scan.ScannedCells.columns

    def recording(self):
        with decoders.open("a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        return real(self)

    monkeypatch.setattr(csv_scan.ScannedCells, "columns", recording)
    src = tmp_path / "rekap.csv"
    lines = ["No;Deskripsi Kasus;Petugas;Telp"]
    for i in range(120):
        lines.append(
            f'K-{i};"Ibu R{i} (NIK 32010123456{i:05d}) mengadu: ""anak putus sekolah""; '
            f'rumah rusak";petugas{i}@dinsos.go.id;0812-3456-{i:04d}'
        )
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = default_bundle_dir()
    one = classify_file(src, tmp_path / "one.csv", model=model, chunk_size=25, columns="all")
    assert not decoders.exists()  # one process: the scan decodes as it reads
    two = classify_file(
        src, tmp_path / "two.csv", model=model, chunk_size=25, columns="all", workers=2
    )
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert one.rows_in == two.rows_in == two.rows == 120
    pids = decoders.read_text("utf-8").split()
    assert len(pids) == 5  # every chunk decoded once
    assert pids.count(str(os.getpid())) == 1 and len(set(pids)) >= 2
    written = (tmp_path / "two.csv").read_text("utf-8")
    assert "@dinsos.go.id" not in written and "0812-3456-" not in written
    assert "3201012345600007" not in written
    assert 'anak putus sekolah"' in written.replace('""', '"')


@pytest.mark.skipif(not Path("/proc/sys/fs/pipe-max-size").exists(), reason="Linux pipes only")
def test_the_pools_pipes_hold_a_chunk_in_few_crossings():
    """Both of the pool's pipes get ``PIPE_BYTES`` of buffer (or the system's limit), not
    Linux's 64 KB: a chunk of about 1.2 MB then wakes the reading process a couple of times,
    not twenty."""
    import fcntl
    from concurrent.futures import ProcessPoolExecutor

    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    with ProcessPoolExecutor(max_workers=1) as pool:
        ends = [q._writer.fileno() for q in (pool._call_queue, pool._result_queue)]
        before = [fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) for fd in ends]
        workers._widen_pipes(pool)
        after = [fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) for fd in ends]
        assert pool.submit(abs, -3).result() == 3  # the pool still works
    assert after == [max(b, min(workers.PIPE_BYTES, limit)) for b in before]
    assert min(after) > 64 << 10 or limit <= 64 << 10
