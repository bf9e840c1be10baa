"""The audit log: who did what, when, and from where (the address only as a keyed hash)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy.orm import Session

from survey_app.models import AuditEvent, User
from survey_app.services.hashing import keyed_hash


def client_address_hash() -> str | None:
    """Return the keyed hash of the requesting address, or None outside a request."""
    if not has_request_context() or not request.remote_addr:
        return None
    return keyed_hash("address", request.remote_addr)


# Where the web layer tells who is signed in (web/access.py registers it): services never
# read the sign-in themselves.
ACTOR_PROVIDER = "survey_app.audit_actor"


def _signed_in_user() -> User | None:
    if not has_request_context():
        return None
    provider = current_app.extensions.get(ACTOR_PROVIDER)
    return provider() if provider is not None else None


# Where a command names the person at the server's keyboard (the OS account running it),
# so that what the command line changes is logged with someone behind it.
OPERATOR_KEY = "audit_operator"


def set_operator(operator: str | None) -> None:
    """Name the operator of the commands run in this app context (None forgets it)."""
    setattr(g, OPERATOR_KEY, operator)


def _operator() -> str | None:
    if has_request_context() or not has_app_context():
        return None
    operator: str | None = g.get(OPERATOR_KEY)
    return operator


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    target: Any = None,
    **details: Any,
) -> AuditEvent:
    """Append one event; the actor defaults to the signed-in user. Only flushes."""
    if actor is None:
        actor = _signed_in_user()
    operator = _operator()
    if operator is not None:
        details = {**details, "operator": operator}
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else None,
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(target.id) if target is not None else None,
        details=details,
        address_hash=client_address_hash(),
    )
    session.add(event)
    session.flush()
    return event
