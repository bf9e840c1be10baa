"""The audit log: who did what, when, and from where (the address only as a keyed hash)."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request
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
