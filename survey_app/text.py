"""Normalising text that people type."""

from __future__ import annotations

import re
import unicodedata

# Control characters (NUL included) have no place in what a citizen types; PostgreSQL
# refuses NUL outright. Line feeds and tabs are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# The letters a survey code is spelt with. No look-alikes: 0/O, 1/I/L are left out, so a
# code read aloud or typed is not misread.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# The longest survey code the database holds (models.SurveyCode.code is String(16)).
SURVEY_CODE_MAX_LENGTH = 16
_SURVEY_CODE = re.compile(f"[{re.escape(ALPHABET)}]{{1,{SURVEY_CODE_MAX_LENGTH}}}")


def _is_invisible(char: str) -> bool:
    # Format characters (category Cf): bidi embeddings, overrides and isolates
    # (U+202A-U+202E, U+2066-U+2069), zero-width spaces and joiners, the BOM. Vietnamese
    # never needs one; in a comment or a name they only reorder or hide what staff read.
    return unicodedata.category(char) == "Cf"


def clean_text(value: object) -> str | None:
    """Return the text in NFC, without control or format characters or outer blanks, or None."""
    if value is None:
        return None
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    # Controls and format characters go first: a removed NUL or zero-width space between a
    # letter and its accent must not stop the two from composing.
    text = "".join(char for char in _CONTROL.sub("", text) if not _is_invisible(char))
    text = unicodedata.normalize("NFC", text).strip()
    return text or None


# A phone number as people write it: digits in groups separated by a space, a dot or a dash,
# with + before a country code. From a short number (1022) to an international one.
_PHONE = re.compile(r"\+?[0-9]+(?:[ .-][0-9]+)*")
PHONE_MIN_DIGITS = 3
PHONE_MAX_DIGITS = 15


def clean_hotline(value: object) -> str | None:
    """Return a phone number with single spaces between its groups, or None if it is none."""
    text = clean_text(value)
    if text is None:
        return None
    text = re.sub(r"\s+", " ", text)
    if not _PHONE.fullmatch(text):
        return None
    digits = sum(char.isdigit() for char in text)
    return text if PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS else None


def dial_number(phone: str) -> str:
    """Return what a tel: link dials: the digits, and a leading + if there is one."""
    return ("+" if phone.startswith("+") else "") + "".join(c for c in phone if c.isdigit())


def clean_code(value: object) -> str | None:
    """Return an identifier as people type it, trimmed, NFC and upper case, or None."""
    text = clean_text(value)
    return text.upper() if text else None


def clean_survey_code(value: object) -> str | None:
    """Return a survey code as typed, scanned or found in an address, or None if it is none.

    The one spelling of a code: compatibility forms folded (a full-width "Ａ" is an "A"),
    outer blanks trimmed, upper case. Text that no code can be (a control character, more
    characters than any code has, a letter outside the code alphabet) gives None, so that
    every page answers "not found" without asking the database, which would refuse a NUL.
    """
    if not isinstance(value, str) or len(value) > 4 * SURVEY_CODE_MAX_LENGTH:
        return None
    text = unicodedata.normalize("NFKC", value).strip().upper()
    return text if _SURVEY_CODE.fullmatch(text) else None


def clean_dossier(value: object) -> str | None:
    """Return a dossier code as typed, in compatibility form and upper case, or None.

    Full-width letters and digits become ASCII ones, so that the form's pattern accepts
    them; a code with no letter or digit at all is no code.
    """
    text = clean_text(value)
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", text).upper()
    return text if fold_dossier(text) else None


def fold_dossier(value: str) -> str:
    """Return the part of a dossier code that identifies it: its letters and digits.

    "HS-2026-0002", "hs 2026/0002" and "ＨＳ２０２６．０００２" are one dossier: case, width and
    the separators (- . / or a space) people put or leave out between its parts do not count.
    """
    text = unicodedata.normalize("NFKC", clean_text(value) or "").upper()
    return "".join(char for char in text if char.isalnum())
