"""Masking of personal identifiers in case text.

Runs before every other preprocessing step, so no identifier can reach the vocabulary, a
report or a log line; reports call it again on every excerpt they show.

Identifiers are written in many ways in Indonesian case notes, and each pattern here follows
the ways found in real ones: a NIK or KK number straight or in groups with spaces, dots,
dashes or slashes (``320101 010190 0001``, ``32.01.01.010190.0001``); a mobile number with a
``+62``/``62``/``0`` prefix, brackets, separators and a ``wa``/``hp`` glued in front
(``(0812) 3456 7890``, ``+62 (812) 3456-7890``, ``wa081234567890``); an e-mail address, with
or without a top-level domain; a bank account number after "rek"/"rekening".
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sw_nlp.preprocess import CONTROL_CHARACTERS

NIK_TOKEN = "_nik_"
PHONE_TOKEN = "_telepon_"
EMAIL_TOKEN = "_email_"
URL_TOKEN = "_url_"
ACCOUNT_TOKEN = "_rekening_"
PLACEHOLDERS = frozenset({NIK_TOKEN, PHONE_TOKEN, EMAIL_TOKEN, URL_TOKEN, ACCOUNT_TOKEN})

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
# Bounded parts and a fixed start keep this linear: an unbounded `[\w.+-]+@` backtracks
# quadratically on a long run of word characters (a 1 MB text took over a minute). The
# domain needs no dot: "sari@contoh" is an address to a person as much as "sari@contoh.id".
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}")
# Runs of digit groups (two or more digits each) split by up to three separator characters
# ("3201 - 01"); which of them hold a NIK/KK number (16 digits) is decided by ``_mask_nik``.
_DIGIT_GROUPS = re.compile(r"(?<!\d)\d{2,}(?:[ ./-]{1,3}\d{2,})*(?!\d)")
_GROUP = re.compile(r"\d+")
NIK_DIGITS = 16
# Indonesian mobile numbers: +62 8.., 62 8.., 08.., brackets around the prefix or the
# operator code, separators, and letters glued in front ("wa0812…", "hp0812…").
_PHONE = re.compile(
    r"(?<!\d)(?:\+?\(?\+?62\)?[\s.-]{0,2}\(?0?|\(?0)8\d{1,3}\)?(?:[\s.-]{0,2}\d{2,4}){2,3}(?!\d)"
)
# A bank account number after "rek", "rek.", "norek", "rekening", with up to four words
# (the bank, "a.n.", a name) in between.
_ACCOUNT = re.compile(
    r"(?i)(?<![^\W\d_])((?:no\.?\s?)?rek(?:ening)?\b[\s:.]*(?:[^\W\d_]{1,12}[\s:.]+){0,4})"
    r"\d(?:[ .-]?\d){5,24}(?!\d)"
)

# What any of the patterns above needs, without the look-arounds and in RE2 syntax (Arrow's
# regex engine): text where this finds nothing is left unchanged by ``mask_pii``. Python's
# ``\s`` also matches \v and \x1c-\x1f, so they are spelled out. Used by the fast path to
# keep identifier masking in Python only for the rows that need it.
_SPACE = r"[\t\n\v\f\r\x1c-\x1f .-]"
PII_CANDIDATE = (
    r"(?i)https?://|www\.|@|rek(?:ening)?\b|\d(?:[ ./-]{0,3}\d){15}"
    rf"|(?:\+?\(?\+?62\)?{_SPACE}{{0,2}}\(?0?|\(?0)8\d{{1,3}}\)?(?:{_SPACE}{{0,2}}\d{{2,4}}){{2,3}}"
)


def mask_pii(text: str) -> str:
    """Replace NIK/KK numbers, phone numbers, e-mail addresses, URLs and bank account numbers
    with placeholder tokens.

    The placeholders are padded with spaces so that they stay separate tokens.
    """
    # Each pattern runs only where something every match of it holds is found, by a check
    # that costs a fraction of the pattern's own scan (the look-behinds and alternatives
    # made the three number patterns ~85% of the time on real text). Each check reads the
    # text as the steps before left it, so the result is the steps' own.
    # A URL needs "://" or "www." (any case).
    if "://" in text or "www." in text.lower():
        text = _URL.sub(f" {URL_TOKEN} ", text)
    if "@" in text:
        text = _EMAIL.sub(f" {EMAIL_TOKEN} ", text)
    # "rek" in any case: what re's IGNORECASE matches to r, e, k (K, KELVIN SIGN) lower-cases to it
    if "rek" in text.lower():
        text = _ACCOUNT.sub(rf"\1 {ACCOUNT_TOKEN} ", text)
    if _SIXTEEN_DIGITS.search(text):  # a run of groups without 16 digits is left as it is
        text = _DIGIT_GROUPS.sub(_mask_nik, text)
    probe = _ascii_digits(text)
    if _EIGHT_THEN_DIGIT.search(probe):
        text = _mask_phones(text, probe)
    return text


def _mask_phones(text: str, probe: str | None = None) -> str:
    """Phone numbers replaced, in whatever digits they are written.

    The pattern's prefixes ("62", "08") are ASCII, and a number typed on a phone's
    full-width or Arabic-Indic keyboard ("０８１２…", "٠٨١٢…") has none: it is matched on a copy
    with every decimal digit made ASCII, which has the same length, so that its places are the
    text's own and everything outside a number stays as written. ``probe``: that copy, when
    the caller has made it."""
    probe = _ascii_digits(text) if probe is None else probe
    if probe is text:
        return _PHONE.sub(f" {PHONE_TOKEN} ", text)
    out, done = [], 0
    for found in _PHONE.finditer(probe):
        out += [text[done : found.start()], f" {PHONE_TOKEN} "]
        done = found.end()
    return "".join([*out, text[done:]])


class _AsciiDigitTable(dict[int, str]):
    """``str.translate``'s table from each decimal digit of any script to its ASCII digit,
    every other character to itself; filled as characters are met, not built up front (the
    digits are spread over the whole code space). Every digit is kept, other characters up to
    ``_TABLE_CHARACTERS``: a hostile text of every character there is cannot grow it for ever.
    """

    def __missing__(self, code: int) -> str:
        value = unicodedata.decimal(chr(code), None)
        mapped = chr(code) if value is None else str(value)
        if value is not None or len(self) < _TABLE_CHARACTERS:
            self[code] = mapped
        return mapped


_TABLE_CHARACTERS = 4096


_ASCII_DIGITS = _AsciiDigitTable()


# A decimal digit that is not ASCII.
_OTHER_DIGIT = re.compile(r"[^\D0-9]")


def _ascii_digits(text: str) -> str:
    """``text`` with its decimal digits ASCII, character for character: ``text`` itself when
    they are (a scan in C: curly quotes and accents are common, other digits are not)."""
    if text.isascii() or not _OTHER_DIGIT.search(text):
        return text
    return text.translate(_ASCII_DIGITS)


# What every match holds: sixteen digits with at most three separators between two of them
# (a NIK in groups); an 8 followed by a digit (the operator code of a mobile number).
_SIXTEEN_DIGITS = re.compile(r"\d(?:[ ./-]{0,3}\d){15}")
_EIGHT_THEN_DIGIT = re.compile(r"8\d")


def _mask_nik(match: re.Match[str]) -> str:
    """The run of digit groups with every stretch of whole groups that holds exactly 16
    digits replaced: a NIK written in any grouping, even followed by another number."""
    run = match.group(0)
    groups = [(g.start(), g.end()) for g in _GROUP.finditer(run)]
    out, done, i = [], 0, 0
    while i < len(groups):
        total, j = 0, i
        while j < len(groups) and total < NIK_DIGITS:
            total += groups[j][1] - groups[j][0]
            j += 1
        if total == NIK_DIGITS:
            out.append(run[done : groups[i][0]])
            out.append(f" {NIK_TOKEN} ")
            done = groups[j - 1][1]
            i = j
        else:
            i += 1
    out.append(run[done:])
    return "".join(out)


def is_placeholder_term(term: str) -> bool:
    """Whether an explanation term is, or contains, a masking placeholder.

    ``top_terms`` shows why a case got its label; "_telepon_ +0.105" says only that the text
    held a phone number and invites a reader to look for it, so such terms are never shown.
    Every placeholder holds an underscore: a term without one (nearly all of the 37k a model
    loads) is answered without splitting it.
    """
    return "_" in term and any(word in PLACEHOLDERS for word in term.split())


# Columns of up to this many texts are masked by ``mask_pii`` itself, text by text: the
# reference definition, and cheaper than importing Arrow (0.2 s) for a one-row file.
SMALL_COLUMN = 64

# Where ``inert_symbols`` looks: Latin-1's symbols, general punctuation to miscellaneous
# symbols and arrows, CJK punctuation, variation selectors, vertical forms, emoji. Office
# text takes its curly quotes, dashes, bullets and ellipses from these, chat text its emoji
# (with the variation selector and zero-width joiner that glue them).
SYMBOL_BLOCKS = ((0x80, 0x2FF), (0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE00, 0xFE0F),
                 (0xFE30, 0xFE4F), (0x1F000, 0x1FAFF))  # fmt: skip
# Punctuation, symbols, and the marks and format characters of those blocks (an emoji's
# variation selector, a zero-width joiner): no letter, digit or space among them.
_INERT_CATEGORIES = ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Mn",
                     "Me", "Cf")  # fmt: skip


@cache
def inert_symbols() -> str:
    """Non-ASCII punctuation and symbols (and emoji glue) that every pattern here reads as it
    reads "#".

    Python's ``re`` and Arrow's RE2 disagree only where ``\\w``, ``\\d``, ``\\s``, ``\\b``
    or case folding meet non-ASCII letters, digits or spaces. These characters are none of
    those for Python (not word, not space, no case) and none for RE2 (whose classes are
    ASCII), and no pattern names them: a text whose only non-ASCII characters are these
    gets the same matches from both. Curly quotes and dashes, in most office text, are here.

    This module owns the definition because it owns the patterns; ``plain_symbols`` are
    the ones text cleaning leaves alone too.
    """
    word_or_space = re.compile(r"[\w\s]")
    return "".join(
        c
        for lo, hi in SYMBOL_BLOCKS
        for c in map(chr, range(lo, hi + 1))
        if unicodedata.category(c) in _INERT_CATEGORIES
        and not word_or_space.match(c)
        and c.lower() == c == c.upper()
    )


@cache
def plain_symbols() -> str:
    """The ``inert_symbols`` that text cleaning (``preprocess.clean_text``) leaves alone too:
    punctuation and symbols that NFKC, control-character removal and ``str.lower`` do not
    change, with no combining class. Curly quotes, dashes, bullets, ellipses, arrows, emoji.

    Both fast routes read them as they read "#": masking (they are inert) and the fast path's
    cleaning (``utf8_chunk``: a row whose only non-ASCII characters are these is cleaned by
    ASCII lower-casing, the symbols kept where they stand, so the tokenizer reads them as in
    the reference's text). One set for both, so that one RE2 pass (``needs_python``) picks
    the rows each must leave to Python. Left out of ``inert_symbols``: emoji glue (variation
    selectors, the zero-width joiner) and zero-width spaces, which cleaning changes.
    """
    return "".join(
        c
        for c in inert_symbols()
        if unicodedata.category(c)[0] in "PS"
        and unicodedata.normalize("NFKC", c) == c
        and not CONTROL_CHARACTERS.match(c)
        and unicodedata.combining(c) == 0
    )


@cache
def needs_python(mask: bool = True) -> str:
    """RE2: a text ``mask_pii`` may change (``PII_CANDIDATE``; left out if not ``mask``), or
    one holding a non-ASCII character outside ``plain_symbols`` (where RE2 and Python's
    ``re`` may disagree, or cleaning changes it).

    The class is matched case-sensitively: with RE2's case folding, ``[^\\x00-\\x7f]`` would
    also leave out the Kelvin sign and the long s (they fold to k and s), letters that
    Python's ``\\w`` matches."""
    other = f"(?-i:[^\\x00-\\x7f{re2_ranges(plain_symbols())}])"
    return f"{PII_CANDIDATE}|{other}" if mask else other


def re2_ranges(chars: str) -> str:
    """The body of an RE2 character class holding exactly ``chars`` (sorted, each once):
    ``\\x{..}`` escapes and ranges, no brackets. Thousands of symbols in a few hundred
    ranges keep the pattern short to compile."""
    ranges: list[list[int]] = []
    for code in map(ord, chars):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges
    )


