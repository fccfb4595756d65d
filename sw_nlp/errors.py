"""Errors a user can act on. The CLI prints them as one line and exits with their code."""

from __future__ import annotations

from pathlib import Path


class SwNlpError(Exception):
    """Base of every error that is the user's input, not a bug.

    ``details`` are lines printed under the one-line message (e.g. the first 20 of many bad
    rows), so that a user fixes every problem in one go instead of one per run.
    """

    exit_code = 1
    details: list[str] = []  # replaced per instance, never mutated


def listed(lines: list[str], limit: int = 20) -> list[str]:
    """The first ``limit`` lines and a count of the rest."""
    more = [f"… and {len(lines) - limit} more"] if len(lines) > limit else []
    return lines[:limit] + more


def with_count(message: str, total: int, advice: str = "") -> str:
    """The first of ``total`` problems, with how many more there are (and where to see them):
    ``unknown label 'x' (and 4 more)``. One problem is the message alone."""
    if total <= 1:
        return message
    return f"{message} (and {total - 1} more{'; ' + advice if advice else ''})"


class ConfigError(SwNlpError):
    exit_code = 2


class InputError(SwNlpError):
    """Bad input data, located as precisely as possible: ``file:row:column: message``.

    ``columns`` is the input's header when the error is that no text column was found, so
    that a caller offering a choice (the web page's column picker) reads the names as data
    instead of parsing them back out of the message; ``None`` for every other error.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        path: Path | str | None = None,
        row: int | None = None,
        column: str | None = None,
        *,
        columns: list[str] | None = None,
    ) -> None:
        self.path, self.row, self.column, self.detail = path, row, column, message
        self.columns = columns
        where = ":".join(str(p) for p in (path, row, column) if p is not None)
        super().__init__(f"{where}: {message}" if where else message)


class BundleError(SwNlpError):
    """A model bundle that is missing, damaged, tampered with or from an incompatible version."""

    exit_code = 4


class RegistryError(SwNlpError):
    """A registry change refused or impossible: a gate refusal, an unknown version, a
    registry locked by another change."""

    exit_code = 5
