"""Dossier volumes: how many dossiers each agency received per sector and day (or month).

They come from the one-stop system's report, as a CSV file (`flask volumes import`) or as
JSON (PUT /api/v1/volumes), and both go the same way: `read_csv` or `rows_from_json` turn
what was sent into rows, `check` finds every problem of every row at once, and `save`
writes them. A load is all or nothing: one wrong row refuses the whole of it, each problem
named by its line (or its place in the JSON array), and nothing is written. Loading the
same agency, sector and day again replaces what was stored.

A row dated YYYY-MM is the month's total, stored on its first day; it replaces every day of
that month stored for its agency and sector, so a month is never counted twice. (A day
loaded later into a month held as a total is added to it: load a month one way.)

`volume_cells` sums what was loaded for a tally filter by agency and sector: the
denominators of the response rates and the weights of the volume-weighted figures
(services/rates.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from survey_app.models import Agency, DossierVolume, Sector, User
from survey_app.services import audit
from survey_app.services.periods import month_start, next_month
from survey_app.services.tallies import TallyFilter
from survey_app.text import clean_code, clean_text

COLUMNS = ("agency", "sector", "date", "received")
# A year of daily figures of a province fits many times over; a file far larger is a mistake.
MAX_FILE_BYTES = 16 * 1024 * 1024
# Rows of one PUT /api/v1/volumes: a month of a province's daily figures, in a few calls.
MAX_API_ROWS = 10_000
# No office receives ten million dossiers in a day or a month: a larger number is a typo.
MAX_RECEIVED = 10_000_000
# Years a date may fall in (as the filters accept them).
FIRST_YEAR, LAST_YEAR = 2000, 2100
# Problems listed in an API answer; the count of all of them is always given.
MAX_PROBLEMS_SHOWN = 100

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")  # negative ones are read, to be refused by name
_TABLE = cast(Table, DossierVolume.__table__)
# A value whose problem was already named (by the JSON reader): not named again.
_REPORTED = object()
_BATCH = 1000


class VolumeError(ValueError):
    """A load refused as a whole; `problems` names each wrong row by its place.

    `is_forbidden` is true when some row names an agency outside the loader's scope.
    """

    def __init__(self, message: str, problems: Iterable[str] = (), *,
                 is_forbidden: bool = False) -> None:
        super().__init__(message)
        self.problems = list(problems)
        self.is_forbidden = is_forbidden


@dataclass(frozen=True)
class VolumeRow:
    """One row as it was sent, with where it was: «line 3», «volumes[2]»."""

    where: str
    agency: Any
    sector: Any
    date: Any
    received: Any
    extra: str = ""  # a problem of the row's shape (too many fields, unknown keys)


@dataclass(frozen=True)
class Volume:
    """One checked row: dossiers received by an agency in a sector on a day or in a month."""

    agency_id: int
    sector_id: int
    day: date  # the first day of the month for a month's total
    received: int
    is_month: bool

    @property
    def last_day(self) -> date:
        """Return the last day this row covers."""
        return next_month(self.day) - timedelta(days=1) if self.is_month else self.day


@dataclass(frozen=True)
class LoadResult:
    """What a load wrote, as the command line and the API report it."""

    rows: int
    created: int  # agency, sector and day not stored before
    updated: int  # stored before, now replaced
    cleared: int  # days of a month removed because the month's total replaced them
    received: int
    first_day: date
    last_day: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "cleared": self.cleared,
            "received": self.received,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
        }


# Reading -----------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[VolumeRow]:
    """Return the rows of a CSV file (UTF-8, with or without BOM; «,» or «;» between cells).

    The first line must name the four columns, in any order. A problem of the file as a
    whole (too large, not UTF-8, empty, a wrong header) refuses it at once.
    """
    if len(data) > MAX_FILE_BYTES:
        raise VolumeError(
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it by month"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise VolumeError(
            f"the file is not UTF-8 text (byte {error.start + 1}): save it as CSV UTF-8"
        ) from None
    first_line = text.split("\n", 1)[0]
    # Excel with Vietnamese regional settings separates cells by «;».
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    expected = ",".join(COLUMNS)
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        if not any(header):
            raise VolumeError(f"the file is empty: line 1 must be the header {expected}")
        missing = [name for name in COLUMNS if name not in header]
        unknown = [name for name in header if name not in COLUMNS]
        if missing or unknown or len(set(header)) != len(header):
            parts = [f"line 1 must be the header {expected} (in any order)"]
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown {', '.join(repr(name) for name in unknown)}")
            if len(set(header)) != len(header):
                parts.append("a column is named twice")
            raise VolumeError("; ".join(parts))
        rows = []
        last_line = reader.line_num
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            values = dict(zip(header, cells, strict=False))
            extra = (f"{len(cells)} fields where the header has {len(header)}"
                     if len(cells) > len(header) else "")
            rows.append(VolumeRow(f"line {line}", values.get("agency"), values.get("sector"),
                                  values.get("date"), values.get("received"), extra))
    except csv.Error as error:
        raise VolumeError(f"line {reader.line_num}: {error}") from None
    if not rows:
        raise VolumeError("the file holds no rows after its header")
    return rows


def rows_from_json(body: Any) -> list[VolumeRow]:
    """Return the rows of a JSON body {"volumes": [{agency, sector, date, received}, ...]}."""
    if not isinstance(body, dict) or "volumes" not in body:
        raise VolumeError('send a JSON object {"volumes": [{"agency": ..., "sector": ..., '
                          '"date": ..., "received": ...}, ...]}')
    unknown = sorted(set(body) - {"volumes"})
    if unknown:
        raise VolumeError(f"unknown field {', '.join(repr(k) for k in unknown)}: only "
                          '"volumes" is read')
    items = body["volumes"]
    if not isinstance(items, list) or not items:
        raise VolumeError('"volumes" must be a list of at least one row')
    if len(items) > MAX_API_ROWS:
        raise VolumeError(f'"volumes" holds {len(items)} rows; send at most {MAX_API_ROWS} '
                          "a call")
    rows = []
    for n, item in enumerate(items):
        where = f"volumes[{n}]"
        if not isinstance(item, dict):
            rows.append(VolumeRow(where, None, None, None, None, "a row must be an object"))
            continue
        shape = []
        unknown = sorted(str(k) for k in set(item) - set(COLUMNS))
        if unknown:
            shape.append(f"unknown field {', '.join(repr(k) for k in unknown)}")
        # JSON says what a value is: a number written as text, or a date with blanks around
        # it, is a mistake of the sender (the CSV reader, fed by spreadsheets, is kinder).
        received = item.get("received")
        if isinstance(received, str):
            shape.append(f"received {received!r} must be a JSON integer, not text")
            received = _REPORTED
        when = item.get("date")
        if isinstance(when, str) and when != when.strip():
            shape.append(f"date {when!r} has blanks around it")
            when = _REPORTED
        rows.append(VolumeRow(where, item.get("agency"), item.get("sector"), when, received,
                              "; ".join(shape)))
    return rows


# Checking ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return (clean_text(value) or "") if isinstance(value, str) else ""


def _code(value: Any, name: str) -> tuple[str, str]:
    """Return (the code as typed, cleaned, problem) of an agency's or a sector's code."""
    if value is not None and not isinstance(value, str):
        return "", f"{name} must be a code written as text"
    code = clean_code(value) or ""
    return code, "" if code else f"missing {name}"


def _date(value: Any, today: date) -> tuple[date | None, bool, str]:
    """Return (first day, is a month, problem) of a date written YYYY-MM-DD or YYYY-MM."""
    if value is _REPORTED:
        return None, False, ""
    if value is not None and not isinstance(value, str):
        return None, False, "date must be text, written YYYY-MM-DD or YYYY-MM"
    text = _text(value)
    if not text:
        return None, False, "missing date"
    is_month = bool(_MONTH.fullmatch(text))
    if not (is_month or _DAY.fullmatch(text)):
        return None, False, f"date {text!r} must be written YYYY-MM-DD (a day) or YYYY-MM " \
                            "(a month's total)"
    try:
        day = date.fromisoformat(f"{text}-01" if is_month else text)
    except ValueError:
        return None, False, f"date {text!r} does not exist"
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return None, False, f"date {text!r} must fall in the years {FIRST_YEAR} to {LAST_YEAR}"
    if day > (month_start(today) if is_month else today):
        return None, False, f"date {text!r} is in the future"
    return day, is_month, ""


def _received(value: Any) -> tuple[int | None, str]:
    if value is _REPORTED:
        return None, ""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "missing received"
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None, f"received {value!r} must be a whole number of dossiers, 0 or more"
    if number < 0:
        return None, f"received {number} must be 0 or more"
    if number > MAX_RECEIVED:
        return None, f"received {number} is more than {MAX_RECEIVED:,}: a typo?"
    return number, ""


def check(
    session: Session, rows: list[VolumeRow], visible: set[int] | None, today: date
) -> list[Volume]:
    """Return the rows checked, or raise VolumeError naming every problem of every row.

    `visible` holds the agencies the loader may load for (None: every one). A row for an
    agency outside them makes the whole load forbidden.
    """
    agencies = {a.code: a.id for a in session.scalars(select(Agency))}
    sectors = {s.code: s.id for s in session.scalars(select(Sector))}
    problems: list[str] = []
    forbidden: list[str] = []
    volumes: list[Volume] = []
    first_seen: dict[tuple[int, int, date], str] = {}
    # (agency, sector, month) -> (is a month's total, where first seen)
    month_kind: dict[tuple[int, int, date], tuple[bool, str]] = {}
    for row in rows:
        wrong: list[str] = [row.extra] if row.extra else []
        (agency_code, agency_problem), (sector_code, sector_problem) = (
            _code(row.agency, "agency"), _code(row.sector, "sector"))
        agency_id, sector_id = agencies.get(agency_code), sectors.get(sector_code)
        if agency_problem:
            wrong.append(agency_problem)
        elif agency_id is None:
            wrong.append(f"unknown agency {agency_code!r}")
        elif visible is not None and agency_id not in visible:
            forbidden.append(f"{row.where}: agency {agency_code} is outside your scope")
        if sector_problem:
            wrong.append(sector_problem)
        elif sector_id is None:
            wrong.append(f"unknown sector {sector_code!r}")
        day, is_month, date_problem = _date(row.date, today)
        if date_problem:
            wrong.append(date_problem)
        received, received_problem = _received(row.received)
        if received_problem:
            wrong.append(received_problem)
        if agency_id is not None and sector_id is not None and day is not None:
            key = (agency_id, sector_id, day)
            month_key = (agency_id, sector_id, month_start(day))
            kind = month_kind.setdefault(month_key, (is_month, row.where))
            if key in first_seen:
                wrong.append(f"{agency_code} · {sector_code} · {_text(row.date)} repeats "
                             f"{first_seen[key]}" + (" (a month's total is stored on its "
                                                     "first day)" if is_month or kind[0] else ""))
            elif kind[0] != is_month:
                wrong.append(f"{agency_code} · {sector_code}: {kind[1]} gives "
                             f"{'the total' if kind[0] else 'a day'} of that month and this "
                             f"row {'the total' if is_month else 'a day'}: give a month one way")
            first_seen.setdefault(key, row.where)
        if wrong:
            problems.append(f"{row.where}: {'; '.join(wrong)}")
        elif agency_id is not None and sector_id is not None and day is not None \
                and received is not None:
            volumes.append(Volume(agency_id, sector_id, day, received, is_month))
    if forbidden:
        names = "row names" if len(forbidden) == 1 else "rows name"
        raise VolumeError(f"{len(forbidden)} {names} an agency outside your scope; nothing "
                          "was loaded", forbidden, is_forbidden=True)
    if problems:
        raise VolumeError(f"{len(problems)} {_rows(len(problems))} wrong; nothing was loaded",
                          problems)
    return volumes


def _rows(n: int) -> str:
    return "row is" if n == 1 else "rows are"


# Writing -----------------------------------------------------------------------------------


def save(session: Session, volumes: list[Volume]) -> LoadResult:
    """Write checked rows, replacing what was stored for the same agency, sector and day.

    A month's total also replaces every day of its month. Only flushes.
    """
    if not volumes:
        raise VolumeError("no rows to load")
    first = min(v.day for v in volumes)
    last = max(v.last_day for v in volumes)
    agency_ids = sorted({v.agency_id for v in volumes})
    sector_ids = sorted({v.sector_id for v in volumes})
    stored = set(session.execute(
        select(DossierVolume.agency_id, DossierVolume.sector_id, DossierVolume.day).where(
            DossierVolume.agency_id.in_(agency_ids),
            DossierVolume.sector_id.in_(sector_ids),
            DossierVolume.day.between(first, last),
        )
    ).all())
    by_month: dict[tuple[int, int, date], list[date]] = {}
    for agency_id, sector_id, day in stored:
        by_month.setdefault((agency_id, sector_id, month_start(day)), []).append(day)
    updated = cleared = 0
    removals: list[dict[str, Any]] = []
    for v in volumes:
        if v.is_month:
            days = by_month.get((v.agency_id, v.sector_id, v.day), [])
            updated += v.day in days
            cleared += sum(1 for day in days if day != v.day)
            if days:
                removals.append({"a": v.agency_id, "s": v.sector_id, "first": v.day,
                                 "last": v.last_day})
        elif (v.agency_id, v.sector_id, v.day) in stored:
            updated += 1
            removals.append({"a": v.agency_id, "s": v.sector_id, "first": v.day, "last": v.day})
    if removals:
        remove = delete(_TABLE).where(and_(
            _TABLE.c.agency_id == bindparam("a"),
            _TABLE.c.sector_id == bindparam("s"),
            _TABLE.c.day >= bindparam("first"),
            _TABLE.c.day <= bindparam("last"),
        ))
        for start in range(0, len(removals), _BATCH):
            session.execute(remove, removals[start:start + _BATCH])
    rows = [{"agency_id": v.agency_id, "sector_id": v.sector_id, "day": v.day,
             "received": v.received} for v in volumes]
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(_TABLE), rows[start:start + _BATCH])
    session.flush()
    return LoadResult(
        rows=len(volumes), created=len(volumes) - updated, updated=updated, cleared=cleared,
        received=sum(v.received for v in volumes), first_day=first, last_day=last,
    )


def load(
    session: Session,
    rows: list[VolumeRow],
    *,
    visible: set[int] | None,
    today: date,
    actor: User | None = None,
    file: str | None = None,
) -> LoadResult:
    """Check every row, then write them all and record the load in the audit log.

    The entry names the file of a command-line load, the token's owner of an API load.
    Raises VolumeError, having written nothing, when any row is wrong. Only flushes.
    """
    result = save(session, check(session, rows, visible, today))
    details = {"file": file} if file else {}
    audit.record(session, "volumes.imported", actor=actor, **details, **result.as_dict())
    return result


# Reading back ------------------------------------------------------------------------------


def volume_cells(session: Session, flt: TallyFilter) -> dict[tuple[int, int], int]:
    """Return the dossiers loaded for a filter's period, agencies and sectors, by cell.

    Keys are (agency id, sector id); a key is there when at least one row was loaded for it,
    even a row of 0. Dossiers are not received at a counter: a filter on one counter has
    none.
    """
    if flt.counter_id is not None:
        return {}
    query = (
        select(DossierVolume.agency_id, DossierVolume.sector_id, func.sum(DossierVolume.received))
        .where(*volume_conditions(flt))
        .group_by(DossierVolume.agency_id, DossierVolume.sector_id)
    )
    return {(agency_id, sector_id): int(received)
            for agency_id, sector_id, received in session.execute(query)}


def volume_conditions(flt: TallyFilter) -> list[ColumnElement[bool]]:
    """Return the conditions on the volumes table that a filter's period, agencies and sectors
    stand for."""
    conditions: list[ColumnElement[bool]] = [
        DossierVolume.day.between(flt.period.start, flt.period.end)]
    if flt.agency_ids is not None:
        conditions.append(DossierVolume.agency_id.in_(sorted(flt.agency_ids)))
    if flt.sector_ids is not None:
        conditions.append(DossierVolume.sector_id.in_(sorted(flt.sector_ids)))
    return conditions


def next_month_of(session: Session, month: Any) -> Any:
    """Return the first day of the next month, of a column holding first days of months."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(month, "+1 month")
    return month + literal_column("interval '1 month'")


def problem_summary(error: VolumeError) -> Mapping[str, Any]:
    """Return the problems of a refused load as the API gives them: the first ones, counted."""
    return {"problems": error.problems[:MAX_PROBLEMS_SHOWN],
            "problem_count": len(error.problems)}
