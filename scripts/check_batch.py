"""Check one hand-written batch of new corpus cases before it joins the corpus.

Writers run this after every batch of 20-40 cases. It catches what a writer cannot see while
writing one case at a time: invalid JSON, label/method pairs outside the contract, label words
inside a text, near-duplicates of the corpus or of the writer's own earlier cases, repeated
openings (a template creeping in), and where the batch stands on length and on how each actor
or place word spreads over the levels.

    python scripts/check_batch.py data/corpus/parts/w1.jsonl

A batch is JSON Lines, one case per line:
    {"text": ..., "level": ..., "method": ..., "register": ..., "topic": ..., "region": ...,
     "hard": true|false}
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from sw_nlp.corpus import read_corpus_frame, text_key
from sw_nlp.labels import LABEL_WORDS, LEVELS, METHODS_BY_LEVEL
from sw_nlp.validate import actor_spread, shingles

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus" / "cases.csv"
FIELDS = ("text", "level", "method", "register", "topic", "region", "hard")
NEAR = 0.3

def read_batch(path: Path) -> tuple[list[dict], list[str]]:
    cases, errors = [], []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {no}: invalid JSON ({exc.msg})")
            continue
        if not isinstance(case, dict):
            errors.append(f"line {no}: not a JSON object")
            continue
        missing = [f for f in FIELDS if f not in case]
        if missing:
            errors.append(f"line {no}: missing {', '.join(missing)}")
            continue
        case["_line"] = no
        cases.append(case)
    return cases, errors


def check(path: Path) -> int:
    cases, errors = read_batch(path)
    for c in cases:
        no, text, level = c["_line"], str(c["text"]), c["level"]
        if level not in LEVELS:
            errors.append(f"line {no}: level {level!r} is not one of {', '.join(LEVELS)}")
        elif c["method"] not in METHODS_BY_LEVEL[level]:
            errors.append(f"line {no}: method {c['method']!r} not valid for {level}")
        if m := LABEL_WORDS.search(text):
            errors.append(f"line {no}: label word {m.group(0)!r} in the text")
        n = len(text.split())
        if not 8 <= n <= 180:
            errors.append(f"line {no}: {n} words (8-180 allowed)")
        if not isinstance(c["hard"], bool):
            errors.append(f"line {no}: hard must be true or false")
        for f in ("register", "topic", "region"):
            if not str(c[f]).strip():
                errors.append(f"line {no}: empty {f}")

    corpus = read_corpus_frame(CORPUS)
    others = corpus["text"].tolist()
    other_levels = corpus["level"].tolist()
    # other writers' batches count too, so two writers cannot converge unseen; batches already
    # merged into the corpus are counted once
    merged = {text_key(t) for t in others}
    for other in sorted(path.parent.glob("*.jsonl")):
        if other.resolve() != path.resolve():
            done = [c for c in read_batch(other)[0] if text_key(str(c["text"])) not in merged]
            others += [str(c["text"]) for c in done]
            other_levels += [str(c["level"]) for c in done]
    index: dict[tuple[str, ...], set[int]] = defaultdict(set)
    other_sets = [shingles(t) for t in others]
    for i, s in enumerate(other_sets):
        for g in s:
            index[g].add(i)
    own_sets: list[set] = []
    for c in cases:
        s = shingles(str(c["text"]))
        shared: Counter[int] = Counter()
        for g in s:
            for i in index.get(g, ()):
                shared[i] += 1
        for i, k in shared.items():
            score = k / (len(other_sets[i]) + len(s) - k)
            if score >= NEAR:
                errors.append(
                    f"line {c['_line']}: near-duplicate of an existing text (Jaccard {score:.2f}): "
                    f"{others[i][:70]!r}"
                )
        for j, prev in enumerate(own_sets):
            k = len(s & prev)
            if k and k / (len(s) + len(prev) - k) >= NEAR:
                errors.append(
                    f"line {c['_line']}: near-duplicate of line {cases[j]['_line']} in this batch"
                )
        own_sets.append(s)

    openings = Counter(" ".join(str(c["text"]).lower().split()[:3]) for c in cases)
    for opening, n in openings.items():
        if n > 3:
            errors.append(f"{n} texts open with {opening!r} (at most 3): vary the openings")

    for e in errors:
        print("ERROR", e)
    words = [len(str(c["text"]).split()) for c in cases]
    short = sum(10 <= w <= 40 for w in words)
    print(f"\n{len(cases)} cases; levels {dict(Counter(c['level'] for c in cases))}")
    print(f"registers {dict(Counter(c['register'] for c in cases))}")
    if cases:
        print(f"10-40 words: {short} ({short / len(cases):.0%}; aim for at least 40%)")
    texts = others + [str(c["text"]) for c in cases]
    levels = other_levels + [c["level"] for c in cases]
    print("\nactor/place word spread, corpus + every batch (goal: no level above 55%):")
    mine = actor_spread([str(c["text"]) for c in cases], [c["level"] for c in cases])
    print("(and in this batch alone: " + "; ".join(
        f"{name} {n} (top {max(s, key=s.get)} {max(s.values()):.0%})" for name, n, s in mine if n
    ) + ")")
    for name, n, shares in actor_spread(texts, levels):
        top = max(shares, key=shares.get)
        flag = "  <-- over 55%" if n >= 30 and shares[top] > 0.55 else ""
        cells = " ".join(f"{lv} {shares[lv]:.0%}" for lv in LEVELS)
        print(f"  {name:28s} n={n:5d}  {cells}{flag}")
    print(f"\n{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(check(Path(sys.argv[1])))
