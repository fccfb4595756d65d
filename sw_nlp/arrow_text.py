"""Arrow string arrays made from Python text without ``pa.array``.

``pyarrow.array`` of a Python list first asks whether pandas is installed, by importing it:
0.5 s of start-up, and a batch job writing CSV needs nothing else from pandas. (So does an
array's ``to_numpy``, even of integers: take results out with ``to_pylist``.) Built here
from each text's UTF-8 bytes and their offsets instead (about 1 µs a row more than
``pa.array``: the pandas import costs as much as half a million rows).
"""

from __future__ import annotations

from collections.abc import Sequence
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
