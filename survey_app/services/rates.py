"""Response rates, the source of responses, and the receipts answered, for a tally filter.

A response rate is counted responses ÷ dossiers received × 100 (docs/methodology.md,
section 10). Both come from the same cells, (agency, sector): the counted responses of each
cell by source from the rollups (never by counting the responses table), the dossiers
loaded for it (services/volumes.py). `RateCells` holds them once per filter and answers
for any set of agencies and sectors, so a scope, a sector and an agency row of the same
report add up the same cells.

Volumes "cover" a figure when every agency, sector and month holding counted responses of
it has dossiers loaded: only then is its rate judged implausible, or its sectors weighted
by their dossiers. A rate on volumes that miss some of its responses would be too high.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from survey_app.models import SOURCES, DossierDigest, MintedReceipt, Response
from survey_app.services.tallies import TallyFilter, tally_rows
from survey_app.services.volumes import monthly_volumes

# Why a rate is marked for review (the usual sign of staff answering for citizens).
ABOVE_100 = "above_100"  # more counted responses than dossiers received
FAR_ABOVE_PEERS = "far_above_peers"  # more than PEER_FACTOR times the median of its peers
RATE_FLAGS = (ABOVE_100, FAR_ABOVE_PEERS)
PEER_FACTOR = 3
MIN_PEERS = 3

_K = TypeVar("_K")


@dataclass(frozen=True)
class Volumes:
    """What a figure's rate is made of: its counted responses by source, its dossiers."""

    by_source: dict[str, int]
    dossiers: int | None  # None: no volume loaded for these agencies, sectors and period
    is_complete: bool  # every agency, sector and month with counted responses has volumes


NO_VOLUMES = Volumes(dict.fromkeys(SOURCES, 0), None, False)


class RateCells:
    """The counted responses and the dossiers of a filter, by agency and sector.

    Indexed by agency and by sector, so that the rows of a report (a scope, each sector,
    each agency with the agencies below it) read only their own cells.
    """

    def __init__(
        self,
        responses: Mapping[tuple[int, int, str], int],  # (agency, sector, source) -> counted
        dossiers: Mapping[tuple[int, int], int],  # (agency, sector) -> received, when loaded
        uncovered: frozenset[tuple[int, int]],  # with counted responses in a month without
    ) -> None:
        self.responses = responses
        self.dossiers = dossiers
        self.uncovered = uncovered
        self._everything = _Cells()
        self._by_agency: dict[int, _Cells] = {}
        self._by_sector: dict[int, _Cells] = {}
        for (agency_id, sector_id, source), n in responses.items():
            for cells in self._indexes(agency_id, sector_id):
                cells.responses.append((agency_id, sector_id, source, n))
        for (agency_id, sector_id), n in dossiers.items():
            for cells in self._indexes(agency_id, sector_id):
                cells.dossiers.append((agency_id, sector_id, n))
        for agency_id, sector_id in uncovered:
            for cells in self._indexes(agency_id, sector_id):
                cells.uncovered.append((agency_id, sector_id))

    def _indexes(self, agency_id: int, sector_id: int) -> list[_Cells]:
        return [self._everything, self._by_agency.setdefault(agency_id, _Cells()),
                self._by_sector.setdefault(sector_id, _Cells())]

    def volumes_of(self, agency_ids: Collection[int] | None = None,
                   sector_ids: Collection[int] | None = None) -> Volumes:
        """Return the responses by source and the dossiers of some agencies and sectors.

        None means every agency (or sector) of the filter.
        """
        if agency_ids is not None:
            parts = [self._by_agency[a] for a in set(agency_ids) if a in self._by_agency]
        elif sector_ids is not None:
            parts = [self._by_sector[s] for s in set(sector_ids) if s in self._by_sector]
        else:
            parts = [self._everything]

        def within(agency_id: int, sector_id: int) -> bool:
            return ((agency_ids is None or agency_id in agency_ids)
                    and (sector_ids is None or sector_id in sector_ids))

        by_source = dict.fromkeys(SOURCES, 0)
        loaded: list[int] = []
        is_covered = True
        for part in parts:
            for agency_id, sector_id, source, n in part.responses:
                if within(agency_id, sector_id):
                    by_source[source] = by_source.get(source, 0) + n
            loaded += [n for a, s, n in part.dossiers if within(a, s)]
            is_covered = is_covered and not any(within(a, s) for a, s in part.uncovered)
        return Volumes(
            by_source=by_source,
            dossiers=sum(loaded) if loaded else None,
            is_complete=bool(self.dossiers) and is_covered,
        )


