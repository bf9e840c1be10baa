"""Reads and writes behind the survey form. Writes only flush; the caller commits."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from flask import Flask, abort, current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import String, Table, bindparam, case, exists, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached

from survey_app.masking import mask_personal_data
from survey_app.models import DossierDigest, Response, ResponseWish, SurveyCode, utcnow
from survey_app.questionnaire import (
    INTEGRITY_KEY,
    NOT_APPLICABLE,
    RATING_KEYS,
    WISH_KEY,
    Questionnaire,
)
from survey_app.services import alerts, devices, receipts, rollups, seals
from survey_app.services.caches import RecentCodes
from survey_app.services.hashing import keyed_hash
from survey_app.services.receipts import ReceiptClaim
from survey_app.services.signing import url_safe_signer
from survey_app.text import clean_survey_code, fold_dossier

DUPLICATE_DOSSIER = "dossier_repeat"
# Why a response is flagged for review instead of counted (stable keys, stored as they are).
HONEYPOT = "honeypot"
TOO_FAST = "too_fast"
DEVICE_MISMATCH = "device_mismatch"
DEVICE_REPEAT = "device_repeat"
ADDRESS_BURST = "address_burst"
BURST = "burst"
CODE_REVOKED = "code_revoked"  # answers a form served before its code was withdrawn
# At a kiosk: the same answers again and again, as when staff press for the citizens.
KIOSK_REPEAT = "kiosk_repeat"
BURST_WINDOW = timedelta(minutes=10)
# The two windows of the address rule (their allowances are settings).
ADDRESS_SHORT_WINDOW = timedelta(minutes=10)
ADDRESS_LONG_WINDOW = timedelta(hours=1)
# Namespace of the PostgreSQL advisory locks that take one code's submissions in turn.
CODE_LOCK_CLASS = 0x5356



def find_survey_code(session: Session, code: str, with_labels: bool = True) -> SurveyCode | None:
    """Return the counter's survey code as typed or scanned (any case).

    With labels, its agency, counter and sector come in the same query (a page shows
    them); without, they load only if asked for (taking answers rarely needs them). The
    hidden codes that file receipt answers are not found: no address serves them.
    """
    normalised = clean_survey_code(code)
    if not normalised:
        return None
    query = select(SurveyCode).where(SurveyCode.code == normalised, SurveyCode.kind == "counter")
    if with_labels:
        query = query.options(
            joinedload(SurveyCode.agency),
            joinedload(SurveyCode.counter),
            joinedload(SurveyCode.sector),
        )
    return session.scalar(query)


@dataclass(frozen=True)
class CodeLabels:
    """What the blank form shows of a code, read once and kept a few seconds."""

    code: str
    is_active: bool
    agency_name: str
    counter_name: str
    sector_label_vi: str
    sector_label_en: str

    def sector_label(self, language: str) -> str:
        return self.sector_label_en if language == "en" else self.sector_label_vi


def recent_codes(app: Flask | None = None) -> RecentCodes[CodeLabels]:
    """Return this app's recently read codes (each app has its own, as each has its db).

    `app` is the app, for a caller outside an app context; else the current one.
    """
    extensions = (current_app if app is None else app).extensions
    codes: RecentCodes[CodeLabels] = extensions.setdefault(
        "survey_app.recent_codes", RecentCodes()
    )
    return codes


def code_labels(session: Session | Callable[[], Session], code: str) -> CodeLabels | None:
    """Return what the blank form shows of a code, from the last few seconds if known.

    `session` may be a function that returns one: then no session is opened at all when
    the code is known from the last few seconds (most readings of a form).
    """
    normalised = clean_survey_code(code)
    if not normalised:
        return None

    def load() -> CodeLabels | None:
        found = find_survey_code(session if isinstance(session, Session) else session(),
                                 normalised)
        if found is None:
            return None
        return CodeLabels(
            code=found.code,
            is_active=found.is_active,
            agency_name=found.agency.name,
            counter_name=found.counter.name,
            sector_label_vi=found.sector.label_vi,
            sector_label_en=found.sector.label_en,
        )

    return recent_codes().get(normalised, current_app.config["FORM_CODE_CACHE_SECONDS"], load)


def active_survey_code_or_abort(
    session: Session, code: str, with_labels: bool = True
) -> SurveyCode:
    """Return the active code; 404 when there is no such code, 410 when it was revoked."""
    survey_code = find_survey_code(session, code, with_labels)
    if survey_code is None:
        abort(404)
    if not survey_code.is_active:
        abort(410)
    return survey_code


def code_taking_answers_or_abort(
    session: Session, code: str, submit_token: str | None
) -> SurveyCode:
    """Return the code a post answers; 404 when there is none, 410 when it was revoked.

    A form served before the revocation (its submit token says when) is still taken: the
    citizen's answers are kept, flagged and not counted, rather than lost.
    """
    survey_code = _find_survey_code_in_turn(session, code)
    if survey_code is None:
        abort(404)
    if survey_code.revoked_at is not None:
        token = read_submit_token(submit_token, survey_code.code)
        if token is None or token.issued_at >= survey_code.revoked_at:
            abort(410)
    return survey_code


def _find_survey_code_in_turn(session: Session, code: str) -> SurveyCode | None:
    """Return the counter's code as `find_survey_code` does, holding its lock on PostgreSQL.

    Answers to a code are judged in turn (`_take_code_in_turn`); the lock is taken by the
    lookup itself, in the same statement, rather than by a round trip of its own.
    """
    if session.get_bind().dialect.name != "postgresql":
        return find_survey_code(session, code, with_labels=False)
    normalised = clean_survey_code(code)
    if not normalised:
        return None
    row = session.execute(_code_lookup_in_turn(), {"code": normalised}).first()
    if row is None:
        return None
    survey_code: SurveyCode = row[0]
    _held_code_locks(session).add(survey_code.id)
    return survey_code


@lru_cache(maxsize=1)
def _code_lookup_in_turn() -> Any:
    """Return the statement finding a counter's code and locking it (built once)."""
    return select(SurveyCode, func.pg_advisory_xact_lock(CODE_LOCK_CLASS, SurveyCode.id)).where(
        SurveyCode.code == bindparam("code"), SurveyCode.kind == "counter"
    )


