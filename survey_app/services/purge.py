"""Retention: clear the personal details of old responses; every tally stays the same.

After RETENTION_DAYS a response keeps its answers, its place (agency, counter, sector,
code), its time, language and status, and loses what could point back to a person or a
device: the comment, the keyed hash of the dossier code and its digests under the receipt
keys (`dossier_digests`), and, where the model has them, the keyed hashes of the device
and of the address. The rollups behind every figure count
answers only (`tallies._increments`), so clearing these fields changes no tally.

Failed sign-ins older than the retention are deleted. The audit log is never touched: it
is append-only and the database refuses to change it.

Writes only flush; the caller (`flask purge`) commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from survey_app.models import DossierDigest, LoginFailure, Response, utcnow

# The fields cleared at the end of the retention, in the order they are reported. The
# last two exist only once the anti-abuse columns are in the model; missing ones are skipped.
PERSONAL_FIELDS = ("comment", "dossier_hash", "device_hash", "address_hash")
# Reported with them: the responses whose dossier digests (a row per receipt key) are deleted.
DIGESTS = "dossier_digests"
BATCH_SIZE = 10_000


@dataclass(frozen=True)
class PurgeResult:
    """What a purge cleared (or, in a dry run, would clear)."""

    cutoff: datetime
    retention_days: int
    cleared: dict[str, int] = field(default_factory=dict)  # field -> responses
    login_failures: int = 0

    def as_details(self) -> dict[str, Any]:
        """Return the result as the details of an audit event."""
        return {
            "retention_days": self.retention_days,
            "cutoff": self.cutoff.isoformat(),
            "cleared": dict(self.cleared),
            "login_failures_deleted": self.login_failures,
        }


def _responses() -> Table:
    table = Response.__table__
    assert isinstance(table, Table)
    return table


def personal_columns() -> list[Column[Any]]:
    """Return the personal columns the responses table has, in PERSONAL_FIELDS order."""
    columns = _responses().c
    return [columns[name] for name in PERSONAL_FIELDS if name in columns]


def purge(
    session: Session,
    retention_days: int,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> PurgeResult:
    """Clear the personal fields of responses older than the retention; delete old failures.

    Responses are updated by id ranges of `batch_size`, so no statement touches more than
    that many rows however large the table. With `dry_run` nothing is written: the counts
    say what a real run would clear.
    """
    if retention_days < 1:
        raise ValueError("the retention must be at least one day")
    if batch_size < 1:
        raise ValueError("the batch size must be at least one")
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    session.flush()

    responses = _responses()
    columns = personal_columns()
    columns_named = {column.name for column in columns}
    is_old = responses.c.created_at < cutoff
    has_personal = or_(*(column.is_not(None) for column in columns))
    cleared = {column.name: 0 for column in columns} | {DIGESTS: 0}

    # Only the id range of old rows that still hold something: after the first run, a
    # nightly purge walks the one day of responses that has just come of age.
    has_digests = responses.c.id.in_(select(DossierDigest.response_id))
    first, last = session.execute(
        select(func.min(responses.c.id), func.max(responses.c.id)).where(
            is_old, or_(has_personal, has_digests)
        )
    ).one()
    if first is not None:
        for start in range(first, last + 1, batch_size):
            in_batch = responses.c.id.between(start, start + batch_size - 1)
            counts = session.execute(
                select(*(func.count(column) for column in columns)).where(in_batch, is_old)
            ).one()
            for column, n in zip(columns, counts, strict=True):
                cleared[column.name] += int(n)
            old_in_batch = select(responses.c.id).where(in_batch, is_old).scalar_subquery()
            digested = DossierDigest.response_id.in_(old_in_batch)
            cleared[DIGESTS] += session.scalar(
                select(func.count(func.distinct(DossierDigest.response_id))).where(digested)
            ) or 0
            if not dry_run:
                session.execute(delete(DossierDigest).where(digested))
            if not dry_run:
                session.execute(
                    update(responses)
                    .where(in_batch, is_old, has_personal)
                    .values({column.name: None for column in columns}
                            | ({"comment_masked": False} if "comment" in columns_named else {}))
                )

    failures_at = LoginFailure.at < cutoff
    if dry_run:
        login_failures = session.scalar(select(func.count(LoginFailure.id)).where(failures_at))
    else:
        deleted = session.execute(delete(LoginFailure).where(failures_at))
        login_failures = deleted.rowcount  # type: ignore[attr-defined]
        # The updates went straight to the database: objects loaded earlier must be reread.
        session.expire_all()
    return PurgeResult(cutoff, retention_days, cleared, int(login_failures or 0))
