"""API endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, jsonify, request
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select

from survey_app.api import bp, openapi, serialize
from survey_app.api.auth import api_error, api_user, token_required
from survey_app.extensions import db, reads_from_replica
from survey_app.models import Agency, Sector, utcnow
from survey_app.services import filters, receipts, volumes
from survey_app.services import responses as response_list
from survey_app.services.access import can, holds, visible_agency_ids
from survey_app.services.filters import FilterError
from survey_app.services.periods import deployment_zone, local_date
from survey_app.services.receipts import MintError
from survey_app.services.reports import build_report
from survey_app.text import clean_code

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@bp.get("/me")
@token_required
@reads_from_replica
def me() -> Any:
    """Return the token's owner, role and the agencies within its scope."""
    user = api_user()
    visible = visible_agency_ids(db.session, user, "api.read")
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


@bp.get("/tallies")
@token_required
@reads_from_replica
def tallies() -> Any:
    """Return the figures of every target scope and sector for a period and filter."""
    try:
        resolved = filters.filter_from_args(db.session, api_user(), request.args)
    except FilterError as error:
        return api_error(filters.filter_error_status(error), str(error))
    report = build_report(db.session, resolved.tally)
    return _private(jsonify(serialize.report_dict(report)))


@bp.get("/responses")
@token_required
@reads_from_replica
def responses() -> Any:
    """Return the responses of a period and filter, every status, oldest first, a page at a time."""
    try:
        resolved = filters.filter_from_args(db.session, api_user(), request.args, statuses=None)
        limit = _limit(request.args.get("limit"))
        after_id = _read_cursor(request.args.get("cursor"))
    except FilterError as error:
        return api_error(filters.filter_error_status(error), str(error))
    # One more than asked, to know whether another page follows without counting.
    items = response_list.response_page(
        db.session, resolved.tally, deployment_zone(), after_id, limit + 1
    )
    next_cursor = _make_cursor(items[limit - 1]["id"]) if len(items) > limit else None
    return _private(jsonify(items=items[:limit], next=next_cursor))


RECEIPT_REQUEST_KEYS = {"agency", "sector", "dossiers"}


@bp.post("/receipts")
@token_required
def mint_receipts() -> Any:
    """Mint one receipt link per dossier of an agency and sector, with the agency's key."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != RECEIPT_REQUEST_KEYS:
        return api_error(
            400, 'send a JSON object {"agency": code, "sector": code, "dossiers": [codes]}'
        )
    agency_code, sector_code, dossiers = body["agency"], body["sector"], body["dossiers"]
    if not isinstance(agency_code, str) or not isinstance(sector_code, str):
        return api_error(400, "agency and sector are codes, written as strings")
    if not isinstance(dossiers, list):
        return api_error(400, "dossiers is a list of dossier codes")
    try:
        receipts.clean_dossiers(dossiers)
    except MintError as error:
        return api_error(400, str(error))
    user = api_user()
    agency = db.session.scalar(select(Agency).where(Agency.code == clean_code(agency_code)))
    if agency is None:
        return api_error(404, f"no agency with code {agency_code!r}")
    if not can(user, "receipts.mint", agency):
        return api_error(403, f"agency {agency.code} is outside your scope")
    sector = db.session.scalar(select(Sector).where(Sector.code == clean_code(sector_code)))
    if sector is None:
        return api_error(404, f"no sector with code {sector_code!r}")
    try:
        links = receipts.mint_links(
            db.session, agency, sector, dossiers, local_date(utcnow()), actor=user
        )
    except MintError as error:  # the agency has no active key
        return api_error(409, str(error))
    db.session.commit()
    return _private(
        jsonify(links=[{"dossier": link.dossier, "url": link.url} for link in links])
    )


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """Describe the API (public: it holds no data)."""
    return jsonify(openapi.document())


# Dossier volumes ---------------------------------------------------------------------------

# A load of the most rows a call takes, with room to spare: about 90 bytes a row.
VOLUMES_MAX_BYTES = 2 * 1024 * 1024


@bp.put("/volumes")
@token_required
def put_volumes() -> Any:
    """Load dossiers received per agency, sector and day or month; all rows or none."""
    user = api_user()
    if not holds(user, "volumes.import"):
        return api_error(403, "this token's owner may not load volumes")
    request.max_content_length = VOLUMES_MAX_BYTES
    body = request.get_json(silent=True)
    try:
        rows = volumes.rows_from_json(body)
        result = volumes.load(
            db.session, rows, visible=visible_agency_ids(db.session, user, "volumes.import"),
            today=datetime.now(deployment_zone()).date(), actor=user,
        )
    except volumes.VolumeError as error:
        db.session.rollback()
        details = volumes.problem_summary(error) if error.problems else {}
        return api_error(403 if error.is_forbidden else 400, str(error), **details)
    db.session.commit()
    return _private(jsonify(result.as_dict()))


def _private(response: Any) -> Any:
    # Figures and comments of a scope are for the token's owner only, never a shared cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    limit = filters.whole_number(value, "limit")
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterError(f"limit must be between 1 and {MAX_LIMIT}", "parameter")
    return limit


# The cursor is signed so that clients treat it as opaque: its content may change later
# without breaking anyone, and a forged or mangled one is refused instead of guessed at.
def _cursor_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="api-responses-cursor")


def _make_cursor(last_id: int) -> str:
    return str(_cursor_serializer().dumps(last_id))


def _read_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        last_id = _cursor_serializer().loads(cursor)
    except BadData as error:
        raise FilterError("the cursor is not one this API gave", "parameter") from error
    if not isinstance(last_id, int) or isinstance(last_id, bool) or last_id < 0:
        raise FilterError("the cursor is not one this API gave", "parameter")
    return last_id
