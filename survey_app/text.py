"""Normalising text that people type."""

from __future__ import annotations

import re
import unicodedata

# Control characters (NUL included) have no place in what a citizen types; PostgreSQL
# refuses NUL outright. Line feeds and tabs are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: object) -> str | None:
    """Return the text in NFC, without control characters or outer blanks, or None if empty."""
    if value is None:
        return None
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    # Controls go first: a removed NUL between a letter and its accent must not stop the
    # two from composing.
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text)).strip()
    return text or None


def clean_code(value: object) -> str | None:
    """Return an identifier as people type it, trimmed, NFC and upper case, or None."""
    text = clean_text(value)
    return text.upper() if text else None