def _held_code_locks(session: Session) -> set[int]:
    """Return the ids of the codes whose lock this session's transaction holds."""
    transaction = session.get_transaction()
    held = session.info.get(_CODE_LOCKS_KEY)
    if held is None or held[0] is not transaction:
        # A new transaction holds no lock yet (they end with the transaction that took them).
        held = (transaction, set())
        session.info[_CODE_LOCKS_KEY] = held
    locks: set[int] = held[1]
    return locks


_CODE_LOCKS_KEY = "survey_app.code_locks"


# Submit tokens -------------------------------------------------------------------------
# Each rendering of the form carries a signed, single-use token. The response stores its
# nonce under a unique constraint, so a double click, a browser retry or a replay finds
# the response already made instead of making a second one. The token also names the
# device the form was served to and when: a post is judged by the form it answers, never
# by what the client says of itself.


@dataclass(frozen=True)
class SubmitToken:
    nonce: str
    code: str
    issued_at: datetime  # when the form carrying it was rendered
    device_tag: str  # of the device the form was served to (devices.device_tag)

    def is_sent_by(self, device_id: str | None) -> bool:
        """Return whether a post carrying this device id comes from the device served."""
        return device_id is not None and devices.device_tag(device_id) == self.device_tag


def _token_serializer() -> URLSafeSerializer:
    return _token_serializer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _token_serializer_for(secret_key: str) -> URLSafeSerializer:
    # Made once per key: building one costs as much as signing with it (it test-serialises).
    return URLSafeSerializer(secret_key, salt=_SUBMIT_SALT)


_SUBMIT_SALT = "survey-submit"


