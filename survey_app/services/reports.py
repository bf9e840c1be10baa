"""The figures of a period and filter, each judged against the target of its own indicator.

One function, `build_report`, feeds the dashboard, the print report, the exports and the API
alike: it counts by sector, source and status in SQL (one rollup read), pools the sectors
into the target scopes (all sectors, land, construction, investment, the three pooled, and
any scope a deployment adds) and scores each with `sipas.py`. Scopes are pooled, never
averaged.

Beside the figures, each scope, sector and agency carries its counted responses by source,
the dossiers received, its response rate and whether that rate looks implausible
(services/rates.py); scopes and sectors also carry O and S with each sector weighted by its
dossiers, where the volumes cover them.

Two indicators carry targets (Nghị quyết 76/NQ-CP): O, satisfaction with how procedures
are settled (question 6), and S, the SIPAS-style index. `TargetBook` holds every target
(year, indicator, scope, threshold) and answers which one judges a figure; `judged` is the
one function that turns scores into verdicts, wherever they are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from survey_app import sipas
from survey_app.models import SOURCES, Agency, Sector, Target, TargetScope, TargetYear
from survey_app.services import rates, tallies
from survey_app.services.periods import Period
from survey_app.services.rates import RateCells, ReceiptCounts, Volumes
from survey_app.services.tallies import (
    TallyFilter,
    answers_by_source_and_status,
    answers_by_status,
)
from survey_app.sipas import Indicator

INDICATORS: tuple[Indicator, ...] = tuple(Indicator)
COUNTED = "counted"


# Targets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeDefinition:
    """A target scope as a report uses it: a named set of sectors."""

    code: str
    label_vi: str
    label_en: str
    sector_ids: frozenset[int] | None  # None: every sector

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_vi

    def holds(self, sector_ids: Iterable[int]) -> bool:
        return self.sector_ids is None or set(sector_ids) <= self.sector_ids

    @property
    def size(self) -> float:
        return float("inf") if self.sector_ids is None else len(self.sector_ids)


@dataclass(frozen=True)
class TargetCheck:
    """A verdict on one indicator: the target (whose scope and year) and the judgement."""

    metric: Indicator
    threshold: float
    judgement: sipas.Judgement
    scope: str  # the code of the scope whose target this is
    year: int  # the year whose targets were used


@dataclass(frozen=True)
class TargetBook:
    """Every scope and target of the deployment, read once per report."""

    scopes: tuple[ScopeDefinition, ...]
    min_samples: Mapping[int, int]  # year -> minimum sample
    thresholds: Mapping[tuple[int, Indicator, str], float]  # (year, indicator, scope) -> T
    # Answers of scope_of and year_for, kept for the life of the book (one report).
    _scope_cache: dict[tuple[Any, ...], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    def year_for(self, year: int) -> int | None:
        """Return the year whose targets judge figures of `year` (itself or the latest earlier)."""
        key = ("year", year)
        if key not in self._scope_cache:
            self._scope_cache[key] = max((y for y in self.min_samples if y <= year), default=None)
        used: int | None = self._scope_cache[key]
        return used

    def min_sample(self, year: int) -> int:
        used = self.year_for(year)
        return self.min_samples[used] if used is not None else sipas.DEFAULT_MIN_SAMPLE

    def scope(self, code: str) -> ScopeDefinition:
        return next(s for s in self.scopes if s.code == code)

    def scope_of(self, sector_ids: Iterable[int] | None, indicator: Indicator,
                 year: int) -> ScopeDefinition | None:
        """Return the narrowest scope holding all these sectors that has a target for them.

        A sector of land is judged by land's target, one of no named scope by the all-sector
        one; None (no sector filter) means every sector.
        """
        wanted = None if sector_ids is None else frozenset(sector_ids)
        key = (wanted, indicator, year)
        if key not in self._scope_cache:
            used = self.year_for(year)
            candidates = [
                s for s in self.scopes
                if used is not None and (used, indicator, s.code) in self.thresholds
                and (s.sector_ids is None if wanted is None else s.holds(wanted))
            ]
            self._scope_cache[key] = min(candidates, key=lambda s: (s.size, s.code),
                                         default=None)
        scope: ScopeDefinition | None = self._scope_cache[key]
        return scope

    def scopes_holding(self, sector_id: int) -> list[ScopeDefinition]:
        """Return the named scopes that hold a sector (every sector is in the all-sector one)."""
        return [s for s in self.scopes if s.sector_ids is not None and sector_id in s.sector_ids]

    def checks(self, scores: sipas.Scores, year: int,
               scopes: Mapping[Indicator, ScopeDefinition | None]) -> list[TargetCheck]:
        """Judge each indicator of a figure against its own target (one per indicator)."""
        used = self.year_for(year)
        if used is None:
            return []
        min_sample = self.min_samples[used]
        result = []
        for indicator in INDICATORS:
            scope = scopes.get(indicator)
            if scope is None:
                continue
            threshold = self.thresholds.get((used, indicator, scope.code))
            if threshold is None:
                continue
            judgement = sipas.judge_indicator(scores, indicator, threshold, min_sample)
            result.append(TargetCheck(indicator, threshold, judgement, scope.code, used))
        return result

    def checks_for_sectors(self, scores: sipas.Scores, year: int,
                           sector_ids: Iterable[int] | None) -> list[TargetCheck]:
        """Judge a figure over some sectors (None: all) against the targets that fit them."""
        ids = None if sector_ids is None else frozenset(sector_ids)
        return self.checks(scores, year, {i: self.scope_of(ids, i, year) for i in INDICATORS})

    def checks_for_scope(self, scores: sipas.Scores, year: int,
                         scope: ScopeDefinition) -> list[TargetCheck]:
        """Judge a target scope's figure against the scope's own targets."""
        return self.checks(scores, year, dict.fromkeys(INDICATORS, scope))


def load_target_book(session: Session) -> TargetBook:
    """Read every scope, its sectors and every target."""
    scopes = session.scalars(
        select(TargetScope).options(selectinload(TargetScope.sectors))
        .order_by(TargetScope.position, TargetScope.code)
    ).all()
    definitions = tuple(
        ScopeDefinition(
            s.code, s.label_vi, s.label_en,
            None if s.covers_all_sectors else frozenset(sector.id for sector in s.sectors),
        )
        for s in scopes
    )
    codes = {s.id: s.code for s in scopes}
    min_samples = {year: n for year, n in session.execute(
        select(TargetYear.year, TargetYear.min_sample))}
    thresholds = {
        (year, Indicator(indicator), codes[scope_id]): float(threshold)
        for year, indicator, scope_id, threshold in session.execute(
            select(Target.year, Target.indicator, Target.scope_id, Target.threshold)
        )
    }
    return TargetBook(definitions, min_samples, thresholds)


# Figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeFigures:
    """Everything shown for one scope: counted figures, raw figures, counts by status, verdicts.

    `counts` and `scores` cover the counted responses; `raw_counts` and `raw_scores` every
    stored response, flagged and duplicate ones too, so a reader sees how much the flags move.
    """

    key: str
    counts: sipas.AnswerCounts
    scores: sipas.Scores
    by_status: dict[str, int]
    raw_counts: sipas.AnswerCounts = field(default_factory=sipas.AnswerCounts)
    raw_scores: sipas.Scores = field(default_factory=lambda: sipas.score(sipas.AnswerCounts()))
    targets: list[TargetCheck] = field(default_factory=list)
    # Counted responses by source: the QR at the counter, a receipt link, or a kiosk tablet.
    by_source: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    # Dossiers received (None: no volume loaded), and whether the volumes cover every
    # agency, sector and month holding a counted response of this figure.
    dossiers: int | None = None
    volumes_complete: bool = False
    # O and S with each sector weighted by its dossiers; None unless the volumes cover it.
    weighted: dict[Indicator, float | None] | None = None
    rate_flag: str | None = None  # rates.ABOVE_100, rates.FAR_ABOVE_PEERS or None
    # How many sectors with counted responses a scope pools (weighting one changes nothing).
    pooled_sectors: int = 0

    @property
    def responses(self) -> int:
        """Counted responses."""
        return self.scores.responses

    @property
    def response_rate(self) -> float | None:
        """Counted responses per 100 dossiers received."""
        return rates.response_rate(self.responses, self.dossiers)

    @property
    def receipt_share(self) -> float | None:
        """The share of the counted responses that came through a receipt link, in percent."""
        receipts = self.by_source.get("receipt", 0)
        return None if not self.responses else 100 * receipts / self.responses

    @property
    def not_counted(self) -> int:
        """Responses stored but left out of the figures (duplicates and flagged ones)."""
        return sum(n for status, n in self.by_status.items() if status != COUNTED)

    @property
    def raw_responses(self) -> int:
        return sum(self.by_status.values())

    def target(self, indicator: Indicator) -> TargetCheck | None:
        return next((t for t in self.targets if t.metric is indicator), None)


def figures_of(key: str, by_status: Mapping[str, sipas.AnswerCounts]) -> ScopeFigures:
    """Score the counted and the raw answers of one scope (not judged yet)."""
    counted = by_status.get(COUNTED, sipas.AnswerCounts())
    everything = sipas.pool(by_status.values())
    return ScopeFigures(
        key=key,
        counts=counted,
        scores=sipas.score(counted),
        by_status={status: c.responses for status, c in sorted(by_status.items())},
        raw_counts=everything,
        raw_scores=sipas.score(everything),
    )


BySource = Mapping[str, Mapping[str, sipas.AnswerCounts]]  # {source: {status: counts}}


def counted_by_source(parts: Iterable[BySource]) -> dict[str, int]:
    """Return the counted responses of each source, over disjoint parts."""
    counted = dict.fromkeys(SOURCES, 0)
    for part in parts:
        for source, by_status in part.items():
            found = by_status.get(COUNTED)
            counted[source] = counted.get(source, 0) + (found.responses if found else 0)
    return counted


def with_volumes(figures: ScopeFigures, by_source: dict[str, int],
                 volumes: Volumes) -> ScopeFigures:
    """Add the responses by source, the dossiers and the implausible-rate mark to a figure."""
    return replace(
        figures,
        by_source=by_source,
        dossiers=volumes.dossiers,
        volumes_complete=volumes.is_complete,
        rate_flag=rates.rate_flag(figures.responses, volumes),
    )


def weighted_by_dossiers(
    cells: RateCells, sector_scores: Mapping[int, sipas.Scores], sector_ids: Iterable[int]
) -> dict[Indicator, float | None] | None:
    """Return O and S of some sectors, each weighted by its dossiers received.

    None unless the volumes cover every counted response of these sectors (every agency,
    sector and month of the filter that has one) and some sector received a dossier.
    """
    ids = set(sector_ids)
    volumes = cells.volumes_of(None, ids)
    if not volumes.is_complete or not volumes.dossiers:
        return None
    parts = [
        (cells.volumes_of(None, {sector_id}).dossiers or 0, scores)
        for sector_id, scores in sector_scores.items()
        if sector_id in ids and scores.responses
    ]
    weighted = sipas.weighted_indicators(parts)
    return weighted if any(value is not None for value in weighted.values()) else None


def _sources_pooled(by_source: BySource) -> dict[str, sipas.AnswerCounts]:
    """Pool the sources of one group, status by status."""
    if len(by_source) == 1:
        return dict(next(iter(by_source.values())))
    return _pooled(by_source.values())


def source_figures(
    groups: Iterable[BySource], everything: Mapping[str, sipas.AnswerCounts]
) -> dict[str, ScopeFigures]:
    """Return the figures of each source over disjoint groups (not judged).

    `everything` is the groups pooled: the figures of the one source there is, if so.
    """
    groups = list(groups)
    present = {source for group in groups for source in group}
    result = {}
    for source in SOURCES:
        if present <= {source}:
            pooled = dict(everything) if present else {}
        else:
            pooled = _pooled(group.get(source, {}) for group in groups)
        figures = figures_of(source, pooled)
        result[source] = replace(figures, by_source={
            s: figures.responses if s == source else 0 for s in SOURCES})
    return result


def _pooled(parts: Iterable[Mapping[str, sipas.AnswerCounts]]) -> dict[str, sipas.AnswerCounts]:
    """Pool the counts of disjoint parts, status by status."""
    by_status: dict[str, list[sipas.AnswerCounts]] = {}
    for part in parts:
        for status, counts in part.items():
            by_status.setdefault(status, []).append(counts)
    return {status: sipas.pool(counts) for status, counts in by_status.items()}


@dataclass(frozen=True)
class Report:
    period: Period
    target_year: int | None  # the year whose targets judge the period
    min_sample: int
    scopes: dict[str, ScopeFigures]
    scope_labels: dict[str, tuple[str, str]]  # code -> (Vietnamese, English)
    sectors: dict[str, ScopeFigures]  # by sector code, only sectors with responses
    sector_labels: dict[str, tuple[str, str]]  # code -> (Vietnamese, English)
    book: TargetBook
    # The targets that judge the filter as a whole (its sector, or all sectors), by indicator.
    filter_scopes: dict[Indicator, ScopeDefinition | None] = field(default_factory=dict)
    # Every sector's labels by id, in the sectors' order: what a scope pools, in words.
    sector_names: dict[int, tuple[str, str]] = field(default_factory=dict)
    # The counted responses by source and the dossiers of the filter, cell by cell.
    cells: RateCells = field(default_factory=lambda: RateCells({}, frozenset()))
    # The figures of each source (counter, receipt) over the whole filter, not judged.
    sources: dict[str, ScopeFigures] = field(default_factory=dict)
    # Receipt links minted in the period and answered; None for a counter.
    receipts: ReceiptCounts | None = None

    def pooled_sector_names(self, code: str, locale: str) -> list[str]:
        """Return the names of the sectors a scope pools; empty when it pools every sector."""
        scope = self.book.scope(code)
        if scope.sector_ids is None:
            return []
        return [en if locale == "en" else vi
                for sector_id, (vi, en) in self.sector_names.items()
                if sector_id in scope.sector_ids]

    @property
    def period_year(self) -> int:
        return self.period.end.year

    @property
    def borrows_targets(self) -> bool:
        """True when the period's own year has no targets and an earlier year's judge it."""
        return self.target_year is not None and self.target_year != self.period_year

    def threshold(self, indicator: Indicator) -> float | None:
        """Return the target of an indicator for the filter as a whole."""
        scope = self.filter_scopes.get(indicator)
        if scope is None or self.target_year is None:
            return None
        return self.book.thresholds.get((self.target_year, indicator, scope.code))


def build_report(session: Session, flt: TallyFilter, book: TargetBook | None = None) -> Report:
    """Count, pool, score and judge every target scope and sector of a filter.

    A period is judged by the targets of the year it ends in (or the latest earlier year
    with targets).
    """
    book = book or load_target_book(session)
    year = flt.period.end.year
    sectors = {s.id: s for s in session.scalars(select(Sector))}
    # One read gives every sector's answers by source and status.
    by_sector_source = answers_by_source_and_status(session, flt, "sector")
    by_sector = {sector_id: _sources_pooled(parts)
                 for sector_id, parts in by_sector_source.items()}
    cells = rates.rate_cells(session, flt)

    per_sector = {}
    for sector_id in sorted(by_sector, key=lambda i: (sectors[i].position, sectors[i].code)):
        code = sectors[sector_id].code
        figures = figures_of(code, by_sector[sector_id])
        per_sector[code] = replace(
            with_volumes(figures, counted_by_source([by_sector_source[sector_id]]),
                         cells.volumes_of(None, {sector_id})),
            targets=book.checks_for_sectors(figures.scores, year, {sector_id}),
            weighted=weighted_by_dossiers(cells, {sector_id: figures.scores}, {sector_id}),
            pooled_sectors=1 if figures.responses else 0,
        )
    sector_scores = {i: per_sector[sectors[i].code].scores for i in by_sector}

    everything = _pooled(by_sector.values())
    scopes = {}
    for scope in book.scopes:
        ids = [i for i in by_sector if scope.sector_ids is None or i in scope.sector_ids]
        pooled = everything if scope.sector_ids is None else _pooled(by_sector[i] for i in ids)
        figures = figures_of(scope.code, pooled)
        scopes[scope.code] = replace(
            with_volumes(figures, counted_by_source(by_sector_source[i] for i in ids),
                         cells.volumes_of(None, scope.sector_ids)),
            targets=book.checks_for_scope(figures.scores, year, scope),
            weighted=weighted_by_dossiers(cells, sector_scores, ids),
            pooled_sectors=sum(1 for i in ids if sector_scores[i].responses),
        )

    return Report(
        period=flt.period,
        target_year=book.year_for(year),
        min_sample=book.min_sample(year),
        scopes=scopes,
        scope_labels={s.code: (s.label_vi, s.label_en) for s in book.scopes},
        sectors=per_sector,
        sector_labels={s.code: (s.label_vi, s.label_en) for s in sectors.values()},
        book=book,
        filter_scopes={i: book.scope_of(flt.sector_ids, i, year) for i in INDICATORS},
        sector_names={
            s.id: (s.label_vi, s.label_en)
            for s in sorted(sectors.values(), key=lambda s: (s.position, s.code))
        },
        cells=cells,
        sources=source_figures(by_sector_source.values(), everything),
        receipts=rates.receipt_counts(session, flt),
    )


def _month_year(key: Any) -> int:
    return (key if isinstance(key, date) else date.fromisoformat(str(key))).year


def grouped_figures(
    session: Session, flt: TallyFilter, group_by: str, book: TargetBook
) -> dict[Any, ScopeFigures]:
    """Return the figures of each counter, code or month of a filter, judged.

    Each group is judged by the targets that fit the filter's sectors; a month by those of
    its own year.
    """
    by_group = answers_by_status(session, flt, group_by)
    result = {}
    for key in sorted(by_group):
        figures = figures_of(str(key), by_group[key])
        year = _month_year(key) if group_by == "month" else flt.period.end.year
        result[key] = replace(
            figures, targets=book.checks_for_sectors(figures.scores, year, flt.sector_ids)
        )
    return result


def judged_empty(key: str, flt: TallyFilter, book: TargetBook, year: int) -> ScopeFigures:
    """Return the judged figures of a group without a single response."""
    figures = figures_of(key, {})
    return replace(figures, targets=book.checks_for_sectors(figures.scores, year,
                                                            flt.sector_ids))


@dataclass(frozen=True)
class AgencyFigures:
    """An agency's figures: with every agency below it (as its filter), and its own alone."""

    agency: Agency
    total: ScopeFigures
    own: ScopeFigures
    has_agencies_below: bool


