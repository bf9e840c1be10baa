"""The second factor of staff sign-in: a TOTP app on the phone (RFC 6238), recovery codes.

The TOTP secret is sealed before it is stored: XORed with a keystream of HMAC-SHA256 over a
random nonce, under a key derived from HASH_KEY for this purpose alone, and authenticated by
a second derived key (encrypt-then-MAC). A copy of the database, a dump or a log line holds
no usable secret; whoever also holds HASH_KEY does. A code is accepted once: the time step
of the last accepted code is kept, and a code of that step or an earlier one is refused.
Recovery codes are kept only as keyed hashes and each opens the account once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from survey_app.models import RecoveryCode, User, utcnow
from survey_app.services import audit
from survey_app.services.hashing import hash_key, hkdf_expand, keyed_hash

# What the phone app shows as the account's issuer (the deployment's own name may differ).
ISSUER = "Danh gia su phuc vu"
RECOVERY_CODE_COUNT = 10
# Ten characters of a 32-letter alphabet without look-alikes: 50 bits, typed as xxxxx-xxxxx.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10
# Codes of the step before and after the present one are accepted: phone clocks drift.
VALID_WINDOW = 1
_SEAL_VERSION = "v1"
_NONCE_BYTES = 16
_TAG_BYTES = 16


class SecondFactorError(ValueError):
    """A second-factor request that cannot be carried out; `reason` is a stable key."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# Sealing the secret ----------------------------------------------------------------------


def _keys() -> tuple[bytes, bytes]:
    root = hash_key()
    return (hkdf_expand(root, b"survey_app totp secret: encryption"),
            hkdf_expand(root, b"survey_app totp secret: authentication"))


def seal(secret: str) -> str:
    """Return the TOTP secret (base32) sealed for storage."""
    raw = base64.b32decode(secret)
    if len(raw) > hashlib.sha256().digest_size:
        raise ValueError("a TOTP secret longer than 32 bytes cannot be sealed")
    encryption, authentication = _keys()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    stream = hmac.new(encryption, nonce, hashlib.sha256).digest()
    sealed = nonce + bytes(a ^ b for a, b in zip(raw, stream, strict=False))
    tag = hmac.new(authentication, sealed, hashlib.sha256).digest()[:_TAG_BYTES]
    return f"{_SEAL_VERSION}${base64.urlsafe_b64encode(sealed + tag).decode()}"


def unseal(stored: str) -> str:
    """Return the TOTP secret (base32) from its sealed form; fail if it was altered."""
    version, _, body = stored.partition("$")
    if version != _SEAL_VERSION:
        raise ValueError("unknown sealing of a TOTP secret")
    data = base64.urlsafe_b64decode(body.encode())
    sealed, tag = data[:-_TAG_BYTES], data[-_TAG_BYTES:]
    encryption, authentication = _keys()
    expected = hmac.new(authentication, sealed, hashlib.sha256).digest()[:_TAG_BYTES]
    if not hmac.compare_digest(tag, expected):
        raise ValueError("the TOTP secret does not match HASH_KEY (changed, or altered)")
    nonce, cipher = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    stream = hmac.new(encryption, nonce, hashlib.sha256).digest()
    return base64.b32encode(bytes(a ^ b for a, b in zip(cipher, stream, strict=False))).decode()


def _totp(user: User) -> pyotp.TOTP:
    if user.totp_secret is None:
        raise SecondFactorError("the account has no second factor", "not_enrolled")
    return pyotp.TOTP(unseal(user.totp_secret))


# Enrolment -------------------------------------------------------------------------------


def is_required(user: User) -> bool:
    """Return whether the account must have a second factor before it may do anything."""
    return user.role == "admin" and bool(current_app.config["SECOND_FACTOR_FOR_ADMINS"])


def pending_secret(session: Session, user: User) -> str:
    """Return the secret being enrolled (base32), choosing one the first time.

    The same secret comes back until it is confirmed, so reloading the page keeps the QR
    code the phone may already have scanned.
    """
    if user.has_second_factor:
        raise SecondFactorError("the second factor is already on", "already_enrolled")
    if user.totp_secret is None:
        user.totp_secret = seal(pyotp.random_base32())
        session.flush()
    return unseal(user.totp_secret)


