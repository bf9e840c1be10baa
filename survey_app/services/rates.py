"""Response rates, the source of responses, and the receipts answered, for a tally filter.

A response rate is counted responses ÷ dossiers received × 100 (docs/methodology.md,
section 10): the counted responses of a figure come from the rollups with the figure
itself, its dossiers from the volumes loaded (services/volumes.py) for the same agencies,
sectors and period. `RateCells` holds the dossiers of a filter by (agency, sector) once per
report and answers for any set of agencies and sectors, so a scope, a sector and an agency
row of the same report add up the same cells.

Volumes "cover" a figure when every agency, sector and month holding counted responses of
it has dossiers loaded: only then is its rate judged implausible, or its sectors weighted
by their dossiers. A rate on volumes that miss some of its responses would be too high.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from survey_app.models import DossierDigest, DossierVolume, MintedReceipt, Response
from survey_app.services.tallies import TallyFilter, tally_query
from survey_app.services.volumes import next_month_of, volume_cells, volume_conditions

# Why a rate is marked for review (the usual sign of staff answering for citizens).
ABOVE_100 = "above_100"  # more counted responses than dossiers received
FAR_ABOVE_PEERS = "far_above_peers"  # more than PEER_FACTOR times the median of its peers
RATE_FLAGS = (ABOVE_100, FAR_ABOVE_PEERS)
PEER_FACTOR = 3
MIN_PEERS = 3

_K = TypeVar("_K")


@dataclass(frozen=True)
class Volumes:
    """The dossiers of a figure, and whether they cover every one of its counted responses."""

    dossiers: int | None  # None: no volume loaded for these agencies, sectors and period
    is_complete: bool  # every agency, sector and month with counted responses has volumes


class RateCells:
    """The dossiers of a filter by agency and sector, and the cells they leave uncovered.

    Indexed by agency and by sector, so that the rows of a report (a scope, each sector,
    each agency with the agencies below it) read only their own cells.
    """

    def __init__(
        self,
        dossiers: Mapping[tuple[int, int], int],  # (agency, sector) -> received, when loaded
        uncovered: frozenset[tuple[int, int]],  # with counted responses in a month without
    ) -> None:
        self.dossiers = dossiers
        self.uncovered = uncovered
        self._everything = _Cells()
        self._by_agency: defaultdict[int, _Cells] = defaultdict(_Cells)
        self._by_sector: defaultdict[int, _Cells] = defaultdict(_Cells)
        for (agency_id, sector_id), n in dossiers.items():
            for cells in self._indexes(agency_id, sector_id):
                cells.dossiers.append((agency_id, sector_id, n))
        for agency_id, sector_id in uncovered:
            for cells in self._indexes(agency_id, sector_id):
                cells.uncovered.append((agency_id, sector_id))

    def _indexes(self, agency_id: int, sector_id: int) -> list[_Cells]:
        return [self._everything, self._by_agency[agency_id], self._by_sector[sector_id]]

    def volumes_of(self, agency_ids: Collection[int] | None = None,
                   sector_ids: Collection[int] | None = None) -> Volumes:
        """Return the dossiers of some agencies and sectors, and whether they cover them.

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

        loaded = [n for part in parts for a, s, n in part.dossiers if within(a, s)]
        is_covered = not any(within(a, s) for part in parts for a, s in part.uncovered)
        return Volumes(sum(loaded) if loaded else None, bool(self.dossiers) and is_covered)


@dataclass
class _Cells:
    dossiers: list[tuple[int, int, int]] = field(default_factory=list)
    uncovered: list[tuple[int, int]] = field(default_factory=list)


def rate_cells(session: Session, flt: TallyFilter) -> RateCells:
    """Read the dossiers of a filter by cell, and the cells they leave uncovered.

    Without any volume loaded for the filter (a counter, or a deployment that loads none)
    nothing is covered and the rollups are not read at all.
    """
    dossiers = volume_cells(session, flt)
    return RateCells(dossiers, uncovered_cells(session, flt) if dossiers else frozenset())


def uncovered_cells(session: Session, flt: TallyFilter) -> frozenset[tuple[int, int]]:
    """Return the (agency, sector) cells with counted responses in a month without volumes.

    One statement: the rollups' counted responses by agency, sector and month, each month
    looked up in the volumes' primary key (agency, sector, day), so the database returns
    only the few cells left uncovered, not every month of every cell.
    """
    counted = TallyFilter(flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids,
                          ("counted",))
    statement, parameters = tally_query(counted, ["agency", "sector", "month"], ("responses",))
    answered = statement.subquery("answered")
    loaded = exists().where(
        DossierVolume.agency_id == answered.c.agency,
        DossierVolume.sector_id == answered.c.sector,
        DossierVolume.day >= answered.c.month,
        DossierVolume.day < next_month_of(session, answered.c.month),
        *volume_conditions(flt),
    )
    query = (
        select(answered.c.agency, answered.c.sector).distinct()
        .where(answered.c.responses > 0, ~loaded)
    )
    return frozenset((int(a), int(s)) for a, s in session.execute(query, parameters))


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

    A receipt is answered when a counted response carries its digest, whenever it came,
    or when the purge marked it so before clearing that response's digests.
    Receipts belong to an agency and a sector, never to a counter: a counter filter has none.
    """
    if flt.counter_id is not None:
        return None
    answered = or_(MintedReceipt.is_answered, exists().where(
        DossierDigest.key_id == MintedReceipt.key_id,
        DossierDigest.digest == MintedReceipt.digest,
        Response.id == DossierDigest.response_id,
        Response.status == "counted",
    ))
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
