"""Micro benchmark of the write side of ``sw-nlp classify``: from a chunk's scores to the CSV
text written, in one process, µs per row.

Run on demand, not in the test suite:

    python benchmarks/bench_write_path.py                         # 20k rows, best of 5
    python benchmarks/bench_write_path.py INPUT.csv --explain 0

The model's scores are computed once, outside the timing; the stages timed are what runs
after them for every chunk: ``terms`` (``explain.terms_of_rows``, the explanations' terms
from the compiled pass's candidates), ``columns`` (``results.classify_columns`` past the model call:
levels, review flags, explanation text), ``table`` (``result_table`` and ``chunk_done``),
``csv`` (``table.table_csv_text``) and ``write`` (the text into a file). This isolates the
part of a row's time that the compiled scoring pass does not touch, so that a change to it
shows without the noise of a whole run. Times are CPU time, best of the repetitions.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class _Replay:
    """A classifier that answers each ``analyse`` call with the next stored analysis: the
    model's cost stays out of the timing, everything after it stays in."""

    def __init__(self, clf, analyses):
        self.classes_ = clf.classes_
        self.review = clf.review
        self._analyses = analyses
        self._next = 0

    def analyse(self, texts, k):
        found = self._analyses[self._next]
        self._next += 1
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", nargs="?", default="/work/baseline/in-b20000.csv")
    parser.add_argument("--explain", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model", default=str(REPO / "models" / "default"))
    args = parser.parse_args()

    import sw_nlp.fast
    from sw_nlp.bundle import load_model
    from sw_nlp.explain import terms_of_rows
    from sw_nlp.files import open_cases
    from sw_nlp.results import chunk_done, classify_columns, result_table
    from sw_nlp.table import table_csv_text

    clf = load_model(Path(args.model), fast=True)
    chunks = list(open_cases(Path(args.input), columns="all").chunks)
    rows = sum(len(c.rows) for c in chunks)
    analyses = []
    captured = []  # the compiled pass's candidates, for timing ``terms_of_rows`` alone

    def capture(*args):
        captured.append(args)
        return terms_of_rows(*args)

    sw_nlp.fast.terms_of_rows = capture
    for chunk in chunks:
        texts = [t[:100_000] if isinstance(t, str) else "" for t in chunk.texts]
        good = [t for t, e in zip(texts, chunk.errors, strict=True) if not e and t.strip()]
        analyses.append(clf.analyse(good, args.explain))
    sw_nlp.fast.terms_of_rows = terms_of_rows

    stages = {"terms": 0.0, "columns": 0.0, "table": 0.0, "csv": 0.0, "write": 0.0}
    best = {k: float("inf") for k in stages}
    fd, name = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        for _ in range(args.repeat):
            replay = _Replay(clf, analyses)
            times = dict.fromkeys(stages, 0.0)
            with open(name, "w", encoding="utf-8", newline="") as out:
                for found in captured:
                    t0 = time.process_time()
                    terms_of_rows(*found)
                    times["terms"] += time.process_time() - t0
                for chunk in chunks:
                    t0 = time.process_time()
                    result = classify_columns(
                        replay, chunk.texts, explain=args.explain, errors=chunk.errors
                    )
                    t1 = time.process_time()
                    done = chunk_done(result_table(chunk, result), as_csv=False)
                    t2 = time.process_time()
                    text = table_csv_text(done.output)
                    t3 = time.process_time()
                    out.write(text.body)
                    t4 = time.process_time()
                    for key, a, b in zip(
                        list(stages)[1:], (t0, t1, t2, t3), (t1, t2, t3, t4), strict=True
                    ):
                        times[key] += b - a
            for key in stages:
                best[key] = min(best[key], times[key])
    finally:
        os.unlink(name)
    print(f"{rows} rows, explain {args.explain}, best of {args.repeat}, CPU µs per row")
    for key, value in best.items():
        print(f"{key:>8} {value / rows * 1e6:8.2f}")
    print(f"{'total':>8} {sum(best.values()) / rows * 1e6:8.2f}")


if __name__ == "__main__":
    main()
