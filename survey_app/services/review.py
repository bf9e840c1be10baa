"""Reads and writes behind the review pages: comments, the responses left out of the figures,
flagging or restoring one response, and erasing one comment. Writes only flush and are
audit-logged; the view (or command) commits once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from survey_app.models import Agency, AuditEvent, Counter, Response, Sector, User
from survey_app.questionnaire import OVERALL_KEY
from survey_app.services import alerts, audit, rollups, seals, tallies
from survey_app.services.periods import Period
from survey_app.services.responses import matching
from survey_app.services.tallies import TallyFilter

PAGE_SIZE = 50
# Answers of q6 ("overall") that count as dissatisfied: 1 and 2.
LOW_OVERALL_MAX = 2
# The reasons a manager may give; stored as "manual:<code>" in Response.status_reason.
MANUAL_PREFIX = "manual:"
MANUAL_REASONS = ("abuse", "test", "other")
NOTE_MAX_LENGTH = 200
ERASE_REASON_MAX_LENGTH = 200
STATUS_CHOICES = ("all", "counted", "not_counted")


@dataclass(frozen=True)
class ReviewFilter:
    """Which responses a review page lists. None means no restriction."""

    period: Period
    agency_ids: frozenset[int] | None = None
    sector_ids: frozenset[int] | None = None
    status: str = "all"  # one of STATUS_CHOICES
    is_low_only: bool = False
    search: str | None = None
    with_comment_only: bool = True


@dataclass(frozen=True)
class FlagNote:
    """Who flagged a response by hand, when, and what they wrote (from the audit log)."""

    actor_email: str | None
    at: datetime
    note: str | None


@dataclass(frozen=True)
class ReviewItem:
    response: Response
    agency: Agency
    counter_name: str
    sector: Sector
    flag_note: FlagNote | None = None

    @property
    def overall(self) -> int | None:
        """The answer to the questionnaire's overall question (q6), or None."""
        return self.response.answer(OVERALL_KEY)

    @property
    def is_low_overall(self) -> bool:
        return self.overall is not None and self.overall <= LOW_OVERALL_MAX


@dataclass(frozen=True)
class ReviewPage:
    items: list[ReviewItem]
    # The id to continue from ("before") when older items remain, else None.
    next_before: int | None


@dataclass(frozen=True)
class StatusTotals:
    counted: int
    not_counted: int

    @property
    def stored(self) -> int:
        return self.counted + self.not_counted


class Outcome(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # already in the status asked for
    CONFLICT = "conflict"  # another response is counted for the same dossier code


# Reading ---------------------------------------------------------------------------------


def casefold_pattern(text: str) -> str:
    """Return a regular expression matching `text` anywhere, in upper or lower case.

    Neither SQLite's lower()/LIKE nor PostgreSQL under the C locale fold "Á" or "Ộ", so
    each letter becomes a class of its cases ("cán" -> "[cC][áÁ][nN]") and the database
    compares code points. Every other character is matched literally: a backslash before
    any character that is not a letter or digit means that character in both Python's
    `re` (SQLite's REGEXP) and PostgreSQL's regular expressions, so "%", "_", "." or "*"
    typed by a person are never wildcards.
    """
    parts = []
    for char in text:
        cases = sorted({c for c in (char, char.lower(), char.upper()) if len(c) == 1})
        if len(cases) > 1:
            parts.append("[" + "".join(cases) + "]")
        elif char.isalnum():
            parts.append(char)
        else:
            parts.append("\\" + char)
    return "".join(parts)


def _conditions(flt: ReviewFilter, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    conditions = matching(
        TallyFilter(flt.period, flt.agency_ids, sector_ids=flt.sector_ids, statuses=None), zone)
    if flt.with_comment_only:
        conditions.append(Response.comment.is_not(None))
    if flt.status == "counted":
        conditions.append(Response.status == "counted")
    elif flt.status == "not_counted":
        conditions.append(Response.status != "counted")
    if flt.is_low_only:
        conditions.append(Response.answer_column(OVERALL_KEY) <= LOW_OVERALL_MAX)
    if flt.search:
        conditions.append(Response.comment.regexp_match(casefold_pattern(flt.search)))
    return conditions


def review_page(session: Session, flt: ReviewFilter, zone: ZoneInfo,
                before: int | None = None) -> ReviewPage:
    """Return one page of the responses of a filter, newest first, below `before` if given."""
    query = (
        select(Response, Agency, Counter.name, Sector)
        .join(Agency, Agency.id == Response.agency_id)
        .join(Counter, Counter.id == Response.counter_id)
        .join(Sector, Sector.id == Response.sector_id)
        .where(*_conditions(flt, zone))
    )
    # Keyset pagination: newest first, continuing below the last item shown. Unlike an
    # offset, it neither repeats nor skips an item when responses arrive or are flagged
    # between two pages.
    boundary = None
    if before is not None:
        boundary = session.scalar(select(Response.created_at).where(Response.id == before))
    if boundary is not None:
        query = query.where(or_(
            Response.created_at < boundary,
            and_(Response.created_at == boundary, Response.id < before),
        ))
    query = query.order_by(Response.created_at.desc(), Response.id.desc()).limit(PAGE_SIZE + 1)
    rows = session.execute(query).all()
    shown = rows[:PAGE_SIZE]
    notes = _flag_notes(session, [row[0].id for row in shown if is_manual(row[0].status_reason)])
    items = [
        ReviewItem(response, agency, counter_name, sector, notes.get(response.id))
        for response, agency, counter_name, sector in shown
    ]
    more = len(rows) > PAGE_SIZE
    return ReviewPage(items, shown[-1][0].id if more and shown else None)


def _flag_notes(session: Session, response_ids: list[int]) -> dict[int, FlagNote]:
    """Return the latest manual flagging of each response, read from the audit log."""
    if not response_ids:
        return {}
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "response.flagged",
            AuditEvent.target_type == "Response",
            AuditEvent.target_id.in_([str(i) for i in response_ids]),
        )
        .order_by(AuditEvent.id)
    )
    notes = {}
    for event in events:
        notes[int(event.target_id or 0)] = FlagNote(
            event.actor_email, event.at, (event.details or {}).get("note")
        )
    return notes


