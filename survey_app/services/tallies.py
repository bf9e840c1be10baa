"""Tallies of survey answers for any filter and grouping, read from exact rollup tables.

Design, chosen for ten million responses and more: the dashboard, the exports and the API
never count the responses table. Each response adds 1 to the matching columns of two
rollup rows, one for its local day and one for its local month (per code and status), in
the same transaction that stores it; a status change moves it from one row to another.
A tally then sums a few thousand rollup rows instead of millions of responses:

- whole months of a period are read from `tally_months` (about codes x months rows);
- the partial months at either edge are read from `tally_days`;
- both parts share one GROUP BY, so any grouping (sector, agency, counter, month, code,
  status, source) comes out of one query.

The rows are written by services/rollups.py; `tests/test_tallies.py` checks that they
always equal a rebuild and a naive recount (tests/oracle.py).
"""


from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    exists,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from survey_app.models import (
    INTEGRITY_ANSWERS,
    PAIR_PARTS,
    RATING_QUESTIONS,
    STATUS_COUNT_COLUMNS,
    TALLY_COUNT_COLUMNS,
    WISH_CODES,
    SurveyCode,
    tally_days,
    tally_months,
    tally_years,
)
from survey_app.questionnaire import INTEGRITY_KEY, SCALE_VALUES
from survey_app.services.periods import (
    Period,
    split_by_level,
)
from survey_app.sipas import ELEMENT_PAIRS, AnswerCounts, PairCounts

GROUPINGS = ("none", "sector", "agency", "counter", "code", "month", "status", "source")


_GROUP_COLUMNS = {
    "sector": "sector_id",
    "agency": "agency_id",
    "counter": "counter_id",
    "code": "survey_code_id",
    "month": "month",
    "status": "status",
}
# Groupings read off the survey code of the rollup row, not off the row itself: a response's
# source (the QR at the counter, or a receipt link) is the kind of the code it came through.
_CODE_COLUMNS = {"source": SurveyCode.__table__.c.kind}


@dataclass(frozen=True)
class TallyFilter:
    """Which responses a tally covers. None means no restriction."""

    period: Period
    agency_ids: frozenset[int] | None = None  # already expanded to the agencies below
    counter_id: int | None = None
    sector_ids: frozenset[int] | None = None
    statuses: tuple[str, ...] | None = ("counted",)


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
    groups = [_group_column(table, k) for k in keys]
    columns = [column.label(k) for column, k in zip(groups, keys, strict=True)]
    if alone:  # the whole read: an empty scope still sums to 0, not NULL
        columns += [func.coalesce(func.sum(table.c[c]), 0).label(c) for c in counts]
    else:
        columns += [func.sum(table.c[c]).label(c) for c in counts]
    query = select(*columns).where(and_(*conditions))
    if any(k in _CODE_COLUMNS for k in keys):
        codes = SurveyCode.__table__
        query = query.select_from(table.join(codes, codes.c.id == table.c.survey_code_id))
    return query.group_by(*groups) if keys else query


def _group_column(table: Any, key: str) -> Any:
    return _CODE_COLUMNS[key] if key in _CODE_COLUMNS else table.c[_GROUP_COLUMNS[key]]


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


def tally_query(
    flt: TallyFilter,
    group_by: str | Iterable[str] = "none",
    counts: tuple[str, ...] = TALLY_COUNT_COLUMNS,
) -> tuple[Select[Any], dict[str, Any]]:
    """Return the statement of a tally read and its parameters, to run or to build upon.

    Its columns are the group keys, named as the groupings, then the summed counts.
    """
    if "responses" not in counts:
        counts = ("responses", *counts)
    keys = [group_by] if isinstance(group_by, str) else list(group_by)
    keys = [k for k in keys if k != "none"]
    unknown = set(keys) - set(_GROUP_COLUMNS) - set(_CODE_COLUMNS)
    if unknown:
        raise ValueError(f"unknown grouping {sorted(unknown)}; choose from {GROUPINGS}")
    days, months, years = split_by_level(flt.period, whole_years="month" not in keys)
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
    return _read_statement(keys, counts, levels, shape), parameters


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
    statement, parameters = tally_query(flt, group_by, counts)
    grouped = not (group_by == "none" or (not isinstance(group_by, str) and
                                          all(k == "none" for k in group_by)))
    rows = [dict(row._mapping) for row in session.execute(statement, parameters)]
    # Without a grouping an empty scope still gives one row of zeros; with one, no row.
    # (A counted row may count no counted response, only those of other statuses.)
    return [row for row in rows if not grouped or any(row[c] for c in counts)]


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


def has_other_sources(session: Session) -> bool:
    """Return whether some survey code is not a counter's (a receipt's)."""
    return bool(session.scalar(select(exists().where(SurveyCode.kind != "counter"))))


def counted_by_source(
    session: Session, flt: TallyFilter, group_by: str
) -> dict[Any, dict[str, int]] | None:
    """Return {group: {source: counted responses}}, or None when every code is a counter's.

    A light read (one count column) for groupings whose answers are read apart.
    """
    if not has_other_sources(session):
        return None
    counted = TallyFilter(flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids,
                          ("counted",))
    result: dict[Any, dict[str, int]] = {}
    for row in tally_rows(session, counted, [group_by, "source"], counts=("responses",)):
        result.setdefault(row[group_by], {})[str(row["source"])] = int(row["responses"])
    return result


def answers_by_source_and_status(
    session: Session, flt: TallyFilter, group_by: str = "none"
) -> dict[Any, dict[str, dict[str, AnswerCounts]]]:
    """Return {group: {source: {status: answer counts}}} over every status, from one read.

    The same read as `answers_by_status`, split by source as well (a response's source is
    the kind of its survey code). The filter's statuses are ignored. Until some survey code
    is a receipt's, every response came from a counter, and the read needs no join.
    """
    if not has_other_sources(session):
        return {group: {"counter": by_status}
                for group, by_status in answers_by_status(session, flt, group_by).items()}
    everything = TallyFilter(flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids, None)
    keys = ["source", "status"] if group_by == "none" else [group_by, "source", "status"]
    result: dict[Any, dict[str, dict[str, AnswerCounts]]] = {}
    for row in tally_rows(session, everything, keys):
        if row["responses"]:
            group = row[group_by] if group_by != "none" else None
            by_source = result.setdefault(group, {})
            by_source.setdefault(str(row["source"]), {})[row["status"]] = answer_counts(row)
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
