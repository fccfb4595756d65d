"""Batch classification: every input row gets one output row, in input order, always.

``classify_texts`` is the pure per-chunk step; ``classify_file`` streams a file of any size
through it in chunks (optionally over several processes) and writes the result atomically.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sw_nlp.bundle import load_model
from sw_nlp.config import ReviewConfig, check_count, check_share
from sw_nlp.errors import InputError, SwNlpError
from sw_nlp.files import Chunk, CsvText, ResultWriter, open_cases, to_csv_text
from sw_nlp.model import CaseClassifier, review_flags
from sw_nlp.resolve import ResolvedModel, resolve_model

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000  # longer texts are classified on their first 100k characters
# Freed heap pages go back to the OS every this many chunks: often enough to keep memory flat
# on any number of rows, rarely enough not to cost time (after every chunk: about 10%).
TRIM_EVERY = 8
MAX_CHUNK_SIZE = 1_000_000  # rows held in memory at once, per process


@dataclass
class ClassifySummary:
    rows: int = 0  # rows written
    rows_in: int = 0  # rows read; checked equal to ``rows`` before the output is put in place
    per_level: Counter[str] = field(default_factory=Counter)
    needs_review: int = 0
    errors: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    model: ResolvedModel | None = None  # the model that answered

    def lines(self) -> list[str]:
        rate = self.rows / self.seconds if self.seconds else 0.0
        levels = ", ".join(f"{k} {v}" for k, v in self.per_level.items()) or "none"
        return [
            *([f"model: {self.model.describe()}"] if self.model else []),
            f"rows: {self.rows} in {self.seconds:.1f} s ({rate:,.0f} rows/s)",
            f"rows in: {self.rows_in}, rows out: {self.rows}",
            f"levels: {levels}",
            f"needs review: {self.needs_review}",
            f"errors: {self.errors}",
            *[f"note: {n}" for n in self.notes],
        ]


class RowCountError(SwNlpError):
    """Fewer (or more) rows written than read: a bug, stopped before the output is replaced."""

    exit_code = 6


def classify_texts(
    clf: CaseClassifier,
    texts: Sequence[str],
    *,
    review: ReviewConfig | None = None,
    explain: int = 3,
    errors: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Level, confidence, per-label probabilities, runner-up, review flag, terms and error.

    A row that already has a read error, or whose text is empty, is not classified: it gets
    its error and ``needs_review`` set, so that it is never silently lost.
    """
    review = review or clf.review
    n = len(texts)
    errors = list(errors) if errors is not None else [""] * n
    texts = [t[:MAX_TEXT_CHARS] if isinstance(t, str) else "" for t in texts]
    errors = [e or ("" if t.strip() else "empty text") for t, e in zip(texts, errors, strict=True)]
    ok = np.array([not e for e in errors], dtype=bool)
    labels = clf.classes_
    proba = np.full((n, len(labels)), np.nan)
    level = np.full(n, "", dtype=object)
    runner_up = np.full(n, "", dtype=object)
    confidence = np.full(n, np.nan)
    reasons = np.where(ok, "", "error").astype(object)
    terms = np.full(n, "", dtype=object)
    rows = np.flatnonzero(ok)
    if len(rows):
        good = [texts[i] for i in rows.tolist()]
        analysis = clf.analyse(good, explain)
        p = analysis.proba
        proba[rows] = p
        order = np.argsort(-p, axis=1, kind="stable")
        names = np.array(labels, dtype=object)
        level[rows] = names[order[:, 0]]
        if len(labels) > 1:
            runner_up[rows] = names[order[:, 1]]
        confidence[rows] = p[np.arange(len(rows)), order[:, 0]]
        flags = review_flags(good, confidence[rows], analysis.vocabulary_share, review)
        reasons[rows] = [_REASONS[key] for key in zip(*(f.tolist() for f in flags), strict=True)]
        if explain > 0:
            terms[rows] = [
                "; ".join(f"{term} {weight:+.3f}" for term, weight in found)
                for found in analysis.explanations
            ]
    return pd.DataFrame(
        {
            "level": _text_column(level),
            "confidence": np.round(confidence, 4),
            **{f"proba_{label}": np.round(proba[:, k], 4) for k, label in enumerate(labels)},
            "runner_up": _text_column(runner_up),
            "needs_review": reasons != "",
            "review_reason": _text_column(reasons),
            "top_terms": _text_column(terms),
            "error": _text_column(errors),
        }
    )


def _text_column(values: Sequence[str] | np.ndarray) -> pd.Series:
    """Text as plain Python strings: pandas' default str dtype copies every chunk into Arrow
    and back out for writing (about 2 µs a row, a tenth of the fast path's whole cost)."""
    return pd.Series(values, dtype=object)


# Every combination of (low confidence, too short, mostly unknown words) as review text.
_REASONS = {
    key: "; ".join(
        why
        for why, on in zip(
            ("low confidence", "too short", "mostly unknown words"), key, strict=True
        )
        if on
    )
    for key in itertools.product((False, True), repeat=3)
}


