"""Sealed daily totals: each finished local day's counted totals, hashed into a chain.

Once a local day is over, `close()` reads its counted totals per agency and sector from
the daily rollups and appends a seal: a SHA-256 digest over those totals and over the
digest of the seal before it. A later flag or restore that changes a sealed day appends a
correction seal for that day, with its reason, in the same transaction; no seal is ever
updated or deleted. `verify()` recomputes every sealed day from the rollups and checks
every link, so a rollup or seal row edited directly in the database is found, by day,
agency and sector, or by sequence number. docs/seals.md gives the exact bytes hashed.

Two levels: a leaf per agency (its sectors' totals and a random salt) and, per seal, the
digest of the sorted leaves. The published day can so show some agencies' figures in clear
and only the leaves of the others, and still be checked whole.

Writes only flush; the command or view that called them commits once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from survey_app.models import (
    TALLY_COUNT_COLUMNS,
    Agency,
    AuditEvent,
    BoardPublication,
    DaySeal,
    Response,
    Sector,
    tally_days,
    utcnow,
)
from survey_app.services import audit
from survey_app.services.periods import local_date
from survey_app.services.rollups import increments

VERSION = 1
# The "previous digest" of the first seal.
GENESIS = "0" * 64
SALT_BYTES = 16
AUDIT_ACTION = "seals.appended"
# The PostgreSQL advisory lock that lets one transaction at a time append to the chain
# (any number, the same everywhere; an advisory lock needs no privilege on any table).
CHAIN_LOCK = 0x5EA1_0017

# agency id -> sector id -> count column -> count (zeros left out)
Totals = dict[int, dict[int, dict[str, int]]]


# The bytes hashed ---------------------------------------------------------------------------


def canonical(value: Any) -> bytes:
    """Return the one byte string a value is hashed as: JSON with sorted keys, no spaces,
    UTF-8 (not \\u escapes), integers and strings only."""
    _refuse_floats(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("a sealed value is never a float")
    if isinstance(value, Mapping):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stamp(moment: datetime) -> str:
    """Return a UTC moment as hashed: 2026-12-05T17:00:03Z (whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def leaf_digest(day: date, agency_id: int, salt: str,
                sectors: Mapping[int, Mapping[str, int]]) -> str:
    """Return the digest of one agency's totals on one day."""
    return sha256_hex(canonical({
        "agency": agency_id,
        "day": day.isoformat(),
        "salt": salt,
        "sectors": {str(sector): dict(counts) for sector, counts in sectors.items()},
    }))


def content_digest(leaves: Iterable[tuple[int, str]]) -> str:
    """Return the digest of a day's leaves: [[agency id, leaf], ...] by agency id."""
    return sha256_hex(canonical([[agency, leaf] for agency, leaf in sorted(leaves)]))


def seal_digest(*, sequence: int, day: date, kind: str, reason: str | None,
                sealed_at: datetime, previous: str, content: str) -> str:
    """Return the digest of one seal, which the next seal carries as its previous."""
    return sha256_hex(canonical({
        "content": content,
        "day": day.isoformat(),
        "kind": kind,
        "previous": previous,
        "reason": reason,
        "sealed_at": stamp(sealed_at),
        "sequence": sequence,
        "version": VERSION,
    }))


# Stored totals ----------------------------------------------------------------------------


def stored_totals(seal: DaySeal) -> Totals:
    """Return the totals a seal row holds, keyed by numbers again."""
    return {
        int(agency): {
            int(sector): {str(c): int(n) for c, n in counts.items()}
            for sector, counts in (entry.get("sectors") or {}).items()
        }
        for agency, entry in (seal.totals or {}).items()
    }


def salts_of(seal: DaySeal) -> dict[int, str]:
    return {
        int(agency): str(entry.get("salt", "")) for agency, entry in (seal.totals or {}).items()
    }


def leaves_of(seal: DaySeal) -> list[tuple[int, str]]:
    """Return a seal's leaves, recomputed from the totals and salts it holds."""
    salts, totals = salts_of(seal), stored_totals(seal)
    return sorted(
        (agency, leaf_digest(seal.day, agency, salts[agency], sectors))
        for agency, sectors in totals.items()
    )


def _without_zeros(totals: Totals) -> Totals:
    cleaned: Totals = {}
    for agency, sectors in totals.items():
        for sector, counts in sectors.items():
            kept = {c: n for c, n in counts.items() if n}
            if kept:
                cleaned.setdefault(agency, {})[sector] = kept
    return cleaned


# Reading the rollups ----------------------------------------------------------------------


def rollup_totals(session: Session, first: date, last: date) -> dict[date, Totals]:
    """Return the counted totals per day, agency and sector from `first` to `last`.

    Read off the 'counted' rollup rows (which also hold how many responses of the day were
    flagged or duplicates), summed over counters and codes; zero counts are left out, so a
    count column added later does not change the totals of days sealed before it.
    """
    rows = session.execute(
        select(
            tally_days.c.day, tally_days.c.agency_id, tally_days.c.sector_id,
            *(func.sum(tally_days.c[c]).label(c) for c in TALLY_COUNT_COLUMNS),
        )
        .where(tally_days.c.status == "counted", tally_days.c.day.between(first, last))
        .group_by(tally_days.c.day, tally_days.c.agency_id, tally_days.c.sector_id)
    ).mappings()
    by_day: dict[date, Totals] = {}
    for row in rows:
        counts = {c: int(row[c] or 0) for c in TALLY_COUNT_COLUMNS}
        by_day.setdefault(row["day"], {}).setdefault(row["agency_id"], {})[row["sector_id"]] = (
            counts
        )
    return {day: _without_zeros(totals) for day, totals in by_day.items()}


# Appending --------------------------------------------------------------------------------


def _lock_chain(session: Session) -> None:
    """Let one transaction at a time append to the chain (PostgreSQL; SQLite has one writer).

    Readers never wait. Taken by every append and by every status change, until the commit,
    so a day being sealed and a response of that day being flagged never miss each other:
    whichever comes second sees what the first did.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def latest_seal(session: Session) -> DaySeal | None:
    return session.scalar(select(DaySeal).order_by(DaySeal.sequence.desc()).limit(1))


def latest_of_day(session: Session, day: date) -> DaySeal | None:
    return session.scalar(
        select(DaySeal).where(DaySeal.day == day).order_by(DaySeal.sequence.desc()).limit(1)
    )


def _append(session: Session, day: date, kind: str, reason: str | None,
            totals: Totals, head: DaySeal | None, revision: int) -> DaySeal:
    totals = _without_zeros(totals)
    salts = {agency: secrets.token_hex(SALT_BYTES) for agency in totals}
    leaves = [(agency, leaf_digest(day, agency, salts[agency], sectors))
              for agency, sectors in totals.items()]
    sequence = head.sequence + 1 if head is not None else 1
    previous = head.digest if head is not None else GENESIS
    sealed_at = utcnow().replace(microsecond=0)
    content = content_digest(leaves)
    seal = DaySeal(
        sequence=sequence, day=day, revision=revision, kind=kind, reason=reason,
        sealed_at=sealed_at,
        totals={
            str(agency): {
                "salt": salts[agency],
                "sectors": {str(sector): counts for sector, counts in sorted(sectors.items())},
            }
            for agency, sectors in sorted(totals.items())
        },
        content_digest=content,
        previous_digest=previous,
        digest=seal_digest(sequence=sequence, day=day, kind=kind, reason=reason,
                           sealed_at=sealed_at, previous=previous, content=content),
    )
    session.add(seal)
    session.flush()
    return seal


def _record(session: Session, appended: list[DaySeal]) -> None:
    """Note the newest seal in the append-only audit log: the anchor `verify` checks the
    chain's end against, so that deleting the last seals is found too."""
    if appended:
        last = appended[-1]
        audit.record(session, AUDIT_ACTION, target=last, sequence=last.sequence,
                     day=last.day.isoformat(), digest=last.digest, appended=len(appended))


def close(session: Session, today: date, until: date | None = None) -> list[DaySeal]:
    """Seal every finished local day not sealed yet, up to yesterday (or `until`).

    The chain starts on the first day with any rollup row and then takes every day in turn,
    days without a response included (sealed empty), so that no day is left out and a
    response later written into a past day shows. Run again, it seals nothing twice.
    """
    last_day = today - timedelta(days=1)
    if until is not None:
        last_day = min(last_day, until)
    _lock_chain(session)
    head = latest_seal(session)
    last_sealed = session.scalar(select(func.max(DaySeal.day)))
    if last_sealed is not None:
        first_day = last_sealed + timedelta(days=1)
    else:
        first_day = session.scalar(
            select(func.min(tally_days.c.day)).where(tally_days.c.status == "counted")
        )
        if first_day is None:
            return []
    if first_day > last_day:
        return []
    by_day = rollup_totals(session, first_day, last_day)
    appended = []
    day = first_day
    while day <= last_day:
        head = _append(session, day, "day", None, by_day.get(day, {}), head, 0)
        appended.append(head)
        day += timedelta(days=1)
    _record(session, appended)
    return appended


def _contribution(response: Response, status: str) -> dict[str, int]:
    """Return what one response adds to the counted rollup row of its day under a status."""
    if status == "counted":
        return increments(response, response.wish_codes)
    return {f"responses_{status}": 1}


def note_status_change(session: Session, response: Response, old_status: str,
                       reason: str) -> DaySeal | None:
    """Append a correction when a response of a sealed day changed status; else nothing.

    Call it after the status change, in the same transaction. The correction is the day's
    latest seal with this one response moved, never a new reading of the rollups: a rollup
    edited behind the application's back stays a difference `verify` reports.
    """
    if response.status == old_status:
        return None
    _lock_chain(session)
    day = local_date(response.created_at)
    latest = latest_of_day(session, day)
    if latest is None:
        return None
    totals = stored_totals(latest)
    counts = totals.setdefault(response.agency_id, {}).setdefault(response.sector_id, {})
    for column, n in _contribution(response, old_status).items():
        counts[column] = counts.get(column, 0) - n
    for column, n in _contribution(response, response.status).items():
        counts[column] = counts.get(column, 0) + n
    seal = _append(session, day, "correction", reason[:200], totals,
                   latest_seal(session), latest.revision + 1)
    _record(session, [seal])
    return seal


# Checking ---------------------------------------------------------------------------------


@dataclass
class Verification:
    seals: int = 0
    days: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return not self.problems


def verify(session: Session) -> Verification:
    """Check every link of the chain, every seal's digest, the audit log's anchors, and
    every sealed day's totals against the rollups as they are now."""
    if session.get_bind().dialect.name == "postgresql":
        # No seal is appended (and no response of a sealed day moved) while we read.
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": CHAIN_LOCK})
    result = Verification()
    seals = list(session.scalars(select(DaySeal).order_by(DaySeal.sequence)))
    result.seals = len(seals)
    _check_links(seals, result.problems)
    _check_anchors(session, seals, result.problems)
    if not seals:
        return result
    latest: dict[date, DaySeal] = {}
    for seal in seals:
        latest[seal.day] = seal
    result.days = len(latest)
    first, last = min(latest), max(latest)
    day = first
    while day <= last:
        if day not in latest:
            result.problems.append(f"{day}: no seal for this day")
        day += timedelta(days=1)
    agencies = dict(session.execute(select(Agency.id, Agency.code)).all())
    sectors = dict(session.execute(select(Sector.id, Sector.code)).all())
    now = rollup_totals(session, first, last)
    for day, seal in sorted(latest.items()):
        try:
            sealed = stored_totals(seal)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # reported with the seal
        current = now.get(day, {})
        for agency in sorted(set(sealed) | set(current)):
            in_seal, in_rollups = sealed.get(agency, {}), current.get(agency, {})
            for sector in sorted(set(in_seal) | set(in_rollups)):
                a, b = in_seal.get(sector, {}), in_rollups.get(sector, {})
                if a != b:
                    changed = sorted(c for c in set(a) | set(b) if a.get(c, 0) != b.get(c, 0))
                    shown = ", ".join(
                        f"{c} {a.get(c, 0)} -> {b.get(c, 0)}" for c in changed[:4]
                    ) + (f" (+{len(changed) - 4} more)" if len(changed) > 4 else "")
                    result.problems.append(
                        f"{day}: agency {agencies.get(agency, '?')} (#{agency}), sector "
                        f"{sectors.get(sector, '?')} (#{sector}): the rollups no longer match "
                        f"seal #{seal.sequence}: {shown}"
                    )
    return result


def _check_links(seals: list[DaySeal], problems: list[str]) -> None:
    expected, previous = 1, GENESIS
    for seal in seals:
        if seal.sequence > expected:
            missing = (f"#{expected}" if seal.sequence == expected + 1
                       else f"#{expected} to #{seal.sequence - 1}")
            problems.append(f"seal {missing} is missing: deleted from the database")
        where = f"seal #{seal.sequence} ({seal.day})"
        if seal.previous_digest != previous:
            problems.append(f"{where}: its previous digest is not the digest of the seal "
                            "before it")
        try:
            content = content_digest(leaves_of(seal))
            digest = seal_digest(sequence=seal.sequence, day=seal.day, kind=seal.kind,
                                 reason=seal.reason, sealed_at=seal.sealed_at,
                                 previous=seal.previous_digest, content=content)
        except (KeyError, TypeError, ValueError, AttributeError):
            problems.append(f"{where}: its stored totals cannot be read")
        else:
            if content != seal.content_digest or digest != seal.digest:
                problems.append(f"{where}: edited in the database: its content no longer "
                                "hashes to its digest")
        expected, previous = seal.sequence + 1, seal.digest


def _check_anchors(session: Session, seals: list[DaySeal], problems: list[str]) -> None:
    by_sequence = {seal.sequence: seal for seal in seals}
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == AUDIT_ACTION).order_by(AuditEvent.id)
    )
    for event in events:
        details = event.details or {}
        sequence, digest = details.get("sequence"), details.get("digest")
        if not isinstance(sequence, int):
            continue
        seal = by_sequence.get(sequence)
        if seal is None:
            if sequence >= (max(by_sequence) if by_sequence else 0):
                problems.append(f"seal #{sequence}, noted in the audit log on "
                                f"{stamp(event.at)}, is missing: deleted from the database")
        elif seal.digest != digest:
            problems.append(f"seal #{sequence} ({seal.day}): its digest is not the one the "
                            f"audit log recorded on {stamp(event.at)}")


