"""What each round of corpus writing was worth on real text: the same settings (the shipped
config) trained on the corpus as it stood after each round, scored on the real-text dev split.

    python -m benchmarks.real_text_rounds          # needs data/real/private (scripts/real_text.py)

Rounds are ranges of case ids: version 1 (SW-00001..02760), round 2 (..05513), round 3
(..06263), round 4 (..06953). The test split of each row is its own; the real dev set is fixed.
"""

from __future__ import annotations

from pathlib import Path

from sw_nlp.config import Config
from sw_nlp.corpus import load_corpus, read_labelled
from sw_nlp.evaluate import score_labelled
from sw_nlp.train import train

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = {"version 1": 2760, "+ round 2": 5513, "+ round 3": 6263, "+ round 4": 6953}


def main() -> None:
    corpus = load_corpus(ROOT / "data" / "corpus" / "cases.csv")
    dev = read_labelled(ROOT / "data" / "real" / "private" / "real_dev.csv")
    number = corpus["case_id"].str[3:].astype(int)
    print(f"{'corpus':12s} {'cases':>6s} {'real F1':>7s} {'ECE':>6s} {'th95':>5s} {'flag95':>6s} {'test F1':>7s}")
    for name, last in ROUNDS.items():
        part = corpus[number <= last]
        result = train(part, Config())
        real = score_labelled(result.classifier, dev)
        test = score_labelled(result.classifier, part[part["split"] == "test"])
        best = real["threshold_for_target"]
        print(
            f"{name:12s} {len(part):6d} {real['macro_f1']:7.3f} {real['calibration']['ece']:6.3f} "
            f"{best['threshold'] or 0:5.2f} {best['to_review']:6.2f} {test['macro_f1']:7.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
