"""Keeping the rollup tables exact: one increment per response, in its own transaction.

Each response adds 1 to the matching columns of its local day's, month's and year's rows
(per code and status) in the same transaction that stores it; a status change moves it
from one row to another. `rebuild()` recomputes the tables from the responses (after a
bulk load, or if the time zone setting ever changes), in the database where it can.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    DateTime,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from survey_app.models import (
    INTEGRITY_ANSWERS,
    RATING_QUESTIONS,
    STATUS_COUNT_COLUMNS,
    TALLY_COUNT_COLUMNS,
    WISH_CODES,
    Response,
    ResponseWish,
    tally_days,
    tally_months,
    tally_years,
)
from survey_app.questionnaire import INTEGRITY_KEY, SCALE_VALUES
from survey_app.services.periods import (
    deployment_zone,
    local_date,
    month_start,
    year_start,
)
from survey_app.sipas import ELEMENT_PAIRS, SATISFIED_VALUES

# The upserts are built once per dialect, not per response: building their 42 "column +
# excluded.column" expressions cost more than running them. Every count column is set,
# even those adding 0: one statement shape for every response, compiled once.
_UPSERTS: dict[str, Any] = {}



def increments(response: Response, wishes: Iterable[str]) -> dict[str, int]:
    """Return the count columns a response adds 1 to."""
    columns = {"responses": 1}
    for q in RATING_QUESTIONS:
        value = response.answer(q)
        if value is not None:
            columns[f"{q}_{value}"] = 1
    integrity = response.answer(INTEGRITY_KEY)
    if integrity is not None:
        columns[f"{INTEGRITY_KEY}_{integrity}"] = 1
    chosen = set(wishes)
    if chosen:
        columns["wish_respondents"] = 1
        for code in chosen:
            columns[f"wish_{code}"] = 1
    for first, second in ELEMENT_PAIRS:
        a, b = response.answer(first), response.answer(second)
        if a is None or b is None:
            continue
        columns[f"pair_{first}_{second}_valid"] = 1
        is_first, is_second = a in SATISFIED_VALUES, b in SATISFIED_VALUES
        for part, counts in (("first", is_first), ("second", is_second),
                             ("both", is_first and is_second)):
            if counts:
                columns[f"pair_{first}_{second}_{part}"] = 1
    return columns


_DAY_KEYS = (
    "day", "month", "year", "survey_code_id", "status", "agency_id", "counter_id", "sector_id"
)


def _upsert_into(dialect: str, table: Any) -> Any:
    builder = postgresql_insert if dialect == "postgresql" else sqlite_insert
    columns = [c for c in _DAY_KEYS if c in table.c] + list(TALLY_COUNT_COLUMNS)
    inserting = builder(table).values({c: bindparam(c) for c in columns})
    return inserting.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={c: table.c[c] + inserting.excluded[c] for c in TALLY_COUNT_COLUMNS},
    )


def _upserts(dialect: str) -> list[Any]:
    """Return the statements that add one set of counts to a day row and its month row."""
    if dialect not in _UPSERTS:
        days, months, years = (
            _upsert_into(dialect, table) for table in (tally_days, tally_months, tally_years)
        )
        # PostgreSQL runs all three in one statement (a data-modifying WITH): one round trip.
        _UPSERTS[dialect] = (
            [years.add_cte(days.cte("day_row")).add_cte(months.cte("month_row"))]
            if dialect == "postgresql" else [days, months, years]
        )
    upserts: list[Any] = _UPSERTS[dialect]
    return upserts


def _add(session: Session, keys: dict[str, Any], deltas: dict[str, int]) -> None:
    """Add counts to the day row of `keys` (day, month, year, code...) and its month and year."""
    dialect = session.get_bind().dialect.name
    values = {**keys, **{c: deltas.get(c, 0) for c in TALLY_COUNT_COLUMNS}}
    if dialect in ("postgresql", "sqlite"):
        for statement in _upserts(dialect):
            session.execute(statement, values)
        return
    # Other databases: update, or insert when there was nothing to update.
    for table in (tally_days, tally_months, tally_years):
        row_keys = {k: v for k, v in keys.items() if k in table.c}
        matched = session.execute(
            update(table)
            .where(*(table.c[k] == v for k, v in row_keys.items() if table.c[k].primary_key))
            .values({c: table.c[c] + d for c, d in deltas.items()})
        )
        if not matched.rowcount:  # type: ignore[attr-defined]
            session.execute(
                insert(table).values(**row_keys, **{c: deltas.get(c, 0) for c in
                                                    TALLY_COUNT_COLUMNS})
            )


def _bump_values(
    response: Response, sign: int, status: str, wishes: Iterable[str]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Return the row keys (day, month, year, code...) and count deltas of a bump."""
    day = local_date(response.created_at)
    deltas = {c: sign * n for c, n in increments(response, wishes).items()}
    keys = {
        "day": day, "month": month_start(day), "year": year_start(day),
        "survey_code_id": response.survey_code_id,
        "status": status,
        "agency_id": response.agency_id,
        "counter_id": response.counter_id,
        "sector_id": response.sector_id,
    }
    return keys, deltas


