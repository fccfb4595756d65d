"""Check a labelled corpus, as a DataFrame, against the contract before anything trains on it.

Reading the file is ``sw_nlp.corpus``'s job (``validate_corpus`` reads and checks); every
function here takes a DataFrame. Every problem names its row and column. Rows are numbered as a spreadsheet shows them: the
header is row 1, the first case row 2.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sw_nlp.labels import ALIASES, COLUMNS, LABEL_WORDS, LEVELS, METHODS_BY_LEVEL, SPLITS

NEAR_DUPLICATE_JACCARD = 0.5
SHINGLE = 5
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    message: str
    severity: str = "error"  # "error" fails validation; "note" is reported only

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self, path: Path | str) -> str:
        where = ":".join(str(p) for p in (path, self.row, self.column) if p is not None)
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Summary:
    rows: int
    per_level: dict[str, int]
    per_register: dict[str, int]
    per_split: dict[str, int]
    words_min: int
    words_median: float
    words_max: int
    share_under_30: float
    share_over_120: float

    def lines(self) -> list[str]:
        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in counts.items())

        return [
            f"rows: {self.rows}",
            f"levels: {fmt(self.per_level)}",
            f"registers: {fmt(self.per_register)}",
            f"splits: {fmt(self.per_split)}",
            f"words per text: min {self.words_min}, median {self.words_median:g}, "
            f"max {self.words_max}; under 30: {self.share_under_30:.0%}, "
            f"over 120: {self.share_over_120:.0%}",
        ]


def sheet_row(index: int) -> int:
    return index + 2


def validate_frame(frame: pd.DataFrame, check_duplicates: bool = True) -> list[Problem]:
    """Every problem of a corpus read as strings, errors and notes, in row order.

    On a DataFrame rather than a file, so that loading, ``retrain --add`` and the checks of a
    single batch share one set of rules. ``check_duplicates=False`` skips the near-duplicate
    search, which is the slow part and only matters for the corpus as a whole.
    """
    problems: list[Problem] = []
    columns = list(frame.columns)
    for missing in [c for c in COLUMNS if c not in columns]:
        problems.append(Problem(1, missing, "missing column"))
    for extra in [c for c in columns if c not in COLUMNS]:
        problems.append(Problem(1, extra, "unexpected column"))
    if [c for c in columns if c in COLUMNS] != [c for c in COLUMNS if c in columns]:
        problems.append(Problem(1, None, f"columns out of order (expected {', '.join(COLUMNS)})"))
    if problems and any(p.message == "missing column" for p in problems):
        present = set(columns)
    else:
        present = set(COLUMNS)

    if "case_id" in present:
        ids = frame["case_id"].str.strip()
        first_seen: dict[str, int] = {}
        for i, case_id in ids.items():
            if not case_id:
                problems.append(Problem(sheet_row(i), "case_id", "empty id"))
            elif case_id in first_seen:
                problems.append(
                    Problem(
                        sheet_row(i),
                        "case_id",
                        f"duplicate id {case_id!r} (first at row {first_seen[case_id]})",
                    )
                )
            else:
                first_seen[case_id] = sheet_row(i)

    for i, row in frame.iterrows():
        problems.extend(_row_problems(sheet_row(int(i)), row, present))

    if check_duplicates and "text" in present:
        splits = frame["split"] if "split" in present else pd.Series([""] * len(frame))
        labels = frame["level"] if "level" in present else pd.Series([""] * len(frame))
        for a, b, score in near_duplicates(frame["text"].tolist()):
            across = splits.iloc[a].strip() != splits.iloc[b].strip()
            kind = "across the train/test boundary" if across else "in the same split"
            relabel = "" if labels.iloc[a] == labels.iloc[b] else ", with different labels"
            problems.append(
                Problem(
                    sheet_row(b),
                    "text",
                    f"near-duplicate of row {sheet_row(a)} {kind}{relabel} "
                    f"(word {SHINGLE}-gram Jaccard {score:.2f})",
                )
            )
    return problems


def _row_problems(row_no: int, row: pd.Series, present: set[str]) -> list[Problem]:
    out: list[Problem] = []
    level: str | None = None
    if "text" in present:
        text = row["text"]
        if not text.strip():
            out.append(Problem(row_no, "text", "empty text"))
        elif match := LABEL_WORDS.search(text):
            out.append(Problem(row_no, "text", f"label word {match.group(0)!r} inside the text"))
    if "level" in present:
        raw = row["level"]
        level = ALIASES.get(raw.strip().lower())
        if level is None:
            out.append(
                Problem(row_no, "level", f"unknown label {raw!r} (expected {', '.join(LEVELS)})")
            )
        elif raw != level:
            out.append(Problem(row_no, "level", f"alias {raw!r} read as {level!r}", "note"))
    if "method" in present and level is not None:
        method = row["method"].strip()
        if method not in METHODS_BY_LEVEL[level]:
            valid = ", ".join(sorted(METHODS_BY_LEVEL[level]))
            out.append(
                Problem(row_no, "method", f"method {method!r} not valid for {level} ({valid})")
            )
    for column in ("register", "topic", "region"):
        if column in present and not row[column].strip():
            out.append(Problem(row_no, column, f"empty {column}"))
    if "hard" in present and row["hard"].strip().lower() not in ("true", "false"):
        out.append(Problem(row_no, "hard", f"expected true or false, got {row['hard']!r}"))
    if "split" in present and row["split"].strip().lower() not in SPLITS:
        out.append(Problem(row_no, "split", f"expected train or test, got {row['split']!r}"))
    return out


def shingles(text: str, size: int = SHINGLE) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def near_duplicates(
    texts: list[str], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[tuple[int, int, float]]:
    """Pairs (earlier, later, Jaccard) of texts sharing most of their word 5-grams.

    An inverted index over shingles keeps this near-linear: only texts that share a shingle
    are ever compared.
    """
    sets = [shingles(t) for t in texts]
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    pairs: list[tuple[int, int, float]] = []
    for b, s in enumerate(sets):
        shared: Counter[int] = Counter()
        for g in s:
            for a in index[g]:
                if a < b:
                    shared[a] += 1
                else:
                    break
        for a, common in shared.items():
            score = common / (len(sets[a]) + len(s) - common)
            if score >= threshold:
                pairs.append((a, b, score))
    return sorted(pairs, key=lambda p: (p[1], p[0]))


def summarise(frame: pd.DataFrame) -> Summary:
    words = frame["text"].str.split().str.len().fillna(0).astype(int)

    def counts(column: str) -> dict[str, int]:
        if column not in frame.columns:
            return {}
        return {str(k): int(v) for k, v in frame[column].value_counts().sort_index().items()}

    per_level = counts("level")
    per_level = {lv: per_level[lv] for lv in LEVELS if lv in per_level} | {
        k: v for k, v in per_level.items() if k not in LEVELS
    }
    n = max(len(frame), 1)
    return Summary(
        rows=len(frame),
        per_level=per_level,
        per_register=counts("register"),
        per_split=counts("split"),
        words_min=int(words.min()) if len(words) else 0,
        words_median=float(words.median()) if len(words) else 0.0,
        words_max=int(words.max()) if len(words) else 0,
        share_under_30=float((words < 30).sum() / n),
        share_over_120=float((words > 120).sum() / n),
    )


# Actor and place words whose level spread the corpus must keep even: for each one in 30 or
# more texts, no level may hold more than 55% of them.
ACTOR_WORDS: dict[str, str] = {
    "dinas sosial": r"\bdinas sosial\b|\bdinsos\b",
    "kemensos": r"\bkemensos\b|\bkementerian sosial\b",
    "bnn": r"\bbnn[pk]?\b",
    "dp3a/uptd ppa": r"\bdp3a\b|\bdppppa\b|\buptd ppa\b|\bdinas pemberdayaan perempuan",
    "pemkab/pemkot/pemprov": r"\bpemkab\b|\bpemkot\b|\bpemprov\b|\bpemerintah (kabupaten|kota|provinsi)\b",
    "bupati/wali kota/gubernur": r"\bbupati\b|\bwali ?kota\b|\bgubernur\b",
    "kpai": r"\bkpai\b",
    "komnas ham": r"\bkomnas ham\b",
    "baznas": r"\bbaznas\b",
    "lks/lsm/yayasan": r"\blks\b|\blsm\b|\byayasan\b",
    "un agency": r"\bunicef\b|\bilo\b|\biom\b|\bunhcr\b|\bwho\b|\bpbb\b|\bundp\b|\bunfpa\b",
    "kabupaten": r"\bkabupaten\b|\bkab\.",
    "kota": r"\bkota\b",
    "provinsi": r"\bprovinsi\b",
    "kecamatan": r"\bkecamatan\b|\bkec\.",
    "desa/kelurahan": r"\bdesa\b|\bkelurahan\b",
    "rt/rw": r"\brt\b|\brw\b",
    "sekolah": r"\bsekolah\b|\bsmp\b|\bsma\b|\bsd\b|\bmts\b|\bmadrasah\b|\bpesantren\b",
    "puskesmas": r"\bpuskesmas\b",
    "panti": r"\bpanti\b|\blksa\b",
    "indonesia": r"\bindonesia\b",
    "nasional": r"\bnasional\b",
    "seluruh": r"\bseluruh\b",
}


def actor_spread(
    texts: list[str], levels: list[str]
) -> list[tuple[str, int, dict[str, float]]]:
    """For each actor or place word: how many texts hold it and each level's share of them.

    A word that one level owns is a shortcut the model will learn: the actor's level voting
    instead of the target's.
    """
    rows = []
    for name, pattern in ACTOR_WORDS.items():
        rx = re.compile(pattern, re.IGNORECASE)
        hits = Counter(lv for t, lv in zip(texts, levels, strict=True) if rx.search(t))
        n = sum(hits.values())
        rows.append((name, n, {lv: hits[lv] / n if n else 0.0 for lv in LEVELS}))
    return rows
