"""Masking the personal data citizens write into comments: phones, ID and account numbers, e-mail.

Pure: no web framework, no database. `mask_personal_data` replaces each piece of personal
data by a short Vietnamese placeholder and says which kinds it found. What it never masks:
dates, times, sums of money, quantities, years, dossier codes, addresses, counter and plot
numbers, and the public hotlines (1800…, 1900…), which name an office, not a person.

Matching reads a "skeleton" of the text, one entry per character of it: full-width and other
digits as ASCII digits, every space as a space, every dash as "-", compatibility forms
folded, and zero-width and other format characters dropped, so that "０９１２ ３４５ ６７８" or a
zero-width space between two digits does not hide a number. The text kept is the text as
typed (NFC), with only the masked spans replaced.

Every placeholder is no longer than the shortest text it replaces, so masking never makes
a comment longer (and a comment that fitted its column still fits).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

PHONE = "phone"
CCCD = "cccd"
CMND = "cmnd"
EMAIL = "email"
ACCOUNT = "account"
NUMBER = "number"  # a long digit run of no known kind: an account or tax code, most likely

PLACEHOLDERS = {
    PHONE: "[SĐT]",
    CCCD: "[CCCD]",
    CMND: "[CMND]",
    EMAIL: "[email]",
    ACCOUNT: "[STK]",
    NUMBER: "[dãy số]",
}
KINDS = tuple(PLACEHOLDERS)
# The longest number masked (a bank account or a card).
MAX_DIGITS = 19


@dataclass(frozen=True)
class Masked:
    """A text with its personal data replaced, and the kinds of data that were found."""

    text: str
    kinds: frozenset[str]

    @property
    def is_masked(self) -> bool:
        return bool(self.kinds)


_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


def _skeleton(text: str) -> tuple[str, list[int]]:
    """Return the text as matched, and for each of its characters the index it comes from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cf":  # zero-width, bidi, soft hyphen: not there
            continue
        if char == "\n":
            folded = "\n"
        elif char.isspace():
            folded = " "
        elif char in _DASHES:
            folded = "-"
        elif (digit := unicodedata.decimal(char, None)) is not None:
            folded = str(digit)
        else:
            folded = unicodedata.normalize("NFKC", char)
            if folded.isspace():
                folded = " "
        for part in folded:
            chars.append(part)
            origin.append(index)
    return "".join(chars), origin


# E-mail: an address with at most one space either side of the @ ("an @ gmail.com"), seven
# characters at least (as long as its placeholder).
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]* ?@ ?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w@])"
)

# A run of digit groups that may be one number: groups joined by a space, or by "." or "-"
# with a space at most on either side. "+" and parentheses of a dialling code come along.
_GROUP = re.compile(r"\(\+?\d+\)(?= ?[.-]? ?\d)|\+?\d+")
_SEPARATOR = re.compile(r" ?[.-] ?| ")

