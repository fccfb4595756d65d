"""Which columns of a table hold the text, the ids and the header.

Names are compared ignoring case, spaces and punctuation, so that ``Deskripsi Kasus`` and
``uraian_kasus`` are found as users write them, and a longer name by its words
(``Kronologi Kejadian``); a header below title rows is found too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sw_nlp.errors import InputError
from sw_nlp.pii import mask_pii
from sw_nlp.sniff import HEADER_SEARCH_ROWS

TEXT_COLUMN_NAMES = (
    "text",
    "teks",
    "uraian",
    "uraian_kasus",
    "deskripsi",
    "deskripsi_kasus",
    "narasi",
    "kasus",
    "isi",
    "catatan",
    "keterangan",
    "ringkasan",
    "kronologi",
    "description",
    "case_text",
    "note",
)
# A header of several words ("Kronologi Kejadian", "Uraian Permasalahan") names the text
# column when one of its words is one of these (earlier words first), unless another of its
# words says the column holds something about the case instead: its number, a date, a kind
# ("No. Pengaduan", "Tanggal Laporan", "Jenis Permasalahan").
TEXT_WORDS = (
    "uraian",
    "deskripsi",
    "narasi",
    "kronologi",
    "ringkasan",
    "cerita",
    "permasalahan",
    "masalah",
    "pengaduan",
    "laporan",
    "catatan",
    "keterangan",
    "isi",
    "teks",
    "text",
    "description",
    "notes",
    "note",
    "asesmen",
    "assessment",
)
# Names of a column of remarks about a case rather than its story: taken only when nothing
# else names the text.
REMARKS = frozenset({"isi", "catatan", "keterangan", "note", "notes"})
NOT_TEXT_WORDS = frozenset(
    "no nomor nomer nmr id kode tanggal tgl waktu jam bulan tahun jenis kategori tipe status "
    "jumlah nama alamat lokasi label level tingkat prioritas sumber petugas".split()
)
ID_COLUMN_NAMES = ("case_id", "id", "id_kasus", "no_kasus", "nomor", "no", "kode", "kode_kasus")


# A "column name" of this many words or more is a case's text: the file has no header row.
PROSE_WORDS = 8
SHOWN_NAME_CHARS = 40  # a column name is shown in an error up to this many characters


def shown_names(names: list[str]) -> str:
    """Column names as an error shows them: identifiers masked and each cut short, because in
    a file without a header row the "names" are the first case's text and details."""
    shown = []
    for name in names:
        name = " ".join(mask_pii(name).split())
        shown.append(name if len(name) <= SHOWN_NAME_CHARS else name[: SHOWN_NAME_CHARS] + "…")
    return ", ".join(shown)


def header_key(name: object) -> str:
    """A column name as compared: case, spaces and punctuation ignored, so that
    ``Deskripsi Kasus``, `` TEXT `` and ``uraian_kasus`` match the names looked for."""
    return re.sub(r"[\W_]+", "", str(name).casefold())


_TEXT_KEYS = [header_key(n) for n in TEXT_COLUMN_NAMES]
_ID_KEYS = [header_key(n) for n in ID_COLUMN_NAMES]


def match_column(names: list[str], wanted: str) -> str | None:
    """The column named ``wanted``: exactly, else the one column equal to it once case,
    spaces and punctuation are ignored."""
    if wanted in names:
        return wanted
    found = [n for n in names if header_key(n) == header_key(wanted)]
    return found[0] if len(found) == 1 else None


