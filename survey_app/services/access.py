"""Who may do what, in one table: `can(user, "code.revoke", agency)`.

Every page, template, API call and command asks this table; the access-matrix test reads
it too. A permission names the roles that hold it and how far it reaches:

- `ANY`: everywhere (an admin's permissions);
- `SCOPE`: the user's agency and every agency below it (a province's manager reads its
  communes; staff read their own agency);
- `OWN`: the user's own agency only (staff change their own counter's codes, nobody
  else's).

An admin holds every permission everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import ROLES, Agency, User


class Reach(Enum):
    ANY = "any"
    SCOPE = "scope"
    OWN = "own"


@dataclass(frozen=True)
class Permission:
    roles: tuple[str, ...]
    reach: Reach


SIGNED_IN = ("admin", "manager", "staff")
READERS = ("admin", "manager")
ADMINS = ("admin",)
CODE_KEEPERS = ("admin", "staff")

PERMISSIONS: dict[str, Permission] = {
    # Counters and QR codes
    "codes.view": Permission(SIGNED_IN, Reach.SCOPE),
    "codes.print": Permission(SIGNED_IN, Reach.SCOPE),
    "code.create": Permission(CODE_KEEPERS, Reach.OWN),
    "code.replace": Permission(CODE_KEEPERS, Reach.OWN),
    "code.revoke": Permission(CODE_KEEPERS, Reach.OWN),
    # Kiosk tablets at a counter: pair one with a code, or withdraw it
    "kiosk.pair": Permission(CODE_KEEPERS, Reach.OWN),
    "kiosk.revoke": Permission(CODE_KEEPERS, Reach.OWN),
    # Figures, comments and the responses behind them
    "figures.view": Permission(READERS, Reach.SCOPE),
    "figures.export": Permission(READERS, Reach.SCOPE),
    "responses.review": Permission(READERS, Reach.SCOPE),
    # Erasing one comment for good, at a citizen's request (docs/privacy.md)
    "comment.erase": Permission(ADMINS, Reach.ANY),
    "api.read": Permission(READERS, Reach.SCOPE),
    # Receipt links for the one-stop system, minted with an API token (POST /api/v1/receipts)
    "receipts.mint": Permission(READERS, Reach.SCOPE),
    # Dossiers received, from the one-stop system's report: the denominators of the rates
    "volumes.import": Permission(READERS, Reach.SCOPE),
    # Alerts: managers read and handle those of their agency and the agencies below it
    "alerts.read": Permission(READERS, Reach.SCOPE),
    "alerts.handle": Permission(READERS, Reach.SCOPE),
    "alerts.rules": Permission(ADMINS, Reach.ANY),
    # Running the service
    "accounts.manage": Permission(ADMINS, Reach.ANY),
    "agencies.manage": Permission(ADMINS, Reach.ANY),
    "sectors.manage": Permission(ADMINS, Reach.ANY),
    "targets.manage": Permission(ADMINS, Reach.ANY),
    "audit.view": Permission(ADMINS, Reach.ANY),
    # Putting an agency's figures on the public board (/cong-khai), or taking them off
    "board.publish": Permission(ADMINS, Reach.ANY),
    # Replacing the clip that reads a question of the form aloud, or going back to the built one
    "voice.manage": Permission(ADMINS, Reach.ANY),
}
assert all(set(p.roles) <= set(ROLES) for p in PERMISSIONS.values())


def holds(user: User | None, action: str) -> bool:
    """Return whether the user's role holds the permission somewhere."""
    permission = PERMISSIONS[action]
    return user is not None and user.is_active and user.role in permission.roles


def can(user: User | None, action: str, agency: Agency | None = None) -> bool:
    """Return whether the user may do `action` at `agency` (None: anywhere at all)."""
    if not holds(user, action):
        return False
    assert user is not None
    if user.role == "admin" or PERMISSIONS[action].reach is Reach.ANY:
        return True
    if agency is None:
        return True
    if user.agency_id is None:
        return False
    if PERMISSIONS[action].reach is Reach.OWN or user.role == "staff":
        return agency.id == user.agency_id
    return any(a.id == user.agency_id for a in _self_and_parents(agency))


def _self_and_parents(agency: Agency) -> list[Agency]:
    chain: list[Agency] = []
    current: Agency | None = agency
    while current is not None and current not in chain:
        chain.append(current)
        current = current.parent
    return chain


def agency_with_descendants(session: Session, agency_id: int) -> set[int]:
    """Return the agency's id and the ids of every agency below it."""
    tree = select(Agency.id).where(Agency.id == agency_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Agency.id).where(Agency.parent_id == tree.c.id))
    return set(session.scalars(select(tree.c.id)))


def visible_agency_ids(session: Session, user: User, action: str = "codes.view") -> set[int] | None:
    """Return the ids of the agencies where the user may do `action`, or None for all."""
    if not holds(user, action):
        return set()
    if user.role == "admin" or PERMISSIONS[action].reach is Reach.ANY:
        return None
    if user.agency_id is None:
        return set()
    if PERMISSIONS[action].reach is Reach.OWN or user.role == "staff":
        return {user.agency_id}
    return agency_with_descendants(session, user.agency_id)