def issue_submit_token(code: str, device_id: str, config: Mapping[str, Any] | None = None) -> str:
    """Return a new signed submit token for one rendering of the form of `code` to a device.

    Read back by `read_submit_token`. `config` is the app's settings, for a caller outside
    an app context.
    """
    config = current_app.config if config is None else config
    payload = {
        "n": secrets.token_urlsafe(18),
        "c": code,
        "d": devices.device_tag(device_id, config),
        "t": round(utcnow().timestamp(), 3),
    }
    return url_safe_signer(config["SECRET_KEY"], _SUBMIT_SALT).dumps(payload)


def read_submit_token(token: str | None, code: str) -> SubmitToken | None:
    """Return the token's content, or None when it is missing, forged, stale or not this code's."""
    if not token:
        return None
    try:
        payload = _token_serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("c") != code:
        return None
    nonce, device, issued = payload.get("n"), payload.get("d"), payload.get("t")
    if not isinstance(nonce, str) or not nonce or not isinstance(device, str):
        return None
    if not isinstance(issued, int | float):
        return None
    issued_at = datetime.fromtimestamp(issued, UTC)
    age = (utcnow() - issued_at).total_seconds()
    if age > current_app.config["SUBMIT_TOKEN_MAX_AGE"]:
        return None
    return SubmitToken(nonce=nonce, code=code, issued_at=issued_at, device_tag=device)


def response_for_nonce(session: Session, nonce: str) -> Response | None:
    """Return the response already made with this submit token, if any."""
    return session.scalar(select(Response).where(Response.submit_nonce == nonce))


# Recording -----------------------------------------------------------------------------


def dossier_hash(dossier: str) -> str:
    """Return the keyed hash under which a (normalised) dossier code is kept."""
    return keyed_hash("dossier", fold_dossier(dossier))


def _has_counted_dossier(session: Session, agency_id: int, hashed: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Response.agency_id == agency_id,
                    Response.dossier_hash == hashed,
                    Response.status == "counted",
                )
            )
        )
    )


def _scale_value(value: str | None) -> int | None:
    return None if value is None or value in ("", NOT_APPLICABLE) else int(value)


@dataclass(frozen=True)
class Sender:
    """Where a submission came from and how it was made: what the abuse flags look at.

    The device is known by its hash only, the address is only hashed (survey_app.services.devices).
    """

    device_hash: str | None = None  # of the device that sent it, when it is the form's
    address: str | None = None
    rendered_at: datetime | None = None  # when the form was rendered (its submit token)
    is_honeypot_filled: bool = False
    # Whether the post came with the device cookie of the device the form was served to.
    is_device_bound: bool = True
    # A kiosk tablet at the counter: one device serves everyone, so the device and
    # address rules do not apply; its own rules do (services/kiosks.py).
    is_kiosk: bool = False


def _recent_responses_at_code(
    session: Session, survey_code: SurveyCode, since: datetime, at_most: int
) -> int:
    """Count the code's responses since a moment, stopping at `at_most` (all we need)."""
    recent = (
        select(Response.id)
        .where(Response.survey_code_id == survey_code.id, Response.created_at >= since)
        .limit(at_most)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(recent)) or 0


def _address_allowances() -> list[tuple[timedelta, int]]:
    """Return the address rule's windows and allowances that are on (a setting of 0 is off)."""
    config = current_app.config
    return [
        (window, allowance)
        for window, allowance in (
            (ADDRESS_SHORT_WINDOW, config["ADDRESS_PER_CODE_10_MIN"]),
            (ADDRESS_LONG_WINDOW, config["ADDRESS_PER_CODE_HOUR"]),
        )
        if allowance > 0
    ]


