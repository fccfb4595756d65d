"""Arrow string arrays made from Python text without ``pa.array``, and the few Arrow compute
functions the fast path calls, without importing ``pyarrow.compute``.

``pyarrow.array`` of a Python list first asks whether pandas is installed, by importing it:
0.5 s of start-up, and a batch job writing CSV needs nothing else from pandas. (So does an
array's ``to_numpy``, even of integers: take results out with ``to_pylist``.) Built here
from each text's UTF-8 bytes and their offsets instead (about 1 µs a row more than
``pa.array``: the pandas import costs as much as half a million rows).

Importing ``pyarrow.compute`` builds a Python wrapper, with its signature and docstring, for
every one of Arrow's several hundred compute functions (50-60 ms of CPU, in every process
that cleans or masks a chunk, workers included); the fast path calls five of them. Each is
called here through ``call_function``, the documented generic entry point
(``pyarrow.compute.call_function``), taken from the extension module that defines it and
that ``pyarrow.compute`` re-exports (``pyarrow._compute``, a private name, so a test checks
that both are the very same function and options class). A pyarrow without that module
falls back to the public one: the same calls, at its import cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

_INT32_BYTES = 2**31 - 1  # beyond this an Arrow string array needs 64-bit offsets


def string_array(texts: Sequence[str]) -> Any:
    """The texts as an Arrow string array (large_string past 2 GB of text), from each text's
    UTF-8 bytes. A lone surrogate (no valid text) raises ``UnicodeEncodeError``, as
    ``pa.array`` does."""
    import pyarrow as pa

    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), np.int64, count=len(encoded)), out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    if offsets[-1] <= _INT32_BYTES:
        return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets.astype(np.int32)), data)
    return pa.LargeStringArray.from_buffers(len(encoded), pa.py_buffer(offsets), data)


@cache
def compute_module() -> Any:
    """The module whose ``call_function`` and ``MatchSubstringOptions`` are called: Arrow's
    extension module when it is there (no wrappers built), else ``pyarrow.compute``."""
    try:
        from pyarrow import _compute as module
    except ImportError:  # pragma: no cover - a pyarrow laid out otherwise
        import pyarrow.compute as module
    return module


def match_substring_regex(array: Any, pattern: str) -> Any:
    """``pyarrow.compute.match_substring_regex(array, pattern)``: whether each text holds a
    match of the RE2 ``pattern`` (case-sensitive unless the pattern says otherwise)."""
    pc = compute_module()
    return pc.call_function("match_substring_regex", [array], pc.MatchSubstringOptions(pattern))


def ascii_lower(array: Any) -> Any:
    """``pyarrow.compute.ascii_lower(array)``: ASCII letters lower-cased, other bytes kept."""
    return compute_module().call_function("ascii_lower", [array])


def indices_nonzero(array: Any) -> Any:
    """``pyarrow.compute.indices_nonzero(array)``: the positions of the true values."""
    return compute_module().call_function("indices_nonzero", [array])


def replace_with_mask(array: Any, mask: Any, replacements: Any) -> Any:
    """``pyarrow.compute.replace_with_mask``: each true position of ``mask`` takes the next
    of ``replacements``, in order."""
    return compute_module().call_function("replace_with_mask", [array, mask, replacements])


def take(array: Any, indices: Any) -> Any:
    """``array.take(indices)`` (bounds checked), which would import ``pyarrow.compute``."""
    return compute_module().call_function("take", [array, indices])


def valid_utf8(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` is valid UTF-8 (``bytes.decode("utf-8")`` would not raise), checked by
    Arrow's validator without building any text: about 14 GB/s here, where Python's decoder
    makes a string of it at about 0.4 GB/s (a 580 MB file: 0.04 s against 1.3 s). At most
    2 GB at a time (one Arrow string value)."""
    import pyarrow as pa

    size = len(data)
    if size > _INT32_BYTES:
        raise ValueError("valid_utf8 checks at most 2 GB at a time")
    value = pa.StringArray.from_buffers(
        1, pa.py_buffer(np.array([0, size], np.int32)), pa.py_buffer(data)
    )
    try:
        value.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True
