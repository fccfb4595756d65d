"""Train the sw-nlp pipeline on public Indonesian benchmarks and compare with a paper's table.

    python -m benchmarks.public [--data DIR] [--grid wide|default]

Uses the same code path and model selection as ``sw-nlp train`` (``sw_nlp.train.train``);
only the data, the label set and the search grid differ. Each dataset's official ``valid``
split chooses the settings, the model is fitted on ``train`` and scored once on ``test`` —
the protocol of the NusaX paper. Results are printed and written to ``RESULTS.md`` here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from sw_nlp.config import Config
from sw_nlp.evaluate import macro_f1
from sw_nlp.train import train

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent.parent / "shared" / "benchmarks"

# Published test macro-F1 (Indonesian column of the NusaX paper, Winata et al., EACL 2023).
DATASETS = {
    "nusax-senti-ind": {
        "title": "NusaX sentiment, Indonesian",
        "published": {
            "naive Bayes (word counts)": 73.1,
            "logistic regression (word counts)": 74.7,
            "SVM (linear, TF-IDF)": 78.7,
            "IndoBERT-base": 90.0,
            "IndoBERT-large": 90.2,
            "XLM-R-large": 91.6,
        },
    },
}

GRIDS = {
    "default": {},
    "wide": {
        "C": (1.0, 3.0, 10.0, 30.0, 100.0),
        "stem": (False, True),
        "remove_stopwords": (False, True),
        "word_ngrams": ((1, 1), (1, 2)),
        "char_ngrams": ((1, 4), (2, 5), (2, 6)),
        "min_df": (1, 2),
    },
}


def load_dataset(folder: Path) -> pd.DataFrame:
    parts = []
    for split in ("train", "valid", "test"):
        path = folder / f"{split}.csv"
        if not path.is_file():
            raise FileNotFoundError(path)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        parts.append(
            pd.DataFrame({"text": frame["text"], "level": frame["label"], "split": split})
        )
    return pd.concat(parts, ignore_index=True)


def run(name: str, folder: Path, grid: str) -> dict:
    data = load_dataset(folder)
    cfg = Config().replace(search=GRIDS[grid]) if GRIDS[grid] else Config()
    started = time.perf_counter()
    result = train(data, cfg)
    test = data[data["split"] == "test"]
    pred = result.classifier.predict(test["text"].tolist())
    score = 100 * macro_f1(test["level"].tolist(), pred, result.labels)
    chosen = result.config
    return {
        "name": name,
        "macro_f1": score,
        "valid_macro_f1": 100 * result.cv["macro_f1_mean"],
        "settings": len(result.cv["grid"]),
        "seconds": time.perf_counter() - started,
        "chosen": f"C={chosen.model.C:g}, stem={chosen.preprocess.stem}, stopwords={chosen.preprocess.remove_stopwords}, "
        f"word {tuple(chosen.features.word_ngrams)}, char {tuple(chosen.features.char_ngrams)}, min_df={chosen.features.min_df}",
    }


def table(results: list[dict]) -> str:
    lines = []
    for r in results:
        spec = DATASETS[r["name"]]
        rows = sorted(
            [
                *spec["published"].items(),
                ("**sw-nlp (TF-IDF word+char, logistic regression)**", r["macro_f1"]),
            ],
            key=lambda kv: kv[1],
        )
        lines += [
            f"### {spec['title']} (`{r['name']}`)",
            "",
            "| model | test macro-F1 |",
            "| --- | --- |",
        ]
        lines += [f"| {m} | {v:.1f} |" for m, v in rows]
        lines += [
            "",
            f"sw-nlp settings chosen on `valid` (macro-F1 {r['valid_macro_f1']:.1f}) among {r['settings']}: {r['chosen']}; "
            f"{r['seconds']:.0f} s on this machine.",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding the dataset folders"
    )
    parser.add_argument("--grid", choices=sorted(GRIDS), default="wide")
    args = parser.parse_args()
    results = []
    for name in DATASETS:
        folder = args.data / name
        if not (folder / "train.csv").is_file():
            print(
                f"error: {name}: expected {folder}/train.csv, valid.csv, test.csv "
                f"(columns id,text,label); pass --data DIR",
                file=sys.stderr,
            )
            return 2
        results.append(run(name, folder, args.grid))
    text = table(results)
    print(text)
    (HERE / "RESULTS.md").write_text(
        "# Public benchmark results\n\nWritten by `python -m benchmarks.public`; published figures from the "
        "NusaX paper (Winata et al., EACL 2023), test macro-F1 ×100.\n\n" + text,
        "utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