@lru_cache(maxsize=32)
def _stored_responses_checks(with_device: bool, address_windows: int, burst: int) -> Any:
    """Return the one statement of the checks that read the code's stored responses.

    Built once for each set of checks that are on (the settings), and bound to each
    submission's values: building it anew cost more than running it.
    - device: whether this device answered at this code within the window;
    - within_0, within_1: the address's counted responses at the code within each of its
      windows (only counted ones: what was flagged already costs nothing more, so a flood
      from an office never holds back its honest citizens longer than the windows);
    - burst: the code's responses within the burst window, stopping at `burst` (all we need).
    """
    code_id: Any = bindparam("code_id")
    checks: dict[str, Any] = {}
    if with_device:
        checks["device"] = exists().where(
            Response.device_hash == bindparam("device_hash"),
            Response.survey_code_id == code_id,
            Response.created_at >= bindparam("device_since"),
        )
    address = None
    if address_windows:
        address = (
            select(*(
                func.count(case((Response.created_at >= bindparam(f"address_since_{n}"), 1)))
                .label(f"within_{n}")
                for n in range(address_windows)
            ))
            .where(
                Response.survey_code_id == code_id,
                Response.created_at >= bindparam("address_since"),
                Response.address_hash == bindparam("address_hash"),
                Response.status == "counted",
            )
            .subquery()
        )
        for n in range(address_windows):
            checks[f"within_{n}"] = address.c[f"within_{n}"]
    if burst:
        recent = (
            select(Response.id)
            .where(Response.survey_code_id == code_id,
                   Response.created_at >= bindparam("burst_since"))
            .limit(burst)
            .subquery()
        )
        checks["burst"] = select(func.count()).select_from(recent).scalar_subquery()
    query = select(*(column.label(name) for name, column in checks.items()))
    return query.select_from(address) if address is not None else query