@dataclass(frozen=True)
class _Done:
    """A classified chunk as the writer takes it (a frame, or CSV text made by the worker that
    classified it) and what it adds to the summary."""

    output: pd.DataFrame | CsvText
    rows: int
    per_level: dict[str, int]
    needs_review: int
    errors: int


def _done(frame: pd.DataFrame, as_csv: bool, escape_formulas: bool = True) -> _Done:
    levels = frame["level"].value_counts()
    return _Done(
        output=to_csv_text(frame, escape_formulas=escape_formulas) if as_csv else frame,
        rows=len(frame),
        per_level={lv: int(c) for lv, c in levels.items() if lv},
        needs_review=int(frame["needs_review"].sum()),
        errors=int((frame["error"] != "").sum()),
    )


def _result_frame(chunk: Chunk, result: pd.DataFrame) -> pd.DataFrame:
    """The row number, the input's own columns as they were read, then the results.

    An input column named like a result column (an earlier run's ``level``) is kept as
    ``input_<name>``: both stay readable, and the result columns keep their names.
    """
    taken = {"row", *result.columns}
    front = pd.DataFrame(
        {
            "row": chunk.rows,
            **{
                (f"input_{k}" if k in taken else k): _text_column(v)
                for k, v in chunk.ids.items()
            },
        }
    )
    return pd.concat([front, result.reset_index(drop=True)], axis=1)


# One model per worker process, loaded once by the pool's initializer.
_WORKER: dict[str, Any] = {}


