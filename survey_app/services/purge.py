"""Retention: clear the personal details of old responses; every tally stays the same.

After RETENTION_DAYS a response keeps its answers, its place (agency, counter, sector,
code), its time, language and status, and loses what could point back to a person or a
device: the comment, the keyed hash of the dossier code and its digests under the receipt
keys (`dossier_digests`), and, where the model has them, the keyed hashes of the device
and of the address. The rollups behind every figure count
answers only (`tallies._increments`), so clearing these fields changes no tally.

The dossier hash and digests go sooner, after DOSSIER_HASH_RETENTION_DAYS: they serve
only to count each dossier once, and a dossier is rated within weeks of its receipt (a
receipt link opens the form for RECEIPT_VALID_DAYS). A response's status, duplicate
included, was decided when it came and stays. A receipt link answered by a counted
response is marked answered (`MintedReceipt.is_answered`) before that response's digests
go, so the receipts' answer rate of an old period stays the same.

Failed sign-ins older than the retention are deleted. The audit log is never touched: it
is append-only and the database refuses to change it.

Writes only flush; the caller (`flask purge`) commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from survey_app.models import DossierDigest, LoginFailure, MintedReceipt, Response, utcnow

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
    # Responses between the two cutoffs lose their dossier hash and digests only.
    dossier_cutoff: datetime | None = None
    dossier_retention_days: int | None = None
    dossier_cleared: dict[str, int] = field(default_factory=dict)
    receipts_marked_answered: int = 0

    def as_details(self) -> dict[str, Any]:
        """Return the result as the details of an audit event."""
        return {
            "retention_days": self.retention_days,
            "cutoff": self.cutoff.isoformat(),
            "cleared": dict(self.cleared),
            "dossier_retention_days": self.dossier_retention_days,
            "dossier_cutoff": self.dossier_cutoff.isoformat() if self.dossier_cutoff else None,
            "dossier_cleared": dict(self.dossier_cleared),
            "receipts_marked_answered": self.receipts_marked_answered,
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
    dossier_retention_days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> PurgeResult:
    """Clear the personal fields of responses older than the retention; delete old failures.

    Responses older than `dossier_retention_days` (when shorter than the retention) lose
    their dossier hash and digests too. Responses are updated by id ranges of `batch_size`,
    so no statement touches more than that many rows however large the table. With
    `dry_run` nothing is written: the counts say what a real run would clear.
    """
    if retention_days < 1 or (dossier_retention_days is not None and dossier_retention_days < 1):
        raise ValueError("the retention must be at least one day")
    if batch_size < 1:
        raise ValueError("the batch size must be at least one")
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    session.flush()

    responses = _responses()
    created = responses.c.created_at
    cleared, marked = _clear(session, personal_columns(), created < cutoff, dry_run, batch_size)
    dossier_cutoff: datetime | None = None
    dossier_cleared: dict[str, int] = {}
    if dossier_retention_days is not None and dossier_retention_days < retention_days:
        dossier_cutoff = now - timedelta(days=dossier_retention_days)
        dossier_cleared, marked_sooner = _clear(
            session, [responses.c.dossier_hash],
            and_(created >= cutoff, created < dossier_cutoff), dry_run, batch_size,
        )
        marked += marked_sooner

    failures_at = LoginFailure.at < cutoff
    if dry_run:
        login_failures = session.scalar(select(func.count(LoginFailure.id)).where(failures_at))
    else:
        deleted = session.execute(delete(LoginFailure).where(failures_at))
        login_failures = deleted.rowcount  # type: ignore[attr-defined]
        # The updates went straight to the database: objects loaded earlier must be reread.
        session.expire_all()
    return PurgeResult(
        cutoff, retention_days, cleared, int(login_failures or 0),
        dossier_cutoff, dossier_retention_days if dossier_cutoff else None, dossier_cleared,
        marked,
    )


def _clear(
    session: Session,
    columns: list[Column[Any]],
    is_old: ColumnElement[bool],
    dry_run: bool,
    batch_size: int,
) -> tuple[dict[str, int], int]:
    """Clear `columns` and delete the dossier digests of the responses `is_old` selects.

    Return how many responses had each field (and digests) cleared, and how many receipt
    links were marked answered before the digests that show it went.
    """
    responses = _responses()
    columns_named = {column.name for column in columns}
    has_personal = or_(*(column.is_not(None) for column in columns))
    cleared = {column.name: 0 for column in columns} | {DIGESTS: 0}
    marked = 0

    # Only the id range of old rows that still hold something: after the first run, a
    # nightly purge walks the one day of responses that has just come of age.
    has_digests = responses.c.id.in_(select(DossierDigest.response_id))
    first, last = session.execute(
        select(func.min(responses.c.id), func.max(responses.c.id)).where(
            is_old, or_(has_personal, has_digests)
        )
    ).one()
    if first is None:
        return cleared, marked
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
        # A link a counted response of this batch answered: its answer must outlive the digest.
        answered_here = ~MintedReceipt.is_answered & exists().where(
            DossierDigest.key_id == MintedReceipt.key_id,
            DossierDigest.digest == MintedReceipt.digest,
            DossierDigest.response_id == responses.c.id,
            responses.c.status == "counted",
            in_batch,
            is_old,
        )
        if dry_run:
            marked += session.scalar(
                select(func.count()).select_from(MintedReceipt).where(answered_here)
            ) or 0
            continue
        result = session.execute(
            update(MintedReceipt).where(answered_here).values(is_answered=True)
        )
        marked += result.rowcount  # type: ignore[attr-defined]
        session.execute(delete(DossierDigest).where(digested))
        session.execute(
            update(responses)
            .where(in_batch, is_old, has_personal)
            .values({column.name: None for column in columns}
                    | ({"comment_masked": False} if "comment" in columns_named else {}))
        )
    return cleared, marked