@dataclass(frozen=True)
class MaskedColumn:
    """The column ``mask_pii_many`` masked last, kept for the fast path's cleaning.

    A batch job masks the text column it writes back (``files``) just before the fast path
    cleans and masks the same texts to classify them (``utf8_chunk``): it finds here the
    texts masked in Python and what each became (``mask_pii`` is a pure function of the text,
    so a text found gets the very string masking it again would give) and, for a column that
    took the Arrow path, its texts as an Arrow array and ``needs_python`` of each, the same
    pass cleaning would make. Replaced whole by each call, never grown: a reader in another
    thread sees the old column or the new one, each consistent.
    """

    texts: Sequence[object]  # the column's values, the very objects
    masked: dict[str, str]  # the texts masked in Python, and what each became
    array: Any = None  # the column's texts as an Arrow string array (Arrow path only)
    need: Any = None  # ``needs_python()`` of each text (Arrow booleans, Arrow path only)


_last_column = MaskedColumn((), {})


def last_masked_column() -> MaskedColumn:
    """The column ``mask_pii_many`` masked last (see ``MaskedColumn``)."""
    return _last_column


def mask_pii_once(text: str) -> str:
    """``mask_pii(text)``, without the work when ``mask_pii_many`` has just masked this text."""
    found = _last_column.masked.get(text)
    return found if found is not None else mask_pii(text)


