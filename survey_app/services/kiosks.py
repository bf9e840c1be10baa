"""Kiosk tablets at a counter: pairing, their credentials, revoking, and their answers.

Staff show a short pairing code on the page of a counter's code; a tablet that types it
within minutes becomes a kiosk of that code and keeps a random credential (its keyed hash
alone is stored). Each kiosk files its answers under its own hidden code of kind "kiosk",
so that they are counted, rolled up, filtered and broken down by source like any other.
Writes only flush; the caller commits.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from survey_app.models import Kiosk, KioskPairing, Response, SurveyCode, User, utcnow
from survey_app.questionnaire import Questionnaire
from survey_app.services import audit
from survey_app.services.codes import create_survey_code
from survey_app.services.hashing import keyed_hash
from survey_app.services.recording import Sender, record_response

# Letters and digits without look-alikes (no 0/O, 1/I/L): 31 signs, 6 of them.
PAIRING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PAIRING_LENGTH = 6
_PAIRING_TYPED = re.compile(r"[\s-]")
# The stored nonce of a kiosk answer: its client-made UUID, under its own prefix.
NONCE_PREFIX = "kiosk:"


class KioskError(Exception):
    """A pairing or a kiosk answer that cannot be taken, with a stable reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Pairing -----------------------------------------------------------------------------------


def _pairing_hash(code: str) -> str:
    return keyed_hash("kiosk-pairing", code)


def credential_hash(credential: str) -> str:
    return keyed_hash("kiosk-credential", credential)


def clean_pairing_code(typed: object) -> str | None:
    """Return a typed pairing code in its canonical form (upper case, no spaces), or None."""
    if not isinstance(typed, str) or len(typed) > 40:
        return None
    code = _PAIRING_TYPED.sub("", typed).upper()
    if len(code) != PAIRING_LENGTH or any(c not in PAIRING_ALPHABET for c in code):
        return None
    return code


