"""Tallies of survey answers for any filter and grouping, read from exact rollup tables.

Design, chosen for ten million responses and more: the dashboard, the exports and the API
never count the responses table. Each response adds 1 to the matching columns of two
rollup rows, one for its local day and one for its local month (per code and status), in
the same transaction that stores it; a status change moves it from one row to another.
A tally then sums a few thousand rollup rows instead of millions of responses:

- whole months of a period are read from `tally_months` (about codes x months rows);
- the partial months at either edge are read from `tally_days`;
- both parts share one GROUP BY, so any grouping (sector, agency, counter, month, code,
  status) comes out of one query.

`rebuild()` recomputes both tables from the responses (after a bulk load, or if the time
zone setting ever changes); `tests/test_tallies.py` checks that the incremental rows always
equal a rebuild and a naive recount.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Date,
    DateTime,
    Select,
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
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from survey_app.models import (
    INTEGRITY_ANSWERS,
    PAIR_PARTS,
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
from survey_app.sipas import ELEMENT_PAIRS, SATISFIED_VALUES, AnswerCounts, PairCounts

GROUPINGS = ("none", "sector", "agency", "counter", "code", "month", "status")
_GROUP_COLUMNS = {
    "sector": "sector_id",
    "agency": "agency_id",
    "counter": "counter_id",
    "code": "survey_code_id",
    "month": "month",
    "status": "status",
}


# Filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local calendar dates, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")


@dataclass(frozen=True)
class TallyFilter:
    """Which responses a tally covers. None means no restriction."""

    period: Period
    agency_ids: frozenset[int] | None = None  # already expanded to the agencies below
    counter_id: int | None = None
    sector_ids: frozenset[int] | None = None
    statuses: tuple[str, ...] | None = ("counted",)


def utc_bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC moments where a period of local dates starts and ends (excluded)."""
    start = datetime.combine(period.start, time.min, zone).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end


def deployment_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_date(moment: datetime, zone: ZoneInfo | None = None) -> date:
    """Return the local calendar date of a UTC moment."""
    return moment.astimezone(zone or deployment_zone()).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _split(period: Period) -> tuple[list[Period], Period | None]:
    """Split a period into partial-month edges (read by day) and whole months."""
    first_whole = period.start if period.start.day == 1 else _next_month(period.start)
    after_last_whole = month_start(period.end + timedelta(days=1))
    if first_whole >= after_last_whole:
        return [period], None
    edges = []
    if period.start < first_whole:
        edges.append(Period(period.start, first_whole - timedelta(days=1)))
    if after_last_whole <= period.end:
        edges.append(Period(after_last_whole, period.end))
    return edges, Period(first_whole, after_last_whole - timedelta(days=1))


def year_start(day: date) -> date:
    return day.replace(month=1, day=1)


def _split_by_level(
    period: Period, whole_years: bool = True
) -> tuple[list[Period], list[Period], Period | None]:
    """Split a period into the parts read by day, by month and by whole year."""
    years: Period | None = None
    rest = [period]
    if whole_years:
        first = period.start if period.start == year_start(period.start) else date(
            period.start.year + 1, 1, 1
        )
        after_last = date(period.end.year + 1, 1, 1) if (
            period.end.month, period.end.day
        ) == (12, 31) else year_start(period.end)
        if first < after_last:
            years = Period(first, after_last - timedelta(days=1))
            rest = []
            if period.start < first:
                rest.append(Period(period.start, first - timedelta(days=1)))
            if after_last <= period.end:
                rest.append(Period(after_last, period.end))
    days: list[Period] = []
    months: list[Period] = []
    for part in rest:
        edges, whole = _split(part)
        days += edges
        months += [whole] if whole is not None else []
    return days, months, years


# Reading ---------------------------------------------------------------------------------


# Each statement is built once per shape (grouping, counts, which rollup parts, which
# filters) and run with parameters: building a select of 42 sums cost more than running it.
_READS: dict[tuple[Any, ...], Select[Any]] = {}


