"""The reference lists every page chooses from: agencies and sectors, in one order each;
and an agency's complaint hotline, found up its line of parents."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Agency, Sector, User
from survey_app.services.access import visible_agency_ids
from survey_app.text import dial_number


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


@dataclass(frozen=True)
class Hotline:
    """Where a citizen can lodge a formal complaint by phone, and whose number it is."""

    agency_name: str
    phone: str
    note: str | None

    @property
    def dial(self) -> str:
        """What a tel: link dials."""
        return dial_number(self.phone)


def complaint_hotline(session: Session, agency_id: int) -> Hotline | None:
    """Return the agency's hotline, or that of the nearest agency above it that has one."""
    seen: set[int] = set()
    agency = session.get(Agency, agency_id)
    while agency is not None and agency.id not in seen:  # a cycle is refused, never trusted
        if agency.hotline:
            return Hotline(agency.name, agency.hotline, agency.hotline_note)
        seen.add(agency.id)
        agency = agency.parent
    return None