# PostgreSQL: counting a new response in the statement that inserts it ------------------
# A response stored as counted adds to its day's, month's and year's counted rows only
# (no other status's row), so its three upserts can ride along with its insert: each is a
# data-modifying WITH reading the inserted row, so nothing is counted when the insert does
# nothing (ON CONFLICT). Their parameters are prefixed, apart from the response's own.
COUNT_PARAMETER_PREFIX = "tally_"


def counting_upserts(new_rows: Any) -> list[Any]:
    """Return the PostgreSQL upserts counting a new counted response, one per rollup table,
    each adding its counts once per row of `new_rows` (the insert's RETURNING; at most one).

    Their parameters come from `counting_values`.
    """
    upserts = []
    for table in (tally_days, tally_months, tally_years):
        columns = [c for c in _DAY_KEYS if c in table.c] + list(TALLY_COUNT_COLUMNS)
        values = select(*(
            cast(bindparam(COUNT_PARAMETER_PREFIX + c), table.c[c].type) for c in columns
        )).select_from(new_rows)
        inserting = postgresql_insert(table).from_select(columns, values)
        upserts.append(inserting.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={c: table.c[c] + inserting.excluded[c] for c in TALLY_COUNT_COLUMNS},
        ))
    return upserts


def counting_values(response: Response) -> dict[str, Any]:
    """Return the parameters of `counting_upserts` for a response to be stored as counted."""
    assert response.status == "counted"
    keys, deltas = _bump_values(response, +1, "counted", response.wish_codes)
    values = {**keys, **{c: deltas.get(c, 0) for c in TALLY_COUNT_COLUMNS}}
    return {COUNT_PARAMETER_PREFIX + name: value for name, value in values.items()}


def bump(
    session: Session,
    response: Response,
    sign: int,
    status: str | None = None,
    wishes: Iterable[str] | None = None,
) -> None:
    """Add (sign=1) or remove (sign=-1) a response in the rollups, under a status."""
    status = status or response.status
    keys, deltas = _bump_values(
        response, sign, status, response.wish_codes if wishes is None else wishes
    )
    _add(session, keys, deltas)
    if status != "counted":
        # The counted rows of the same day, month and year keep this status's count too.
        _add(session, {**keys, "status": "counted"}, {f"responses_{status}": sign})


def record_response(session: Session, response: Response) -> None:
    """Count a newly stored response. Only flushes (part of the caller's transaction)."""
    bump(session, response, +1)


def change_status(session: Session, response: Response, status: str, reason: str | None) -> None:
    """Move a response to another status (flag, restore), keeping the rollups exact."""
    if response.status == status:
        return
    bump(session, response, -1)
    response.status = status
    response.status_reason = reason
    session.flush()
    bump(session, response, +1)