def _part(
    table: Any,
    period_column: str,
    n: int,
    shape: tuple[bool, bool, bool, bool],
    keys: list[str],
    counts: Iterable[str],
    alone: bool = False,
) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = [
        table.c[period_column] >= bindparam(f"start_{n}"),
        table.c[period_column] <= bindparam(f"end_{n}"),
    ]
    has_agencies, has_counter, has_sectors, has_statuses = shape
    if has_agencies:
        conditions.append(table.c.agency_id.in_(bindparam("agency_ids", expanding=True)))
    if has_counter:
        conditions.append(table.c.counter_id == bindparam("counter_id"))
    if has_sectors:
        conditions.append(table.c.sector_id.in_(bindparam("sector_ids", expanding=True)))
    if has_statuses:
        conditions.append(table.c.status.in_(bindparam("statuses", expanding=True)))
    columns = [table.c[_GROUP_COLUMNS[k]].label(k) for k in keys]
    if alone:  # the whole read: an empty scope still sums to 0, not NULL
        columns += [func.coalesce(func.sum(table.c[c]), 0).label(c) for c in counts]
    else:
        columns += [func.sum(table.c[c]).label(c) for c in counts]
    query = select(*columns).where(and_(*conditions))
    return query.group_by(*(table.c[_GROUP_COLUMNS[k]] for k in keys)) if keys else query


def _read_statement(
    keys: list[str], counts: tuple[str, ...], levels: tuple[int, int, int],
    shape: tuple[bool, bool, bool, bool],
) -> Select[Any]:
    cache_key = (tuple(keys), counts, levels, shape)
    statement = _READS.get(cache_key)
    if statement is None:
        alone = sum(levels) == 1  # one table, one range: no union to sum over again
        parts: list[Select[Any]] = []
        for table, column, how_many in zip(
            (tally_days, tally_months, tally_years), ("day", "month", "year"), levels,
            strict=True,
        ):
            parts += [
                _part(table, column, len(parts) + n, shape, keys, counts, alone)
                for n in range(how_many)
            ]
        if alone:
            statement = parts[0]
        else:
            union = union_all(*parts).subquery()
            statement = select(
                *(union.c[k] for k in keys),
                *(func.coalesce(func.sum(union.c[c]), 0).label(c) for c in counts),
            )
            if keys:
                statement = statement.group_by(*(union.c[k] for k in keys))
        _READS[cache_key] = statement
    return statement


def tally_rows(
    session: Session,
    flt: TallyFilter,
    group_by: str | Iterable[str] = "none",
    counts: tuple[str, ...] = TALLY_COUNT_COLUMNS,
) -> list[dict[str, Any]]:
    """Return summed rollup counts, one dict per group (group keys plus count columns).

    `counts` names the count columns to sum; "responses" is always among them. Summing
    one column instead of 42 makes a count of responses several times cheaper.
    """
    if "responses" not in counts:
        counts = ("responses", *counts)
    keys = [group_by] if isinstance(group_by, str) else list(group_by)
    keys = [k for k in keys if k != "none"]
    unknown = set(keys) - set(_GROUP_COLUMNS)
    if unknown:
        raise ValueError(f"unknown grouping {sorted(unknown)}; choose from {GROUPINGS}")
    days, months, years = _split_by_level(flt.period, whole_years="month" not in keys)
    shape = (
        flt.agency_ids is not None,
        flt.counter_id is not None,
        flt.sector_ids is not None,
        flt.statuses is not None,
    )
    parameters: dict[str, Any] = {}
    for n, period in enumerate([*days, *months, *([years] if years else [])]):
        parameters[f"start_{n}"], parameters[f"end_{n}"] = period.start, period.end
    if flt.agency_ids is not None:
        parameters["agency_ids"] = sorted(flt.agency_ids)
    if flt.counter_id is not None:
        parameters["counter_id"] = flt.counter_id
    if flt.sector_ids is not None:
        parameters["sector_ids"] = sorted(flt.sector_ids)
    if flt.statuses is not None:
        parameters["statuses"] = list(flt.statuses)
    levels = (len(days), len(months), 1 if years else 0)
    statement = _read_statement(keys, counts, levels, shape)
    rows = [dict(row._mapping) for row in session.execute(statement, parameters)]
    # Without a grouping an empty scope still gives one row of zeros; with one, no row.
    # (A counted row may count no counted response, only those of other statuses.)
    return [row for row in rows if keys == [] or any(row[c] for c in counts)]


