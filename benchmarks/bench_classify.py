"""Benchmark ``sw-nlp classify`` end to end, both inference paths beside fastText, same rows.

Run on demand, not in the test suite (needs ``pip install fasttext`` for the peer):

    python benchmarks/bench_classify.py                           # 100k and 1M rows
    python benchmarks/bench_classify.py --sizes 20000 --exact-max 20000   # a quick look
    python benchmarks/bench_classify.py --sizes 100000 --new-words 0.05   # unseen words

For each size it writes one CSV of corpus-like texts (about 80 words each, stitched from
corpus texts) and runs, each in a fresh process, on exactly those rows:

- ``sw-nlp classify`` on the fast path, pinned to one core (``taskset -c 0``);
- the same with ``--workers 2`` (not pinned: two worker processes and the reader/writer);
- two whole one-core runs at once, pinned to cores 0 and 1, on the same file: the ceiling
  for ``--workers 2``, since no split of one job beats two jobs that share nothing. On a
  virtual machine two busy cores are often slower each than one busy core alone (a shared
  cache, memory bus or host), and this shows by how much;
- ``sw-nlp classify --exact-path`` (the scikit-learn pipeline itself), pinned to one core,
  for sizes up to ``--exact-max`` (it is the slow one: ~1,000 rows/s);
- fastText, pinned to one core, trained on the same train split (25 epochs, word bigrams):
  end to end as a user would run it over the same file (read the CSV in chunks of 2,000,
  predict every label's probability, write level, confidence and the four probabilities as
  CSV), and its ``predict`` call alone on the texts already in memory.

Each of the runs after the first is made between two one-core runs and compared with their
mean (one, A, one, B, one, ...): this virtual machine's speed drifts by a quarter within
minutes, and a ratio of two runs made minutes apart measured that drift as much as the code.

Figures: rows/s over the whole process run (start-up and model loading included), rows per
second of CPU time the run used (its own and its children's: on a shared machine wall time
also counts other people's work), and the process's peak resident memory (VmHWM); with
``--workers 2`` also each worker's peak.
``--explain 3`` is the default because it is the default command's. With it, each round also
runs ``--explain 0`` on one core, bracketed like the others, and prints how much longer the
default takes than that (fastText gives no explanations).

Before the sizes, start-up on its own (best of ``--repeat`` fresh processes, one core): time
to first row (a one-row file, start to exit, for sw-nlp and for fastText), the time
``load_model`` takes in a fresh process, and the shipped bundle's size.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "corpus" / "cases.csv"
WORDS_PER_TEXT = 80
LEVELS = ("mikro", "mezzo", "makro", "global")


def corpus_rows() -> list[dict[str, str]]:
    with open(CORPUS, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def make_texts(
    rows: list[dict[str, str]], n: int, seed: int = 7, new_words: float = 0.0
) -> list[str]:
    """n texts of about 80 words, each stitched from random corpus texts.

    ``new_words`` replaces that share of the words with random letter strings, as names,
    places and typos do in real files: every one is a word the model has never seen.
    """
    rng = random.Random(seed)
    pool = [r["text"].split() for r in rows]
    texts = []
    for _ in range(n):
        words: list[str] = []
        while len(words) < WORDS_PER_TEXT:
            words.extend(rng.choice(pool))
        words = words[:WORDS_PER_TEXT]
        for i in range(len(words)):
            if new_words and rng.random() < new_words:
                words[i] = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9)))
        texts.append(" ".join(words))
    return texts


def write_input(texts: list[str], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((i, t) for i, t in enumerate(texts))


# Peak memory is the process's own high-water mark (VmHWM): ``ru_maxrss`` survives exec on
# Linux, so a child would report its parent's peak (here, the 1M texts held in memory).
_PEAK = """
def peak_kb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
"""

_SW_NLP = (
    """
import json, resource, sys, time
started = time.perf_counter()
from sw_nlp.cli import main
"""
    + _PEAK
    + """
code = main(sys.argv[1:])
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": time.perf_counter() - started, "peak_kb": peak_kb(),
                  "cpu_seconds": cpu_seconds(), "workers_peak_kb": workers}), file=sys.stderr)
sys.exit(code)
"""
)

_FASTTEXT = (
    """
import csv, json, resource, sys, time
started = time.perf_counter()
"""
    + _PEAK
    + """
