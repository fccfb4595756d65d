"""Masking of personal identifiers in case text.

Runs before every other preprocessing step, so no identifier can reach the vocabulary, a
report or a log line; reports call it again on every excerpt they show.
"""

from __future__ import annotations

import re

NIK_TOKEN = "_nik_"
PHONE_TOKEN = "_telepon_"
EMAIL_TOKEN = "_email_"
URL_TOKEN = "_url_"

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
# Bounded parts and a fixed start keep this linear: an unbounded `[\w.+-]+@` backtracks
# quadratically on a long run of word characters (a 1 MB text took over a minute).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# A 16-digit NIK, written straight or in groups (3201 0123 4567 8901, 3201.0123.4567.8901).
_NIK = re.compile(r"(?<![\d])\d{4}(?:[ .-]?\d{4}){3}(?![\d])")
# Indonesian mobile numbers: +62 8.., 62 8.., 08.., with optional separators and brackets.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+62|62|\(\+62\)|0)[\s.-]?8\d{1,3}(?:[\s.-]?\d{2,4}){2,3}(?!\d)"
)

# What any of the patterns above needs, without the look-arounds and in RE2 syntax (Arrow's
# regex engine): text where this finds nothing is left unchanged by ``mask_pii``. Python's
# ``\s`` also matches \v and \x1c-\x1f, so they are spelled out. Used by the fast path to
# keep identifier masking in Python only for the rows that need it.
_SPACE = r"[\t\n\v\f\r\x1c-\x1f .-]"
PII_CANDIDATE = (
    r"(?i)https?://|www\.|@|\d{4}[ .-]?\d{4}[ .-]?\d{4}[ .-]?\d{4}"
    rf"|(?:\+62|62|\(\+62\)|0){_SPACE}?8\d{{1,3}}(?:{_SPACE}?\d{{2,4}}){{2,3}}"
)


def mask_pii(text: str) -> str:
    """Replace NIK numbers, phone numbers, e-mail addresses and URLs with placeholder tokens.

    The placeholders are padded with spaces so that they stay separate tokens.
    """
    # A URL needs "://" or "www." (any case): checking first spares most texts a full scan.
    if "://" in text or "www." in text.lower():
        text = _URL.sub(f" {URL_TOKEN} ", text)
    if "@" in text:
        text = _EMAIL.sub(f" {EMAIL_TOKEN} ", text)
    text = _NIK.sub(f" {NIK_TOKEN} ", text)
    return _PHONE.sub(f" {PHONE_TOKEN} ", text)
