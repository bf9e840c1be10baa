"""Reads and writes behind accounts: users, passwords, sign-in throttling, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from survey_app.models import (
    ROLES,
    Agency,
    ApiToken,
    AuditEvent,
    LoginFailure,
    PasswordReset,
    User,
    UserSession,
    utcnow,
)
from survey_app.services import audit
from survey_app.services.hashing import keyed_hash
from survey_app.services.passwords import MIN_PASSWORD_LENGTH, password_problem
from survey_app.text import clean_text

__all__ = ["MIN_PASSWORD_LENGTH"]
# Failures of one account from every address within the window that refuse it at addresses
# it has not signed in from lately (guessing spread over many addresses).
MAX_FAILURES_PER_ACCOUNT_EVERYWHERE = 50
# How long an address where the account signed in stays its owner's place.
KNOWN_ADDRESS_DAYS = 90
# Checked when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not a real password", method=method)
    return _DUMMY_HASHES[method]


class AccountError(ValueError):
    """A request about accounts that cannot be carried out.

    `reason` is a stable key that pages translate into a message beside the right field;
    the English text is for the command line and logs.
    """

    def __init__(self, message: str, reason: str, min_length: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.min_length = min_length  # with a "password_short" refusal


def normalise_email(email: str) -> str:
    return (clean_text(email) or "").lower()


def hash_password(password: str) -> str:
    """Return a scrypt hash of the password."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_rules(
    password: str, *, role: str | None = None, email: str = "", name: str = ""
) -> None:
    """Refuse a password that is too short for the role, common, a run or repeat, or that
    holds the owner's e-mail name or name; the reason is "password_<why>"."""
    problem = password_problem(password, role=role, email=email, name=name)
    if problem is not None:
        raise AccountError(problem.message, f"password_{problem.reason}", problem.min_length)


def check_user_password(password: str, user: User) -> None:
    check_password_rules(password, role=user.role, email=user.email, name=user.name)


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def find_agency(session: Session, code: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.code == (clean_text(code) or "")))


def create_user(
    session: Session,
    email: str,
    password: str,
    role: str,
    agency: Agency | None = None,
    name: str = "",
    actor: User | None = None,
    must_change_password: bool = False,
) -> User:
    """Create an account; managers and staff need an agency. Only flushes.

    `must_change_password` is for a password someone other than the owner chose: the owner
    then chooses their own at the first sign-in.
    """
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("not a valid email address", "email_invalid")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}", "role_invalid")
    if role != "admin" and agency is None:
        raise AccountError("a manager or staff member needs an agency", "agency_required")
    if find_user(session, email) is not None:
        raise AccountError("an account with this email already exists", "email_taken")
    check_password_rules(password, role=role, email=email, name=name)
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
        agency=agency,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        "user.created",
        actor=actor,
        target=user,
        email=email,
        role=role,
        agency=agency.code if agency else None,
    )
    return user


def set_password(session: Session, user: User, password: str, actor: User | None = None) -> None:
    """Replace the password and sign the user out of every other session.

    A password the owner chose clears the demand to change it; one an admin chose sets it.
    """
    check_user_password(password, user)
    is_own = actor is None or actor.id == user.id
    user.password_hash = hash_password(password)
    user.must_change_password = not is_own
    user.session_version += 1
    session.flush()
    action = "user.password_changed" if is_own else "user.password_reset"
    audit.record(session, action, actor=actor, target=user)