def _init_worker(
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
    _WORKER.update(review=review, explain=explain, as_csv=as_csv, escape=escape_formulas)


def _dask_work(
    chunk: Chunk,
    model_path: str,
    review: ReviewConfig,
    explain: int,
    fast: bool,
    as_csv: bool,
    escape_formulas: bool = True,
) -> _Done:
    """The same per-chunk step on a Dask worker; the model is loaded once per worker process."""
    _init_worker(model_path, review, explain, fast, as_csv, escape_formulas)
    return _work(chunk)


def _work(chunk: Chunk) -> _Done:
    result = classify_texts(
        _WORKER["clf"],
        chunk.texts,
        review=_WORKER["review"],
        explain=_WORKER["explain"],
        errors=chunk.errors,
    )
    return _done(_result_frame(chunk, result), _WORKER["as_csv"], _WORKER["escape"])


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


def classify_file(
    input_path: Path,
    output_path: Path | None = None,
    *,
    model: Path | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    sheet: str | None = None,
    review_threshold: float | None = None,
    explain: int = 3,
    workers: int = 1,
    chunk_size: int = 2000,
    engine: str = "local",
    scheduler: str | None = None,
    fast: bool = True,
    progress: Callable[[int, int | None, float], None] | None = None,
    escape_formulas: bool = True,
    format: str | None = None,
    header_row: int | None = None,
    columns: str | list[str] = "all",
    recursive: bool = False,
    classifier: CaseClassifier | None = None,
) -> ClassifySummary:
    """Classify every case in a file or folder; write one output row per input row.

    Whole-file problems (not found, unreadable, no text column) raise ``InputError`` before
    anything is written; row problems go to the ``error`` column and the summary.

    ``engine="dask"`` sends the same per-chunk work to a Dask cluster: a local one with
    ``workers`` processes, or the one at ``scheduler``. Workers load the model from
    ``model`` themselves, so on a remote cluster that path must exist on every worker.

    ``fast=False`` runs the scikit-learn pipeline itself instead of the fast path (same
    numbers, several times slower); it is there to check the fast path and to measure it.

    ``escape_formulas`` (on by default) neutralises text cells a spreadsheet would run as a
    formula in CSV and XLSX output (see ``writers.neutralise_formulas``); turn it off only for
    machine consumers of the file. JSON Lines and Parquet are never changed.

    ``classifier`` is the model already loaded from ``model`` by a caller that classifies
    many files (the web server: each upload is written as CSV and as XLSX), so that it is not
    loaded again for each; it is used by the local engine in this process only (worker
    processes and Dask workers load ``model`` themselves).

    ``format`` reads the input as that format whatever its name; ``header_row`` names the
    header row of a table with titles above it (see ``files.open_cases``). ``columns``
    chooses the input columns written before the results: "all" (default: a case worker
    reads the text, date and officer beside the level), "id", or a list of names.
    """
    if engine not in ("local", "dask"):
        raise InputError(f"unknown engine {engine!r}: use local or dask")
    check_count("chunk_size", chunk_size, low=1, high=MAX_CHUNK_SIZE)
    check_count("explain", explain, low=0, high=1000)
    check_count("workers", workers, low=1)
    if review_threshold is not None:
        check_share("review_threshold", review_threshold)
    notes = []
    if not (engine == "dask" and scheduler):  # a remote cluster has its own CPUs
        workers, capped = cap_workers(workers)
        if capped:
            notes.append(capped)
            log.warning("%s", capped)
    started = time.perf_counter()
    resolved = resolve_model(model)
    model_dir = resolved.path
    log.info("model: %s", resolved.describe())
    # With Dask this process only reads and writes: it needs the labels and the review
    # settings, not the fast path (each worker builds its own).
    if classifier is not None and engine == "local" and workers <= 1 and fast:
        clf = classifier
    else:
        clf = load_model(model_dir, fast=fast and engine == "local")
    review = clf.review
    if review_threshold is not None:
        review = ReviewConfig(
            threshold=review_threshold,
            min_words=review.min_words,
            max_unknown_share=review.max_unknown_share,
        )
    source = open_cases(
        input_path,
        text_column,
        id_column,
        chunk_size=chunk_size,
        sheet=sheet,
        format=format,
        header_row=header_row,
        columns=columns,
        recursive=recursive,
    )
    summary = ClassifySummary(notes=[*notes, *source.notes], model=resolved)
    for note in source.notes:
        log.info("%s: %s", input_path, note)

    writer = ResultWriter(
        output_path, escape_formulas=escape_formulas, metadata=resolved.metadata()
    )
    as_csv = writer.suffix == ".csv"  # worker processes then also write the chunk's CSV text

    # The first chunk is read before anything is written: a file with a header and no rows
    # is an error before an output (or a header on stdout) appears.
    first = next(source.chunks, None)
    if first is None or not first.rows:
        raise InputError("no cases in the input: it has a header but no rows", input_path)

    def counted(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            summary.rows_in += len(chunk.rows)
            yield chunk

    chunks = counted(itertools.chain([first], source.chunks))

    def results() -> Iterator[_Done]:
        if engine == "dask":
            yield from _dask_results(
                chunks,
                str(model_dir),
                review,
                explain,
                fast,
                workers,
                scheduler,
                as_csv,
                escape_formulas,
            )
            return
        if workers <= 1:
            for chunk in chunks:
                result = classify_texts(
                    clf, chunk.texts, review=review, explain=explain, errors=chunk.errors
                )
                yield _done(_result_frame(chunk, result), as_csv=False)
            return
        # Worker processes forked from this one start with its model (see _init_worker).
        _WORKER.update(clf=clf, path=(str(model_dir), fast))
        try:
            # A bounded window of chunks in flight keeps memory flat and output in input order.
            with ProcessPoolExecutor(
                max_workers=workers,
                initializer=_init_worker,
                initargs=(str(model_dir), review, explain, fast, as_csv, escape_formulas),
            ) as pool:
                pending: deque[Future[_Done]] = deque()
                for chunk in chunks:
                    pending.append(pool.submit(_work, chunk))
                    if len(pending) >= 2 * workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
        finally:
            _WORKER.clear()

    chunks_done = 0
    with writer:
        for done in results():
            writer.write(done.output)
            summary.rows += done.rows
            summary.per_level.update(done.per_level)
            summary.needs_review += done.needs_review
            summary.errors += done.errors
            if progress:
                progress(summary.rows, source.total, time.perf_counter() - started)
            chunks_done += 1
            if chunks_done % TRIM_EVERY == 0:
                _release_freed_memory()
        # Both raised inside the writer, so the output file is not put in place.
        if summary.rows_in != summary.rows or writer.rows != summary.rows:
            raise RowCountError(
                f"{input_path}: {summary.rows_in} rows in, {writer.rows} rows out: stopped "
                "without writing; this is a bug in sw-nlp, please report it"
            )
        if summary.rows == 0:
            raise InputError("no cases in the input (only a header?)", input_path)
    summary.per_level = Counter(
        {lv: summary.per_level[lv] for lv in clf.classes_ if summary.per_level[lv]}
    )
    summary.seconds = time.perf_counter() - started
    log.info("classified %d rows in %.1f s", summary.rows, summary.seconds)
    return summary


def _dask_results(
    chunks: Iterator[Chunk],
    model_path: str,
    review: ReviewConfig,
    explain: int,
    fast: bool,
    workers: int,
    scheduler: str | None,
    as_csv: bool,
    escape_formulas: bool = True,
) -> Iterator[_Done]:
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
                    _dask_work,
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


def _release_freed_memory() -> None:
    """Hand freed heap pages back to the OS after each chunk (glibc only).

    Chunks allocate and free many mid-sized arrays; glibc keeps the freed pages, so without
    this the process's memory creeps up with the number of rows even though nothing is kept.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def terminal_progress(rows: int, total: int | None, seconds: float) -> None:
    """Rows, rows/s and (when the total is known) ETA on one stderr line."""
    rate = rows / seconds if seconds > 0 else 0.0
    line = f"\r{rows:,} rows  {rate:,.0f} rows/s"
    if total:
        eta = (total - rows) / rate if rate else 0.0
        line += f"  {rows / total:.0%}  ETA {eta:,.0f} s"
    sys.stderr.write(line.ljust(60))
    sys.stderr.flush()
