"""The audit log: who did what, when, and from where (the address only as a keyed hash)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from survey_app.hashing import keyed_hash
from survey_app.models import AuditEvent, User


def client_address_hash() -> str | None:
    """Return the keyed hash of the requesting address, or None outside a request."""
    if not has_request_context() or not request.remote_addr:
        return None
    return keyed_hash("address", request.remote_addr)


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    target: Any = None,
    **details: Any,
) -> AuditEvent:
    """Append one event; the actor defaults to the signed-in user. Only flushes."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
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
