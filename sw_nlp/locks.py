"""Who holds a change: an OS file lock with a record of its holder, and the user's name.

A registry change (retrain, promote, rollback) holds an exclusive lock on a file in the
registry; the OS releases it when the holder dies, so a killed run never leaves the registry
locked. The holder writes who it is into that file, so a second change can say whom it waits
for rather than hang. Kept apart from the registry because the trust store records the user
the same way.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from datetime import UTC, datetime
from typing import IO, Any


def holder_record(action: str) -> str:
    """Who holds a lock or builds a version: shown to the one who has to wait."""
    return json.dumps(
        {
            "action": action,
            "pid": os.getpid(),
            "who": current_user(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


def read_holder(handle: IO[str], attempts: int = 20, pause: float = 0.05) -> dict[str, Any]:
    """The lock holder's record, waiting briefly for it: the holder takes the lock first and
    writes who it is just after, so a change started in that instant would otherwise be
    told "an unknown time (process ?)"."""
    for attempt in range(attempts):
        handle.seek(0)
        holder = parse_holder(handle.read())
        if holder or attempt == attempts - 1:
            return holder
        time.sleep(pause)
    return {}


def parse_holder(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def try_lock(handle: IO[str]) -> bool:
    """An exclusive, non-blocking lock on the open file (POSIX flock, Windows locking)."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def current_user() -> str:
    """The login name, or "unknown" where there is none (containers, services)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