def answer_counts(row: Mapping[str, Any]) -> AnswerCounts:
    """Turn one tally row into the counts the scoring functions take."""
    return AnswerCounts(
        responses=int(row["responses"]),
        ratings={q: {v: int(row[f"{q}_{v}"]) for v in SCALE_VALUES} for q in RATING_QUESTIONS},
        integrity={a: int(row[f"{INTEGRITY_KEY}_{a}"]) for a in INTEGRITY_ANSWERS},
        wishes={code: int(row[f"wish_{code}"]) for code in WISH_CODES},
        wish_respondents=int(row["wish_respondents"]),
        pairs={
            (first, second): PairCounts(
                *(int(row[f"pair_{first}_{second}_{part}"]) for part in PAIR_PARTS)
            )
            for first, second in ELEMENT_PAIRS
        },
    )


def count_answers(
    session: Session, flt: TallyFilter, group_by: str = "none"
) -> dict[Any, AnswerCounts]:
    """Return the answer counts of each group (key None without grouping)."""
    return {
        (row[group_by] if group_by != "none" else None): answer_counts(row)
        for row in tally_rows(session, flt, group_by)
        if group_by == "none" or row["responses"]
    }


def _statuses_of_counted_row(row: Mapping[str, Any]) -> dict[str, int]:
    """Return {status: responses} held by a counted row (its own count and the others')."""
    statuses = {"counted": int(row["responses"])}
    statuses.update({c.removeprefix("responses_"): int(row[c]) for c in STATUS_COUNT_COLUMNS})
    return {status: n for status, n in statuses.items() if n}


def count_answers_and_statuses(
    session: Session, flt: TallyFilter, group_by: str = "none"
) -> tuple[dict[Any, AnswerCounts], dict[Any, dict[str, int]]]:
    """Return count_answers and count_by_status of a filter, from one read of the rollups.

    Counted answers (the usual filter) read only the counted rows, which also hold the
    counts of the other statuses. Any other choice of statuses reads the rows of every
    status, grouped by status too.
    """
    if flt.statuses == ("counted",):
        counted: dict[Any, AnswerCounts] = {}
        by_status: dict[Any, dict[str, int]] = {}
        for row in tally_rows(session, flt, group_by):
            group = row[group_by] if group_by != "none" else None
            if group_by == "none" or row["responses"]:
                counted[group] = answer_counts(row)
            statuses = _statuses_of_counted_row(row)
            if statuses:
                by_status[group] = statuses
        return counted, by_status
    everything = TallyFilter(flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids, None)
    keys = ["status"] if group_by == "none" else [group_by, "status"]
    wanted = None if flt.statuses is None else set(flt.statuses)
    summed: dict[Any, dict[str, int]] = {}
    by_status = {}
    for row in tally_rows(session, everything, keys):
        group = row[group_by] if group_by != "none" else None
        if row["responses"]:
            by_status.setdefault(group, {})[row["status"]] = int(row["responses"])
        if (wanted is not None and row["status"] not in wanted) or not row["responses"]:
            continue
        totals = summed.setdefault(group, dict.fromkeys(TALLY_COUNT_COLUMNS, 0))
        for column in TALLY_COUNT_COLUMNS:
            totals[column] += int(row[column])
    counted = {group: answer_counts(totals) for group, totals in summed.items()}
    if group_by == "none" and None not in counted:
        counted[None] = answer_counts(dict.fromkeys(TALLY_COUNT_COLUMNS, 0))
    return counted, by_status


