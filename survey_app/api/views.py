"""API endpoints."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import select

from survey_app.api import bp
from survey_app.api.auth import api_user, token_required
from survey_app.auth.access import visible_agency_ids
from survey_app.extensions import db
from survey_app.models import Agency


@bp.get("/me")
@token_required
def me() -> Any:
    """Return the token's owner, role and the agencies within its scope."""
    user = api_user()
    visible = visible_agency_ids(db.session, user)
    if visible is None:
        scope: dict[str, Any] = {"all_agencies": True, "agencies": []}
    else:
        codes = db.session.scalars(
            select(Agency.code).where(Agency.id.in_(visible)).order_by(Agency.code)
        )
        scope = {"all_agencies": False, "agencies": list(codes)}
    return jsonify(
        email=user.email,
        name=user.name,
        role=user.role,
        agency=user.agency.code if user.agency else None,
        scope=scope,
    )