def _take_code_in_turn(session: Session, survey_code: SurveyCode) -> None:
    """Wait until no other transaction is judging a submission at this code (PostgreSQL).

    The flags count what is already stored: two posts judged at once would each miss the
    other. The lock ends with the transaction; elsewhere (SQLite) writes are serial anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        held = _held_code_locks(session)
        if survey_code.id in held:  # taken with the code's lookup
            return
        session.execute(select(func.pg_advisory_xact_lock(CODE_LOCK_CLASS, survey_code.id)))
        held.add(survey_code.id)


def flag_reason(
    session: Session,
    survey_code: SurveyCode,
    sender: Sender,
    now: datetime,
    answers: dict[str, Any] | None = None,
) -> str | None:
    """Return why a new response should be flagged for review, or None.

    When several reasons apply, the strongest sign of a machine wins: honeypot, code_revoked
    (answers to a code withdrawn while its form was open), too_fast,
    device_mismatch, device_repeat, address_burst, then burst. A setting of 0 turns its
    check off. A kiosk's answers have their own rules (`_kiosk_flag_reason`).
    """
    config = current_app.config
    if sender.is_honeypot_filled:
        return HONEYPOT
    if survey_code.revoked_at is not None:
        return CODE_REVOKED
    if sender.is_kiosk:
        return _kiosk_flag_reason(session, survey_code, sender, answers or {}, now)
    min_seconds = config["MIN_SECONDS_TO_ANSWER"]
    if (
        min_seconds > 0
        and sender.rendered_at is not None
        and (now - sender.rendered_at).total_seconds() < min_seconds
    ):
        return TOO_FAST
    if not sender.is_device_bound:
        return DEVICE_MISMATCH
    return _stored_responses_reason(session, survey_code, sender, now)


def _stored_responses_reason(
    session: Session, survey_code: SurveyCode, sender: Sender, now: datetime
) -> str | None:
    """Return device_repeat, address_burst or burst (in that order) from what is stored.

    The three checks read the code's recent responses: they go in one statement, and are
    then judged in their order.
    """
    config = current_app.config
    window = config["DEVICE_REPEAT_WINDOW"]
    with_device = window > 0 and sender.device_hash is not None
    allowances = _address_allowances() if sender.address is not None else []
    burst = config["BURST_PER_CODE_10_MIN"]
    if not (with_device or allowances or burst > 0):
        return None
    values: dict[str, Any] = {"code_id": survey_code.id}
    if with_device:
        values.update(device_hash=sender.device_hash,
                      device_since=now - timedelta(seconds=window))
    if allowances:
        values["address_hash"] = devices.address_hash(sender.address or "", now)
        values["address_since"] = now - max(within for within, _ in allowances)
        for n, (within, _) in enumerate(allowances):
            values[f"address_since_{n}"] = now - within
    if burst > 0:
        values["burst_since"] = now - BURST_WINDOW
    statement = _stored_responses_checks(with_device, len(allowances), max(burst, 0))
    found = session.execute(statement, values).one()._mapping
    if found.get("device"):
        return DEVICE_REPEAT
    if any(found[f"within_{n}"] >= allowance for n, (_, allowance) in enumerate(allowances)):
        return ADDRESS_BURST
    if burst > 0 and (found["burst"] or 0) >= burst:
        return BURST
    return None


def _kiosk_flag_reason(
    session: Session,
    survey_code: SurveyCode,
    sender: Sender,
    answers: dict[str, Any],
    now: datetime,
) -> str | None:
    """Return why a kiosk's answer should be flagged: too_fast, kiosk_repeat, burst, or None.

    The time to answer is the tablet's (from the blank form shown to «Gửi»), since an
    answer kept offline reaches the server long after it was given. Identical answers are
    compared on every rated and single-choice answer, at this one kiosk (its own code),
    and only when no comment was typed: a comment is a person at the counter.
    """
    config = current_app.config
    min_seconds = config["KIOSK_MIN_SECONDS_TO_ANSWER"]
    if (
        min_seconds > 0
        and sender.rendered_at is not None
        and (now - sender.rendered_at).total_seconds() < min_seconds
    ):
        return TOO_FAST
    repeats = config["KIOSK_IDENTICAL_ANSWERS"]
    if repeats > 0 and not answers.get("comment"):
        since = now - timedelta(seconds=config["KIOSK_IDENTICAL_WINDOW"])
        same = [
            getattr(Response, key).is_(None)
            if (value := _scale_value(answers.get(key))) is None
            else getattr(Response, key) == value
            for key in RATING_KEYS
        ]
        integrity = answers.get(INTEGRITY_KEY) or None
        same.append(
            getattr(Response, INTEGRITY_KEY).is_(None)
            if integrity is None
            else getattr(Response, INTEGRITY_KEY) == integrity
        )
        earlier = (
            select(Response.id)
            .where(
                Response.survey_code_id == survey_code.id,
                Response.created_at >= since,
                Response.comment.is_(None),
                *same,
            )
            .limit(repeats - 1)
            .subquery()
        )
        if (session.scalar(select(func.count()).select_from(earlier)) or 0) >= repeats - 1:
            return KIOSK_REPEAT
    burst = config["BURST_PER_CODE_10_MIN"]
    if burst > 0 and _recent_responses_at_code(
        session, survey_code, now - BURST_WINDOW, burst
    ) >= burst:
        return BURST
    return None


def record_response(
    session: Session,
    survey_code: SurveyCode,
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    nonce: str,
    language: str,
    now: datetime | None = None,
    sender: Sender | None = None,
    receipt: ReceiptClaim | None = None,
) -> tuple[Response, bool]:
    """Store one submitted form; return the response and whether it is new.

    `answers` are the validated form values: q1..q6 as "1".."5" or "na", q7 a code or
    None, q8 a list of codes, comment and dossier already normalised. The comment is
    stored with its personal data masked, and flagged when it was. A suspicious
    response is stored too, flagged with its reason and left out of the counted tallies;
    a repeated dossier code is stored as a duplicate unless it is flagged.

    With a `receipt` (a verified link, filed under `receipts.receipt_code_for`), the
    dossier is the link's: one typed in is ignored. A dossier already answered through its
    link stores nothing (the earlier answer comes back, not new). The link's answer is the
    verified one: a counted walk-in answer that typed the same dossier becomes the
    duplicate, and a walk-in answer after it is stored as the duplicate.
    """
    # A form sent again (a double tap, a retry, a replay) is found by the unique submit
    # nonce when its insert fails below: no query up front for what is rare.
    now = now or utcnow()
    sender = sender or Sender()
    # The comment is stored masked: what it said of phones, IDs, accounts or e-mail never
    # reaches the database, so no page, export, log line or error can show it.
    comment = mask_personal_data(answers["comment"]) if answers.get("comment") else None
    dossier = None if receipt is not None else answers.get("dossier") or None
    hashed = dossier_hash(dossier) if dossier else None
    digests: list[tuple[int, str]] = []
    if receipt is not None:
        # The dossiers' lock before the code's, as receipt_code_for takes it: a walk-in
        # takes its counter code's lock first, which no receipt answer ever waits for.
        receipts.take_dossiers_in_turn(session, survey_code.agency_id)
        _take_code_in_turn(session, survey_code)
        answered = receipts.answered_response(session, receipt.key_id, receipt.digest)
        if answered is not None:
            return answered, False
        digests = [(receipt.key_id, receipt.digest)]
    else:
        _take_code_in_turn(session, survey_code)
    if dossier:
        receipts.take_dossiers_in_turn(session, survey_code.agency_id)
        digests = receipts.dossier_digests(session, survey_code.agency_id, dossier)
    flagged_for = flag_reason(session, survey_code, sender, now, answers)
    is_repeat = (
        flagged_for is None
        and receipt is None
        and hashed is not None
        and (
            _has_counted_dossier(session, survey_code.agency_id, hashed)
            or receipts.has_counted_digest(session, digests)
        )
    )

    def build(repeat: bool) -> Response:
        if flagged_for is not None:
            status, reason = "flagged", flagged_for
        elif repeat:
            status, reason = "duplicate", DUPLICATE_DOSSIER
        else:
            status, reason = "counted", None
        response = Response(
            survey_code_id=survey_code.id,
            agency_id=survey_code.agency_id,
            counter_id=survey_code.counter_id,
            sector_id=survey_code.sector_id,
            questionnaire_version=questionnaire.version,
            **{key: _scale_value(answers.get(key)) for key in RATING_KEYS},
            **{INTEGRITY_KEY: answers.get(INTEGRITY_KEY) or None},
            comment=comment.text if comment is not None else None,
            comment_masked=comment is not None and comment.is_masked,
            dossier_hash=hashed,
            device_hash=sender.device_hash,
            address_hash=devices.address_hash(sender.address, now) if sender.address else None,
            language=language,
            status=status,
            status_reason=reason,
            submit_nonce=nonce,
            created_at=now,
        )
        response.wishes = [ResponseWish(wish=code) for code in answers.get(WISH_KEY) or []]
        return response

    counted_with_insert = False
    if session.get_bind().dialect.name == "postgresql":
        found = _insert_once(session, build(is_repeat), nonce)
        if found is None and hashed is not None and not is_repeat and flagged_for is None:
            # Another response with the same dossier code was counted in the meantime.
            is_repeat = True
            found = _insert_once(session, build(True), nonce)
        if isinstance(found, tuple):  # the same form, sent before or concurrently
            return found
        # Refused by no rule known here: the ORM's insert raises the database's own error.
        response = found if found is not None else _insert_with_savepoint(session, build(is_repeat))
        counted_with_insert = found is not None and found.is_counted
    else:
        # A savepoint, so that losing a race to a concurrent submit undoes only this insert.
        try:
            response = _insert_with_savepoint(session, build(is_repeat))
        except IntegrityError:
            # Either the same form was sent before or concurrently, or another response
            # with the same dossier code was counted in the meantime.
            existing = response_for_nonce(session, nonce)
            if existing is not None:
                return existing, False
            if hashed is None or is_repeat or flagged_for is not None:
                raise
            response = _insert_with_savepoint(session, build(True))
    session.add_all(
        DossierDigest(response_id=response.id, key_id=key_id, digest=digest)
        for key_id, digest in digests
    )
    session.flush()
    if receipt is not None and response.is_counted:
        _give_way_to_receipt(session, response, digests)
    if not counted_with_insert:
        rollups.record_response(session, response)
    alerts.on_response(session, response)
    return response, True


def _insert_with_savepoint(session: Session, response: Response) -> Response:
    """Insert a response (and its wishes) through the ORM, undoing only it if it fails."""
    with session.begin_nested():
        session.add(response)
    return response


def _insert_once(
    session: Session, response: Response, nonce: str
) -> Response | tuple[Response, bool] | None:
    """Insert a response and its wishes in one statement, unless a unique rule refuses it.

    Return the response, now in the session as if loaded; or (the response already made
    with this nonce, False) when the same form was sent before or concurrently; or None
    when another rule refused it (a dossier code counted in the meantime). No savepoint:
    the insert does nothing on a conflict (PostgreSQL), and the transaction goes on.
    A response stored as counted is counted in the rollups by the same statement.
    """
    counts = response.is_counted
    values = {key: getattr(response, key) for key in _RESPONSE_COLUMNS}
    wishes = [wish.wish for wish in response.wishes]
    parameters = {**values, "wishes": wishes}
    if counts:
        parameters.update(rollups.counting_values(response))
    new_id = session.scalar(_insert_statement(counts), parameters)
    if new_id is None:
        existing = response_for_nonce(session, nonce)
        return (existing, False) if existing is not None else None
    # What was inserted enters the session as persistent, unchanged: no flush repeats it,
    # and reading its wishes (the rollups do) needs no query.
    response.id = new_id
    for wish in response.wishes:
        wish.response_id = new_id
        make_transient_to_detached(wish)
    make_transient_to_detached(response)
    session.add(response)
    return response


_RESPONSE_COLUMNS = [column.key for column in Response.__table__.columns if column.key != "id"]
_INSERT_STATEMENTS: dict[bool, Any] = {}


def _insert_statement(counts: bool) -> Any:
    """Return the statement inserting a response and its wishes (built once), and with
    `counts` adding it to the rollups' counted rows.

    `INSERT ... ON CONFLICT DO NOTHING RETURNING id` in a data-modifying WITH, whose id
    the wishes' insert and the rollups' upserts read: one round trip, and no row at all
    on a conflict.
    """
    if counts not in _INSERT_STATEMENTS:
        responses = cast(Table, Response.__table__)
        wishes = cast(Table, ResponseWish.__table__)
        new = (
            postgresql_insert(responses)
            .values({key: bindparam(key) for key in _RESPONSE_COLUMNS})
            .on_conflict_do_nothing()
            .returning(responses.c.id)
            .cte("new_response")
        )
        chosen = func.unnest(bindparam("wishes", type_=postgresql.ARRAY(String)))
        add_wishes = insert(wishes).from_select(["response_id", "wish"], select(new.c.id, chosen))
        statement = select(new.c.id).add_cte(add_wishes.cte("new_wishes"))
        if counts:
            for index, upsert in enumerate(rollups.counting_upserts(new)):
                statement = statement.add_cte(upsert.cte(f"new_counts_{index}"))
        _INSERT_STATEMENTS[counts] = statement
    return _INSERT_STATEMENTS[counts]


def _give_way_to_receipt(
    session: Session, receipt_answer: Response, digests: list[tuple[int, str]]
) -> None:
    """Make the counted walk-in answers of the receipt answer's dossier duplicates."""
    walk_ins = session.scalars(
        select(Response)
        .join(DossierDigest, DossierDigest.response_id == Response.id)
        .where(
            receipts.carries_any(digests),
            Response.agency_id == receipt_answer.agency_id,
            Response.status == "counted",
            Response.id != receipt_answer.id,
        )
    ).all()
    for walk_in in walk_ins:
        rollups.change_status(session, walk_in, "duplicate", DUPLICATE_DOSSIER)
        seals.note_status_change(
            session, walk_in, "counted",
            f"phản hồi #{walk_in.id} trùng hồ sơ với phản hồi #{receipt_answer.id} "
            "qua giấy tiếp nhận")