def answers_by_status(
    session: Session, flt: TallyFilter, group_by: str = "none"
) -> dict[Any, dict[str, AnswerCounts]]:
    """Return {group: {status: answer counts}} over every status, from one read.

    The filter's statuses are ignored: a report needs the counted answers and all of them.
    """
    everything = TallyFilter(flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids, None)
    keys = ["status"] if group_by == "none" else [group_by, "status"]
    result: dict[Any, dict[str, AnswerCounts]] = {}
    for row in tally_rows(session, everything, keys):
        if row["responses"]:
            group = row[group_by] if group_by != "none" else None
            result.setdefault(group, {})[row["status"]] = answer_counts(row)
    return result


def count_by_status(
    session: Session, flt: TallyFilter, group_by: str = "none"
) -> dict[Any, dict[str, int]]:
    """Return {group: {status: responses}} over every status, for raw vs counted figures.

    Read from the counted rows alone, which hold the counts of every status.
    """
    counted_rows = TallyFilter(
        flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids, ("counted",)
    )
    counts = ("responses", *STATUS_COUNT_COLUMNS)
    result: dict[Any, dict[str, int]] = {}
    for row in tally_rows(session, counted_rows, group_by, counts=counts):
        statuses = _statuses_of_counted_row(row)
        if statuses:
            result[row[group_by] if group_by != "none" else None] = statuses
    return result


# Keeping the rollups exact ---------------------------------------------------------------


def _increments(response: Response, wishes: Iterable[str]) -> dict[str, int]:
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


# The upserts are built once per dialect, not per response: building their 42 "column +
# excluded.column" expressions cost more than running them. Every count column is set,
# even those adding 0: one statement shape for every response, compiled once.
_UPSERTS: dict[str, Any] = {}
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


def bump(
    session: Session,
    response: Response,
    sign: int,
    status: str | None = None,
    wishes: Iterable[str] | None = None,
) -> None:
    """Add (sign=1) or remove (sign=-1) a response in the rollups, under a status."""
    day = local_date(response.created_at)
    deltas = {
        c: sign * n
        for c, n in _increments(response, response.wish_codes if wishes is None else wishes).items()
    }
    status = status or response.status
    common = {
        "survey_code_id": response.survey_code_id,
        "status": status,
        "agency_id": response.agency_id,
        "counter_id": response.counter_id,
        "sector_id": response.sector_id,
    }
    periods = {"day": day, "month": month_start(day), "year": year_start(day)}
    _add(session, {**periods, **common}, deltas)
    if status != "counted":
        # The counted rows of the same day, month and year keep this status's count too.
        _add(session, {**periods, **common, "status": "counted"}, {f"responses_{status}": sign})


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
        for column, n in _increments(response, wishes).items():
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


def naive_recount(session: Session, flt: TallyFilter) -> AnswerCounts:
    """Count the responses table directly, response by response (tests and checks only)."""
    start, end = utc_bounds(flt.period, deployment_zone())
    query = select(Response).where(Response.created_at >= start, Response.created_at < end)
    if flt.agency_ids is not None:
        query = query.where(Response.agency_id.in_(sorted(flt.agency_ids)))
    if flt.counter_id is not None:
        query = query.where(Response.counter_id == flt.counter_id)
    if flt.sector_ids is not None:
        query = query.where(Response.sector_id.in_(sorted(flt.sector_ids)))
    if flt.statuses is not None:
        query = query.where(Response.status.in_(flt.statuses))
    totals = dict.fromkeys(TALLY_COUNT_COLUMNS, 0)
    for response in session.scalars(query):
        for column, n in _increments(response, response.wish_codes).items():
            totals[column] += n
    return answer_counts(totals)