# Words right after a number that make it a sum, a quantity or a share, never an identifier.
_UNITS = re.compile(
    r" ?(?:đ|đồng|vnđ|vnd|k|nghìn|ngàn|ngan|nghin|triệu|trieu|tr|tỷ|tỉ|ty|usd|\$|%|m2|m²|m|km|ha|kg"
    r")(?!\w)",
    re.IGNORECASE,
)
# Cue words before a number (within a few words, no other number between).
_ACCOUNT_CUE = re.compile(
    r"(?<!\w)(?:stk|số tk|tk|tài khoản|tai khoan|account|acc|chuyển khoản|ck|ngân hàng|nh"
    r"|vietcombank|vcb|agribank|bidv|techcombank|tcb|mb|mbbank|mb bank|vietinbank|viettinbank"
    r"|acb|sacombank|vpbank|tpbank|shb|hdbank|ocb|msb|vib|seabank|lpbank|lienvietpostbank"
    r"|eximbank|bảo việt|baoviet|abbank|namabank|nam á|pvcombank|scb|kienlongbank)(?!\w)",
    re.IGNORECASE,
)
_ID_CUE = re.compile(
    r"(?<!\w)(?:cccd|căn cước|can cuoc|định danh|cmnd|cmt|chứng minh|chung minh|số id)(?!\w)",
    re.IGNORECASE,
)
# Numbers that name a document, a plot, a place or a dossier: not personal data.
_DOCUMENT_CUE = re.compile(
    r"(?<!\w)(?:hồ sơ|biên nhận|giấy hẹn|mã(?! số thuế)|quyết định|công văn|văn bản|thửa"
    r"|tờ bản đồ|lô|số nhà|nhà số|ngõ|ngách|hẻm|kiệt|quầy|phòng|tổ|khu phố|thôn|xóm|ấp"
    r"|serial|seri)(?!\w)",
    re.IGNORECASE,
)
# How far before a number a cue counts, in characters of the skeleton.
_CUE_REACH = 40
# Letters right before a number that announce it rather than make it part of a code.
_ANNOUNCING = re.compile(
    r"(?<![^\W\d_])(?:sđt|sdt|đt|dt|tel|zalo|stk|tk|cccd|cmnd|id|vcb|mb|bidv|acb)[:.#-]?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Group:
    start: int
    end: int
    digits: str
    before: str  # the separator before it ("" for the first of a run)
    is_dialled: bool = False  # written with "+" or in parentheses: a dialling code


def mask_personal_data(text: str) -> Masked:
    """Return the text with its phone, ID and account numbers and e-mail addresses masked.

    Masking is repeated until it finds nothing more: what a number is tied to may change
    when its neighbour is masked ("00912345678:0912345678"), and masking a masked text
    must change nothing. Each round removes digits or an "@" (a placeholder has neither),
    so the rounds end.
    """
    kinds: set[str] = set()
    text = unicodedata.normalize("NFC", text)
    while True:
        masked = _mask_once(text)
        if not masked.kinds:
            return Masked(text, frozenset(kinds))
        kinds |= masked.kinds
        text = masked.text


def _mask_once(text: str) -> Masked:
    skeleton, origin = _skeleton(text)
    spans: list[tuple[int, int, str]] = []
    for match in _EMAIL.finditer(skeleton):
        if match.end() - match.start() >= len(PLACEHOLDERS[EMAIL]):
            spans.append((match.start(), match.end(), EMAIL))
    taken = _covered(spans, len(skeleton))
    for run in _runs(skeleton, taken):
        spans.extend(_classify_run(skeleton, run))
    if not spans:
        return Masked(text, frozenset())
    spans.sort()
    pieces: list[str] = []
    at = 0
    for start, end, kind in spans:
        first, last = origin[start], origin[end - 1] + 1
        pieces.append(text[at:first])
        pieces.append(PLACEHOLDERS[kind])
        at = last
    pieces.append(text[at:])
    return Masked("".join(pieces), frozenset(kind for _s, _e, kind in spans))


def _covered(spans: list[tuple[int, int, str]], length: int) -> list[bool]:
    taken = [False] * length
    for start, end, _kind in spans:
        for index in range(start, end):
            taken[index] = True
    return taken


def _runs(skeleton: str, taken: list[bool]) -> list[list[_Group]]:
    """Return the runs of digit groups that are not part of a code, a date or an address."""
    runs: list[list[_Group]] = []
    current: list[_Group] = []
    previous_end = 0
    for match in _GROUP.finditer(skeleton):
        start, end = match.span()
        if any(taken[start:end]):
            current = _closed(runs, current)
            continue
        between = skeleton[previous_end:start]
        digits = re.sub(r"\D", "", match.group())
        is_dialled = match.group()[0] in "+("
        if current and _SEPARATOR.fullmatch(between):
            current.append(_Group(start, end, digits, between, is_dialled))
        else:
            current = _closed(runs, current)
            current.append(_Group(start, end, digits, "", is_dialled))
        previous_end = end
    _closed(runs, current)
    return [piece for run in runs for piece in _split_at_codes(skeleton, run)]


def _closed(runs: list[list[_Group]], current: list[_Group]) -> list[_Group]:
    if current:
        runs.append(current)
    return []


def _is_code_side(skeleton: str, index: int, step: int) -> bool:
    """Return whether the character at `index` ties a number to a code, a date or an address."""
    if not 0 <= index < len(skeleton):
        return False
    char = skeleton[index]
    beyond = skeleton[index + step] if 0 <= index + step < len(skeleton) else ""
    if char.isalnum() or char in "/_@#&":
        return True
    if char in ",:":
        # Inside "1,5" or "14:00", not a comma between words or "SĐT:0912…".
        return beyond.isdigit() and not (char == ":" and step < 0)
    if char in ".-":
        return beyond.isalnum()
    return False


def _split_at_codes(skeleton: str, run: list[_Group]) -> list[list[_Group]]:
    """Drop from a run the tight chunks that belong to a code, a date, a time or an address.

    A tight chunk is groups joined by "." or "-" with no space ("000.00.31", "261205-0001",
    "05.12.2026"). It belongs to a code when a letter or a "/" touches it
    ("H45-261205-0001", "123/45/6", "8h30"), unless the letters are a cue such as "SĐT".
    A number that is a whole phone number on its own is kept even so ("0912345678/0987…").
    """
    chunks: list[list[_Group]] = []
    for group in run:
        if chunks and group.before in (".", "-"):
            chunks[-1].append(group)
        else:
            chunks.append([group])
    pieces: list[list[_Group]] = []
    current: list[_Group] = []
    for chunk in chunks:
        start, end = chunk[0].start, chunk[-1].end
        digits = "".join(g.digits for g in chunk)
        before_is_code = _is_code_side(skeleton, start - 1, -1) and not _announced(skeleton, start)
        after_is_code = _is_code_side(skeleton, end, 1)
        touches_letters = _touches(skeleton, start - 1) or _touches(skeleton, end)
        is_code = (before_is_code or after_is_code) and not (
            _phone_kind(digits) and not touches_letters
        )
        if is_code or _is_date(chunk):
            if current:
                pieces.append(current)
            current = []
            continue
        if not current and chunk[0].before:
            chunk = [replace(chunk[0], before=""), *chunk[1:]]
        current.extend(chunk)
    if current:
        pieces.append(current)
    return pieces


def _touches(skeleton: str, index: int) -> bool:
    return 0 <= index < len(skeleton) and (skeleton[index].isalpha() or skeleton[index] == "_")


def _announced(skeleton: str, start: int) -> bool:
    """Return whether the letters right before a number are a cue such as "SĐT" or "STK"."""
    return _ANNOUNCING.search(skeleton[max(0, start - 12):start]) is not None


def _is_date(chunk: list[_Group]) -> bool:
    """Return whether a chunk reads as a date: 5.12.2026, 05-12-26, 12.2026, 2026-12-05."""
    parts = [g.digits for g in chunk]
    if len(parts) == 3 and len(parts[0]) == 4:
        parts = parts[::-1]
    if len(parts) not in (2, 3) or len({g.before for g in chunk[1:]}) != 1:
        return False
    day_month, year = parts[:-1], parts[-1]
    if len(year) not in (2, 4) or any(len(p) > 2 for p in day_month):
        return False
    numbers = [int(p) for p in day_month]
    if len(numbers) == 2:
        return 1 <= numbers[0] <= 31 and 1 <= numbers[1] <= 12
    return 1 <= numbers[0] <= 12


def _phone_kind(digits: str) -> bool:
    """Return whether the digits are a Vietnamese mobile or landline number."""
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:].removeprefix("0")
    return bool(
        re.fullmatch(r"0[35789]\d{8}", digits)
        or re.fullmatch(r"02\d{9}", digits)
        or re.fullmatch(r"01[2689]\d{8}", digits)  # the old eleven-digit mobile numbers
    )


