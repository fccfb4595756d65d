"""A chunk of texts as the fast path reads them: cleaned and masked as the pipeline's
``TextNormalizer`` does it, then as one buffer of UTF-8 bytes with each text's offsets.

Arrow's string kernels (C++) do the work for the usual row: one RE2 pass picks the rows that
need Python, and ASCII lower-casing cleans the rest. Rows where Arrow's lower-casing could
differ from Python's ``clean_text`` (a non-ASCII character other than a plain symbol such as
a curly quote) or that may hold an identifier are cleaned and masked in Python. When the text
column written back beside the results was masked just before (``pii.MaskedColumn``), its
Arrow array, its RE2 pass and its masked texts are used, not made again.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from sw_nlp import arrow_text as pc
from sw_nlp.arrow_text import string_array
from sw_nlp.jit import running_compiled
from sw_nlp.pii import last_masked_column, mask_pii_once, needs_python
from sw_nlp.preprocess import clean_text

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_chunk(texts: Sequence[str], mask: bool) -> tuple[np.ndarray, np.ndarray]:
    """The texts cleaned (NFKC, control characters, lower case) and, if ``mask``, with their
    identifiers masked, as UTF-8 bytes and each text's offsets into them.

    Both steps reduce to Arrow's ASCII lower-casing on rows whose only non-ASCII characters
    are plain symbols (``pii.plain_symbols``) and that hold nothing to mask: such a row's bytes
    may differ from the reference's (a control character kept, not made a space) but never
    its tokens, which is all the token cache reads. The other rows go through Python's
    ``clean_text`` and ``mask_pii``, the definitions the pipeline uses. A chunk small enough
    for the kernels to run as plain Python (``sw_nlp.jit.running_compiled``) is cleaned by
    those definitions alone: importing Arrow would cost more than the whole chunk."""
    if not running_compiled():
        return _clean_in_python(texts, mask)
    column = last_masked_column()
    where = _positions(texts, column.texts) if mask and column.need is not None else None
    if where is not None:
        # The written-back text column, masked just before: its array and its pass are ours
        # (the rows classified, if some were left out as empty).
        array, python = column.array, column.need
        if len(where) < len(array):
            import pyarrow as pa

            at = pa.Array.from_buffers(pa.int64(), len(where), [None, pa.py_buffer(where)])
            array, python = pc.take(array, at), pc.take(python, at)
    else:
        try:
            array = string_array(texts)
        except UnicodeEncodeError:
            # Lone surrogates (a JSON "\\ud800" escape) cannot become UTF-8. Every step
            # treats one as it treats "#" (not a word character, not space): made "#".
            texts = [_SURROGATE.sub("#", t) for t in texts]
            array = string_array(texts)
        # One RE2 pass finds the rows Python must clean; the others are cleaned by Arrow's
        # ASCII lower-casing (their non-ASCII characters, if any, are plain symbols, kept).
        python = pc.match_substring_regex(array, needs_python(mask))
    lowered = pc.ascii_lower(array)
    python_rows = pc.indices_nonzero(python).to_pylist()
    if python_rows:
        cleaned = [clean_text(mask_pii_once(texts[i]) if mask else texts[i]) for i in python_rows]
        lowered = pc.replace_with_mask(lowered, python, string_array(cleaned))
    return _utf8(lowered)


def _positions(texts: Sequence[object], column: Sequence[object]) -> np.ndarray | None:
    """Where each of ``texts`` is in ``column``, the very object, in order; None if one is
    not there (a text cut at the length cap is another object: that chunk is cleaned afresh).
    A row's position holds the same string, whichever of equal objects is found."""
    if len(texts) == len(column) and all(map(operator.is_, texts, column)):
        return np.arange(len(texts), dtype=np.int64)
    if len(texts) > len(column):
        return None
    out = np.empty(len(texts), np.int64)
    j, n = 0, len(column)
    for k, text in enumerate(texts):
        while j < n and column[j] is not text:
            j += 1
        if j == n:
            return None
        out[k] = j
        j += 1
    return out


def _clean_in_python(texts: Sequence[str], mask: bool) -> tuple[np.ndarray, np.ndarray]:
    """``clean_chunk`` by the reference definitions, row by row, without Arrow (lone
    surrogates become "#" first, as there)."""
    encoded = []
    for text in texts:
        if _SURROGATE.search(text):
            text = _SURROGATE.sub("#", text)
        encoded.append(clean_text(mask_pii_once(text) if mask else text).encode("utf-8"))
    offsets = np.zeros(len(encoded) + 1, np.int32)
    offsets[1:] = np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)))
    return np.frombuffer(b"".join(encoded), np.uint8), offsets


def _utf8(array: Any) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of an Arrow string array and each text's offsets into them (no copy)."""
    _, offsets, data = array.buffers()
    first = array.offset
    bounds = np.frombuffer(offsets, np.int32)[first : first + len(array) + 1]
    return (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)), bounds
