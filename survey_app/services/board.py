"""The public transparency board: which agencies are published, and what their page shows.

An admin publishes an agency; its page then shows, for one quarter, O and S of the agency
as a whole (itself and every agency below it) and of each sector, each with its n, its 95%
interval, its target and the verdict, all read from the one `build_report` the dashboard
uses. Nothing below the agency: no counter, no clerk, no comment.

A figure whose n is under the minimum sample of the year whose targets judge the quarter
is withheld («Chưa đủ mẫu»: no value, no interval). So that a withheld sector cannot be
worked out as the whole minus the sectors shown, the sectors withheld together always
hold at least the minimum sample, or none at all: where they hold fewer, the smallest
sectors shown are withheld with them (`withheld_with_the_small`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from survey_app.models import (
    AGENCY_CODE_MAX_LENGTH,
    AGENCY_CODE_PATTERN,
    Agency,
    AuditEvent,
    BoardPublication,
    Response,
    User,
)
from survey_app.services import audit
from survey_app.services.access import agency_with_descendants
from survey_app.services.periods import Period
from survey_app.services.reports import Report, ScopeFigures, TargetCheck, build_report
from survey_app.services.tallies import TallyFilter
from survey_app.sipas import Indicator

INDICATORS = (Indicator.OVERALL, Indicator.SIPAS_INDEX)
# The earliest quarter a board page answers for; older ones are not offered.
FIRST_YEAR = 2015
QUARTERS_OFFERED = 8
QUARTER_PATTERN = re.compile(r"([0-9]{4})-Q([1-4])")


# Quarters ----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1..4

    @property
    def key(self) -> str:
        """Return the quarter as the address writes it: 2026-Q3."""
        return f"{self.year}-Q{self.number}"

    @property
    def period(self) -> Period:
        start = date(self.year, 3 * self.number - 2, 1)
        end = (date(self.year + 1, 1, 1) if self.number == 4
               else date(self.year, 3 * self.number + 1, 1))
        return Period(start, date.fromordinal(end.toordinal() - 1))

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year,
                                                                          self.number - 1)

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)


def default_quarter(today: date) -> Quarter:
    """Return the last quarter that has ended: a running quarter's figures still move."""
    return Quarter.of(today).previous()


def parse_quarter(text: str | None, today: date) -> Quarter | None:
    """Return the quarter an address names (2026-Q3), or None when it names none we show.

    A quarter that has not begun, or one before FIRST_YEAR, is refused like a malformed one.
    """
    if text is None:
        return default_quarter(today)
    found = QUARTER_PATTERN.fullmatch(text)
    if found is None:
        return None
    quarter = Quarter(int(found.group(1)), int(found.group(2)))
    if quarter.year < FIRST_YEAR or quarter > Quarter.of(today):
        return None
    return quarter


def quarters_offered(today: date, count: int = QUARTERS_OFFERED) -> list[Quarter]:
    """Return the running quarter and those before it, newest first."""
    quarters = [Quarter.of(today)]
    while len(quarters) < count and quarters[-1].previous().year >= FIRST_YEAR:
        quarters.append(quarters[-1].previous())
    return quarters


# Publishing --------------------------------------------------------------------------------


def publication_of(session: Session, agency: Agency) -> BoardPublication | None:
    return session.get(BoardPublication, agency.id)


def publish(session: Session, agency: Agency, actor: User | None = None) -> bool:
    """Put an agency on the board and log it; return False when it already was there."""
    if publication_of(session, agency) is not None:
        return False
    session.add(BoardPublication(agency=agency, published_by=actor))
    session.flush()
    audit.record(session, "board.published", actor=actor, target=agency, code=agency.code)
    return True


def unpublish(session: Session, agency: Agency, actor: User | None = None) -> bool:
    """Take an agency off the board and log it; return False when it was not there."""
    publication = publication_of(session, agency)
    if publication is None:
        return False
    session.delete(publication)
    session.flush()
    audit.record(session, "board.unpublished", actor=actor, target=agency, code=agency.code)
    return True


def published_agencies(session: Session) -> list[Agency]:
    """Return the published agencies: provinces first, then by name."""
    return list(session.scalars(
        select(Agency).join(BoardPublication, BoardPublication.agency_id == Agency.id)
        .order_by(Agency.level.desc(), Agency.name, Agency.code)
    ))


def published_agency(session: Session, code: str) -> Agency | None:
    """Return the published agency with this code (any case), or None."""
    wanted = code.upper()
    # Only what could be a code reaches the database (PostgreSQL refuses a NUL outright).
    if len(wanted) > AGENCY_CODE_MAX_LENGTH or not re.fullmatch(AGENCY_CODE_PATTERN, wanted,
                                                                re.ASCII):
        return None
    return session.scalar(
        select(Agency).join(BoardPublication, BoardPublication.agency_id == Agency.id)
        .where(Agency.code == wanted)
    )


def publications(session: Session) -> dict[int, BoardPublication]:
    """Return every publication by agency id, with who published it."""
    rows = session.scalars(
        select(BoardPublication).options(joinedload(BoardPublication.published_by))
    )
    return {row.agency_id: row for row in rows}


def agencies_with_agencies_below(session: Session) -> set[int]:
    return set(session.scalars(select(Agency.parent_id).where(Agency.parent_id.is_not(None))))