def _is_hotline(digits: str) -> bool:
    return digits[:4] in ("1800", "1900") and len(digits) in (8, 10)


def _is_money(groups: list[_Group]) -> bool:
    """Return whether groups are written as a sum: 500.000, 1 200 000, 125.000.000."""
    first = groups[0]
    if len(groups) < 2 or first.is_dialled or first.digits.startswith("0") or len(first.digits) > 3:
        return False
    separators = {g.before.strip() or " " for g in groups[1:]}
    return (
        len(separators) == 1
        and separators != {"-"}
        and all(len(g.digits) == 3 for g in groups[1:])
        and groups[-1].digits.endswith("00")
    )


def _cue_before(skeleton: str, start: int, cue: re.Pattern[str]) -> bool:
    """Return whether a cue word stands shortly before `start`, with no number or line between."""
    window = skeleton[max(0, start - _CUE_REACH):start]
    # A number or a placeholder between ends the cue's reach, as a line or a sentence does.
    window = re.split(r"[\d\n\]]|[.!?;] ", window)[-1]
    return cue.search(window) is not None


def _kind_of(skeleton: str, groups: list[_Group]) -> str | None:
    """Return the kind of personal data the groups spell (a long number aside), or None."""
    digits = "".join(g.digits for g in groups)
    start, end = groups[0].start, groups[-1].end
    if _UNITS.match(skeleton, end) or _is_money(groups):
        return None
    if _is_hotline(digits):
        return None
    is_round = len(digits) <= 9 and digits.endswith("000")  # a sum without its unit
    is_account_length = 6 <= len(digits) <= MAX_DIGITS and not is_round
    if is_account_length and _cue_before(skeleton, start, _ACCOUNT_CUE):
        return ACCOUNT
    if _phone_kind(digits):
        return PHONE
    has_id_cue = _cue_before(skeleton, start, _ID_CUE)
    if len(digits) == 12 and (digits.startswith("0") or has_id_cue):
        return CCCD
    if _cue_before(skeleton, start, _DOCUMENT_CUE) and not has_id_cue:
        return None
    if len(digits) == 9:
        return CMND
    return None


