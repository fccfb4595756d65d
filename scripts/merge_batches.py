"""Append the writers' checked batches (data/corpus/parts/*.jsonl) to the corpus.

Each batch gets the next case ids in file order and a test split drawn once: 20% of every
(level, register) cell within the batch, seed 2026, as the first corpus was split. Rows whose
normalised text the corpus already has are skipped and counted. Run `sw-nlp data validate`
afterwards.

    python scripts/merge_batches.py [--dry-run] data/corpus/parts/w1.jsonl ...
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import pandas as pd

from sw_nlp.corpus import read_corpus_frame, text_key
from sw_nlp.labels import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus" / "cases.csv"
SEED = 2026
TEST_SHARE = 0.2


def split_batch(cases: list[dict], rng: random.Random) -> list[str]:
    cells: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(cases):
        cells.setdefault((c["level"], c["register"]), []).append(i)
    splits = ["train"] * len(cases)
    for key in sorted(cells):
        members = cells[key][:]
        rng.shuffle(members)
        for i in members[: round(len(members) * TEST_SHARE)]:
            splits[i] = "test"
    return splits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("batches", nargs="+", type=Path)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--out", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    corpus = read_corpus_frame(CORPUS)
    seen = {text_key(t) for t in corpus["text"]}
    number = int(corpus["case_id"].str.extract(r"^SW-(\d+)$")[0].astype(int).max()) + 1
    rng = random.Random(SEED)
    new_rows, skipped = [], 0
    for batch in args.batches:
        cases = [json.loads(line) for line in batch.read_text("utf-8").splitlines() if line.strip()]
        for case, split in zip(cases, split_batch(cases, rng), strict=True):
            key = text_key(case["text"])
            if key in seen:
                skipped += 1
                continue
            seen.add(key)
            new_rows.append(
                {
                    "case_id": f"SW-{number:05d}",
                    "text": case["text"].strip(),
                    "level": case["level"],
                    "method": case["method"],
                    "register": case["register"],
                    "topic": case["topic"],
                    "region": case["region"],
                    "hard": "true" if case["hard"] else "false",
                    "split": split,
                }
            )
            number += 1
    merged = pd.concat([corpus, pd.DataFrame(new_rows, columns=list(COLUMNS))], ignore_index=True)
    print(f"{len(new_rows)} new cases ({skipped} already in the corpus); {len(merged)} in all")
    if not args.dry_run:
        merged.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