def update_user(
    session: Session,
    user: User,
    *,
    role: str,
    agency: Agency | None,
    name: str,
    is_enabled: bool,
    actor: User | None = None,
) -> None:
    """Change an account's role, agency, name or status, and log what changed."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}", "role_invalid")
    if role != "admin" and agency is None:
        raise AccountError("a manager or staff member needs an agency", "agency_required")
    changes = {}
    for field, value in (
        ("role", role),
        ("agency_id", agency.id if agency else None),
        ("name", name),
        ("is_enabled", is_enabled),
    ):
        if getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    if not changes:
        return
    if "role" in changes or "agency_id" in changes or "is_enabled" in changes:
        user.session_version += 1  # the old scope must not survive in an open session
    session.flush()
    audit.record(session, "user.updated", actor=actor, target=user, changes=changes)


def disable_user(session: Session, user: User, actor: User | None = None) -> None:
    update_user(
        session,
        user,
        role=user.role,
        agency=user.agency,
        name=user.name,
        is_enabled=False,
        actor=actor,
    )


# Signing in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    user: User | None
    locked_for: timedelta | None = None  # set when attempts are refused for now
    # The password was right, and the account has a second factor: not signed in until
    # its code is given (`check_second_step`, services/second_factor.py).
    needs_code: bool = False


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW"])


def _lock_remaining(
    session: Session, failures: ColumnElement[bool], limit: int, now: datetime
) -> timedelta | None:
    """Return how long sign-in stays refused if `limit` of these failures are recent."""
    recent = list(
        session.scalars(
            select(LoginFailure.at)
            .where(failures, LoginFailure.at > now - _window())
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        )
    )
    if len(recent) < limit:
        return None
    # Open again once the oldest of the last `limit` failures leaves the window.
    return recent[-1] + _window() - now


def has_signed_in_from_here(session: Session, user: User, now: datetime) -> bool:
    """Return whether the account signed in lately from the requesting address.

    Read from the audit log's sign-ins, matched by the log's own hash of the address.
    """
    address_hash = audit.client_address_hash()
    if address_hash is None:
        return False
    since = now - timedelta(days=KNOWN_ADDRESS_DAYS)
    return (
        session.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.action == "login.success",
                AuditEvent.actor_id == user.id,
                AuditEvent.address_hash == address_hash,
                AuditEvent.at > since,
            )
            .limit(1)
        )
        is not None
    )


def sign_in_lock(
    session: Session, user: User | None, account_hash: str, address_hash: str, now: datetime
) -> timedelta | None:
    """Return how long sign-in to this account from this address is refused, or None.

    Failures lock the pair (account, address), so a stranger elsewhere cannot lock the owner
    out. Two wider limits slow down guessing across accounts from one address and at one
    account from many addresses; neither applies where the account has signed in lately.
    """
    config = current_app.config
    by_account = LoginFailure.account_hash == account_hash
    by_address = LoginFailure.address_hash == address_hash
    pair = _lock_remaining(
        session, and_(by_account, by_address), config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], now
    )
    wider = [
        lock
        for lock in (
            _lock_remaining(session, by_address, config["LOGIN_MAX_FAILURES_PER_ADDRESS"], now),
            _lock_remaining(session, by_account, MAX_FAILURES_PER_ACCOUNT_EVERYWHERE, now),
        )
        if lock is not None
    ]
    if wider and user is not None and has_signed_in_from_here(session, user, now):
        wider = []
    return max([lock for lock in (pair, *wider) if lock is not None], default=None)


def authenticate(
    session: Session, email: str, password: str, address: str | None, now: datetime | None = None
) -> SignIn:
    """Check the credentials unless too many recent failures lock this account here."""
    now = now or utcnow()
    email = normalise_email(email)
    account_hash = keyed_hash("account", email)
    address_hash = keyed_hash("address", address or "")
    user = find_user(session, email)
    locked_for = sign_in_lock(session, user, account_hash, address_hash, now)
    if locked_for is not None:
        audit.record(session, "login.refused", actor=user, email_hash=account_hash)
        return SignIn(None, locked_for)

    is_valid = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is not None and is_valid and user.is_enabled:
        if user.has_second_factor:
            # The failures stay until the code is right too: otherwise typing the password
            # again would wipe the wrong codes and give a guesser fresh tries.
            audit.record(session, "login.password_accepted", actor=user)
            return SignIn(user, needs_code=True)
        finish_sign_in(session, user, address, now)
        return SignIn(user)

    session.add(LoginFailure(at=now, account_hash=account_hash, address_hash=address_hash))
    reason = (
        "unknown_account" if user is None else ("disabled" if not user.is_enabled else "password")
    )
    audit.record(session, "login.failure", actor=user, reason=reason, email_hash=account_hash)
    return SignIn(None)


def finish_sign_in(
    session: Session, user: User, address: str | None, now: datetime | None = None
) -> None:
    """Note a complete sign-in: this address's failures go, the log records the success."""
    # Only this address's failures: those from elsewhere still count towards the ceiling.
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.account_hash == keyed_hash("account", user.email),
            LoginFailure.address_hash == keyed_hash("address", address or ""),
        )
    )
    user.last_login_at = now or utcnow()
    audit.record(session, "login.success", actor=user)