def choose_columns(
    columns: list[str],
    path: Path,
    text_column: str | None,
    id_column: str | None,
    header_row: int = 1,
    keep: str | list[str] = "id",
) -> tuple[str, list[str]]:
    """The text column (given, or found by name) and the columns to pass through: the id
    column(s) (``keep="id"``), every column (``"all"``) or those named in a list."""
    names = [str(c) for c in columns]
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise InputError(f"duplicate column name(s): {', '.join(duplicates)}", path, header_row)
    if text_column is not None:
        text = match_column(names, text_column)
        if text is None:
            raise InputError(
                f"no column {text_column!r}; columns are: {shown_names(names)}",
                path,
                header_row,
                columns=names,
            )
    else:
        found = find_text_column(names)
        if found is None:
            hint = "" if header_row != 1 else " (a header lower down? pass --header-row N)"
            if any(len(n.split()) >= PROSE_WORDS for n in names):
                hint = " (the first row looks like a case, not a header: add a header row)"
            raise InputError(
                "no text column found; name it with --text-column. Columns are: "
                + shown_names(names)
                + hint,
                path,
                header_row,
                columns=names,
            )
        text = found
    if id_column is not None:
        chosen = match_column(names, id_column)
        if chosen is None:
            raise InputError(
                f"no column {id_column!r}; columns are: {shown_names(names)}", path, header_row
            )
        ids = [chosen]
    else:
        ids = [found_id] if (found_id := find_id_column(names)) else []
    if keep == "all":
        return text, names
    if keep == "id":
        return text, [c for c in ids if c != text]
    kept = []
    for wanted in keep:
        chosen = match_column(names, wanted)
        if chosen is None:
            raise InputError(
                f"--columns names no column {wanted!r}; columns are: {shown_names(names)}",
                path,
                header_row,
            )
        kept.append(chosen)
    return text, list(dict.fromkeys(kept))


def find_id_column(names: list[str]) -> str | None:
    """The first column, in the order of the id names (``id``, ``no``, …), whose name matches
    one; the last of equal names."""
    keys = {header_key(n): n for n in reversed(names)}
    return next((keys[k] for k in _ID_KEYS if k in keys), None)


def find_text_column(names: list[str], by_word: bool = True) -> str | None:
    """The text column: a whole name of ``TEXT_COLUMN_NAMES``, else (``by_word``) a longer
    name holding one of ``TEXT_WORDS`` and none of ``NOT_TEXT_WORDS``; earlier names and
    words first. A remarks column (``REMARKS``: "Keterangan", "Catatan") comes after a
    story named in words: "Kronologi Kejadian" beside "Keterangan" is the case's text."""
    keys: dict[str, str] = {}
    for name in names:
        keys.setdefault(header_key(name), name)
    words: dict[str, str] = {}
    if by_word:
        for name in names:
            parts = set(re.split(r"[\W_]+", name.casefold()))
            if not parts & NOT_TEXT_WORDS:
                for part in parts:
                    words.setdefault(part, name)
    for remarks in (False, True):
        whole = [k for k in _TEXT_KEYS if (k in REMARKS) == remarks]
        by_words = [w for w in TEXT_WORDS if (w in REMARKS) == remarks]
        found = next((keys[k] for k in whole if k in keys), None) or next(
            (words[w] for w in by_words if w in words), None
        )
        if found is not None:
            return found
    return None


def find_header_row(rows: list[list[Any]], text_column: str | None) -> int:
    """The 0-based index of the header among the first rows of a table: the first row if it
    names the text column (or the given one), else the first later row that does.

    Office spreadsheets put a title ("REKAP KASUS …") and a blank row above the table; the
    first row is then no header. A title is one cell, and its words may well be text words
    ("LAPORAN PENGADUAN MASYARAKAT"), so a header found by a word of a longer name needs two
    cells or more. When no row qualifies the first row is returned, and the error about it
    says what was looked for.
    """
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [str(c) for c in row]
        if text_column is not None:
            if match_column(names, text_column) is not None:
                return index
        elif find_text_column(names, by_word=sum(_filled(c) for c in row) > 1):
            return index
    return 0


def _filled(cell: Any) -> bool:
    """Whether a cell holds something: a sheet's row comes padded with empty cells (None)."""
    return cell is not None and str(cell).strip() != ""


def header_names(row: list[Any] | tuple[Any, ...]) -> list[str]:
    """Header cells as names; a blank one is named by its place (``column_3``) so that every
    column can be passed through and named in errors."""
    return [
        f"column_{i}" if h is None or str(h).strip() == "" else str(h)
        for i, h in enumerate(row, 1)
    ]


def tell_apart(names: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Names with each repeat of a name made its own (``Keterangan (2)``, never a name
    another column has), and the new names of each repeated name. Offices repeat headers
    ("Keterangan" twice): the file is still a table, and every column is kept."""
    taken = set(names)
    seen: set[str] = set()
    told: list[str] = []
    repeats: dict[str, list[str]] = {}
    for name in names:
        if name not in seen:
            seen.add(name)
            told.append(name)
            continue
        k = 2
        while f"{name} ({k})" in taken:
            k += 1
        new = f"{name} ({k})"
        taken.add(new)
        told.append(new)
        repeats.setdefault(name, []).append(new)
    return told, repeats