def start_pairing(
    session: Session, survey_code: SurveyCode, actor: User | None = None
) -> tuple[KioskPairing, str]:
    """Return a new pairing code for a counter's code, and the code in clear (shown once).

    An earlier unused code of the same counter's code stops working: one at a time.
    """
    now = utcnow()
    for earlier in session.scalars(
        select(KioskPairing).where(
            KioskPairing.survey_code_id == survey_code.id,
            KioskPairing.used_at.is_(None),
            KioskPairing.expires_at > now,
        )
    ):
        earlier.expires_at = now
    minutes = current_app.config["KIOSK_PAIRING_MINUTES"]
    while True:
        code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_LENGTH))
        hashed = _pairing_hash(code)
        if session.scalar(select(KioskPairing.id).where(KioskPairing.code_hash == hashed)) is None:
            break
    pairing = KioskPairing(
        code_hash=hashed,
        survey_code=survey_code,
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(pairing)
    session.flush()
    audit.record(session, "kiosk.pairing_started", actor=actor, target=survey_code,
                 code=survey_code.code)
    return pairing, code


def live_pairing(session: Session, survey_code: SurveyCode) -> KioskPairing | None:
    """Return the code's pairing still waiting for its tablet, if any."""
    return session.scalar(
        select(KioskPairing).where(
            KioskPairing.survey_code_id == survey_code.id,
            KioskPairing.used_at.is_(None),
            KioskPairing.expires_at > utcnow(),
        )
    )


def pair(session: Session, typed: object) -> tuple[Kiosk, str]:
    """Pair a tablet by the code it typed; return the kiosk and its credential (in clear).

    Raises KioskError("unknown") for a code that is wrong, used, expired, or whose
    counter's code was revoked since: a guesser learns nothing more.
    """
    code = clean_pairing_code(typed)
    if code is None:
        raise KioskError("unknown")
    now = utcnow()
    pairing = session.scalar(
        select(KioskPairing).where(KioskPairing.code_hash == _pairing_hash(code))
    )
    if (
        pairing is None
        or pairing.used_at is not None
        or pairing.expires_at <= now
        or not pairing.survey_code.is_active
    ):
        raise KioskError("unknown")
    # Single use, even against two tablets typing it at once: only one update wins.
    taken = session.execute(
        update(KioskPairing)
        .where(KioskPairing.id == pairing.id, KioskPairing.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise KioskError("unknown")
    session.refresh(pairing)
    counter_code = pairing.survey_code
    answer_code = create_survey_code(
        session, counter_code.agency, counter_code.counter, counter_code.sector, kind="kiosk"
    )
    credential = secrets.token_urlsafe(32)
    kiosk = Kiosk(
        credential_hash=credential_hash(credential),
        survey_code=counter_code,
        answer_code=answer_code,
        paired_by_id=pairing.created_by_id,
        paired_at=now,
    )
    session.add(kiosk)
    session.flush()
    creator = session.get(User, pairing.created_by_id) if pairing.created_by_id else None
    audit.record(session, "kiosk.paired", actor=creator, target=kiosk, code=counter_code.code)
    return kiosk, credential


def kiosk_for_credential(session: Session, credential: object) -> Kiosk | None:
    """Return the kiosk of a credential (revoked ones too), or None."""
    if not isinstance(credential, str) or not credential or len(credential) > 200:
        return None
    return session.scalar(
        select(Kiosk).where(Kiosk.credential_hash == credential_hash(credential))
    )


def kiosks_of(session: Session, survey_code: SurveyCode) -> list[Kiosk]:
    """Return the kiosks paired with a counter's code, active first, newest first."""
    kiosks = session.scalars(
        select(Kiosk).where(Kiosk.survey_code_id == survey_code.id).order_by(Kiosk.id.desc())
    ).all()
    return sorted(kiosks, key=lambda k: k.revoked_at is not None)


def revoke(session: Session, kiosk: Kiosk, actor: User | None = None) -> None:
    """Withdraw a kiosk: its tablet stops taking answers at once. Its answers stay."""
    if kiosk.revoked_at is not None:
        raise KioskError("already_revoked")
    now = utcnow()
    kiosk.revoked_at = now
    kiosk.revoked_by_id = actor.id if actor is not None else None
    session.flush()
    audit.record(session, "kiosk.revoked", actor=actor, target=kiosk,
                 code=kiosk.survey_code.code)


def refusal(kiosk: Kiosk | None) -> str | None:
    """Return why a kiosk takes no answers ("unknown", "revoked", "code_revoked"), or None."""
    if kiosk is None:
        return "unknown"
    if kiosk.revoked_at is not None:
        return "revoked"
    if not kiosk.survey_code.is_active:
        return "code_revoked"
    return None


# Answers -----------------------------------------------------------------------------------


def clean_answer_id(value: object) -> str | None:
    """Return a client's answer id as a canonical UUID, or None when it is not one."""
    if not isinstance(value, str) or len(value) > 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class KioskAnswer:
    response: Response
    is_new: bool


def record_answer(
    session: Session,
    kiosk: Kiosk,
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    answer_id: str,
    seconds_to_answer: float | None,
    language: str,
    address: str | None,
    now: datetime | None = None,
) -> KioskAnswer:
    """Store one answer of a kiosk, exactly once for its answer id.

    A replay of an id already stored returns the first response; an id stored by another
    kiosk raises KioskError("taken") (nothing is told of the other kiosk's answer).
    """
    now = now or utcnow()
    nonce = NONCE_PREFIX + answer_id
    answer_code = kiosk.answer_code
    rendered_at = (
        now - timedelta(seconds=seconds_to_answer) if seconds_to_answer is not None else None
    )
    sender = Sender(address=address, rendered_at=rendered_at, is_kiosk=True)
    response, is_new = record_response(
        session, answer_code, questionnaire, answers, nonce=nonce, language=language,
        now=now, sender=sender,
    )
    if response.survey_code_id != answer_code.id:
        raise KioskError("taken")
    kiosk.last_seen_at = now
    session.flush()
    return KioskAnswer(response, is_new)