def note_failure(session: Session, user: User, address: str | None,
                 now: datetime | None = None) -> None:
    """Count a wrong second-factor code like a wrong password: it moves towards the lock."""
    session.add(LoginFailure(
        at=now or utcnow(), account_hash=keyed_hash("account", user.email),
        address_hash=keyed_hash("address", address or ""),
    ))


def lock_for(session: Session, user: User, address: str | None,
             now: datetime | None = None) -> timedelta | None:
    """Return how long this account's sign-in from this address stays refused, or None."""
    return sign_in_lock(
        session, user, keyed_hash("account", user.email), keyed_hash("address", address or ""),
        now or utcnow(),
    )


def count_recent_failures(session: Session, email: str, now: datetime | None = None) -> int:
    since = (now or utcnow()) - _window()
    return (
        session.scalar(
            select(func.count(LoginFailure.id)).where(
                LoginFailure.account_hash == keyed_hash("account", normalise_email(email)),
                LoginFailure.at > since,
            )
        )
        or 0
    )


# API tokens ------------------------------------------------------------------------------

TOKEN_PREFIX = "sat_"
DEFAULT_TOKEN_DAYS = 365
MAX_TOKEN_DAYS = 3 * 365


def token_hash(token: str) -> str:
    # Tokens are long random strings: a plain SHA-256 cannot be reversed or guessed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, user: User, label: str = "", actor: User | None = None,
    days: int = DEFAULT_TOKEN_DAYS, now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for a manager or admin, good for `days`; return it and its secret,
    shown only once."""
    if user.role not in ("admin", "manager"):
        raise AccountError("API tokens are for managers and admins", "token_role")
    if not user.is_enabled:
        raise AccountError("the account is disabled", "disabled")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise AccountError(f"a token lasts from 1 to {MAX_TOKEN_DAYS} days", "token_days")
    now = now or utcnow()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, token_hash=token_hash(secret), prefix=secret[:12], label=label,
        created_at=now, expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit.record(
        session, "token.created", actor=actor, target=token, owner=user.email,
        expires_at=token.expires_at.isoformat(),
    )
    return token, secret


def revoke_token(session: Session, token: ApiToken, actor: User | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(session, "token.revoked", actor=actor, target=token, owner=token.user.email)


def find_token(session: Session, secret: str) -> ApiToken | None:
    """Return the token with this secret, whatever its state, or None."""
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))


def user_for_token(session: Session, secret: str) -> User | None:
    """Return the enabled owner of an active (unrevoked, unexpired) token, noting its use."""
    token = find_token(session, secret)
    if token is None or not token.is_active or not token.user.is_enabled:
        return None
    token.last_used_at = utcnow()
    return token.user


# Browser sessions ------------------------------------------------------------------------

# A session's last activity is written at most this often: not on every page.
SESSION_TOUCH_SECONDS = 60


def _max_age() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def _idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def start_session(
    session: Session, user: User, replacing: str | None = None, now: datetime | None = None
) -> str:
    """Record a new signed-in session; return its secret, kept in the signed cookie.

    The session this browser had (`replacing`) ends, and so do the user's expired ones.
    """
    now = now or utcnow()
    end_session(session, replacing)
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            (UserSession.created_at <= now - _max_age())
            | (UserSession.last_seen_at <= now - _idle_limit()),
        )
    )
    secret = secrets.token_urlsafe(32)
    session.add(UserSession(
        user_id=user.id, token_hash=token_hash(secret), created_at=now, last_seen_at=now,
    ))
    session.flush()
    return secret


def end_session(session: Session, secret: str | None) -> None:
    """Forget a signed-in session, so that no copy of its cookie opens a page again."""
    if secret:
        session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(secret)))


@dataclass(frozen=True)
class OpenSession:
    """What a session cookie's secret finds: its user while open, or why it ended."""

    user: User | None
    expired: str | None = None  # "idle" or "lifetime" when it ended just now
    touched: bool = False  # its last activity was moved on (to be committed)


