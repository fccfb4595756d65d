"""Where chunks are classified besides this process: a pool of local worker processes, or
a Dask cluster. Each worker loads the model once (or starts from the forked parent's) and runs
``results``' per-chunk step; the reading process only reads, hands out and writes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from sw_nlp.bundle import load_model
from sw_nlp.config import ReviewConfig
from sw_nlp.errors import InputError
from sw_nlp.files import Chunk, mask_passed_through
from sw_nlp.model import CaseClassifier
from sw_nlp.results import ChunkDone, chunk_done, classify_columns, result_table

# One model per worker process, loaded once by the pool's initializer.
_WORKER: dict[str, Any] = {}


def init_worker(
    model_path: str,
    review: ReviewConfig,
    explain: int,
    fast: bool,
    as_csv: bool,
    escape_formulas: bool = True,
) -> None:
    """Load the model, unless this process was forked from one that had loaded it already
    (Linux's default): then the worker shares its pages and starts at once.

    SIGTERM gets its default action back: the pool stops its workers with it, and a forked
    worker must not run the parent's clean-up handler."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _WORKER.get("path") != (model_path, fast):
        _WORKER.update(clf=load_model(model_path, fast=fast), path=(model_path, fast))
    _configure(review, explain, as_csv, escape_formulas)


def _configure(review: ReviewConfig, explain: int, as_csv: bool, escape_formulas: bool) -> None:
    """What ``work`` needs besides the model, in this process."""
    _WORKER.update(review=review, explain=explain, as_csv=as_csv, escape=escape_formulas)


def pool_results(
    chunks: Iterator[Chunk],
    clf: CaseClassifier,
    model_path: str,
    review: ReviewConfig,
    explain: int,
    fast: bool,
    as_csv: bool,
    escape_formulas: bool,
    workers: int,
) -> Iterator[ChunkDone]:
    """Classify chunks on ``workers`` local processes, results in input order.

    Worker processes forked from this one start with its model (see ``init_worker``). A
    bounded window of chunks in flight keeps memory flat and the output in input order.

    The first chunk is classified here, before the pool starts: its first call loads the
    compiled kernels and Arrow and fills the token cache (about 1 s of CPU against 0.15 s
    for a later chunk), and workers forked after it inherit all of that rather than each
    paying it again. It is also the quickest first row: no worker has to start for it.
    """
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return
    _WORKER.update(clf=clf, path=(model_path, fast))
    _configure(review, explain, as_csv, escape_formulas)
    try:
        yield work(first)
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_fork_context(),
            initializer=init_worker,
            initargs=(model_path, review, explain, fast, as_csv, escape_formulas),
        ) as pool:
            _widen_pipes(pool)
            pending: deque[Future[ChunkDone]] = deque()
            for chunk in chunks:
                pending.append(pool.submit(work, chunk))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        _WORKER.clear()


def _fork_context() -> multiprocessing.context.BaseContext | None:
    """Fork on Linux, whatever the default: the pool is built on workers that start as copies
    of this process, with its model, compiled kernels and token cache (see ``pool_results``).
    Python 3.14 made "forkserver" the default there; with it each worker would import,
    load and fill all of that again, and start a second or more later. Elsewhere (macOS,
    where forking is unsafe with the system's libraries; Windows, without fork) the
    platform's default, and ``init_worker`` loads the model."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


# A chunk (about 1.2 MB pickled) and its result pass through the pool's pipes; with Linux's
# default 64 KB, each crossing took about twenty wake-ups of the two processes.
PIPE_BYTES = 1 << 20


def _widen_pipes(pool: ProcessPoolExecutor) -> None:
    """Give the pool's two pipes (chunks out, results back) ``PIPE_BYTES`` of buffer, or as
    much as the system allows an unprivileged process (``/proc/sys/fs/pipe-max-size``).

    Why: a chunk crossing a 64 KB pipe wakes the sender and the receiver once every 64 KB. With
    two workers and the reading process on two cores, every wake-up of the reading process
    takes a core from a worker and leaves it cold caches. The pipes are the executor's own
    (private attributes); where they are not there, or not pipes, nothing changes."""
    try:
        import fcntl

        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        for queue in (pool._call_queue, pool._result_queue):  # type: ignore[attr-defined]
            fcntl.fcntl(queue._writer.fileno(), fcntl.F_SETPIPE_SZ, min(PIPE_BYTES, limit))
    except (ImportError, AttributeError, OSError, ValueError):
        pass


def dask_work(
    chunk: Chunk,
    model_path: str,
    review: ReviewConfig,
    explain: int,
    fast: bool,
    as_csv: bool,
    escape_formulas: bool = True,
) -> ChunkDone:
    """The same per-chunk step on a Dask worker; the model is loaded once per worker process."""
    init_worker(model_path, review, explain, fast, as_csv, escape_formulas)
    return work(chunk)


def work(chunk: Chunk) -> ChunkDone:
    """Decode, mask, classify and tabulate one chunk. The reading process left the first two
    to this process (``files.open_cases`` with ``defer_masking``): a large CSV's cells come
    as bytes, and the passed-through columns are masked here, so that the fast path's
    cleaning reuses the text column's masking (``pii.MaskedColumn``)."""
    mask_passed_through(chunk.decoded())
    result = classify_columns(
        _WORKER["clf"],
        chunk.texts,
        review=_WORKER["review"],
        explain=_WORKER["explain"],
        errors=chunk.errors,
    )
    return chunk_done(result_table(chunk, result), _WORKER["as_csv"], _WORKER["escape"])


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's share)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cap_workers(workers: int) -> tuple[int, str]:
    """``workers`` capped at the number of CPUs, and a note when it was.

    More processes than CPUs only add a copy of the model each: 1000 workers started 518
    processes and used 11 GB for a 60k-row file, no faster than one per CPU.
    """
    cpus = usable_cpus()
    if workers <= cpus:
        return workers, ""
    return cpus, f"--workers {workers} capped at {cpus}, the number of CPUs available"


def dask_results(
    chunks: Iterator[Chunk],
    model_path: str,
    review: ReviewConfig,
    explain: int,
    fast: bool,
    workers: int,
    scheduler: str | None,
    as_csv: bool,
    escape_formulas: bool = True,
) -> Iterator[ChunkDone]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            "the dask engine needs the 'dask' extra: pip install 'sw-nlp[dask]'"
        ) from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=max(workers, 1), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        window = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(
                client.submit(
                    dask_work,
                    chunk,
                    model_path,
                    review,
                    explain,
                    fast,
                    as_csv,
                    escape_formulas,
                    pure=False,
                )
            )
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS after each chunk (glibc only).

    Chunks allocate and free many mid-sized arrays; glibc keeps the freed pages, so without
    this the process's memory creeps up with the number of rows even though nothing is kept.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