# Publishing -------------------------------------------------------------------------------


def publishable_agencies(session: Session) -> frozenset[int]:
    """Return the agencies whose sealed figures the public pages show in clear: those an
    admin has published on the public board. Every other agency shows only its salted leaf."""
    return frozenset(session.scalars(select(BoardPublication.agency_id)))


def seal_summary(seal: DaySeal) -> dict[str, Any]:
    """Return what the chain's JSON says of one seal: enough to check every link."""
    return {
        "sequence": seal.sequence,
        "day": seal.day.isoformat(),
        "kind": seal.kind,
        "reason": seal.reason,
        "sealed_at": stamp(seal.sealed_at),
        "previous": seal.previous_digest,
        "content": seal.content_digest,
        "digest": seal.digest,
    }


def chain(session: Session) -> list[DaySeal]:
    return list(session.scalars(select(DaySeal).order_by(DaySeal.sequence)))


def seals_of_day(session: Session, day: date) -> list[DaySeal]:
    return list(session.scalars(
        select(DaySeal).where(DaySeal.day == day).order_by(DaySeal.sequence)
    ))


def recent_days(session: Session, before: date | None, limit: int) -> tuple[
        list[tuple[date, list[DaySeal]]], date | None]:
    """Return up to `limit` sealed days before `before` (newest first) with their seals,
    and the day to continue from when older ones remain."""
    query = select(DaySeal.day).distinct().order_by(DaySeal.day.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(DaySeal.day < before)
    days = list(session.scalars(query))
    shown = days[:limit]
    if not shown:
        return [], None
    by_day: dict[date, list[DaySeal]] = {day: [] for day in shown}
    for seal in session.scalars(
        select(DaySeal).where(DaySeal.day.between(shown[-1], shown[0]))
        .order_by(DaySeal.sequence)
    ):
        by_day[seal.day].append(seal)
    return list(by_day.items()), shown[-1] if len(days) > limit else None


def public_day(session: Session, day: date, shown: frozenset[int]) -> dict[str, Any] | None:
    """Return one day's seals as published: every leaf, and the totals and salt of the
    agencies in `shown` (agency and sector level only), so anyone can recompute the leaves
    shown, the content digest from all leaves, and each seal's digest. None if not sealed."""
    seals = seals_of_day(session, day)
    if not seals:
        return None
    agencies = {a.id: a for a in session.scalars(select(Agency))}
    sectors = dict(session.execute(select(Sector.id, Sector.code)).all())
    published = []
    for seal in seals:
        totals, salts = stored_totals(seal), salts_of(seal)
        leaves = []
        for agency_id, leaf in leaves_of(seal):
            entry: dict[str, Any] = {"agency": agency_id, "leaf": leaf}
            agency = agencies.get(agency_id)
            if agency_id in shown and agency is not None:
                entry |= {
                    "agency_code": agency.code,
                    "agency_name": agency.name,
                    "salt": salts[agency_id],
                    "sectors": {str(s): counts for s, counts in sorted(totals[agency_id].items())},
                    "sector_codes": {str(s): sectors.get(s) for s in sorted(totals[agency_id])},
                }
            leaves.append(entry)
        published.append(seal_summary(seal) | {"leaves": leaves})
    return {"day": day.isoformat(), "version": VERSION, "seals": published}
