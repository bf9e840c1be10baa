"""The figures of a period and filter, judged against the targets of its year.

One function, `build_report`, feeds the dashboard, the exports and the API alike: it
counts by sector in SQL (two rollup queries), pools the sectors into the target scopes
(all sectors; land; construction; investment; the three together) and scores each scope
with `sipas.py`. Scopes are pooled, never averaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app import sipas
from survey_app.models import TARGET_GROUPS, Sector, TargetYear
from survey_app.tallies import Period, TallyFilter, count_answers_and_statuses

ALL = "all"
POOLED = "LAND_CONSTRUCTION_INVESTMENT"
SCOPES = (ALL, *TARGET_GROUPS, POOLED)
# Which TargetYear column judges each scope; a sector outside the groups is judged as "all".
THRESHOLD_COLUMNS = {
    ALL: "sipas_all",
    "LAND": "sipas_land",
    "CONSTRUCTION": "sipas_construction",
    "INVESTMENT": "sipas_investment",
    POOLED: "sipas_land_construction_investment",
}
INDEX_METRIC = "sipas_index"


@dataclass(frozen=True)
class TargetCheck:
    metric: str
    threshold: float
    judgement: sipas.Judgement


@dataclass(frozen=True)
class ScopeFigures:
    """Everything shown for one scope: counted figures, raw counts, and the verdicts."""

    key: str
    counts: sipas.AnswerCounts
    scores: sipas.Scores
    by_status: dict[str, int]
    targets: list[TargetCheck] = field(default_factory=list)

    @property
    def responses(self) -> int:
        """Counted responses."""
        return self.scores.responses

    @property
    def not_counted(self) -> int:
        """Responses stored but left out of the figures (duplicates and flagged ones)."""
        return sum(n for status, n in self.by_status.items() if status != "counted")

    @property
    def raw_responses(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class Report:
    period: Period
    target_year: TargetYear | None
    min_sample: int
    scopes: dict[str, ScopeFigures]
    sectors: dict[str, ScopeFigures]  # by sector code, only sectors with responses
    sector_labels: dict[str, tuple[str, str]]  # code -> (Vietnamese, English)


def targets_for(session: Session, period: Period) -> TargetYear | None:
    """Return the targets of the latest year not after the period's end."""
    return session.scalar(
        select(TargetYear)
        .where(TargetYear.year <= period.end.year)
        .order_by(TargetYear.year.desc())
        .limit(1)
    )


def _figures(
    key: str,
    counts: sipas.AnswerCounts,
    by_status: dict[str, int],
    threshold: float | None,
    min_sample: int,
) -> ScopeFigures:
    scores = sipas.score(counts)
    checks = []
    if threshold is not None:
        checks.append(
            TargetCheck(INDEX_METRIC, threshold, sipas.judge_index(scores, threshold, min_sample))
        )
    return ScopeFigures(key, counts, scores, by_status, checks)


def _add(totals: dict[str, int], more: dict[str, int]) -> None:
    for status, n in more.items():
        totals[status] = totals.get(status, 0) + n


def build_report(session: Session, flt: TallyFilter) -> Report:
    """Count, pool and score every scope and sector of a filter."""
    target_year = targets_for(session, flt.period)
    min_sample = target_year.min_sample if target_year else sipas.DEFAULT_MIN_SAMPLE
    sectors = {s.id: s for s in session.scalars(select(Sector))}
    counted, statuses = count_answers_and_statuses(session, flt, "sector")

    def threshold(scope: str) -> float | None:
        return getattr(target_year, THRESHOLD_COLUMNS[scope]) if target_year else None

    members: dict[str, list[int]] = {scope: [] for scope in SCOPES}
    for sector_id in set(counted) | set(statuses):
        members[ALL].append(sector_id)
        group = sectors[sector_id].target_group
        if group:
            members[group].append(sector_id)
            members[POOLED].append(sector_id)

    scopes = {}
    for scope, ids in members.items():
        by_status: dict[str, int] = {}
        for sector_id in ids:
            _add(by_status, statuses.get(sector_id, {}))
        pooled = sipas.pool(counted[i] for i in ids if i in counted)
        scopes[scope] = _figures(scope, pooled, by_status, threshold(scope), min_sample)

    per_sector = {}
    for sector_id in sorted(
        set(counted) | set(statuses), key=lambda i: (sectors[i].position, sectors[i].code)
    ):
        sector = sectors[sector_id]
        counts = counted.get(sector_id, sipas.AnswerCounts())
        per_sector[sector.code] = _figures(
            sector.code,
            counts,
            statuses.get(sector_id, {}),
            threshold(sector.target_group or ALL),
            min_sample,
        )
    labels = {s.code: (s.label_vi, s.label_en) for s in sectors.values()}
    return Report(flt.period, target_year, min_sample, scopes, per_sector, labels)


def grouped_figures(
    session: Session, flt: TallyFilter, group_by: str, threshold: float | None, min_sample: int
) -> dict[Any, ScopeFigures]:
    """Return the figures of each agency, counter, code or month, judged against one target."""
    counted, statuses = count_answers_and_statuses(session, flt, group_by)
    return {
        key: _figures(
            str(key),
            counted.get(key, sipas.AnswerCounts()),
            statuses.get(key, {}),
            threshold,
            min_sample,
        )
        for key in sorted(set(counted) | set(statuses))
    }