def mask_pii_many(values: list[object]) -> list[object]:
    """``mask_pii`` on every cell of a column: texts, and numbers whose digits are an
    identifier; other values (empty cells, ages, amounts) pass unchanged.

    A phone number or NIK typed into a spreadsheet, or kept in a Parquet or JSON integer
    column (6281234567890), is a number there, not a text; it is written back as the masked
    text (`` _telepon_ ``), and any other number stays a number.
    """
    out = _mask_texts(values)
    for i, value in enumerate(values):
        if type(value) is str:
            continue
        digits = _identifier_digits(value)
        if digits is not None and (masked := mask_pii(digits)) != digits:
            out[i] = masked
    return out


def _identifier_digits(value: object) -> str | None:
    """The digits of a whole number of ten digits or more (the shortest phone numbers have
    ten), as it would be written; ``None`` for anything else."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        whole = int(value)
    elif math.isfinite(value) and float(value).is_integer():
        whole = int(value)
    else:
        return None
    return str(whole) if abs(whole) >= 10**9 else None


def _mask_texts(values: list[object]) -> list[object]:
    """``mask_pii`` on every text of a column; other values pass unchanged.

    The same result as masking each text, at a fraction of the cost: Arrow's RE2 engine finds
    the rows that need Python in one pass (``needs_python``: a candidate identifier, or a
    non-ASCII character other than punctuation and symbols such as curly quotes and dashes),
    and only those are masked in Python. A batch job writes the text column back beside its
    results, so every row of every file goes through here. A few texts are masked in Python
    without Arrow (``SMALL_COLUMN``).
    """
    global _last_column
    where = [i for i, v in enumerate(values) if isinstance(v, str)]
    out = list(values)
    done: dict[str, str] = {}
    if len(where) <= SMALL_COLUMN:
        for i in where:
            out[i] = done[values[i]] = mask_pii(values[i])  # type: ignore[index,arg-type]
        _last_column = MaskedColumn(values, done)
        return out
    import pyarrow as pa

    from sw_nlp import arrow_text as pc  # Arrow's compute functions, not pyarrow.compute's
    from sw_nlp.arrow_text import string_array

    texts = [values[i] for i in where]
    try:
        array = string_array(texts)  # type: ignore[arg-type]
    except (UnicodeEncodeError, pa.ArrowException):  # a lone surrogate: mask row by row
        for i, text in zip(where, texts, strict=True):
            out[i] = mask_pii(text)  # type: ignore[arg-type]
        return out
    need = pc.match_substring_regex(array, needs_python())
    # ``to_pylist`` of the indices, not ``to_numpy``: that imports pandas (0.5 s)
    for j in pc.indices_nonzero(need).to_pylist():
        out[where[j]] = done[texts[j]] = mask_pii(texts[j])  # type: ignore[index,arg-type]
    _last_column = MaskedColumn(texts, done, array, need)
    return out
