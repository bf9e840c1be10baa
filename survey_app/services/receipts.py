"""Receipt links: a survey link per dossier, printed as a QR on its receipt.

The one-stop system mints them offline with a per-agency secret (docs/receipts.md gives the
algorithm to vendors); the API and `flask receipts mint` mint them here too. A link is
`PUBLIC_BASE_URL/r/<token>`, where the token is 33 bytes in URL-safe base64 without
padding (44 characters):

    version (1) | key id (4) | agency id (4) | sector id (2) | issue day (2) | digest (8) | tag (12)

big-endian, the issue day counted from 2000-01-01; the digest is a keyed hash of the folded
dossier code (the code itself never travels), and the tag authenticates the first 21 bytes.

`mint_token` and `read_token` need neither Flask nor a database; the rest reads and writes
the keys, the links minted and the hidden survey codes receipt answers are filed under.
Writes only flush; the caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from survey_app.models import (
    Agency,
    Counter,
    DossierDigest,
    MintedReceipt,
    ReceiptKey,
    Response,
    Sector,
    SurveyCode,
    User,
    utcnow,
)
from survey_app.questionnaire import DOSSIER_MAX_LENGTH
from survey_app.services import audit
from survey_app.services.codes import create_survey_code, survey_url_root
from survey_app.text import clean_dossier, fold_dossier

VERSION = 1
EPOCH = date(2000, 1, 1)
SECRET_BYTES = 32
DIGEST_BYTES = 8
TAG_BYTES = 12
# version, key id, agency id, sector id, issue day, dossier digest: the bytes the tag covers.
_SIGNED = struct.Struct(">BIIHH8s")
TOKEN_BYTES = _SIGNED.size + TAG_BYTES  # 33
# 33 bytes in base64 fill 44 characters exactly: no padding, no spare bits.
TOKEN_LENGTH = TOKEN_BYTES * 4 // 3
_TOKEN = re.compile(r"[A-Za-z0-9_-]{44}")
DIGEST_LABEL = b"dossier:"
TAG_LABEL = b"receipt-v1:"
RECEIPT_PATH = "/r/"
LAST_DAY = EPOCH + timedelta(days=0xFFFF)
# Ids are 32-bit signed integers on PostgreSQL: a larger key id names no key, and must not
# reach the database, which would fail on it.
MAX_ID = 2**31 - 1
# The one-stop system's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(days=1)
# The counter that files an agency's receipt answers (its codes are never printed).
RECEIPT_COUNTER_NAME = "Biên nhận hồ sơ"
# Namespace of the PostgreSQL advisory locks that take an agency's dossiers in turn (the
# codes' own locks use 0x5356, services/recording.py).
DOSSIER_LOCK_CLASS = 0x5344
MAX_DOSSIERS_PER_CALL = 500

# Why a link is refused (stable keys): unreadable, then, in the order they are checked,
# every way a link can fail to be one of ours that is still open.
MALFORMED = "malformed"
UNKNOWN_KEY = "unknown_key"
FORGED = "forged"
WRONG_AGENCY = "wrong_agency"
UNKNOWN_SECTOR = "unknown_sector"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
RETIRED = "retired"
REASONS = (
    MALFORMED, UNKNOWN_KEY, FORGED, WRONG_AGENCY, UNKNOWN_SECTOR, NOT_YET_VALID, EXPIRED, RETIRED,
)


class ReceiptError(ValueError):
    """A receipt link that opens no form; `reason` is one of REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MintError(ValueError):
    """A request to mint links that cannot be carried out; `reason` is a stable key."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ReceiptKeyError(ValueError):
    """A change to a receipt key that cannot be made."""


# The token, with neither Flask nor a database ----------------------------------------------


def _hmac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


def dossier_digest(secret: bytes, dossier: str) -> bytes:
    """Return the 8-byte keyed digest of a dossier code, as folded by text.fold_dossier."""
    folded = fold_dossier(dossier)
    if not folded:
        raise ValueError("a dossier code needs at least one letter or digit")
    return _hmac(secret, DIGEST_LABEL + folded.encode())[:DIGEST_BYTES]


def tag_for(secret: bytes, signed: bytes) -> bytes:
    """Return the 12-byte tag of the first 21 bytes of a token."""
    return _hmac(secret, TAG_LABEL + signed)[:TAG_BYTES]


def day_number(day: date) -> int:
    """Return a date as days since 2000-01-01, as a token carries it."""
    number = (day - EPOCH).days
    if not 0 <= number <= 0xFFFF:
        raise ValueError(f"the issue date must be between {EPOCH} and {LAST_DAY}")
    return number


def mint_token(
    secret: bytes, key_id: int, agency_id: int, sector_id: int, issued_on: date, dossier: str
) -> str:
    """Return the token of one dossier's receipt link."""
    if not 0 < key_id <= 0xFFFFFFFF or not 0 < agency_id <= 0xFFFFFFFF:
        raise ValueError("key and agency ids must fit in 32 bits")
    if not 0 < sector_id <= 0xFFFF:
        raise ValueError("the sector id must fit in 16 bits")
    signed = _SIGNED.pack(
        VERSION, key_id, agency_id, sector_id, day_number(issued_on),
        dossier_digest(secret, dossier),
    )
    return base64.urlsafe_b64encode(signed + tag_for(secret, signed)).decode().rstrip("=")