def rebuild(session: Session, batch_size: int = 5000) -> int:
    """Recompute both rollup tables from the responses; return how many were counted.

    The database does the counting when it can reckon local days itself (one INSERT ...
    SELECT ... GROUP BY per table: seconds for millions of responses); otherwise the
    responses are read and counted here, batch by batch.
    """
    counted = rebuild_in_database(session)
    return counted if counted is not None else rebuild_in_python(session, batch_size)


def rebuild_in_database(session: Session) -> int | None:
    """Recompute both rollup tables with SQL; return how many responses were counted.

    Return None, changing nothing, when the database cannot tell local days exactly.
    PostgreSQL converts with `AT TIME ZONE` under any zone rules. SQLite knows no zones,
    so it shifts by the deployment zone's offset, which is exact only while that offset
    stays the same over every stored response (Asia/Ho_Chi_Minh has kept +07:00 since
    1975); a zone with daylight saving time falls back to `rebuild_in_python`.
    """
    first, last, total = session.execute(
        select(func.min(Response.created_at), func.max(Response.created_at), func.count())
    ).one()
    local_day = _local_day_expression(session, deployment_zone(), first, last)
    if local_day is None:
        return None
    if session.get_bind().dialect.name == "postgresql":
        # Room to sort millions of rows in memory rather than on disk, for this one
        # transaction only.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(delete(tally_days))
    session.execute(delete(tally_months))
    session.execute(delete(tally_years))
    keys = ("survey_code_id", "status", "agency_id", "counter_id", "sector_id")
    by_day = _counts_by_day(local_day, keys)
    session.execute(
        insert(tally_days).from_select(
            ["day", "month", *keys, *TALLY_COUNT_COLUMNS],
            select(
                by_day.c.day,
                _month_of(session, by_day.c.day),
                *(by_day.c[k] for k in keys),
                *(by_day.c[c] for c in TALLY_COUNT_COLUMNS),
            ),
        )
    )
    _count_statuses_on_counted_days(session, keys)
    # A month is the sum of its days: far fewer rows to read than the responses.
    session.execute(
        insert(tally_months).from_select(
            ["month", *keys, *TALLY_COUNT_COLUMNS],
            select(
                tally_days.c.month,
                *(tally_days.c[k] for k in keys),
                *(func.sum(tally_days.c[c]) for c in TALLY_COUNT_COLUMNS),
            ).group_by(tally_days.c.month, *(tally_days.c[k] for k in keys)),
        )
    )
    # And a year the sum of its months.
    year = _year_of(session, tally_months.c.month)
    session.execute(
        insert(tally_years).from_select(
            ["year", *keys, *TALLY_COUNT_COLUMNS],
            select(
                year,
                *(tally_months.c[k] for k in keys),
                *(func.sum(tally_months.c[c]) for c in TALLY_COUNT_COLUMNS),
            ).group_by(year, *(tally_months.c[k] for k in keys)),
        )
    )
    return int(total)


def _year_of(session: Session, day: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return SQL for 1 January of the year of a date column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("year", cast(day, DateTime)), Date)
    return func.date(day, "start of year")


def _count_statuses_on_counted_days(session: Session, keys: tuple[str, ...]) -> None:
    """Copy each day's count of every other status onto its counted row (made if missing)."""
    row_keys = ("day", "month", *(k for k in keys if k != "status"))
    builder = postgresql_insert if session.get_bind().dialect.name == "postgresql" else (
        sqlite_insert
    )
    answers = [c for c in TALLY_COUNT_COLUMNS if c not in STATUS_COUNT_COLUMNS]
    source = select(
        *(tally_days.c[k] for k in row_keys),
        literal("counted").label("status"),
        *(literal(0).label(c) for c in answers),
        *(
            func.sum(case((tally_days.c.status == c.removeprefix("responses_"),
                           tally_days.c.responses), else_=0)).label(c)
            for c in STATUS_COUNT_COLUMNS
        ),
    ).where(tally_days.c.status != "counted").group_by(*(tally_days.c[k] for k in row_keys))
    inserting = builder(tally_days).from_select(
        [*row_keys, "status", *answers, *STATUS_COUNT_COLUMNS], source
    )
    session.execute(
        inserting.on_conflict_do_update(
            index_elements=[c.name for c in tally_days.primary_key.columns],
            set_={c: inserting.excluded[c] for c in STATUS_COUNT_COLUMNS},
        )
    )


