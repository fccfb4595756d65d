"""Benchmark ``sw-nlp classify`` end to end, side by side with fastText, on the same rows.

Run on demand, not in the test suite:

    python benchmarks/bench_classify.py                      # 10k and 100k rows
    python benchmarks/bench_classify.py --sizes 10000 100000 1000000

For each size it builds a CSV of corpus-like texts (about 80 words each, cut from and joined
out of corpus texts), runs ``sw-nlp classify`` in a fresh process and reports rows/s end to end
and that process's peak memory. The peer is fastText (``pip install fasttext``), trained
supervised on the same train split and asked to predict the same rows (a list at a time; with
NumPy 2 its ``predict`` on a single string raises). Figures go to stdout as one table.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "corpus" / "cases.csv"
WORDS_PER_TEXT = 80


def corpus_rows() -> list[dict[str, str]]:
    with open(CORPUS, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def make_texts(rows: list[dict[str, str]], n: int, seed: int = 7) -> list[str]:
    """n texts of about 80 words, each stitched from random corpus texts."""
    rng = random.Random(seed)
    pool = [r["text"].split() for r in rows]
    texts = []
    for _ in range(n):
        words: list[str] = []
        while len(words) < WORDS_PER_TEXT:
            words.extend(rng.choice(pool))
        texts.append(" ".join(words[:WORDS_PER_TEXT]))
    return texts


def write_input(texts: list[str], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((i, t) for i, t in enumerate(texts))


_CHILD = """
import resource, sys
from sw_nlp.cli import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def run_classify(src: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one fresh `sw-nlp classify` process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, "classify", str(src), "-o", str(out), "--quiet", *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def fasttext_rate(rows: list[dict[str, str]], texts: list[str], workdir: Path) -> float | None:
    try:
        import fasttext
    except ImportError:
        return None
    train = workdir / "ft_train.txt"
    with open(train, "w", encoding="utf-8") as handle:
        for r in rows:
            if r["split"] == "train":
                handle.write(f"__label__{r['level']} {' '.join(r['text'].lower().split())}\n")
    model = fasttext.train_supervised(str(train), epoch=25, wordNgrams=2, verbose=0, thread=2)
    lowered = [t.lower() for t in texts]
    started = time.perf_counter()
    for i in range(0, len(lowered), 10_000):
        model.predict(lowered[i : i + 10_000])
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--explain", type=int, default=3, help="top terms per row (0 is faster)")
    args = parser.parse_args()
    rows = corpus_rows()
    print(
        f"{'rows':>10} {'sw-nlp rows/s':>14} {'peak MB':>8} {'fastText rows/s':>16} {'fastText/sw-nlp':>16}"
    )
    with tempfile.TemporaryDirectory(prefix="sw-nlp-bench-") as tmp:
        work = Path(tmp)
        for n in args.sizes:
            texts = make_texts(rows, n)
            src = work / f"in_{n}.csv"
            write_input(texts, src)
            seconds, peak = run_classify(
                src,
                work / f"out_{n}.csv",
                ["--workers", str(args.workers), "--explain", str(args.explain)],
            )
            ours = n / seconds
            peer = fasttext_rate(rows, texts, work)
            ratio = f"{peer / ours:.1f}x" if peer else "n/a"
            peer_s = f"{peer:,.0f}" if peer else "not installed"
            print(f"{n:>10,} {ours:>14,.0f} {peak:>8,.0f} {peer_s:>16} {ratio:>16}", flush=True)


if __name__ == "__main__":
    main()
