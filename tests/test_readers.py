"""``read_delimited`` cuts a chunk's columns from its records at once; it must read every file
as the record-by-record reader before it did: the same rows, cells, row errors, and the same
one-line error (file, row, the line a broken record starts on) for a file it cannot parse.

Checked on the benchmark-like files of the repository and on random CSV text built from what
makes parsing hard: quotes (balanced, doubled, stray), embedded delimiters and newlines, CR,
CRLF, blank lines, short and long records, titles above the header, non-ASCII text.
"""

from __future__ import annotations

import csv
import pickle
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sw_nlp.delimited import _DELIMITER_NAMES, MAX_FIELD_CHARS, read_delimited
from sw_nlp.errors import InputError
from sw_nlp.readers import Chunk

REPO = Path(__file__).resolve().parent.parent


def reference_read(
    path: Path,
    encoding: str,
    delimiter: str,
    width: int,
    t_index: int,
    ids: list[str],
    id_index: list[int],
    chunk_size: int,
    skip: int = 0,
) -> Iterator[Chunk]:
    """The reader as it was (sw-nlp 9961dac): each record's cells put in the chunk as it is
    read."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    row_no = skip + 1
    chunk = Chunk([], {c: [] for c in ids}, [], [])
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        record_line = 1
        try:
            for record in reader:
                if record:
                    skip -= 1
                    if skip < 0:
                        break
            record_line = reader.line_num + 1
            for record in reader:
                if not record:
                    record_line = reader.line_num + 1
                    continue
                row_no += 1
                error = ""
                if len(record) > width:
                    error = (
                        f"{len(record)} fields, the header has {width}: an unquoted "
                        f"{_DELIMITER_NAMES.get(delimiter, repr(delimiter))} in the text? "
                        f"(line {record_line})"
                    )
                chunk.rows.append(row_no)
                for c, i in zip(ids, id_index, strict=True):
                    chunk.ids[c].append(record[i] if i < len(record) else "")
                chunk.texts.append(record[t_index] if t_index < len(record) and not error else "")
                chunk.errors.append(error)
                record_line = reader.line_num + 1
                if len(chunk.rows) == chunk_size:
                    yield chunk
                    chunk = Chunk([], {c: [] for c in ids}, [], [])
        except csv.Error as exc:
            raise InputError(
                f"cannot parse: malformed quoting in the record that starts on line "
                f"{record_line} ({exc}, on line {reader.line_num}); a stray or unbalanced "
                '" in a text? Nothing was written',
                path,
                row_no + 1,
            ) from None
    if chunk.rows:
        yield chunk


def outcome(read, *args) -> tuple[list[tuple], str]:
    """The chunks a reader yields (as plain tuples) and the error it stops with, if any."""
    chunks: list[tuple] = []
    try:
        for chunk in read(*args):
            chunks.append((chunk.rows, chunk.ids, chunk.texts, chunk.errors))
    except InputError as exc:
        return chunks, str(exc)
    return chunks, ""


def read_as_a_worker_does(*args) -> Iterator[Chunk]:
    """``read_delimited`` leaving cells as bytes, each chunk sent to a worker process (a
    pickle round trip) and decoded there."""
    for chunk in read_delimited(*args, decode=False):
        yield pickle.loads(ForkingPickler.dumps(chunk)).decoded()


def assert_same(path: Path, width: int, chunk_size: int, skip: int, delimiter: str = ",") -> None:
    t_index = width - 1
    ids = [f"c{i}" for i in range(width)]
    args = (path, "utf-8", delimiter, width, t_index, ids, list(range(width)), chunk_size, skip)
    assert outcome(read_delimited, *args) == outcome(reference_read, *args)


@pytest.mark.parametrize(
    "name", ["data/examples/cases.csv", "data/corpus/cases.csv", "tests/fixtures/tiny_corpus.csv"]
)
@pytest.mark.parametrize("chunk_size", [1, 7, 2000])
def test_the_repositorys_files(name, chunk_size):
    path = REPO / name
    with open(path, encoding="utf-8", newline="") as handle:
        width = len(next(csv.reader(handle)))
    assert_same(path, width, chunk_size, 0)


FIELDS = st.lists(
    st.sampled_from(
        ['"', '""', ",", ";", "\n", "\r", "\r\n", " ", "a", "kasus", "é", "“", "\t", "0812"]
    ),
    max_size=5,
).map("".join)


def quoted(field: str) -> str:
    return '"' + field.replace('"', '""') + '"'


RECORDS = st.lists(
    st.tuples(
        st.lists(st.tuples(FIELDS, st.booleans()), min_size=0, max_size=4),
        st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(
    records=RECORDS,
    width=st.integers(1, 3),
    chunk_size=st.integers(1, 4),
    skip=st.integers(0, 2),
    delimiter=st.sampled_from([",", ";"]),
    end=st.booleans(),
)
@example(
    records=[([("a", False)], "\n")] * 3, width=1, chunk_size=2, skip=0, delimiter=",", end=True
)
@example(
    records=[([("a", False), ('"b', False)], "\n"), ([("c", True)], "\n")],
    width=2, chunk_size=1, skip=0, delimiter=",", end=True,
)  # fmt: skip
def test_random_csv_text(tmp_path_factory, records, width, chunk_size, skip, delimiter, end):
    """Fields quoted or not (an unquoted one may hold a stray quote or a delimiter), records
    of any width, every line ending, blank lines; the last line with or without its end."""
    lines = []
    for fields, ending in records:
        cells = [quoted(f) if q else f for f, q in fields]
        lines.append(delimiter.join(cells) + ending)
    text = "".join(lines)
    if not end:
        text = text.rstrip("\r\n")
    path = tmp_path_factory.mktemp("csv") / "cases.csv"
    path.write_bytes(text.encode("utf-8"))
    assert_same(path, width, chunk_size, skip, delimiter)


def scanning(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Every file read by the compiled scan, its bytes handed over ``block`` at a time."""
    from sw_nlp import csv_scan, delimited

    def tiny_blocks(block: int) -> None:
        monkeypatch.setattr(csv_scan, "BLOCK_BYTES", block)

    monkeypatch.setattr(delimited, "SCAN_BYTES", -1)
    return tiny_blocks