import fasttext, numpy as np, pandas as pd
model_path, src, out = sys.argv[1:4]
levels = ["mikro", "mezzo", "makro", "global"]
model = fasttext.load_model(model_path)
first = True
with open(out, "w", encoding="utf-8", newline="") as handle:
    for frame in pd.read_csv(src, chunksize=2000, dtype=str, keep_default_na=False):
        texts = [" ".join(t.lower().split()) for t in frame["text"]]
        labels, probs = model.predict(texts, k=-1)
        rows = [dict(zip(ls, ps)) for ls, ps in zip(labels, probs)]
        result = pd.DataFrame({
            "id": frame["id"],
            "level": [ls[0].removeprefix("__label__") for ls in labels],
            "confidence": np.round([ps[0] for ps in probs], 4),
        })
        for level in levels:
            result[f"proba_{level}"] = np.round(
                [r.get(f"__label__{level}", 0.0) for r in rows], 4)
        result.to_csv(handle, header=first, index=False)
        first = False
seconds = time.perf_counter() - started
cpu_end_to_end = cpu_seconds()
texts = [" ".join(t.lower().split()) for t in
         pd.read_csv(src, dtype=str, keep_default_na=False)["text"]]
t0 = time.perf_counter()
for i in range(0, len(texts), 10000):
    model.predict(texts[i:i + 10000])
predict = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "predict_seconds": predict, "peak_kb": peak_kb(),
                  "cpu_seconds": cpu_end_to_end}), file=sys.stderr)