def status_totals(session: Session, flt: TallyFilter) -> StatusTotals:
    """Return how many responses of a filter are counted, and how many are stored but not."""
    by_status = tallies.count_by_status(session, flt).get(None, {})
    counted = by_status.get("counted", 0)
    return StatusTotals(counted, sum(by_status.values()) - counted)






def is_manual(reason: str | None) -> bool:
    return bool(reason and reason.startswith(MANUAL_PREFIX))


def earliest_day() -> date:
    """The first day "all time" covers: no response predates the service."""
    return date(2000, 1, 1)


# Writing ---------------------------------------------------------------------------------


def response_for_change(session: Session, response_id: int) -> Response | None:
    """Return a response read fresh and locked until the commit.

    With the row locked (PostgreSQL; SQLite has one writer at a time), two people flagging
    the same response at once change it, and its rollups, only once: the second one sees
    the status the first one left.
    """
    return session.scalar(
        select(Response).where(Response.id == response_id).with_for_update()
        .execution_options(populate_existing=True)
    )


def flag_response(session: Session, response: Response, reason: str,
                  note: str | None = None) -> Outcome:
    """Leave a response out of the figures for a manager's reason; log who and why."""
    if reason not in MANUAL_REASONS:
        raise ValueError(f"unknown reason {reason!r}; choose from {MANUAL_REASONS}")
    if response.status == "flagged":
        return Outcome.UNCHANGED
    old_status, old_reason = response.status, response.status_reason
    new_reason = MANUAL_PREFIX + reason
    rollups.change_status(session, response, "flagged", new_reason)
    seals.note_status_change(session, response, old_status, f"gắn cờ phản hồi #{response.id}")
    audit.record(session, "response.flagged", target=response,
                 old_status=old_status, old_reason=old_reason,
                 new_status="flagged", new_reason=new_reason, note=note or None)
    return Outcome.CHANGED


def restore_response(session: Session, response: Response) -> Outcome:
    """Count a response again, unless another one is already counted for its dossier code."""
    if response.is_counted:
        return Outcome.UNCHANGED
    old_status, old_reason = response.status, response.status_reason
    try:
        # The savepoint keeps the transaction usable (PostgreSQL included) when the partial
        # unique index refuses a second counted response for the same dossier code.
        with session.begin_nested():
            rollups.change_status(session, response, "counted", None)
    except IntegrityError:
        session.refresh(response)
        return Outcome.CONFLICT
    seals.note_status_change(session, response, old_status, f"khôi phục phản hồi #{response.id}")
    # A reviewer vouched for it: what it says now reaches the managers as a fresh answer's would.
    alerts.on_response(session, response)
    audit.record(session, "response.restored", target=response,
                 old_status=old_status, old_reason=old_reason,
                 new_status="counted", new_reason=None)
    return Outcome.CHANGED


def erase_comment(session: Session, response: Response, reason: str,
                  actor: User | None = None, **details: Any) -> Outcome:
    """Erase a response's comment for good (a citizen's request); log who, why and how long.

    The answers, the status and every tally stay: a comment is counted nowhere. The audit
    entry keeps the reason and the comment's length, never its words.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required to erase a comment")
    if response.comment is None:
        return Outcome.UNCHANGED
    characters = len(response.comment)
    response.comment = None
    response.comment_masked = False
    session.flush()
    audit.record(session, "response.comment_erased", actor=actor, target=response,
                 reason=reason, characters=characters, **details)
    return Outcome.CHANGED