def _local_day_expression(
    session: Session, zone: ZoneInfo, first: datetime | None, last: datetime | None
) -> ColumnElement[Any] | None:
    """Return SQL for the local date of `responses.created_at`, or None if not exact."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return cast(func.timezone(zone.key, Response.created_at), Date)
    if dialect != "sqlite":
        return None
    offset = fixed_offset(zone, first, last)
    if offset is None:
        return None
    # UTCDateTime keeps naive UTC text on SQLite, which date() reads with a modifier.
    return func.date(Response.created_at, f"{int(offset.total_seconds()):+d} seconds")


def fixed_offset(
    zone: ZoneInfo, first: datetime | None, last: datetime | None
) -> timedelta | None:
    """Return the zone's UTC offset if it is the same from `first` to `last`, else None.

    Checked once a day across the span: offsets change for months or for good, never
    back and forth within a day. An empty span (no responses) takes today's offset.
    """
    start = first or datetime.now(UTC)
    end = last or start
    offset = start.astimezone(zone).utcoffset()
    moment = start
    while True:
        if moment.astimezone(zone).utcoffset() != offset:
            return None
        if moment >= end:
            return offset
        moment = min(moment + timedelta(days=1), end)


def _month_of(session: Session, day: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return SQL for the first day of the month of a date column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("month", cast(day, DateTime)), Date)
    return func.date(day, "start of month")


def _counts_by_day(local_day: ColumnElement[Any], keys: tuple[str, ...]) -> Any:
    """Return a subquery: the rollup counts of each local day, code and status."""
    chosen = (
        select(
            ResponseWish.response_id,
            *(
                func.max(case((ResponseWish.wish == code, 1), else_=0)).label(f"wish_{code}")
                for code in WISH_CODES
            ),
        )
        .group_by(ResponseWish.response_id)
        .subquery("chosen")
    )

    def how_many(condition: ColumnElement[bool], name: str) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(name)

    counts: list[ColumnElement[Any]] = [func.count().label("responses")]
    for q in RATING_QUESTIONS:
        counts += [how_many(Response.answer_column(q) == v, f"{q}_{v}") for v in SCALE_VALUES]
    counts += [how_many(Response.answer_column(INTEGRITY_KEY) == a, f"{INTEGRITY_KEY}_{a}")
               for a in INTEGRITY_ANSWERS]
    counts.append(func.count(chosen.c.response_id).label("wish_respondents"))
    counts += [
        func.coalesce(func.sum(chosen.c[f"wish_{code}"]), 0).label(f"wish_{code}")
        for code in WISH_CODES
    ]
    for first, second in ELEMENT_PAIRS:
        a, b = Response.answer_column(first), Response.answer_column(second)
        both_valid = and_(a.is_not(None), b.is_not(None))
        a_satisfied, b_satisfied = a.in_(sorted(SATISFIED_VALUES)), b.in_(sorted(SATISFIED_VALUES))
        counts += [
            how_many(both_valid, f"pair_{first}_{second}_valid"),
            how_many(and_(both_valid, a_satisfied), f"pair_{first}_{second}_first"),
            how_many(and_(both_valid, b_satisfied), f"pair_{first}_{second}_second"),
            how_many(and_(a_satisfied, b_satisfied), f"pair_{first}_{second}_both"),
        ]
    counts += [literal(0).label(c) for c in STATUS_COUNT_COLUMNS]  # filled in afterwards
    key_columns = [getattr(Response, k) for k in keys]
    return (
        select(local_day.label("day"), *key_columns, *counts)
        .select_from(Response)
        .outerjoin(chosen, chosen.c.response_id == Response.id)
        .group_by(local_day, *key_columns)
        .subquery("by_day")
    )


def rebuild_in_python(session: Session, batch_size: int = 5000) -> int:
    """Recompute both rollup tables by reading every response; return how many."""
    session.execute(delete(tally_days))
    session.execute(delete(tally_months))
    session.execute(delete(tally_years))
    zone = deployment_zone()
    days: dict[tuple[Any, ...], dict[str, int]] = {}
    total = 0
    for response, wishes in _responses_with_wishes(session, batch_size):
        day = local_date(response.created_at, zone)
        key = (
            day,
            response.survey_code_id,
            response.status,
            response.agency_id,
            response.counter_id,
            response.sector_id,
        )
        sums = days.setdefault(key, dict.fromkeys(TALLY_COUNT_COLUMNS, 0))
        for column, n in increments(response, wishes).items():
            sums[column] += n
        if response.status != "counted":
            counted_key = (*key[:2], "counted", *key[3:])
            counted = days.setdefault(counted_key, dict.fromkeys(TALLY_COUNT_COLUMNS, 0))
            counted[f"responses_{response.status}"] += 1
        total += 1
    months: dict[tuple[Any, ...], dict[str, int]] = {}
    day_rows = []
    for (day, code, status, agency, counter, sector), sums in days.items():
        keys = {
            "survey_code_id": code,
            "status": status,
            "agency_id": agency,
            "counter_id": counter,
            "sector_id": sector,
        }
        day_rows.append({"day": day, "month": month_start(day), **keys, **sums})
        month = months.setdefault(
            (month_start(day), code, status, agency, counter, sector),
            dict.fromkeys(TALLY_COUNT_COLUMNS, 0),
        )
        for column, n in sums.items():
            month[column] += n
    month_rows = [
        {
            "month": m,
            "survey_code_id": c,
            "status": s,
            "agency_id": a,
            "counter_id": co,
            "sector_id": se,
            **sums,
        }
        for (m, c, s, a, co, se), sums in months.items()
    ]
    years: dict[tuple[Any, ...], dict[str, int]] = {}
    for row in month_rows:
        key = (year_start(row["month"]), *(row[k] for k in (
            "survey_code_id", "status", "agency_id", "counter_id", "sector_id")))
        summed = years.setdefault(key, dict.fromkeys(TALLY_COUNT_COLUMNS, 0))
        for column in TALLY_COUNT_COLUMNS:
            summed[column] += row[column]
    year_rows = [
        {"year": y, "survey_code_id": c, "status": s, "agency_id": a, "counter_id": co,
         "sector_id": se, **sums}
        for (y, c, s, a, co, se), sums in years.items()
    ]
    for table, rows in ((tally_days, day_rows), (tally_months, month_rows),
                        (tally_years, year_rows)):
        for chunk in _chunks(rows, batch_size):
            session.execute(insert(table), chunk)
    session.flush()
    return total


def _responses_with_wishes(
    session: Session, batch_size: int
) -> Iterator[tuple[Response, list[str]]]:
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(Response)
                .where(Response.id > last_id)
                .order_by(Response.id)
                .limit(batch_size)
            )
        )
        if not batch:
            return
        ids = [r.id for r in batch]
        wishes: dict[int, list[str]] = {}
        for response_id, wish in session.execute(
            select(ResponseWish.response_id, ResponseWish.wish).where(
                ResponseWish.response_id.in_(ids)
            )
        ):
            wishes.setdefault(response_id, []).append(wish)
        for response in batch:
            yield response, wishes.get(response.id, [])
        last_id = ids[-1]
        session.expunge_all()


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]