def last_audit_event(session: Session) -> int:
    return session.scalar(select(func.max(AuditEvent.id))) or 0


def data_version(session: Session, quarter: Quarter, today: date) -> tuple[int, int]:
    """Return what changes whenever the figures of a quarter may change.

    Every change that moves a figure of a past quarter (a response flagged or restored, a
    target, a sector's or an agency's name, a publication) is audit-logged, so a new audit
    event follows it. A new response lands in the running quarter only, so it changes the
    version of that quarter, and of the one before it for a day (a response sent a moment
    before midnight may be stored a moment after). Both are read from primary keys.
    """
    still_moving = quarter.period.end >= today - timedelta(days=1)
    last_response = (session.scalar(select(func.max(Response.id))) or 0) if still_moving else 0
    return last_response, last_audit_event(session)


# Figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardMeasure:
    """One indicator of one scope as the board shows it; value and interval None if withheld."""

    indicator: Indicator
    n: int  # O: answers to question 6; S: responses
    value: float | None
    interval: tuple[float, float] | None
    threshold: float | None
    check: TargetCheck | None
    withheld: str | None  # None (shown), SMALL (under the minimum) or SHIELDS (see module)

    @property
    def is_shown(self) -> bool:
        return self.withheld is None


SMALL = "small"
SHIELDS = "shields"


@dataclass(frozen=True)
class BoardRow:
    code: str  # the sector's code, or "" for the whole
    label_vi: str
    label_en: str
    responses: int
    measures: dict[Indicator, BoardMeasure]

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_vi


@dataclass(frozen=True)
class BoardFigures:
    agency: Agency
    quarter: Quarter
    min_sample: int
    target_year: int | None
    whole: BoardRow
    sectors: list[BoardRow]
    agencies_pooled: int  # the agency and those below it

    @property
    def borrows_targets(self) -> bool:
        return self.target_year is not None and self.target_year != self.quarter.year


def n_of(figures: ScopeFigures, indicator: Indicator) -> int:
    """Return the n an indicator is judged on: O the answers to q6, S the responses."""
    scores = figures.scores
    return scores.overall.valid if indicator is Indicator.OVERALL else scores.responses


def withheld_with_the_small(whole: int, parts: Mapping[str, int], min_sample: int) -> set[str]:
    """Return the parts to withhold: those under `min_sample`, and enough others with them.

    `whole` is the n of the figure shown for all parts together (0 if it is withheld too).
    The parts shown subtracted from the whole give the parts withheld, pooled: that pool
    must be empty or hold at least `min_sample`, so the smallest parts shown join it until
    it does. A part of n 0 withholds nothing (there is no figure to work out).
    """
    withheld = {key for key, n in parts.items() if 0 < n < min_sample}
    if not whole:
        return withheld
    shown = sorted((n, key) for key, n in parts.items() if key not in withheld and n > 0)
    while 0 < sum(parts[key] for key in withheld) < min_sample and shown:
        withheld.add(shown.pop(0)[1])
    return withheld


def _measure(figures: ScopeFigures, indicator: Indicator, withheld: str | None,
             min_sample: int) -> BoardMeasure:
    n = n_of(figures, indicator)
    scores = figures.scores
    value = scores.overall.share if indicator is Indicator.OVERALL else scores.sipas_index
    interval = (scores.overall.interval if indicator is Indicator.OVERALL
                else scores.sipas_interval)
    if withheld is None and (value is None or n < min_sample):
        withheld = SMALL
    check = figures.target(indicator)
    if withheld is not None:
        value, interval = None, None
    return BoardMeasure(indicator, n, value, interval,
                        check.threshold if check else None, check, withheld)


def board_figures(session: Session, agency: Agency, quarter: Quarter) -> BoardFigures:
    """Return an agency's board for a quarter: its whole and each sector, small ones withheld."""
    agency_ids = frozenset(agency_with_descendants(session, agency.id))
    report: Report = build_report(session, TallyFilter(quarter.period, agency_ids))
    every_sector = next(s.code for s in report.book.scopes if s.sector_ids is None)
    whole = report.scopes[every_sector]
    min_sample = report.min_sample

    withheld: dict[Indicator, set[str]] = {}
    for indicator in INDICATORS:
        whole_n = n_of(whole, indicator)
        withheld[indicator] = withheld_with_the_small(
            whole_n if whole_n >= min_sample else 0,
            {code: n_of(figures, indicator) for code, figures in report.sectors.items()},
            min_sample,
        )

    def row(code: str, label: tuple[str, str], figures: ScopeFigures,
            reasons: Mapping[Indicator, str | None]) -> BoardRow:
        return BoardRow(code, label[0], label[1], figures.responses, {
            indicator: _measure(figures, indicator, reasons[indicator], min_sample)
            for indicator in INDICATORS
        })

    sectors = [
        row(code, report.sector_labels[code], figures, {
            indicator: (None if code not in withheld[indicator]
                        else SMALL if n_of(figures, indicator) < min_sample else SHIELDS)
            for indicator in INDICATORS
        })
        for code, figures in report.sectors.items()
        if figures.responses
    ]
    return BoardFigures(
        agency=agency,
        quarter=quarter,
        min_sample=min_sample,
        target_year=report.target_year,
        whole=row("", report.scope_labels[every_sector], whole, dict.fromkeys(INDICATORS)),
        sectors=sectors,
        agencies_pooled=len(agency_ids),
    )