@dataclass(frozen=True)
class ReceiptToken:
    """What a token says, before anyone checked it."""

    key_id: int
    agency_id: int
    sector_id: int
    issued_on: date
    digest: bytes
    tag: bytes
    signed: bytes  # the first 21 bytes, which the tag covers

    def is_signed_by(self, secret: bytes) -> bool:
        return hmac.compare_digest(self.tag, tag_for(secret, self.signed))


def looks_like_token(text: object) -> bool:
    """Return whether the text is spelt as a token (44 URL-safe base64 characters)."""
    return isinstance(text, str) and len(text) == TOKEN_LENGTH and bool(_TOKEN.fullmatch(text))


def read_token(text: object) -> ReceiptToken:
    """Return what a token says; ReceiptError(MALFORMED) when it is none of ours.

    Case matters, and nothing is trimmed or repaired: a NUL, a tab, padding or one
    character too many is refused before anything is decoded.
    """
    if not looks_like_token(text):
        raise ReceiptError(MALFORMED)
    assert isinstance(text, str)
    raw = base64.urlsafe_b64decode(text)  # 44 characters: exactly 33 bytes, no padding
    version, key_id, agency_id, sector_id, day, digest = _SIGNED.unpack(raw[: _SIGNED.size])
    if version != VERSION:
        raise ReceiptError(MALFORMED)
    return ReceiptToken(
        key_id=key_id,
        agency_id=agency_id,
        sector_id=sector_id,
        issued_on=EPOCH + timedelta(days=day),
        digest=digest,
        tag=raw[_SIGNED.size:],
        signed=raw[: _SIGNED.size],
    )


def receipt_url(token: str) -> str:
    """Return the public address of a receipt link."""
    return f"{survey_url_root()}{RECEIPT_PATH}{token}"


# Keys --------------------------------------------------------------------------------------


def create_key(session: Session, agency: Agency) -> ReceiptKey:
    """Give an agency a new secret; the caller shows it once, it is never logged."""
    key = ReceiptKey(agency=agency, secret=secrets.token_hex(SECRET_BYTES))
    session.add(key)
    session.flush()
    audit.record(session, "receipt_key.created", target=key, agency=agency.code)
    return key


def list_keys(session: Session, agency: Agency | None = None) -> list[ReceiptKey]:
    """Return the keys, of one agency or of all, by agency and age."""
    query = select(ReceiptKey).join(ReceiptKey.agency).order_by(Agency.code, ReceiptKey.id)
    if agency is not None:
        query = query.where(ReceiptKey.agency_id == agency.id)
    return list(session.scalars(query))


def retire_key(session: Session, key: ReceiptKey) -> None:
    """Retire a key: it signs nothing new, and every link it signed is refused from now on."""
    if key.retired_at is not None:
        raise ReceiptKeyError(f"key {key.id} is already retired")
    key.retired_at = utcnow()
    session.flush()
    audit.record(session, "receipt_key.retired", target=key, agency=key.agency.code)


def active_key(session: Session, agency_id: int) -> ReceiptKey | None:
    """Return the agency's newest active key: the one links are minted with."""
    return session.scalar(
        select(ReceiptKey)
        .where(ReceiptKey.agency_id == agency_id, ReceiptKey.retired_at.is_(None))
        .order_by(ReceiptKey.id.desc())
        .limit(1)
    )


def _secret(key: ReceiptKey) -> bytes:
    return bytes.fromhex(key.secret)


# Opening a link ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptClaim:
    """A link found genuine and open: which dossier of which agency and sector it answers."""

    key_id: int
    agency_id: int
    sector_id: int
    issued_on: date
    digest: str  # hex, as DossierDigest keeps it
    agency_name: str
    sector_label_vi: str
    sector_label_en: str

    def sector_label(self, language: str) -> str:
        return self.sector_label_en if language == "en" else self.sector_label_vi


