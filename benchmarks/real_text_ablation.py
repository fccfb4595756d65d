"""Ablation on real text: which corpus, settings and calibration help on texts written by
others. Run on demand (minutes); needs the rebuilt real-text yardstick (scripts/real_text.py).

    python -m benchmarks.real_text_ablation                # dev split, every variant
    python -m benchmarks.real_text_ablation --only C=10    # one variant
    python -m benchmarks.real_text_ablation --split test   # the locked test set: rarely

Each variant is fitted once on the corpus train split with fixed settings (no grid search), then
scored on the real set and on the corpus test split. Printed: macro-F1, accuracy, ECE, the
share flagged at the configured threshold and the accuracy of the rest, and the lowest threshold
at which unflagged rows are 95% right with the share it flags.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from sw_nlp.config import Config
from sw_nlp.corpus import load_corpus, read_labelled
from sw_nlp.evaluate import score_labelled
from sw_nlp.train import train

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus" / "cases.csv"
REAL = ROOT / "data" / "real" / "private"


def fixed(cfg: Config, **model: float) -> Config:
    """One grid point: model selection has a single setting to try."""
    search = {"C": (model.get("C", cfg.model.C),)}
    for axis in ("stem", "remove_stopwords"):
        if len(getattr(cfg.search, axis)) > 1:
            search[axis] = (False,)
    return cfg.replace(search=search)


RAW = Config().replace(calibration={"method": "none"})

VARIANTS: dict[str, Config] = {
    "C=1": fixed(RAW, C=1.0),
    "C=3": fixed(RAW, C=3.0),
    "C=10": fixed(RAW, C=10.0),
    "C=30": fixed(RAW, C=30.0),
    "C=3 word 1-1": fixed(RAW.replace(search={"word_ngrams": ((1, 1),)}), C=3.0),
    "C=3 word 1-3": fixed(RAW.replace(search={"word_ngrams": ((1, 3),)}), C=3.0),
    "C=3 char 3-5": fixed(RAW.replace(search={"char_ngrams": ((3, 5),)}), C=3.0),
    "C=3 char 1-4": fixed(RAW.replace(search={"char_ngrams": ((1, 4),)}), C=3.0),
    "C=3 min_df 1": fixed(RAW.replace(search={"min_df": (1,)}), C=3.0),
    "C=3 min_df 3": fixed(RAW.replace(search={"min_df": (3,)}), C=3.0),
    "C=3 stem": fixed(RAW.replace(search={"stem": (True,)}), C=3.0),
    "C=3 stopwords": fixed(RAW.replace(search={"remove_stopwords": (True,)}), C=3.0),
    "C=3 no class weight": fixed(RAW.replace(model={"class_weight": None}), C=3.0),
    "C=3 T(hard_or_short)": fixed(Config(), C=3.0),
    "C=3 T(all)": fixed(Config().replace(calibration={"fit_on": "all"}), C=3.0),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    parser.add_argument("--only", action="append", help="variant name(s) to run")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    real = read_labelled(REAL / f"real_{args.split}.csv")
    corpus = load_corpus(args.corpus)
    test = corpus[corpus["split"] == "test"]
    print(f"corpus {args.corpus.name}: {len(corpus)} rows; real {args.split}: {len(real)} rows")
    header = (
        f"{'variant':24s} {'real F1':>7s} {'acc':>6s} {'ECE':>6s} {'flag':>5s} {'rest':>6s} "
        f"{'th95':>5s} {'flag95':>6s} | {'test F1':>7s} {'T':>6s} {'sec':>5s}"
    )
    print(header)
    rows = []
    for name, cfg in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        result = train(corpus, cfg)
        r = score_labelled(result.classifier, real)
        t = score_labelled(result.classifier, test)
        best = r["threshold_for_target"]
        temperature = result.extra.get("calibration", {}).get("temperature", 1.0)
        line = (
            f"{name:24s} {r['macro_f1']:7.3f} {r['accuracy']:6.3f} {r['calibration']['ece']:6.3f} "
            f"{r['at_threshold']['to_review']:5.2f} {r['at_threshold']['accuracy_of_rest'] or 0:6.3f} "
            f"{best['threshold'] or 0:5.2f} {best['to_review']:6.2f} | {t['macro_f1']:7.3f} "
            f"{temperature:6.3f} {time.perf_counter() - started:5.0f}"
        )
        print(line, flush=True)
        rows.append({"variant": name, "real_macro_f1": r["macro_f1"], "test_macro_f1": t["macro_f1"]})
    pd.DataFrame(rows)


if __name__ == "__main__":
    main()
