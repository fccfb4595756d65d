"""The real-text yardstick: passages from public Indonesian web pages, kept out of git.

The passages belong to their publishers. The repository holds only ``data/real/manifest.csv``:
for each passage its source URL, a few locator words at each end, the sha256 of the passage and
our labels. This script turns the manifest back into the texts, in the git-ignored folder
``data/real/private/``, by finding each passage at its source again and checking its hash, so
anyone can rebuild the yardstick without the texts ever entering the repository.

    python scripts/real_text.py rebuild            # pages cached in data/real/private/pages/
    python scripts/real_text.py rebuild --fetch    # or download each page (needs the internet)
    python scripts/real_text.py manifest           # collectors' files -> manifest (maintainers)
    python scripts/real_text.py agreement          # kappa of the two annotation passes

``rebuild`` writes ``data/real/private/real.csv`` (id, text, level, register, split) and one
file per split, ``real_dev.csv`` and ``real_test.csv``: the files ``sw-nlp evaluate --data``
scores and the tests that need real text look for.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import re
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "data" / "real"
PRIVATE = REAL / "private"
PAGES = PRIVATE / "pages"
MANIFEST = REAL / "manifest.csv"
OUT = PRIVATE / "real.csv"
LEVELS = ("mikro", "mezzo", "makro", "global")
LOCATOR_WORDS = 5
SEED = 2026
TEST_SHARE = 0.5

MANIFEST_COLUMNS = [
    "id",
    "url",
    "page_id",
    "locator_start",
    "locator_end",
    "words",
    "sha256",
    "level",
    "level_first",
    "level_second",
    "register",
    "source_kind",
    "split",
]


def normalize(text: str) -> str:
    """Whitespace collapsed: the only change allowed between a page and a passage."""
    return " ".join(text.split())


def digest(passage: str) -> str:
    return hashlib.sha256(normalize(passage).encode("utf-8")).hexdigest()


def candidates(page: str, start: str, end: str) -> Iterator[str]:
    """Every span of ``page`` that opens with ``start`` and closes with ``end``.

    Locator words can occur more than once on a page (a headline repeated in the lead); the
    sha256 decides which span is the passage.
    """
    page = normalize(page)
    at = page.find(start)
    while at != -1:
        stop = page.find(end, at)
        while stop != -1:
            if stop + len(end) >= at + len(start):
                yield page[at : stop + len(end)]
            stop = page.find(end, stop + 1)
        at = page.find(start, at + 1)


def locate(page: str, start: str, end: str, sha256: str) -> str | None:
    """The passage: the span between the locators whose hash is the recorded one."""
    return next((c for c in candidates(page, start, end) if digest(c) == sha256), None)


def page_text(row: pd.Series, fetch: bool) -> str | None:
    cached = PAGES / f"{row['page_id']}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))["text"]
    if not fetch:
        return None
    request = urllib.request.Request(row["url"], headers={"User-Agent": "sw-nlp-yardstick/1"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (http/https only)
        raw = response.read().decode("utf-8", errors="replace")
    raw = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", raw)
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def rebuild(fetch: bool) -> int:
    manifest = pd.read_csv(MANIFEST, dtype=str, keep_default_na=False)
    rows, missing, mismatched = [], [], []
    for _, row in manifest.iterrows():
        try:
            page = page_text(row, fetch)
        except OSError as exc:
            print(f"{row['id']}: could not fetch {row['url']} ({exc})", file=sys.stderr)
            page = None
        if not page:
            missing.append(row["id"])
            continue
        passage = locate(page, row["locator_start"], row["locator_end"], row["sha256"])
        if passage is None:  # the page is there but no span between the locators matches
            mismatched.append(row["id"])
            continue
        rows.append(
            {
                "id": row["id"],
                "text": passage,
                "level": row["level"],
                "register": row["register"],
                "split": row["split"],
            }
        )
    PRIVATE.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(OUT, index=False)
    for split in ("dev", "test"):  # one file per split, for `sw-nlp evaluate --data`
        frame[frame["split"] == split].to_csv(PRIVATE / f"real_{split}.csv", index=False)
    print(
        f"wrote {OUT}: {len(rows)} of {len(manifest)} passages "
        f"({len(missing)} pages not available, {len(mismatched)} passages changed or gone)"
    )
    return 0 if rows else 1


def _collected() -> list[dict]:
    out = []
    for path in sorted(PRIVATE.glob("collect_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def _labels(name: str) -> dict[str, str]:
    """Labels by passage id from a private CSV (``second_pass.csv``, ``adjudicated.csv``)."""
    path = PRIVATE / name
    if not path.is_file():
        return {}
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return dict(zip(frame["id"], frame["level"].str.strip().str.lower(), strict=True))


def build_manifest() -> int:
    """From the collectors' files: locators, hashes, labels and a once-drawn dev/test split.

    An existing manifest keeps every passage's split: the locked test set never moves.
    """
    old = (
        pd.read_csv(MANIFEST, dtype=str, keep_default_na=False).set_index("id")
        if MANIFEST.is_file()
        else None
    )
    second, final = _labels("second_pass.csv"), _labels("adjudicated.csv")
    rows = []
    for item in _collected():
        passage = normalize(item["passage"])
        page = json.loads((PAGES / f"{item['page_id']}.json").read_text(encoding="utf-8"))
        words = passage.split()
        start = " ".join(words[:LOCATOR_WORDS])
        end = " ".join(words[-LOCATOR_WORDS:])
        if locate(page["text"], start, end, digest(passage)) != passage:
            print(f"{item['id']}: locators do not give the passage back; skipped", file=sys.stderr)
            continue
        first = item["label"].strip().lower()
        two = second.get(item["id"], "")
        level = final.get(item["id"]) or (first if not two or two == first else "")
        rows.append(
            {
                "id": item["id"],
                "url": item["url"],
                "page_id": item["page_id"],
                "locator_start": start,
                "locator_end": end,
                "words": len(words),
                "sha256": digest(passage),
                "level": level,
                "level_first": first,
                "level_second": two,
                "register": item.get("register", ""),
                "source_kind": item.get("source_kind", ""),
                "split": "",
            }
        )
    frame = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    if old is not None:
        known = frame["id"].isin(old.index)
        frame.loc[known, "split"] = old.loc[frame.loc[known, "id"], "split"].to_numpy()
    fresh = frame[frame["split"] == ""]
    rng = random.Random(SEED)
    for _, group in fresh.groupby(fresh["level_first"] + fresh["id"].str[:2]):
        ids = sorted(group["id"])
        rng.shuffle(ids)
        test = set(ids[: round(len(ids) * TEST_SHARE)])
        frame.loc[frame["id"].isin(ids), "split"] = [
            "test" if i in test else "dev" for i in frame.loc[frame["id"].isin(ids), "id"]
        ]
    frame.to_csv(MANIFEST, index=False)
    print(f"wrote {MANIFEST.relative_to(ROOT)}: {len(frame)} passages")
    print(frame.groupby(["split", "level"]).size().unstack(fill_value=0))
    return 0


def cohen_kappa(a: list[str], b: list[str]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def agreement() -> int:
    manifest = pd.read_csv(MANIFEST, dtype=str, keep_default_na=False)
    both = manifest[(manifest["level_first"] != "") & (manifest["level_second"] != "")]
    if both.empty:
        print("no passage has two labels yet")
        return 1
    a, b = both["level_first"].tolist(), both["level_second"].tolist()
    print(f"{len(both)} passages with two labels; agreement {sum(x == y for x, y in zip(a, b)) / len(a):.3f}")
    print(f"Cohen's kappa {cohen_kappa(a, b):.3f}")
    print(pd.crosstab(both["level_first"], both["level_second"]).reindex(LEVELS, fill_value=0))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rb = sub.add_parser("rebuild", help="manifest -> data/real/private/real.csv")
    rb.add_argument("--fetch", action="store_true", help="download pages not cached locally")
    sub.add_parser("manifest", help="collectors' files -> data/real/manifest.csv")
    sub.add_parser("agreement", help="Cohen's kappa of the two annotation passes")
    args = parser.parse_args(argv)
    if args.command == "rebuild":
        return rebuild(args.fetch)
    if args.command == "manifest":
        return build_manifest()
    return agreement()


if __name__ == "__main__":
    sys.exit(main())