def valid_days() -> int:
    days: int = current_app.config["RECEIPT_VALID_DAYS"]
    return days


def verify(session: Session, token: object, today: date) -> ReceiptClaim:
    """Return what a link claims once it is found genuine and open; ReceiptError if not.

    Checked in this order: readable, a key we know, its tag, the key's agency, a known
    sector, not issued in the future (beyond a day of clock skew), not older than
    RECEIPT_VALID_DAYS, a key not retired. Only a genuine link learns that it expired or
    that its key was retired.
    """
    parsed = read_token(token)
    key = session.get(ReceiptKey, parsed.key_id) if parsed.key_id <= MAX_ID else None
    if key is None:
        raise ReceiptError(UNKNOWN_KEY)
    if not parsed.is_signed_by(_secret(key)):
        raise ReceiptError(FORGED)
    if key.agency_id != parsed.agency_id:
        raise ReceiptError(WRONG_AGENCY)
    sector = session.get(Sector, parsed.sector_id)
    if sector is None:
        raise ReceiptError(UNKNOWN_SECTOR)
    if parsed.issued_on > today + CLOCK_SKEW:
        raise ReceiptError(NOT_YET_VALID)
    if parsed.issued_on + timedelta(days=valid_days()) < today:
        raise ReceiptError(EXPIRED)
    if key.retired_at is not None:
        raise ReceiptError(RETIRED)
    return ReceiptClaim(
        key_id=key.id,
        agency_id=key.agency_id,
        sector_id=sector.id,
        issued_on=parsed.issued_on,
        digest=parsed.digest.hex(),
        agency_name=key.agency.name,
        sector_label_vi=sector.label_vi,
        sector_label_en=sector.label_en,
    )


def answered_response(session: Session, key_id: int, digest: str) -> Response | None:
    """Return the counted answer already given through the receipt link of this dossier."""
    return session.scalar(
        select(Response)
        .join(DossierDigest, DossierDigest.response_id == Response.id)
        .join(SurveyCode, SurveyCode.id == Response.survey_code_id)
        .where(
            DossierDigest.key_id == key_id,
            DossierDigest.digest == digest,
            Response.status == "counted",
            SurveyCode.kind == "receipt",
        )
        .limit(1)
    )


def is_answered(session: Session, claim: ReceiptClaim) -> bool:
    """Return whether the link's dossier already has its counted receipt answer."""
    return answered_response(session, claim.key_id, claim.digest) is not None


# Where receipt answers are filed ---------------------------------------------------------


def take_dossiers_in_turn(session: Session, agency_id: int) -> None:
    """Wait until no other transaction stores an answer naming a dossier of the agency.

    A receipt answer and a walk-in answer for one dossier come through different codes:
    judged at once, each would miss the other (PostgreSQL; SQLite writes one at a time).
    The lock ends with the transaction. A receipt answer takes it before its code's lock,
    a walk-in answer after its own: no two answers ever wait for each other's.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(DOSSIER_LOCK_CLASS, agency_id)))


def receipt_code_for(session: Session, agency_id: int, sector_id: int) -> SurveyCode:
    """Return the hidden code filing the agency's receipt answers in a sector.

    Made on first use, under the agency's counter «Biên nhận hồ sơ» (made too if need
    be): answers through links are then counted, rolled up and filtered like any other.
    """
    query = (
        select(SurveyCode)
        .where(
            SurveyCode.kind == "receipt",
            SurveyCode.agency_id == agency_id,
            SurveyCode.sector_id == sector_id,
            SurveyCode.revoked_at.is_(None),
        )
        .order_by(SurveyCode.id)
        .limit(1)
    )
    code = session.scalar(query)
    if code is not None:
        return code
    # Two first answers at once must not make two codes: ask again in turn.
    take_dossiers_in_turn(session, agency_id)
    code = session.scalar(query)
    if code is not None:
        return code
    agency = session.get_one(Agency, agency_id)
    sector = session.get_one(Sector, sector_id)
    # The counter of the agency's other receipt codes, even if an admin renamed it.
    counter = session.scalar(
        select(Counter)
        .join(SurveyCode, SurveyCode.counter_id == Counter.id)
        .where(SurveyCode.kind == "receipt", SurveyCode.agency_id == agency_id)
        .limit(1)
    ) or session.scalar(
        select(Counter).where(Counter.agency_id == agency_id, Counter.name == RECEIPT_COUNTER_NAME)
    )
    if counter is None:
        counter = Counter(agency=agency, name=RECEIPT_COUNTER_NAME)
        session.add(counter)
        session.flush()
    return create_survey_code(session, agency, counter, sector, kind="receipt")


def receipt_counter_ids(session: Session, agency_id: int) -> set[int]:
    """Return the ids of the agency's counters that file receipt answers (none to print)."""
    return set(
        session.scalars(
            select(SurveyCode.counter_id)
            .where(SurveyCode.agency_id == agency_id, SurveyCode.kind == "receipt")
            .distinct()
        )
    )


