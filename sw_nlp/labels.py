"""The label contract in code: the levels, the words analysts may use for them, the methods
each level allows, and the corpus's columns.

The contract (``docs/annotation-guideline.md``) is the source of truth. This module holds
only constants and pure functions on labels, so that every module that needs the contract
(validation, loading, the model, training) can import it without importing each other.
"""

from __future__ import annotations

import re

LEVELS: tuple[str, ...] = ("mikro", "mezzo", "makro", "global")

ALIASES: dict[str, str] = {
    "micro": "mikro",
    "mikro": "mikro",
    "meso": "mezzo",
    "mezo": "mezzo",
    "mezzo": "mezzo",
    "macro": "makro",
    "makro": "makro",
    "global": "global",
    "internasional": "global",
    "international": "global",
}

METHODS_BY_LEVEL: dict[str, frozenset[str]] = {
    "mikro": frozenset({"casework_individual", "casework_family", "group_work"}),
    "mezzo": frozenset(
        {
            "mpok",
            "community_development",
            "community_education",
            "community_planning",
            "community_action",
            "social_marketing",
        }
    ),
    "makro": frozenset(
        {
            "community_development",
            "community_action",
            "social_marketing",
            "social_planning",
            "social_policy",
            "social_legislation",
        }
    ),
    "global": frozenset(
        {
            "international_social_policy",
            "international_legislation",
            "international_social_marketing",
        }
    ),
}

COLUMNS: tuple[str, ...] = (
    "case_id",
    "text",
    "level",
    "method",
    "register",
    "topic",
    "region",
    "hard",
    "split",
)
SPLITS: tuple[str, ...] = ("train", "test")

# The label words themselves (and their English and alternative spellings) give the answer away.
LABEL_WORDS = re.compile(r"\b(mikro|micro|mezzo|mezo|meso|makro|macro|global)", re.IGNORECASE)

# Names a labelled file (not the corpus) may give its label column, in order of preference.
LABEL_COLUMNS = ("level", "label", "tingkat", "level_intervensi")


def canonical_label(value: object) -> str | None:
    """The contract's label for an analyst's spelling, or None when it is not a label."""
    if not isinstance(value, str):
        return None
    return ALIASES.get(value.strip().lower())


def to_three_levels(label: str) -> str:
    """The three-level scheme of the second seed: ``global`` merged into ``makro``."""
    return "makro" if label == "global" else label


def order_labels(labels: list[str] | set[str]) -> list[str]:
    """Contract order for the contract's labels; any other label set (a benchmark) sorted."""
    known = [lv for lv in LEVELS if lv in labels]
    return known + sorted(set(labels) - set(LEVELS))
