"""The reference lists every page chooses from: agencies and sectors, in one order each."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Agency, Sector, User
from survey_app.services.access import visible_agency_ids


def list_sectors(session: Session) -> list[Sector]:
    """Return every sector in the order the questionnaire's pages show them."""
    return list(session.scalars(select(Sector).order_by(Sector.position, Sector.code)))


def list_agencies(session: Session) -> list[Agency]:
    """Return every agency by name, for the administration's choice lists."""
    return list(session.scalars(select(Agency).order_by(Agency.name, Agency.code)))


def agencies_in_scope(session: Session, user: User, action: str = "figures.view") -> list[Agency]:
    """Return the agencies where the user may do `action`, the province before its communes."""
    query = select(Agency).order_by(Agency.level.desc(), Agency.name, Agency.code)
    visible = visible_agency_ids(session, user, action)
    if visible is not None:
        query = query.where(Agency.id.in_(sorted(visible)))
    return list(session.scalars(query))