# Walk-in answers ---------------------------------------------------------------------------


def dossier_digests(session: Session, agency_id: int, dossier: str) -> list[tuple[int, str]]:
    """Return (key id, hex digest) of a dossier code under each key of the agency.

    Retired keys too: an answer their links brought before they were retired still has
    its dossier.
    """
    keys = session.scalars(select(ReceiptKey).where(ReceiptKey.agency_id == agency_id))
    return [(key.id, dossier_digest(_secret(key), dossier).hex()) for key in keys]


def carries_any(digests: Sequence[tuple[int, str]]) -> ColumnElement[bool]:
    """Return the condition "this DossierDigest row is one of these"."""
    return or_(*(and_(DossierDigest.key_id == k, DossierDigest.digest == d) for k, d in digests))


def has_counted_digest(session: Session, digests: Sequence[tuple[int, str]]) -> bool:
    """Return whether a counted response (of any source) carries one of the digests."""
    if not digests:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    DossierDigest.response_id == Response.id,
                    Response.status == "counted",
                    carries_any(digests),
                )
            )
        )
    )


# Minting through the API and the command line ---------------------------------------------


@dataclass(frozen=True)
class MintedLink:
    dossier: str  # as it was given
    token: str
    url: str


def clean_dossiers(dossiers: Sequence[object]) -> list[str]:
    """Return the dossier codes cleaned; MintError names the first one that is not a code."""
    if not dossiers:
        raise MintError("give at least one dossier code", "dossiers")
    if len(dossiers) > MAX_DOSSIERS_PER_CALL:
        raise MintError(
            f"at most {MAX_DOSSIERS_PER_CALL} dossiers per call, not {len(dossiers)}", "dossiers"
        )
    cleaned = []
    for index, dossier in enumerate(dossiers):
        is_short = isinstance(dossier, str) and len(dossier) <= DOSSIER_MAX_LENGTH
        text = clean_dossier(dossier) if is_short else None
        if text is None or len(text) > DOSSIER_MAX_LENGTH:
            raise MintError(
                f"dossier {index}: a dossier code has 1 to {DOSSIER_MAX_LENGTH} characters, "
                "with at least one letter or digit",
                "dossier",
            )
        cleaned.append(text)
    return cleaned


def mint_links(
    session: Session,
    agency: Agency,
    sector: Sector,
    dossiers: Sequence[str],
    issued_on: date,
    actor: User | None = None,
    via: str = "api",
) -> list[MintedLink]:
    """Mint one link per dossier with the agency's newest active key, and keep each minted.

    Minting a dossier again on the same day gives the same link; the first minting is kept.
    Each code is digested as given (folded, as the one-stop system does offline).
    """
    clean_dossiers(dossiers)
    key = active_key(session, agency.id)
    if key is None:
        raise MintError(
            f"agency {agency.code} has no active receipt key: run "
            f"`flask receipts key create --agency {agency.code}`",
            "no_key",
        )
    secret = _secret(key)
    links, rows = [], {}
    for dossier in dossiers:
        token = mint_token(secret, key.id, agency.id, sector.id, issued_on, dossier)
        links.append(MintedLink(dossier, token, receipt_url(token)))
        digest = dossier_digest(secret, dossier).hex()
        rows[digest] = {
            "key_id": key.id, "digest": digest, "agency_id": agency.id,
            "sector_id": sector.id, "issued_on": issued_on, "created_at": utcnow(),
        }  # fmt: skip
    _insert_new(session, list(rows.values()))
    audit.record(
        session, "receipts.minted", actor=actor, target=key, agency=agency.code,
        sector=sector.code, links=len(links), via=via,
    )  # fmt: skip
    return links


def _insert_new(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert the minted receipts not kept yet (another call may be keeping them now)."""
    is_postgresql = session.get_bind().dialect.name == "postgresql"
    builder = postgresql_insert if is_postgresql else sqlite_insert
    session.execute(builder(MintedReceipt).values(rows).on_conflict_do_nothing())