def provisioning_uri(user: User, secret: str) -> str:
    """Return the otpauth:// address the phone app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """Return the secret in groups of four, for typing it into the phone by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _clean_code(code: str) -> str:
    return "".join(c for c in (code or "") if c.isdigit())


def _accept_code(session: Session, user: User, code: str, now: datetime) -> bool:
    """Accept a TOTP code once: true if it is right and its step is later than the last one."""
    code = _clean_code(code)
    if len(code) != 6:
        return False
    totp = _totp(user)
    step = totp.timecode(now)
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if not hmac.compare_digest(totp.generate_otp(candidate), code):
            continue
        # One statement: of two requests racing with one code, one wins.
        claimed = session.execute(
            update(User)
            .where(User.id == user.id,
                   or_(User.totp_last_step.is_(None), User.totp_last_step < candidate))
            .values(totp_last_step=candidate)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False  # replayed
        session.refresh(user, ["totp_last_step"])
        return True
    return False


def confirm_enrolment(
    session: Session, user: User, code: str, now: datetime | None = None
) -> list[str]:
    """Turn the second factor on once the phone gives a right code; return recovery codes."""
    now = now or utcnow()
    if user.has_second_factor:
        raise SecondFactorError("the second factor is already on", "already_enrolled")
    if user.totp_secret is None or not _accept_code(session, user, code, now):
        audit.record(session, "second_factor.enrol_failed", actor=user, target=user)
        raise SecondFactorError("the code is not right", "wrong_code")
    user.totp_enabled_at = now
    session.flush()
    codes = _new_recovery_codes(session, user, now)
    audit.record(session, "second_factor.enrolled", actor=user, target=user)
    return codes


def reset(session: Session, user: User, actor: User | None = None) -> None:
    """Take the second factor off an account (a lost phone); the owner enrols again.

    Every session of the account ends, and its recovery codes go.
    """
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.session_version += 1
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
    audit.record(session, "second_factor.reset", actor=actor, target=user, email=user.email)


# Signing in ------------------------------------------------------------------------------


def check_code(session: Session, user: User, code: str, now: datetime | None = None) -> bool:
    """Check a sign-in code: a TOTP code once, or else an unused recovery code (used up).

    Every outcome is logged with the account as its actor.
    """
    now = now or utcnow()
    if _accept_code(session, user, code, now):
        audit.record(session, "login.second_factor_ok", actor=user)
        return True
    if use_recovery_code(session, user, code, now):
        return True
    audit.record(session, "login.second_factor_failed", actor=user)
    return False


# Recovery codes --------------------------------------------------------------------------


def _recovery_hash(user: User, code: str) -> str:
    plain = "".join(c for c in (code or "").lower() if c.isalnum())
    return keyed_hash("recovery code", f"{user.id}:{plain}")


def _new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        code = f"{raw[:5]}-{raw[5:]}"
        session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user, code),
                                 created_at=now))
        codes.append(code)
    session.flush()
    return codes


def regenerate_recovery_codes(
    session: Session, user: User, code: str, now: datetime | None = None
) -> list[str]:
    """Replace every recovery code with ten new ones, given a right TOTP code."""
    now = now or utcnow()
    if not user.has_second_factor:
        raise SecondFactorError("the account has no second factor", "not_enrolled")
    if not _accept_code(session, user, code, now):
        audit.record(session, "login.second_factor_failed", actor=user, during="recovery_codes")
        raise SecondFactorError("the code is not right", "wrong_code")
    codes = _new_recovery_codes(session, user, now)
    audit.record(session, "second_factor.recovery_codes_renewed", actor=user, target=user)
    return codes


def use_recovery_code(session: Session, user: User, code: str,
                      now: datetime | None = None) -> bool:
    """Use up one unused recovery code of the account; true if there was one."""
    if not user.has_second_factor or len(_clean_recovery(code)) != _RECOVERY_LENGTH:
        return False
    claimed = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id,
               RecoveryCode.code_hash == _recovery_hash(user, code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit.record(session, "login.recovery_code_used", actor=user,
                 left=unused_recovery_codes(session, user))
    return True


def _clean_recovery(code: str) -> str:
    return "".join(c for c in (code or "").lower() if c.isalnum())


def unused_recovery_codes(session: Session, user: User) -> int:
    return len(list(session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                      RecoveryCode.used_at.is_(None))
    )))