"""
)


def _pin(one_core: bool, core: int = 0) -> list[str]:
    return ["taskset", "-c", str(core)] if one_core and shutil.which("taskset") else []


def _run(command: list[str]) -> dict[str, float]:
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stderr.strip().splitlines()[-1])


def _sw_nlp_command(
    src: Path, out: Path, extra: list[str], one_core: bool, core: int = 0
) -> list[str]:
    return [
        *_pin(one_core, core),
        sys.executable,
        "-c",
        _SW_NLP,
        "classify",
        str(src),
        "-o",
        str(out),
        "--quiet",
        *extra,
    ]  # fmt: skip


def run_sw_nlp(src: Path, out: Path, extra: list[str], one_core: bool) -> dict[str, float]:
    return _run(_sw_nlp_command(src, out, extra, one_core))


def run_side_by_side(src: Path, work: Path, extra: list[str]) -> dict[str, float]:
    """Two whole one-core runs at once, each pinned to its own core, on the same file: what
    two cores give when nothing at all is shared or handed over. No split of one job over two
    processes can beat it, so it is the ceiling for ``--workers 2`` on this machine (two
    cores that were each as fast busy together as alone would give 2.0)."""
    procs = [
        subprocess.Popen(
            _sw_nlp_command(src, work / f"pair_{core}.csv", extra, True, core),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for core in (0, 1)
    ]
    runs = []
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, proc.args, stderr=err)
        runs.append(json.loads(err.strip().splitlines()[-1]))
    return {
        "seconds": max(r["seconds"] for r in runs) / 2,  # two files' rows in that time
        "cpu_seconds": sum(r["cpu_seconds"] for r in runs) / 2,
        "peak_kb": max(r["peak_kb"] for r in runs),
    }


def train_fasttext(rows: list[dict[str, str]], workdir: Path) -> Path | None:
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
    path = workdir / "ft.bin"
    model.save_model(str(path))
    return path


_LOAD = """
import json, sys, time
from sw_nlp.bundle import default_bundle_dir, load_model
started = time.perf_counter()
clf = load_model(default_bundle_dir())
print(json.dumps({"seconds": time.perf_counter() - started}), file=sys.stderr)
"""


def start_up(work: Path, ft_model: Path | None, repeat: int) -> None:
    """Time to first row (a one-row file, whole process), model load time, bundle size."""
    from sw_nlp.bundle import default_bundle_dir

    one = work / "one.csv"
    write_input(["Seorang nenek tinggal sendiri di rumah tanpa keluarga"], one)
    runs = [run_sw_nlp(one, work / "one_out.csv", [], one_core=True) for _ in range(repeat)]
    first = min(r["seconds"] for r in runs)
    first_cpu = min(r["cpu_seconds"] for r in runs)
    load = min(
        _run([*_pin(True), sys.executable, "-c", _LOAD])["seconds"] for _ in range(repeat)
    )
    bundle = default_bundle_dir()
    size = sum(f.stat().st_size for f in bundle.iterdir() if f.is_file())
    print(f"time to first row (1-row file, whole process): sw-nlp {first:.2f} s "
          f"({first_cpu:.2f} s CPU)", end="")  # fmt: skip
    if ft_model is not None:
        ft = [
            _run([*_pin(True), sys.executable, "-c", _FASTTEXT, str(ft_model), str(one),
                  str(work / "one_ft.csv")])
            for _ in range(repeat)
        ]  # fmt: skip
        print(f"; fastText {min(r['seconds'] for r in ft):.2f} s "
              f"({min(r['cpu_seconds'] for r in ft):.2f} s CPU)", end="")  # fmt: skip
    print(f"\nload_model in a fresh process: {load:.2f} s; bundle {bundle.name}: "
          f"{size / 1e6:.1f} MB\n", flush=True)  # fmt: skip


def _reporter(n: int, figures: dict[str, float], tag: str = ""):  # noqa: ANN202
    def show(name: str, r: dict[str, float], key: str) -> None:
        figures[key] = n / r["seconds"]
        figures[f"{key}_cpu"] = n / r["cpu_seconds"]
        print(f"{n:>10,}  {tag + name:<34} {n / r['seconds']:>9,.0f} {n / r['cpu_seconds']:>9,.0f} "
              f"{r['peak_kb'] / 1024:>8,.0f}", flush=True)  # fmt: skip

    return show


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--explain", type=int, default=3, help="top terms per row")
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per start-up")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="rounds of runs per size; with more than one, medians and each round's ratios",
    )
    parser.add_argument(
        "--exact-max", type=int, default=100_000, help="largest size for --exact-path"
    )
    parser.add_argument(
        "--new-words",
        type=float,
        default=0.0,
        help="share of words replaced by never-seen random words (0.2: one in five)",
    )
    args = parser.parse_args()
    rows = corpus_rows()
    pinned = "taskset -c 0" if shutil.which("taskset") else "not pinned (no taskset)"
    load = os.getloadavg()
    print(f"one core: {pinned}; --explain {args.explain}; new words {args.new_words:.0%}; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")  # fmt: skip
    header = f"{'rows':>10}  {'run':<34} {'rows/s':>9} {'/cpu s':>9} {'peak MB':>8}"
    with tempfile.TemporaryDirectory(prefix="sw-nlp-bench-") as tmp:
        work = Path(tmp)
        ft_model = train_fasttext(rows, work)
        start_up(work, ft_model, args.repeat)
        print(header)
        print("-" * len(header))
        for n in args.sizes:
            src = work / f"in_{n}.csv"
            write_input(make_texts(rows, n, new_words=args.new_words), src)
            rounds = [
                one_round(args, n, src, work, ft_model, k if args.rounds > 1 else None)
                for k in range(args.rounds)
            ]
            if args.rounds > 1:
                medians(n, rounds)
            print(f"{'':>10}  load average after: {os.getloadavg()[0]:.1f}")
            print(flush=True)


def one_round(
    args: argparse.Namespace,
    n: int,
    src: Path,
    work: Path,
    ft_model: Path | None,
    round_no: int | None,
) -> dict[str, float]:
    """Every run on one size, one after the other: a round.

    Each run that is compared with the one-core default (``--workers 2``, two runs at once,
    the exact path, fastText) comes between two one-core runs, and is compared with their
    mean: on a virtual machine whose speed drifts by a quarter within minutes, a run compared
    with one made a minute or two before it measured the drift as much as the code. The
    one-core runs bracket them in turn (one, A, one, B, one, ...), so each costs one more."""
    figures: dict[str, float] = {}
    show = _reporter(n, figures, "" if round_no is None else f"[{round_no + 1}] ")
    explain = ["--explain", str(args.explain)]
    one_core: list[dict[str, float]] = []

    def single() -> dict[str, float]:
        one_core.append(run_sw_nlp(src, work / "out.csv", explain, one_core=True))
        return one_core[-1]

    def fasttext() -> dict[str, float]:
        assert ft_model is not None
        return _run(
            [*_pin(True), sys.executable, "-c", _FASTTEXT, str(ft_model), str(src),
             str(work / "ft_out.csv")]
        )  # fmt: skip

    compared: list[tuple[str, str, Any]] = [
        ("fast2", "sw-nlp fast path, --workers 2",
         lambda: run_sw_nlp(src, work / "out.csv", [*explain, "--workers", "2"], False)),
    ]  # fmt: skip
    if args.explain > 0:  # what explaining costs, against the same bracketing runs
        compared.append(("plain", "sw-nlp fast path, --explain 0",
                         lambda: run_sw_nlp(src, work / "out.csv", ["--explain", "0"],
                                            one_core=True)))  # fmt: skip
    if shutil.which("taskset") and len(os.sched_getaffinity(0)) >= 2:
        compared.append(("pair", "two 1-core runs at once",
                         lambda: run_side_by_side(src, work, explain)))  # fmt: skip
    if n <= args.exact_max:
        compared.append(("exact", "sw-nlp exact path, 1 core",
                         lambda: run_sw_nlp(src, work / "out.csv", [*explain, "--exact-path"],
                                            one_core=True)))  # fmt: skip
    if ft_model is not None:
        compared.append(("ft", "fastText end to end, 1 core", fasttext))
    before = single()
    for key, name, run in compared:
        r = run()
        show(name, r, key)
        if key == "fast2":
            print(f"{'':>10}  {'  (each worker process, peak)':<34} {'':>9} {'':>9} "
                  f"{r['workers_peak_kb'] / 1024:>8,.0f}")  # fmt: skip
        if key == "ft":
            figures["ft_predict"] = n / r["predict_seconds"]
            print(f"{n:>10,}  {'fastText predict() only, 1 core':<34} "
                  f"{figures['ft_predict']:>9,.0f} {'':>8}")  # fmt: skip
        after = single()
        # The one-core rate around this run: the mean time of the runs before and after it.
        for suffix, field in (("", "seconds"), ("_cpu", "cpu_seconds")):
            figures[f"fast@{key}{suffix}"] = 2 * n / (before[field] + after[field])
        before = after
    show(
        f"sw-nlp fast path, 1 core (×{len(one_core)})",
        {
            "seconds": statistics.mean(r["seconds"] for r in one_core),
            "cpu_seconds": statistics.mean(r["cpu_seconds"] for r in one_core),
            "peak_kb": max(r["peak_kb"] for r in one_core),
        },
        "fast",
    )
    print(f"{'':>10}  one-core runs, rows/s in order: "
          + ", ".join(f"{n / r['seconds']:,.0f}" for r in one_core))  # fmt: skip
    print(f"{'':>10}  ratios: " + "; ".join(f"{k} {v:.2f}" for k, v in ratios(figures).items()))
    return figures


def ratios(figures: dict[str, float]) -> dict[str, float]:
    """Each run against the one-core runs just before and after it (see ``one_round``)."""

    def against_one_core(key: str, suffix: str = "") -> float:
        return figures[f"{key}{suffix}"] / figures[f"fast@{key}{suffix}"]

    out = {"2 workers / 1 core": against_one_core("fast2")}
    if "plain" in figures:  # how much longer the default takes than without explanations
        out["1 core: default time / --explain 0 time"] = against_one_core("plain")
    if "pair" in figures:
        out["two runs at once / 1 core"] = against_one_core("pair")
        out["2 workers / two runs at once"] = out["2 workers / 1 core"] / against_one_core("pair")
    if "exact" in figures:
        out["fast / exact"] = 1 / against_one_core("exact")
    if "ft" in figures:
        out["fast / fastText end to end"] = 1 / against_one_core("ft")
        out["same per CPU second"] = 1 / against_one_core("ft", "_cpu")
        out["fast / fastText predict()"] = figures["fast@ft"] / figures["ft_predict"]
    return out


def medians(n: int, rounds: list[dict[str, float]]) -> None:
    """The median of each figure over the rounds, and the median of each round's ratio."""
    names = {
        "fast": "sw-nlp fast path, 1 core",
        "fast2": "sw-nlp fast path, --workers 2",
        "plain": "sw-nlp fast path, --explain 0",
        "pair": "two 1-core runs at once",
        "exact": "sw-nlp exact path, 1 core",
        "ft": "fastText end to end, 1 core",
    }
    print(f"{'':>10}  median of {len(rounds)} rounds (rows/s, rows per CPU s):")
    for key, name in names.items():
        if key in rounds[0]:
            wall = statistics.median(r[key] for r in rounds)
            cpu = statistics.median(r[f"{key}_cpu"] for r in rounds)
            print(f"{n:>10,}  {name:<34} {wall:>9,.0f} {cpu:>9,.0f}")
    per_round = [ratios(r) for r in rounds]
    print(f"{'':>10}  median ratios: " + "; ".join(
        f"{k} {statistics.median(r[k] for r in per_round):.2f} "
        f"({min(r[k] for r in per_round):.2f}-{max(r[k] for r in per_round):.2f})"
        for k in per_round[0]
    ))  # fmt: skip


if __name__ == "__main__":
    main()