def agency_figures(
    session: Session, flt: TallyFilter, agencies: Iterable[Agency], book: TargetBook,
    cells: RateCells | None = None,
) -> list[AgencyFigures]:
    """Return each agency's figures over itself and every agency below it, and its own.

    The same responses its own filter shows: an agency row of a province counts the
    province's counters and every commune's, within the filter. Each carries its response
    rate (`cells`, read when not given: the report's own); an agency's own rate far above
    those of the other agencies listed is marked, as is any rate above 100%.
    """
    by_agency = answers_by_status(session, flt, "agency")
    by_agency_source = tallies.counted_by_source(session, flt, "agency")

    def sources_of(agency_ids: Iterable[int]) -> dict[str, int]:
        ids = list(agency_ids)
        if by_agency_source is None:  # every response came from a counter
            counted = sum(by_agency[i][COUNTED].responses for i in ids
                          if COUNTED in by_agency.get(i, {}))
            return {**dict.fromkeys(SOURCES, 0), "counter": counted}
        result = dict.fromkeys(SOURCES, 0)
        for i in ids:
            for source, n in by_agency_source.get(i, {}).items():
                result[source] = result.get(source, 0) + n
        return result

    if cells is None:
        cells = rates.rate_cells(session, flt)
    children: dict[int | None, list[int]] = {}
    for agency_id, parent_id in session.execute(select(Agency.id, Agency.parent_id)):
        children.setdefault(parent_id, []).append(agency_id)

    def below(agency_id: int) -> list[int]:
        found, stack = [], [agency_id]
        while stack:
            current = stack.pop()
            found.append(current)
            stack += children.get(current, [])
        return found

    year = flt.period.end.year
    rows = []
    for agency in agencies:
        ids = below(agency.id)
        if flt.agency_ids is not None:
            ids = [i for i in ids if i in flt.agency_ids]
        total = figures_of(agency.code, _pooled(by_agency[i] for i in ids if i in by_agency))
        own = figures_of(agency.code, by_agency.get(agency.id, {}))
        rows.append(AgencyFigures(
            agency,
            replace(with_volumes(total, sources_of(ids), cells.volumes_of(set(ids))),
                    targets=book.checks_for_sectors(total.scores, year, flt.sector_ids)),
            replace(with_volumes(own, sources_of([agency.id]), cells.volumes_of({agency.id})),
                    targets=book.checks_for_sectors(own.scores, year, flt.sector_ids)),
            has_agencies_below=len(ids) > 1,
        ))
    return _marked_against_peers(rows)


def _marked_against_peers(rows: list[AgencyFigures]) -> list[AgencyFigures]:
    """Mark the agencies whose own rate is far above those of the others listed.

    Compared on each agency's own counters, so that no two compared figures share a
    response; the mark shows on the agency's row, or on its own-counters line when it has
    agencies below it. A rate above 100% keeps that mark, the plainer of the two.
    """
    own_rates = {
        n: rate for n, row in enumerate(rows)
        if row.own.volumes_complete and (rate := row.own.response_rate) is not None
    }
    far_above = rates.far_above_peers(own_rates)
    marked = []
    for n, row in enumerate(rows):
        if n in far_above and row.own.rate_flag is None:
            own = replace(row.own, rate_flag=rates.FAR_ABOVE_PEERS)
            total = row.total if row.has_agencies_below else replace(
                row.total, rate_flag=row.total.rate_flag or rates.FAR_ABOVE_PEERS)
            row = replace(row, own=own, total=total)
        marked.append(row)
    return marked


def target_years(session: Session) -> list[TargetYear]:
    return list(session.scalars(select(TargetYear).order_by(TargetYear.year)))