def _is_long_number(skeleton: str, groups: list[_Group]) -> bool:
    """Return whether groups no other kind claimed spell one long number (an account, a card,
    a tax code): one group of ten digits or more, or groups of three or four digits
    ("4111 1111 1111 1111") that are not a list of years; never a sum, a hotline or a
    document's number.
    """
    digits = "".join(g.digits for g in groups)
    if not 10 <= len(digits) <= MAX_DIGITS or _is_hotline(digits) or _is_money(groups):
        return False
    if _UNITS.match(skeleton, groups[-1].end) or _cue_before(
        skeleton, groups[0].start, _DOCUMENT_CUE
    ):
        return False
    if len(groups) == 1:
        return True
    return all(3 <= len(g.digits) <= 4 for g in groups) and not all(
        re.fullmatch(r"(19|20)\d\d", g.digits) for g in groups
    )


# When stretches of different lengths starting at one group are each some kind, the kind
# earlier here wins ("0912 345 678 10 lần" is a phone number and a count, not a CCCD).
_PRIORITY = (ACCOUNT, PHONE, CCCD, CMND)


def _classify_run(skeleton: str, run: list[_Group]) -> list[tuple[int, int, str]]:
    """Return the spans of personal data in a run, from the left.

    The groups no kind claims, between the spans found, are then read as one long number
    or not at all: a stretch is judged alike before and after its neighbours are masked,
    so masking a masked text changes nothing.
    """
    found: list[tuple[int, int, str]] = []
    left: list[list[_Group]] = [[]]
    index = 0
    while index < len(run):
        # No kind has more than MAX_DIGITS digits: longer stretches need not be tried.
        reach, digits = index, len(run[index].digits)
        while reach + 1 < len(run) and digits + len(run[reach + 1].digits) <= MAX_DIGITS:
            reach += 1
            digits += len(run[reach].digits)
        candidates: dict[str, int] = {}
        for last in range(reach, index - 1, -1):
            kind = _kind_of(skeleton, run[index:last + 1])
            if kind is not None:
                candidates.setdefault(kind, last)  # the longest of each kind
        if candidates:
            kind = min(candidates, key=_PRIORITY.index)
            last = candidates[kind]
            found.append((run[index].start, run[last].end, kind))
            left.append([])
            index = last + 1
        else:
            left[-1].append(run[index])
            index += 1
    found.extend(
        (stretch[0].start, stretch[-1].end, NUMBER)
        for stretch in left
        if stretch and _is_long_number(skeleton, stretch)
    )
    return found
