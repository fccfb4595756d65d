"""Batch classification: every input row gets one output row, in input order, always.

``classify_file`` streams a file of any size, in chunks, through the per-chunk step
(``results.classify_columns``, here or on ``workers``) and writes the result atomically,
checking rows in = rows out.
"""

from __future__ import annotations

import itertools
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from sw_nlp.bundle import load_model
from sw_nlp.collector import fewer_collections
from sw_nlp.config import ReviewConfig, check_count, check_share
from sw_nlp.errors import InputError, SwNlpError
from sw_nlp.files import Chunk, ResultWriter, open_cases
from sw_nlp.model import CaseClassifier
from sw_nlp.resolve import ResolvedModel, resolve_model
from sw_nlp.results import ChunkDone, chunk_done, classify_columns, classify_texts, result_table
from sw_nlp.workers import (
    cap_workers,
    dask_results,
    pool_results,
    release_freed_memory,
)

__all__ = ["ClassifySummary", "RowCountError", "classify_file", "classify_texts", "terminal_progress"]

log = logging.getLogger(__name__)

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
    text_column: str | None = None  # the column read as the case text (None: a note's text)

    def lines(self) -> list[str]:
        rate = self.rows / self.seconds if self.seconds else 0.0
        levels = ", ".join(f"{k} {v}" for k, v in self.per_level.items()) or "none"
        return [
            *([f"model: {self.model.describe()}"] if self.model else []),
            *([f"text column: {self.text_column}"] if self.text_column else []),
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
    if output_path is not None and _same_file(Path(input_path), Path(output_path)):
        raise InputError(
            "the output would replace the input file; write the results to another file",
            output_path,
        )
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
        defer_masking=engine == "dask" or workers > 1,  # each worker masks its chunks
    )
    summary = ClassifySummary(
        notes=[*notes, *source.notes], model=resolved, text_column=source.text_column
    )
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

    def results() -> Iterator[ChunkDone]:
        if engine == "dask":
            yield from dask_results(
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
                result = classify_columns(
                    clf, chunk.texts, review=review, explain=explain, errors=chunk.errors
                )
                yield chunk_done(result_table(chunk, result), as_csv=False)
            return
        yield from pool_results(
            chunks, clf, str(model_dir), review, explain, fast, as_csv, escape_formulas, workers
        )

    chunks_done = 0
    # ``closing``: the file is closed when the run ends, stopped halfway by an error too (the
    # error holds the run's frames, and would keep the file open as long).
    with writer, fewer_collections(), closing(source):
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
                release_freed_memory()
        # Both raised inside the writer, so the output file is not put in place.
        if summary.rows_in != summary.rows or writer.rows != summary.rows:
            raise RowCountError(
                f"{input_path}: {summary.rows_in} rows in, {writer.rows} rows out: stopped "
                "without writing; this is a bug in sw-nlp, please report it"
            )
        if summary.rows == 0:
            raise InputError("no cases in the input (only a header?)", input_path)
    summary.notes.extend(writer.notes())
    summary.per_level = Counter(
        {lv: summary.per_level[lv] for lv in clf.classes_ if summary.per_level[lv]}
    )
    summary.seconds = time.perf_counter() - started
    log.info("classified %d rows in %.1f s", summary.rows, summary.seconds)
    return summary


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (the same path written another way, or a link)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return b.exists() and a.samefile(b)
    except OSError:
        return False


def terminal_progress(rows: int, total: int | None, seconds: float) -> None:
    """Rows, rows/s and (when the total is known) ETA on one stderr line."""
    rate = rows / seconds if seconds > 0 else 0.0
    line = f"\r{rows:,} rows  {rate:,.0f} rows/s"
    if total:
        eta = (total - rows) / rate if rate else 0.0
        line += f"  {rows / total:.0%}  ETA {eta:,.0f} s"
    sys.stderr.write(line.ljust(60))
    sys.stderr.flush()
