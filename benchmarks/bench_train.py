"""Time ``sw-nlp train`` by stage, on the corpus or on a stratified sample of it.

    python benchmarks/bench_train.py                      # the whole corpus
    python benchmarks/bench_train.py --rows 5000          # a 5,000-case sample (seed 0)

Each stage is timed from the training log (every fold, the final fit, calibration, the test
split, each learning-curve fit, the report), so the figures are what a user waits for. The
bundle goes to a temporary folder, and the trust store to a temporary file, so nothing of the
checkout or the user's configuration is touched.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent


def sample_corpus(corpus: Path, rows: int, out: Path) -> Path:
    """``rows`` cases drawn at random (seed 0), in corpus order: both splits keep their share."""
    frame = pd.read_csv(corpus, dtype=str, keep_default_na=False)
    frame.sample(rows, random_state=0).sort_index().to_csv(out, index=False, lineterminator="\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "corpus" / "cases.csv")
    parser.add_argument("--rows", type=int, default=None, help="sample this many cases")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sw-nlp-bench-train-"))
    os.environ["SW_NLP_TRUST_FILE"] = str(work / "trusted.json")
    data = sample_corpus(args.data, args.rows, work / "cases.csv") if args.rows else args.data

    started = time.perf_counter()

    class Elapsed(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"{time.perf_counter() - started:7.1f} s  {record.getMessage()}"

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(Elapsed())
    root = logging.getLogger("sw_nlp")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False

    from sw_nlp.config import Config
    from sw_nlp.workflows import run_training

    manifest = run_training(data, work / "model", Config())
    total = time.perf_counter() - started
    print(
        f"{manifest['corpus']['rows']} cases ({manifest['corpus']['train']} train): "
        f"{total:.1f} s in all, {manifest['metrics']['train_seconds']:.1f} s training; "
        f"bundle in {work / 'model'}"
    )


if __name__ == "__main__":
    main()