SCAN_FIELDS = st.lists(
    st.sampled_from(
        ['"', '""', ",", ";", "\n", "\r", "\r\n", " ", "a", "kasus", "é", "“", "\t", "\x00", "–"]
    ),
    max_size=5,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(
    records=st.lists(
        st.tuples(
            st.lists(st.tuples(SCAN_FIELDS, st.sampled_from([0, 1, 1, 2])), max_size=4),
            st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"]),
        ),
        min_size=1,
        max_size=12,
    ),
    width=st.integers(1, 3),
    chunk_size=st.integers(1, 4),
    skip=st.integers(0, 2),
    delimiter=st.sampled_from([",", ";"]),
    end=st.booleans(),
    block=st.integers(1, 40),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_the_compiled_scan_reads_what_the_csv_reader_reads(
    tmp_path_factory, records, width, chunk_size, skip, delimiter, end, block, encoding
):
    """The same chunks, cells, row errors and error message as the ``csv`` reader alone, on
    hostile text (stray, doubled and unclosed quotes, NUL, every line end, blank lines,
    records of every width), cut into blocks of every size, in each encoding it reads.
    Fields: 0 as they are (a stray quote stays), 1 quoted, 2 quoted with its quotes left
    single (a quote closed early, then text)."""
    lines = []
    for fields, ending in records:
        cells = [
            f if how == 0 else quoted(f) if how == 1 else f'"{f}"' for f, how in fields
        ]
        lines.append(delimiter.join(cells) + ending)
    text = "".join(lines)
    if not end:
        text = text.rstrip("\r\n")
    if encoding == "cp1252":
        text = text.replace("“", "\u201c").replace("–", "\u2013")
    path = tmp_path_factory.mktemp("csv") / "cases.csv"
    path.write_bytes(text.encode(encoding))
    t_index = width - 1
    ids = [f"c{i}" for i in range(width)]
    args = (path, encoding, delimiter, width, t_index, ids, list(range(width)), chunk_size, skip)
    with pytest.MonkeyPatch.context() as patch:
        scanning(patch)(block)
        scanned = outcome(read_delimited, *args)
        sent = outcome(read_as_a_worker_does, *args)
    assert scanned == outcome(reference_read, *args)
    assert sent == scanned


@pytest.mark.parametrize("block", [7, 4096, 16 << 20])
def test_the_compiled_scan_on_the_corpus(monkeypatch, block):
    scanning(monkeypatch)(block)
    path = REPO / "data/corpus/cases.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        width = len(next(csv.reader(handle)))
    assert_same(path, width, 500, 0)
    args = (path, "utf-8", ",", width, 1, ["c0", "c1"], [0, 1], 500, 0)
    sent = outcome(read_as_a_worker_does, *args)
    assert sent == outcome(reference_read, *args)
    assert {len(rows) for rows, *_ in sent[0][:-1]} == {500}


def test_a_large_file_is_scanned_and_the_csv_reader_takes_over_at_a_stray_quote(
    tmp_path, monkeypatch
):
    """A file over ``SCAN_BYTES``: the scan reads it (no record goes through ``csv``) until a
    chunk holds a stray quote; from that chunk on the ``csv`` reader reads, and the cells
    are the same."""
    from sw_nlp import delimited

    calls: list[int] = []
    real = delimited._read_with_csv

    def counting(*args):
        calls.append(args[-1].offset)
        yield from real(*args)

    monkeypatch.setattr(delimited, "_read_with_csv", counting)
    path = tmp_path / "big.csv"
    rows = [f'{i},"kasus ke-{i}, keluarga – anak ""rentan"" {"x" * 80}"' for i in range(50_000)]
    rows[40_000] = '40000,ada "kutip" lepas'
    path.write_text("id,teks\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert path.stat().st_size > delimited.SCAN_BYTES
    args = (path, "utf-8", ",", 2, 1, ["id"], [0], 2000, 0)
    got = outcome(read_delimited, *args)
    assert got == outcome(reference_read, *args)
    assert calls and calls[0] > 0  # the csv reader took over mid-file, not from the start
    assert outcome(read_as_a_worker_does, *args) == got
    assert got[0][20][2][0] == 'ada "kutip" lepas'
