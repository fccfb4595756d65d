"""Python's cyclic garbage collector during a batch: run far less often.

The collector runs a pass each time 700 more container objects (lists, dicts, ...) exist
than were freed. A chunk of 2,000 cases makes thousands of them (the reader's records, the
columns), all alive until the chunk is written, so the default setting ran more than a
thousand passes over a 200k-row file, each walking every young list item by item: 0.6-0.7 s
of about 10 s of CPU, measured with ``gc.callbacks``. The classification makes no reference
cycles of its own; the collector still runs, only every 50,000 containers (under 0.05 s).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BATCH_THRESHOLD = 50_000  # gen-0 threshold while a batch runs (Python's default: 700)

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections(threshold: int = BATCH_THRESHOLD) -> Iterator[None]:
    """Raise the collector's first threshold for the block, and put the old settings back
    when the last of any overlapping blocks ends (the web server runs several jobs at once:
    the settings are the process's, so the first block in saves them and the last one out
    restores them). A forked worker process starts with the raised setting."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(threshold, _saved[0]), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
