"""What makes a password refused: too short, common, a run or repeat, or the owner's own details.

The list of common passwords is a data file of the package (data/common-passwords.txt): the
10,000 most common ones worldwide, and those common in Vietnam. Every place that sets a
password (changing one's own, an admin creating or resetting an account, a reset link, the
command line) goes through `password_problem`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

MIN_PASSWORD_LENGTH = 10
# An administrator holds every agency's data and every account: a longer password.
ADMIN_MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200

# Keyboard rows and alphabets people walk along; a password inside one (either way) is a run.
_RUNS = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)
# Fewer different characters than this: a repeat (aaaaaaaaaaaa, abababababab, 121212121212).
_MIN_DISTINCT = 4
# A person's detail shorter than this is not looked for inside a password ("an", "le").
_MIN_DETAIL = 4


@dataclass(frozen=True)
class PasswordProblem:
    """Why a password is refused: `reason` is a stable key; `min_length` goes with "short"."""

    reason: str  # "short", "long", "common", "sequence" or "personal"
    min_length: int
    message: str  # English, for the command line and logs


def min_length_for(role: str | None) -> int:
    return ADMIN_MIN_PASSWORD_LENGTH if role == "admin" else MIN_PASSWORD_LENGTH


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("survey_app").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def _plain(value: str) -> str:
    """Lower case, without accents or đ, keeping only letters and digits."""
    decomposed = unicodedata.normalize("NFD", value.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def is_common(password: str) -> bool:
    """Return whether the password, or it without the digits and signs at its end, is common.

    "iloveyou2025!" is "iloveyou" with a year: as easy to guess as the word itself.
    """
    lowered = password.strip().lower()
    words = common_passwords()
    if lowered in words:
        return True
    stem = re.sub(r"[\d\W_]+$", "", lowered)
    return len(stem) >= 4 and stem in words


def is_run_or_repeat(password: str) -> bool:
    """Return whether the password walks along a row or alphabet, or repeats a few characters."""
    lowered = password.lower()
    if len(set(lowered)) < _MIN_DISTINCT:
        return True
    # The same few characters said again and again (zxcvbnzxcvbn): the text is its own
    # rotation before a full turn.
    if (lowered + lowered).find(lowered, 1) < len(lowered):
        return True
    return any(lowered in run or lowered in run[::-1] for run in _RUNS)


def _details(email: str, name: str) -> set[str]:
    """The e-mail's name part and its pieces; the full name and each two names side by side.

    A single Vietnamese name is a short syllable found inside many words ("tran" in
    "trang"), so names are looked for two at a time.
    """
    local = (email or "").partition("@")[0]
    found = {_plain(local), _plain(name or "")}
    found.update(_plain(part) for part in re.split(r"[._+\-]+", local))
    names = [_plain(part) for part in (name or "").split()]
    found.update(a + b for a, b in zip(names, names[1:], strict=False))
    return {detail for detail in found if len(detail) >= _MIN_DETAIL}


def contains_details(password: str, email: str, name: str) -> bool:
    """Return whether the password holds the e-mail's name part or the person's name."""
    plain = _plain(password)
    return any(detail in plain for detail in _details(email, name))


def password_problem(
    password: str, *, role: str | None, email: str = "", name: str = ""
) -> PasswordProblem | None:
    """Return why the password is refused for this account, or None when it will do."""
    minimum = min_length_for(role)
    if len(password) < minimum:
        whose = "an administrator's password" if role == "admin" else "a password"
        return PasswordProblem(
            "short", minimum, f"{whose} must have at least {minimum} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return PasswordProblem(
            "long", minimum, f"a password may have at most {MAX_PASSWORD_LENGTH} characters"
        )
    if is_common(password):
        return PasswordProblem(
            "common", minimum, "this password is one of the most common ones; choose another"
        )
    if is_run_or_repeat(password):
        return PasswordProblem(
            "sequence", minimum,
            "this password is a run of keys or a repeat (like 123456789 or aaaaaa); "
            "choose another",
        )
    if contains_details(password, email, name):
        return PasswordProblem(
            "personal", minimum,
            "the password contains the account's e-mail name or the person's name",
        )
    return None
