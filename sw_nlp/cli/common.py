"""What the commands share: reading -q, raising the training loggers, percentages, the
config file option."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from sw_nlp.config import Config

log = logging.getLogger("sw_nlp")
TRAINING_LOGGERS = ("sw_nlp.train", "sw_nlp.workflows")  # raised to INFO while training


def globally_quiet(ctx: typer.Context) -> bool:
    """Whether ``sw-nlp -q`` was given before the command (it applies to every command)."""
    obj = ctx.find_root().obj
    return bool(isinstance(obj, dict) and obj.get("quiet"))


def show_training_progress() -> None:
    """Training takes a minute or more: say which stage it is in (each fold and grid point,
    the final fit, calibration, the test split, the learning curve) unless the user asked for
    quiet. Only the training stages are raised to INFO."""
    if log.getEffectiveLevel() == logging.WARNING:
        for name in TRAINING_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


EscapeFormulas = Annotated[
    bool,
    typer.Option(
        "--escape-formulas/--no-escape-formulas",
        help="Prefix text cells starting with = + - @ tab or CR with ' in CSV and XLSX, so a "
        "spreadsheet shows them as text (off only for programs reading the file).",
    ),
]


def config_from(path: Path | None) -> Config:
    return Config.from_toml(path) if path else Config()