def user_for_session(
    session: Session, user_id: int, secret: str | None, now: datetime | None = None
) -> OpenSession:
    """Return the user of a session that is still open; end one idle or too old.

    A session ends SESSION_IDLE_MINUTES after its last request, and SESSION_MAX_HOURS after
    its sign-in whatever happens; the end is logged once, with the user as its actor.
    """
    if not secret:
        return OpenSession(None)
    now = now or utcnow()
    found = session.execute(
        select(UserSession, User)
        .join(User, UserSession.user_id == User.id)
        .where(User.id == user_id, UserSession.token_hash == token_hash(secret))
    ).first()
    if found is None:
        return OpenSession(None)
    record, user = found
    expired = (
        "lifetime" if record.created_at <= now - _max_age()
        else "idle" if record.last_seen_at <= now - _idle_limit()
        else None
    )
    if expired is not None:
        session.delete(record)
        audit.record(
            session, "session.expired", actor=user, reason=expired,
            signed_in_at=record.created_at.isoformat(),
            last_seen_at=record.last_seen_at.isoformat(),
        )
        return OpenSession(None, expired=expired)
    if record.last_seen_at <= now - timedelta(seconds=SESSION_TOUCH_SECONDS):
        record.last_seen_at = now
        session.flush()
        return OpenSession(user, touched=True)
    return OpenSession(user)


# One-time reset links --------------------------------------------------------------------

RESET_LINK_LIFETIME = timedelta(hours=24)


class ResetLinkError(LookupError):
    """A reset link that opens nothing: `reason` is "unknown", "used" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"password reset link {reason}")
        self.reason = reason


def create_reset_link(
    session: Session, user: User, actor: User | None = None, now: datetime | None = None
) -> tuple[PasswordReset, str]:
    """Issue a one-time link for the user; return it and its secret, shown only once.

    A new link voids the user's earlier unused ones, so only the latest one handed out works.
    """
    now = now or utcnow()
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    secret = secrets.token_urlsafe(32)
    reset = PasswordReset(
        user=user, token_hash=token_hash(secret), created_at=now,
        expires_at=now + RESET_LINK_LIFETIME,
    )
    session.add(reset)
    session.flush()
    audit.record(
        session, "password.reset_link_created", actor=actor, target=user,
        expires_at=reset.expires_at.isoformat(),
    )
    return reset, secret


def find_reset_link(session: Session, secret: str, now: datetime | None = None) -> PasswordReset:
    """Return the link's record if it may still be used, or raise ResetLinkError."""
    reset = session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == token_hash(secret))
    )
    if reset is None or not reset.user.is_enabled:
        raise ResetLinkError("unknown")
    if reset.used_at is not None:
        raise ResetLinkError("used")
    if reset.expires_at <= (now or utcnow()):
        raise ResetLinkError("expired")
    return reset


def use_reset_link(
    session: Session, secret: str, password: str, now: datetime | None = None
) -> User:
    """Set the password through a link, once; every session of the account ends."""
    now = now or utcnow()
    reset = find_reset_link(session, secret, now)
    check_user_password(password, reset.user)
    # Marked used in one statement: of two requests racing with one link, one wins.
    claimed = session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ResetLinkError("used")
    user = reset.user
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.session_version += 1
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.flush()
    audit.record(session, "password.reset_used", actor=user, target=user)
    return user