@dataclass
class _Cells:
    responses: list[tuple[int, int, str, int]] = field(default_factory=list)
    dossiers: list[tuple[int, int, int]] = field(default_factory=list)
    uncovered: list[tuple[int, int]] = field(default_factory=list)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def rate_cells(session: Session, flt: TallyFilter) -> RateCells:
    """Read the counted responses (one rollup read) and the dossiers of a filter, by cell."""
    counted = TallyFilter(flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids,
                          ("counted",))
    monthly = monthly_volumes(session, flt)
    responses: dict[tuple[int, int, str], int] = {}
    uncovered: set[tuple[int, int]] = set()
    for row in tally_rows(session, counted, ["agency", "sector", "source", "month"],
                          counts=("responses",)):
        cell = (int(row["agency"]), int(row["sector"]))
        key = (*cell, str(row["source"]))
        responses[key] = responses.get(key, 0) + int(row["responses"])
        if (*cell, _as_date(row["month"])) not in monthly:
            uncovered.add(cell)
    dossiers: dict[tuple[int, int], int] = {}
    for (agency_id, sector_id, _month), n in monthly.items():
        dossiers[(agency_id, sector_id)] = dossiers.get((agency_id, sector_id), 0) + n
    return RateCells(responses, dossiers, frozenset(uncovered))


def response_rate(responses: int, dossiers: int | None) -> float | None:
    """Return counted responses per 100 dossiers received; None without dossiers."""
    return None if not dossiers else 100 * responses / dossiers


def rate_flag(responses: int, volumes: Volumes) -> str | None:
    """Return ABOVE_100 when more responses were counted than dossiers received.

    Judged only where the volumes cover every response of the figure.
    """
    if not volumes.is_complete or volumes.dossiers is None:
        return None
    return ABOVE_100 if responses > volumes.dossiers else None


def far_above_peers(rates: Mapping[_K, float]) -> set[_K]:
    """Return the keys whose rate is above PEER_FACTOR times the median of the others.

    Only where at least MIN_PEERS others have a rate, and their median is above 0.
    """
    flagged = set()
    for key, rate in rates.items():
        peers = [other for k, other in rates.items() if k != key]
        if len(peers) < MIN_PEERS:
            continue
        middle = statistics.median(peers)
        if middle > 0 and rate > PEER_FACTOR * middle:
            flagged.add(key)
    return flagged


# Receipts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptCounts:
    """Receipt links minted by the API or the command line in a period, and those answered."""

    minted: int
    answered: int  # minted links that a counted response answers (through the link or not)

    @property
    def rate(self) -> float | None:
        return None if not self.minted else 100 * self.answered / self.minted


def receipt_counts(session: Session, flt: TallyFilter) -> ReceiptCounts | None:
    """Return the receipts minted in a filter's period and how many are answered so far.

    A receipt is answered when a counted response carries its digest, whenever it came.
    Receipts belong to an agency and a sector, never to a counter: a counter filter has none.
    """
    if flt.counter_id is not None:
        return None
    answered = exists().where(
        DossierDigest.key_id == MintedReceipt.key_id,
        DossierDigest.digest == MintedReceipt.digest,
        Response.id == DossierDigest.response_id,
        Response.status == "counted",
    )
    conditions = [MintedReceipt.issued_on.between(flt.period.start, flt.period.end)]
    if flt.agency_ids is not None:
        conditions.append(MintedReceipt.agency_id.in_(sorted(flt.agency_ids)))
    if flt.sector_ids is not None:
        conditions.append(MintedReceipt.sector_id.in_(sorted(flt.sector_ids)))
    minted, answered_count = session.execute(
        select(func.count(), func.coalesce(func.sum(case((answered, 1), else_=0)), 0))
        .select_from(MintedReceipt).where(and_(*conditions))
    ).one()
    return ReceiptCounts(int(minted), int(answered_count))
