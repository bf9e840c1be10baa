"""Tallies at scale: the dashboard's figures against a plain GROUP BY, at 1, 3 and 10 million.

For each database (a throw-away PostgreSQL database on the loopback server, and a SQLite
file in a temporary directory) the responses table grows 1M -> 3M -> 10M (only 1M with
``quick``). At each size the rollups are rebuilt in SQL (``rollups.rebuild_in_database``),
then two dashboard requests are timed:

- ``year``: the headline and sector table (``reports.build_report``) for 2026, everything;
- ``commune_quarter``: the same for one commune (median traffic) over 2026 Q2;

against a plain GROUP BY over ``responses`` (and ``response_wishes``) giving the same
figures, whose counts must be equal, sector by sector and scope by scope.

The data: 500 agencies (the provincial centre, 19 regional branches, 480 communes), the
seeded sectors, 3,000 survey codes over counters, with skewed traffic (log-normal by agency
and code); responses spread over 2025-2026 in local office hours, fewer on weekends; most
answers 4-5, q4/q5 sometimes not applicable; ~3% duplicates or flagged; ~30% with wishes;
a few comments. Device and address hashes and submit nonces are left empty: the tallies
never read them, and a narrower table only makes the plain GROUP BY faster.

Loading is bulk SQL (INSERT ... SELECT from generate_series or a numbers table), rows
ordered by code so the deployment's indexes stay in place while they grow; foreign keys
are dropped during the load and re-added (validated) after it on PostgreSQL, checked with
``PRAGMA foreign_key_check`` on SQLite.

``run()`` returns (all times in milliseconds unless named ``_s``)::

    {
      "sizes": [1000000, ...],
      "databases": {
        "postgresql" | "sqlite": {
          "sizes": {
            "1000000": {
              "rows": int, "wishes": int, "load_s": float, "rollup_build_s": float,
              "rollup_rows": {"tally_days": int, "tally_months": int},
              "queries": {
                "year" | "commune_quarter": {
                  "filter": str, "responses_in_scope": int,
                  "app_ms_median": float, "app_ms_min": float, "app_runs": int,
                  "plain_group_by_ms_median": float, "plain_runs": int,
                  "ratio": float,            # app median / plain GROUP BY median
                  "figures_match": bool, "first_difference": str | None
                }
              }
            }
          },
          "explain": str | None      # PostgreSQL, largest size: EXPLAIN ANALYZE of the year
        }
      },
      "targets": [{"name": str, "database": str, "query": str, "value": float,
                   "limit": float, "met": bool, "margin": str}],
      "all_figures_match": bool, "total_s": float
    }
"""

from __future__ import annotations

import argparse
import json
import math
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, create_engine, event, text
from sqlalchemy.engine import Connection

from survey_app import create_app, sipas
from survey_app.extensions import db
from survey_app.models import (
    INTEGRITY_ANSWERS,
    RATING_QUESTIONS,
    TALLY_COUNT_COLUMNS,
    WISH_CODES,
    Sector,
    UTCDateTime,
)
from survey_app.questionnaire import CURRENT
from survey_app.services import reports
from survey_app.services.codes import ALPHABET, CODE_LENGTH
from survey_app.services.migrate import upgrade
from survey_app.services.periods import Period, utc_bounds
from survey_app.services.seed import ALL_SECTORS, SECTORS, seed_sectors, seed_targets
from survey_app.services.tallies import TallyFilter, answer_counts

Log = Callable[[str], None]

SIZES_FULL = (1_000_000, 3_000_000, 10_000_000)
SIZES_QUICK = (1_000_000,)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_DAY, LAST_DAY = date(2025, 1, 1), date(2026, 12, 31)
YEAR = Period(date(2026, 1, 1), date(2026, 12, 31))
QUARTER = Period(date(2026, 4, 1), date(2026, 6, 30))
APP_RUNS, PLAIN_RUNS = 7, 3
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_RATIO, TARGET_MS, TARGET_GROWTH = 0.1, 100.0, 1.5
DAY_SLOTS, STATUS_SLOTS, WISH_SLOTS = 10_000, 1000, 1000
# Answer patterns per mood, drawn in Python once: a row then costs one random pick and a
# join instead of some thirty random() calls.
ANSWER_SLOTS = 8192
MOODS = 4

COMMUNE_SECTORS = ("HO_TICH", "CHUNG_THUC", "DAT_DAI", "BTXH", "HKD", "XAY_DUNG",
                   "NONG_NGHIEP", "LAO_DONG", "TU_PHAP", "MOI_TRUONG")
COMMENTS = ("Cán bộ nhiệt tình.", "Phải chờ lâu.", "Nên có thêm ghế ngồi chờ.",
            "Hướng dẫn rõ ràng, dễ hiểu.", "Kết quả trả trễ hẹn.")


# Reference data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    id: int
    agency_id: int
    counter_id: int
    sector_id: int
    weight: float
    mood: int  # 0 (a well-run counter) .. 3 (a poorly run one)


@dataclass
class Reference:
    agencies: list[dict[str, Any]]
    counters: list[dict[str, Any]]
    codes: list[Code]
    commune_id: int  # the commune of median traffic, for the quarter query


def reference_data(sector_ids: dict[str, int]) -> Reference:
    """Return 500 agencies, their counters and 3,000 codes with skewed traffic (seeded)."""
    rng = random.Random(2026)
    now = datetime(2024, 12, 1, tzinfo=UTC)
    agencies: list[dict[str, Any]] = [
        {"id": 1, "code": "TTPVHCC", "name": "Trung tâm Phục vụ hành chính công tỉnh",
         "level": "province", "parent_id": None, "created_at": now}
    ]
    for b in range(1, 20):
        agencies.append({"id": 1 + b, "code": f"CN-KV{b:02d}",
                         "name": f"Chi nhánh khu vực {b}", "level": "province",
                         "parent_id": 1, "created_at": now})
    for c in range(480):
        agencies.append({"id": 21 + c, "code": f"XA-{c + 1:03d}", "name": f"Xã {c + 1:03d}",
                         "level": "commune", "parent_id": 2 + c % 19, "created_at": now})
    all_sectors = [code for code, *_ in SECTORS]
    counters: list[dict[str, Any]] = []
    codes: list[Code] = []
    # (agency ids, counters each, sectors per counter, share of all traffic)
    plan = [([1], 12, 12, 0.08), (list(range(2, 21)), 4, 6, 0.15),
            (list(range(21, 501)), 2, None, 0.77)]
    commune_traffic: dict[int, float] = {}
    for agency_ids, n_counters, per_counter, share in plan:
        weights = {a: rng.lognormvariate(0, 0.8) for a in agency_ids}
        total = sum(weights.values())
        for agency_id in agency_ids:
            agency_weight = share * weights[agency_id] / total
            if per_counter is None:  # a commune: five sectors over two counters
                chosen = rng.sample(COMMUNE_SECTORS, 5)
                layout = [chosen[:3], chosen[3:]]
                commune_traffic[agency_id] = agency_weight
            else:
                layout = [rng.sample(all_sectors, per_counter) for _ in range(n_counters)]
            code_weights = [rng.lognormvariate(0, 0.6) for row in layout for _ in row]
            code_total = sum(code_weights)
            k = 0
            for number, sectors in enumerate(layout, start=1):
                counter_id = len(counters) + 1
                counters.append({"id": counter_id, "agency_id": agency_id,
                                 "name": f"Quầy {number}", "created_at": now})
                for sector in sectors:
                    codes.append(Code(len(codes) + 1, agency_id, counter_id,
                                      sector_ids[sector],
                                      agency_weight * code_weights[k] / code_total,
                                      rng.choice((0, 0, 0, 1, 1, 2, 3))))
                    k += 1
    by_traffic = sorted(commune_traffic, key=commune_traffic.__getitem__)
    return Reference(agencies, counters, codes, by_traffic[len(by_traffic) // 2])


def rows_per_code(codes: list[Code], size: int) -> list[int]:
    """Split `size` responses over the codes by weight; growing never takes any away."""
    total = sum(c.weight for c in codes)
    counts, cumulative, before = [], 0.0, 0
    for c in codes:
        cumulative += c.weight / total
        upto = size if c is codes[-1] else math.floor(cumulative * size)
        counts.append(upto - before)
        before = upto
    return counts


def day_slots() -> list[datetime]:
    """Return the UTC start of local days, repeated by how busy the day is."""
    weights: list[tuple[date, float]] = []
    day = FIRST_DAY
    span = (LAST_DAY - FIRST_DAY).days
    while day <= LAST_DAY:
        weekday = day.weekday()
        weight = 1.0 if weekday < 5 else 0.25 if weekday == 5 else 0.03
        weight *= 1 + 0.4 * (day - FIRST_DAY).days / span  # the survey catches on
        if (day.month, day.day) in ((1, 1), (4, 30), (5, 1), (9, 2)):
            weight *= 0.05
        weights.append((day, weight))
        day += timedelta(days=1)
    total = sum(w for _, w in weights)
    slots: list[datetime] = []
    for day, weight in weights:
        start = datetime(day.year, day.month, day.day, tzinfo=ZONE).astimezone(UTC)
        slots += [start] * round(DAY_SLOTS * weight / total)
    return slots


def status_slots() -> list[tuple[str, str | None]]:
    """Return 1,000 (status, reason) slots: 97% counted, 1.5% duplicate, 1.5% flagged."""
    slots: list[tuple[str, str | None]] = [("counted", None)] * 970
    slots += [("duplicate", "dossier_repeat")] * 15
    slots += [("flagged", reason) for reason in ["too_fast"] * 6 + ["device_repeat"] * 5
              + ["burst"] * 3 + ["honeypot"]]
    return slots


def wish_slots() -> list[tuple[int, str]]:
    """Return (slot, wish) rows: 70% of slots choose nothing, the rest one or two wishes."""
    rng = random.Random(8)
    popular = ("speed", "speed", "online", "online", "guidance", "facilities", "attitude",
               "transparency", "feedback")
    rows: list[tuple[int, str]] = []
    for slot in range(700, WISH_SLOTS):
        first = rng.choice(popular)
        rows.append((slot, first))
        if rng.random() < 0.4:
            rows.append((slot, rng.choice([w for w in WISH_CODES if w != first])))
    return rows


def answer_slots() -> list[dict[str, Any]]:
    """Return ANSWER_SLOTS answer patterns for each mood (seeded)."""
    rng = random.Random(8)
    rows = []
    for mood in range(MOODS):
        thresholds = rating_thresholds(mood)

        def rating(not_applicable: float, thresholds: list[float] = thresholds) -> int | None:
            if rng.random() < not_applicable:
                return None
            for value, chance in enumerate(thresholds, start=1):
                if rng.random() < chance:
                    return value
            return 5

        for slot in range(ANSWER_SLOTS):
            integrity = rng.random()
            rows.append({
                "mood": mood, "slot": slot,
                **{f"q{n}": rating(na) for n, na in
                   ((1, 0), (2, 0), (3, 0), (4, 0.12), (5, 0.35), (6, 0))},
                "q7": None if integrity < 0.25 else "no" if integrity < 0.95
                else "decline" if integrity < 0.97 else "yes",
                "comment": rng.choice(COMMENTS) if rng.random() < 0.03 else None,
                "language": "vi" if rng.random() < 0.96 else "en",
            })
    return rows


def rating_thresholds(mood: int) -> list[float]:
    """Return the conditional chances of answering 1, 2, 3 and 4 (else 5), by mood."""
    shares = [0.02 + 0.01 * mood, 0.03 + 0.01 * mood, 0.08 + 0.02 * mood, 0.35]
    left, chances = 1.0, []
    for share in shares:
        chances.append(share / left)
        left -= share
    return chances


# The databases -------------------------------------------------------------------------


class Database:
    """A throw-away database of one kind: create, load, measure, drop."""

    kind = ""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.url = ""
        self.loaded = 0
        self.engine: Engine | None = None

    def create(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def uniform(self) -> str:
        """SQL for a fresh uniform number in [0, 1)."""
        raise NotImplementedError

    def load_engine(self) -> Engine:
        if self.engine is None:
            self.engine = create_engine(self.url)
        return self.engine

    def insert_reference(self, ref: Reference) -> None:
        with self.load_engine().begin() as c:
            c.execute(text("INSERT INTO agencies (id, code, name, level, parent_id, created_at)"
                           " VALUES (:id, :code, :name, :level, :parent_id, :created_at)"),
                      ref.agencies)
            c.execute(text("INSERT INTO counters (id, agency_id, name, created_at)"
                           " VALUES (:id, :agency_id, :name, :created_at)"), ref.counters)
            rng = random.Random(11)
            seen: set[str] = set()
            rows = []
            for code in ref.codes:
                while (value := "".join(rng.choice(ALPHABET) for _ in range(CODE_LENGTH))) in seen:
                    pass
                seen.add(value)
                rows.append({"id": code.id, "code": value, "agency_id": code.agency_id,
                             "counter_id": code.counter_id, "sector_id": code.sector_id,
                             "created_at": datetime(2024, 12, 1, tzinfo=UTC)})
            c.execute(text("INSERT INTO survey_codes (id, code, agency_id, counter_id, sector_id,"
                           " created_at) VALUES (:id, :code, :agency_id, :counter_id,"
                           " :sector_id, :created_at)"), rows)
            self.create_helpers(c)

    def create_helpers(self, c: Connection) -> None:
        """Small lookup tables that the bulk INSERT ... SELECT draws from."""
        c.execute(text("CREATE TABLE bench_days (slot INTEGER PRIMARY KEY, midnight "
                       + self.timestamp_type() + ")"))
        c.execute(text("INSERT INTO bench_days VALUES (:slot, :midnight)"),
                  [{"slot": i, "midnight": self.timestamp(d)} for i, d in enumerate(day_slots())])
        c.execute(text("CREATE TABLE bench_status (slot INTEGER PRIMARY KEY, status TEXT,"
                       " reason TEXT)"))
        c.execute(text("INSERT INTO bench_status VALUES (:slot, :status, :reason)"),
                  [{"slot": i, "status": s, "reason": r}
                   for i, (s, r) in enumerate(status_slots())])
        c.execute(text("CREATE TABLE bench_wishes (slot INTEGER, wish TEXT)"))
        c.execute(text("INSERT INTO bench_wishes VALUES (:slot, :wish)"),
                  [{"slot": s, "wish": w} for s, w in wish_slots()])
        c.execute(text("CREATE INDEX ix_bench_wishes_slot ON bench_wishes (slot)"))
        c.execute(text("CREATE TABLE bench_answers (mood INTEGER, slot INTEGER, q1 INTEGER,"
                       " q2 INTEGER, q3 INTEGER, q4 INTEGER, q5 INTEGER, q6 INTEGER, q7 TEXT,"
                       " comment TEXT, language TEXT, PRIMARY KEY (mood, slot))"))
        c.execute(text("INSERT INTO bench_answers VALUES (:mood, :slot, :q1, :q2, :q3, :q4,"
                       " :q5, :q6, :q7, :comment, :language)"), answer_slots())
        c.execute(text(
            "CREATE TABLE bench_plan (code_id INTEGER PRIMARY KEY, agency_id INTEGER,"
            " counter_id INTEGER, sector_id INTEGER, n INTEGER, mood INTEGER)"))

    def timestamp_type(self) -> str:
        raise NotImplementedError

    def timestamp(self, moment: datetime) -> Any:
        raise NotImplementedError

    def set_plan(self, c: Connection, codes: list[Code], counts: list[int]) -> None:
        c.execute(text("DELETE FROM bench_plan"))
        c.execute(text("INSERT INTO bench_plan VALUES (:code_id, :agency_id, :counter_id,"
                       " :sector_id, :n, :mood)"),
                  [{"code_id": code.id, "agency_id": code.agency_id,
                    "counter_id": code.counter_id, "sector_id": code.sector_id, "n": n,
                    "mood": code.mood}
                   for code, n in zip(codes, counts, strict=True) if n > 0])

    def answer_columns(self) -> str:
        """The SELECT list of one generated response (after survey_code_id ... sector_id)."""
        return ", ".join([
            f"'{CURRENT.version}'",
            "a.q1", "a.q2", "a.q3", "a.q4", "a.q5", "a.q6", "a.q7", "a.comment",
            # Unique where present: the partial unique index on dossiers must hold.
            f"CASE WHEN {self.uniform()} < 0.35 THEN {self.random_hash()} END",
            "a.language", "st.status", "st.reason",
        ])

    def below(self, n: int) -> str:
        """SQL for a fresh whole number in [0, n)."""
        raise NotImplementedError

    def random_hash(self) -> str:
        raise NotImplementedError

    def seconds_in_day(self) -> str:
        """Local time of day: mostly office hours, some evenings, a few before dawn."""
        u = self.uniform()
        return (f"CASE WHEN {u} < 0.78 THEN 27000 + {self.below(34200)}"
                f" WHEN {u} < 0.91 THEN 61200 + {self.below(25200)}"
                f" ELSE {self.below(27000)} END")

    def grow(self, ref: Reference, size: int) -> float:
        """Add responses until there are `size`; return the seconds it took."""
        started = time.perf_counter()
        before = rows_per_code(ref.codes, self.loaded)
        after = rows_per_code(ref.codes, size)
        with self.load_engine().begin() as c:
            self.before_load(c)
            # Indexes are built again after the rows are in, as the databases' own docs
            # advise for bulk loads: one sorted pass instead of millions of inserts.
            indexes = self.secondary_indexes(c)
            for name, _ in indexes:
                c.execute(text(f"DROP INDEX {name}"))
            self.set_plan(c, ref.codes, [b - a for a, b in zip(before, after, strict=True)])
            last_id = c.execute(text("SELECT coalesce(max(id), 0) FROM responses")).scalar_one()
            c.execute(text(self.insert_responses_sql()))
            c.execute(text(self.insert_wishes_sql()), {"after": last_id})
            for _, definition in indexes:
                c.execute(text(definition))
            self.after_load(c)
        self.loaded = size
        return time.perf_counter() - started

    def secondary_indexes(self, c: Connection) -> list[tuple[str, str]]:
        """Return (name, CREATE statement) of the indexes no constraint stands on."""
        return []

    def before_load(self, c: Connection) -> None:
        pass

    def after_load(self, c: Connection) -> None:
        pass

    def insert_responses_sql(self) -> str:
        raise NotImplementedError

    def insert_wishes_sql(self) -> str:
        raise NotImplementedError

    def analyze(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """After the last size: drop the helper tables, check the data's integrity."""


RESPONSE_COLUMNS = (
    "survey_code_id, agency_id, counter_id, sector_id, questionnaire_version,"
    " q1, q2, q3, q4, q5, q6, q7, comment, dossier_hash, language, status, status_reason,"
    " created_at"
)


class Postgres(Database):
    kind = "postgresql"

    def __init__(self, log: Log) -> None:
        super().__init__(log)
        self.name = f"survey_bench_{secrets.token_hex(4)}"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        self.foreign_keys: list[tuple[str, str, str]] = []

    def _admin(self, sql: str) -> None:
        engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as c:
                c.execute(text(sql))
        finally:
            engine.dispose()

    def create(self) -> None:
        self._admin(f"CREATE DATABASE {self.name}")
        upgrade(self.url)

    def drop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def uniform(self) -> str:
        return "random()"

    def below(self, n: int) -> str:
        return f"floor(random() * {n})::int"

    def random_hash(self) -> str:
        return "md5(random()::text) || md5(random()::text)"

    def timestamp_type(self) -> str:
        return "timestamptz"

    def timestamp(self, moment: datetime) -> Any:
        return moment

    def secondary_indexes(self, c: Connection) -> list[tuple[str, str]]:
        return [(str(name), str(definition)) for name, definition in c.execute(text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid IN ('responses'::regclass, 'response_wishes'::regclass)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"))]

    def before_load(self, c: Connection) -> None:
        # The documented way to populate a database: no per-row foreign key triggers; the
        # constraints come back, validated in one pass, after the load.
        c.execute(text("SET LOCAL work_mem = '256MB'"))
        c.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        self.foreign_keys = [
            (table, name, definition)
            for table, name, definition in c.execute(text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                " FROM pg_constraint WHERE contype = 'f'"
                " AND conrelid IN ('responses'::regclass, 'response_wishes'::regclass)"))
        ]
        for table, name, _ in self.foreign_keys:
            c.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))

    def after_load(self, c: Connection) -> None:
        for table, name, definition in self.foreign_keys:
            c.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))

    def insert_responses_sql(self) -> str:
        # Rows come out code by code (the order of bench_plan): each index grows in a
        # few places at a time instead of at random all over.
        return (
            f"INSERT INTO responses ({RESPONSE_COLUMNS})"
            f" SELECT p.code_id, p.agency_id, p.counter_id, p.sector_id, {self.answer_columns()},"
            f" d.midnight + ({self.seconds_in_day()} + random()) * interval '1 second'"
            " FROM bench_plan p CROSS JOIN LATERAL generate_series(1, p.n) AS g(i)"
            f" CROSS JOIN LATERAL (SELECT {self.below(STATUS_SLOTS)} + 0 * g.i AS s,"
            f" {self.below(len(day_slots()))} + 0 * g.i AS d,"
            f" {self.below(ANSWER_SLOTS)} + 0 * g.i AS a) x"
            " JOIN bench_status st ON st.slot = x.s JOIN bench_days d ON d.slot = x.d"
            " JOIN bench_answers a ON a.mood = p.mood AND a.slot = x.a"
        )

    def insert_wishes_sql(self) -> str:
        return (
            "INSERT INTO response_wishes (response_id, wish)"
            " SELECT x.id, w.wish FROM (SELECT r.id,"
            f" {self.below(WISH_SLOTS)} + 0 * r.id AS s FROM responses r WHERE r.id > :after) x"
            " JOIN bench_wishes w ON w.slot = x.s"
        )

    def analyze(self) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as c:
                # What autovacuum would have done by the time anyone reads a dashboard.
                c.execute(text("VACUUM ANALYZE responses, response_wishes, tally_days,"
                               " tally_months"))
        finally:
            engine.dispose()

    def finish(self) -> None:
        with self.load_engine().begin() as c:
            for table in ("bench_plan", "bench_days", "bench_status", "bench_wishes",
                          "bench_answers"):
                c.execute(text(f"DROP TABLE IF EXISTS {table}"))


class Sqlite(Database):
    kind = "sqlite"

    def __init__(self, log: Log) -> None:
        super().__init__(log)
        self.directory = tempfile.mkdtemp(prefix="survey-bench-")
        self.url = f"sqlite:///{self.directory}/bench.sqlite3"

    def create(self) -> None:
        upgrade(self.url)

    def drop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        shutil.rmtree(self.directory, ignore_errors=True)

    def load_engine(self) -> Engine:
        if self.engine is None:
            engine = create_engine(self.url)

            @event.listens_for(engine, "connect")
            def _fast_load(dbapi_connection: Any, _record: Any) -> None:
                # A bulk load into a scratch file: no journal, no fsync, a big page cache.
                dbapi_connection.isolation_level = None
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode = OFF")
                cursor.execute("PRAGMA synchronous = OFF")
                cursor.execute("PRAGMA cache_size = -2000000")
                cursor.execute("PRAGMA foreign_keys = OFF")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _begin(connection: Connection) -> None:
                connection.exec_driver_sql("BEGIN")

            self.engine = engine
        return self.engine

    def close_load_engine(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def uniform(self) -> str:
        return "(abs(random()) % 1000000) / 1000000.0"

    def below(self, n: int) -> str:
        return f"(abs(random()) % {n})"

    def random_hash(self) -> str:
        return "printf('%016x%016x%016x%016x', random(), random(), random(), random())"

    def timestamp_type(self) -> str:
        return "TEXT"

    def timestamp(self, moment: datetime) -> Any:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")

    def secondary_indexes(self, c: Connection) -> list[tuple[str, str]]:
        # Partial and unique indexes stay: they are the rules the data must keep.
        return [(str(name), str(sql)) for name, sql in c.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('responses', 'response_wishes')"
            " AND sql NOT LIKE 'CREATE UNIQUE%'"))]

    def set_plan(self, c: Connection, codes: list[Code], counts: list[int]) -> None:
        super().set_plan(c, codes, counts)
        c.execute(text("CREATE TABLE IF NOT EXISTS bench_numbers (i INTEGER PRIMARY KEY)"))
        have = c.execute(text("SELECT coalesce(max(i), 0) FROM bench_numbers")).scalar_one()
        wanted = max(counts)
        if have < wanted:
            c.execute(text(
                "WITH RECURSIVE n(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM n"
                " WHERE i < :wanted) INSERT INTO bench_numbers SELECT i FROM n"),
                {"first": have + 1, "wanted": wanted})

    def insert_responses_sql(self) -> str:
        # CROSS JOIN keeps SQLite's join order: code by code, and each random slot is
        # looked up once per row.
        created = (f"datetime(d.midnight, '+' || ({self.seconds_in_day()}) || ' seconds')"
                   f" || printf('.%06d', {self.below(1_000_000)})")
        return (
            f"INSERT INTO responses ({RESPONSE_COLUMNS})"
            f" SELECT p.code_id, p.agency_id, p.counter_id, p.sector_id, {self.answer_columns()},"
            f" {created}"
            " FROM bench_plan p CROSS JOIN bench_numbers g ON g.i <= p.n"
            f" CROSS JOIN bench_status st ON st.slot = {self.below(STATUS_SLOTS)}"
            f" CROSS JOIN bench_days d ON d.slot = {self.below(len(day_slots()))}"
            f" CROSS JOIN bench_answers a ON a.mood = p.mood"
            f" AND a.slot = {self.below(ANSWER_SLOTS)}"
        )

    def insert_wishes_sql(self) -> str:
        return (
            "INSERT INTO response_wishes (response_id, wish)"
            " SELECT r.id, w.wish FROM responses r"
            f" CROSS JOIN bench_wishes w ON w.slot = {self.below(WISH_SLOTS)}"
            " WHERE r.id > :after"
        )

    def analyze(self) -> None:
        self.close_load_engine()
        engine = create_engine(self.url)
        try:
            with engine.begin() as c:
                c.execute(text("ANALYZE"))
        finally:
            engine.dispose()

    def finish(self) -> None:
        with self.load_engine().begin() as c:
            problems = c.execute(text("PRAGMA foreign_key_check")).fetchmany(5)
            if problems:
                raise RuntimeError(f"generated rows break foreign keys: {problems}")
            for table in ("bench_plan", "bench_days", "bench_status", "bench_wishes",
                          "bench_numbers", "bench_answers"):
                c.execute(text(f"DROP TABLE IF EXISTS {table}"))
        self.close_load_engine()


# Measuring -----------------------------------------------------------------------------


def _sum_when(condition: str, name: str) -> str:
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {name}"


ANSWERS_SQL = (
    "SELECT sector_id, status, count(*) AS responses, "
    + ", ".join(
        [_sum_when(f"{q} = {v}", f"{q}_{v}") for q in RATING_QUESTIONS for v in range(1, 6)]
        + [_sum_when(f"q7 = '{a}'", f"q7_{a}") for a in INTEGRITY_ANSWERS]
        + [
            _sum_when(condition.format(a=a, b=b), f"pair_{a}_{b}_{part}")
            for a, b in sipas.ELEMENT_PAIRS
            for part, condition in (
                ("valid", "{a} IS NOT NULL AND {b} IS NOT NULL"),
                ("first", "{a} >= 4 AND {b} IS NOT NULL"),
                ("second", "{a} IS NOT NULL AND {b} >= 4"),
                ("both", "{a} >= 4 AND {b} >= 4"),
            )
        ]
    )
    + " FROM responses r WHERE r.created_at >= :start AND r.created_at < :end {agency}"
    " GROUP BY sector_id, status"
)
WISHES_SQL = (
    "SELECT r.sector_id, count(DISTINCT r.id) AS wish_respondents, "
    + ", ".join(_sum_when(f"w.wish = '{code}'", f"wish_{code}") for code in WISH_CODES)
    + " FROM responses r JOIN response_wishes w ON w.response_id = r.id"
    " WHERE r.status = 'counted' AND r.created_at >= :start AND r.created_at < :end {agency}"
    " GROUP BY r.sector_id"
)


@dataclass(frozen=True)
class Figures:
    """What the headline and sector table show: counts by sector and pooled by scope."""

    sectors: dict[str, tuple[sipas.AnswerCounts, dict[str, int]]]
    scopes: dict[str, tuple[sipas.AnswerCounts, dict[str, int]]]


def app_figures(report: reports.Report) -> Figures:
    return Figures(
        {code: (f.counts, dict(f.by_status)) for code, f in report.sectors.items()},
        {key: (f.counts, dict(f.by_status)) for key, f in report.scopes.items()},
    )


def plain_group_by(connection: Connection, flt: TallyFilter, book: reports.TargetBook
                   ) -> Figures:
    """Count the filter straight from the responses, then pool and score as the app does."""
    start, end = utc_bounds(flt.period, ZONE)
    agency = ""
    if flt.agency_ids is not None:
        agency = f"AND r.agency_id IN ({', '.join(str(i) for i in sorted(flt.agency_ids))})"

    def query(sql: str) -> Any:
        statement = text(sql.format(agency=agency)).bindparams(
            bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
        )
        return connection.execute(statement, {"start": start, "end": end}).mappings()

    rows: dict[int, dict[str, int]] = {}
    by_status: dict[int, dict[str, int]] = {}
    for row in query(ANSWERS_SQL):
        by_status.setdefault(row["sector_id"], {})[row["status"]] = int(row["responses"])
        if row["status"] == "counted":
            rows[row["sector_id"]] = {k: int(v) for k, v in row.items() if k in
                                      TALLY_COUNT_COLUMNS}
    for row in query(WISHES_SQL):
        counted = rows.setdefault(row["sector_id"], dict.fromkeys(TALLY_COUNT_COLUMNS, 0))
        counted.update({k: int(v) for k, v in row.items() if k in TALLY_COUNT_COLUMNS})
    for counted in rows.values():
        for column in TALLY_COUNT_COLUMNS:
            counted.setdefault(column, 0)
    counts = {sector_id: answer_counts(row) for sector_id, row in rows.items()}
    codes: dict[int, str] = dict(
        connection.execute(text("SELECT id, code FROM sectors")).all()
    )
    members: dict[str, list[int]] = {
        scope.code: [i for i in set(counts) | set(by_status)
                     if scope.sector_ids is None or i in scope.sector_ids]
        for scope in book.scopes
    }
    scopes = {}
    for scope, ids in members.items():
        pooled = sipas.pool(counts[i] for i in ids if i in counts)
        sipas.score(pooled)
        statuses: dict[str, int] = {}
        for i in ids:
            for status, n in by_status.get(i, {}).items():
                statuses[status] = statuses.get(status, 0) + n
        scopes[scope] = (pooled, statuses)
    per_sector = {}
    for sector_id in set(counts) | set(by_status):
        sector_counts = counts.get(sector_id, sipas.AnswerCounts())
        sipas.score(sector_counts)
        per_sector[codes[sector_id]] = (sector_counts, by_status.get(sector_id, {}))
    return Figures(per_sector, scopes)


def first_difference(app: Figures, plain: Figures) -> str | None:
    """Return where the two sets of figures first differ, or None if they are equal."""
    for part in ("sectors", "scopes"):
        mine, theirs = getattr(app, part), getattr(plain, part)
        if set(mine) != set(theirs):
            return f"{part}: app has {sorted(mine)}, GROUP BY has {sorted(theirs)}"
        for key in sorted(mine):
            if mine[key][0] != theirs[key][0]:
                return f"{part} {key}: counts {mine[key][0]} != {theirs[key][0]}"
            if mine[key][1] != theirs[key][1]:
                return f"{part} {key}: by status {mine[key][1]} != {theirs[key][1]}"
            if sipas.score(mine[key][0]) != sipas.score(theirs[key][0]):
                return f"{part} {key}: scores differ"
    return None


def _milliseconds(seconds: list[float]) -> tuple[float, float]:
    return round(statistics.median(seconds) * 1000, 2), round(min(seconds) * 1000, 2)


class Measurement:
    """Times the app and the plain GROUP BY on one loaded database."""

    def __init__(self, database: Database, ref: Reference) -> None:
        self.database = database
        self.ref = ref
        self.app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "bench-" * 6,
                               "TIMEZONE": ZONE.key, "RATELIMIT_ENABLED": False})

    def close(self) -> None:
        db.engine_for(self.app).dispose()

    def rebuild(self) -> tuple[float, dict[str, int]]:
        from survey_app.services import rollups

        with self.app.app_context():
            started = time.perf_counter()
            rollups.rebuild_in_database(db.session)
            db.session.commit()
            seconds = time.perf_counter() - started
            sizes = {t: int(db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                     for t in ("tally_days", "tally_months", "tally_years")}
        return seconds, sizes

    def filters(self) -> dict[str, tuple[str, TallyFilter]]:
        return {
            "year": (f"{YEAR.start}..{YEAR.end}, every agency", TallyFilter(YEAR)),
            "commune_quarter": (
                f"{QUARTER.start}..{QUARTER.end}, commune id {self.ref.commune_id}"
                " (median traffic)",
                TallyFilter(QUARTER, agency_ids=frozenset({self.ref.commune_id})),
            ),
        }

    def app_run(self, flt: TallyFilter) -> tuple[float, reports.Report]:
        """One dashboard request's figures, in a fresh session as a request has."""
        with self.app.app_context():
            started = time.perf_counter()
            report = reports.build_report(db.session, flt)
            return time.perf_counter() - started, report

    def plain_run(self, flt: TallyFilter) -> tuple[float, Figures]:
        with self.app.app_context():
            book = reports.load_target_book(db.session)
            connection = db.session.connection()
            started = time.perf_counter()
            figures = plain_group_by(connection, flt, book)
            return time.perf_counter() - started, figures

    def measure(self, size: int, log: Log) -> dict[str, Any]:
        results = {}
        for name, (described, flt) in self.filters().items():
            self.app_run(flt)  # warm-up
            app_times, report = [], None
            for _ in range(APP_RUNS):
                seconds, report = self.app_run(flt)
                app_times.append(seconds)
            assert report is not None
            # The plain GROUP BY over everything takes seconds: fewer runs as it grows.
            plain_runs = PLAIN_RUNS if size < 3_000_000 or name != "year" else (
                2 if size < 10_000_000 else 1)
            self.plain_run(flt) if size < 3_000_000 else None  # warm-up where it is cheap
            plain_times, plain = [], None
            for _ in range(plain_runs):
                seconds, plain = self.plain_run(flt)
                plain_times.append(seconds)
            assert plain is not None
            difference = first_difference(app_figures(report), plain)
            app_median, app_min = _milliseconds(app_times)
            plain_median, _ = _milliseconds(plain_times)
            results[name] = {
                "filter": described,
                "responses_in_scope": report.scopes[ALL_SECTORS].raw_responses,
                "app_ms_median": app_median, "app_ms_min": app_min, "app_runs": APP_RUNS,
                "plain_group_by_ms_median": plain_median, "plain_runs": plain_runs,
                "ratio": round(app_median / plain_median, 4),
                "figures_match": difference is None, "first_difference": difference,
            }
            log(f"  {self.database.kind} {size:>10,} {name:<16} app {app_median:8.1f} ms"
                f"  GROUP BY {plain_median:9.1f} ms  ratio {app_median / plain_median:.4f}"
                f"  figures {'equal' if difference is None else 'DIFFER: ' + difference}")
        return results

    def explain(self) -> str:
        """EXPLAIN ANALYZE of the rollup queries behind the year's figures (PostgreSQL)."""
        statements: list[tuple[str, Any]] = []
        engine = db.engine_for(self.app)

        def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if "tally_" in statement:
                statements.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            self.app_run(TallyFilter(YEAR))
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        plans = []
        with engine.connect() as c:
            for statement, parameters in statements:
                plan = c.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                lines = [row[0] for row in plan]
                plans.append("\n".join(lines[:12] + lines[-2:]))
        return "\n---\n".join(plans)


# The run -------------------------------------------------------------------------------


@contextmanager
def databases(log: Log) -> Iterator[list[Database]]:
    """Create both throw-away databases; drop them at the end, whatever happens."""
    made: list[Database] = []
    try:
        kinds: tuple[type[Database], ...] = (Postgres, Sqlite)
        for kind in kinds:
            database = kind(log)
            made.append(database)
            database.create()
            log(f"created a {database.kind} database")
        yield made
    finally:
        for database in made:
            try:
                database.drop()
            except Exception as error:  # noqa: BLE001 - report, keep dropping the others
                log(f"could not drop the {database.kind} database: {error}")


def _in_parallel(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the loads side by side (one core each); re-raise the first failure."""
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def targets(results: dict[str, Any], sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Judge the issue's targets at the largest size measured."""
    largest, smallest = str(sizes[-1]), str(sizes[0])
    checks = []

    def check(name: str, kind: str, query: str, value: float, limit: float) -> None:
        met = value <= limit
        how = f"{value:g} vs ≤ {limit:g}: " + (
            f"met with {limit / value:.1f}x room" if met and value
            else "met" if met else f"missed by {value / limit:.2f}x")
        checks.append({"name": name, "database": kind, "query": query, "value": value,
                       "limit": limit, "met": met, "margin": how})

    for kind, per_db in results.items():
        for query, big in per_db["sizes"][largest]["queries"].items():
            check(f"ratio to plain GROUP BY at {sizes[-1]:,}", kind, query, big["ratio"],
                  TARGET_RATIO)
            if kind == "postgresql":
                check(f"app ms at {sizes[-1]:,}", kind, query, big["app_ms_median"], TARGET_MS)
            if len(sizes) > 1:
                small = per_db["sizes"][smallest]["queries"][query]
                growth = round(big["app_ms_median"] / small["app_ms_median"], 3)
                check(f"time at {sizes[-1]:,} / time at {sizes[0]:,}", kind, query, growth,
                      TARGET_GROWTH)
    return checks


def run(*, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Load, rebuild, time and compare at each size; return the results (see above)."""
    started = time.perf_counter()
    sizes = SIZES_QUICK if quick else SIZES_FULL
    results: dict[str, Any] = {}
    with databases(log) as made:
        measurements: list[Measurement] = []
        ref: Reference | None = None
        for database in made:
            app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "bench-" * 6})
            with app.app_context():
                seed_sectors(db.session)
                seed_targets(db.session)
                db.session.commit()
                sector_ids = {s.code: s.id for s in db.session.query(Sector)}
            db.engine_for(app).dispose()
            ref = ref or reference_data(sector_ids)
            database.insert_reference(ref)
            measurements.append(Measurement(database, ref))
            results[database.kind] = {"sizes": {}, "explain": None}
        assert ref is not None
        for size in sizes:
            for m in measurements:
                m.close()
            log(f"loading up to {size:,} responses (both databases side by side)")
            loads: list[Callable[[], Any]] = [
                lambda d=d, n=size: d.grow(ref, n) for d in made  # type: ignore[misc]
            ]
            load_seconds = _in_parallel(loads)

            def rebuild(m: Measurement, last: bool = size == sizes[-1]
                        ) -> tuple[float, dict[str, int]]:
                if last:
                    m.database.finish()
                built = m.rebuild()
                m.database.analyze()
                return built

            # Rebuilt side by side too (nothing is timed against anything else here);
            # the dashboards are then timed one database at a time, on a quiet machine.
            rebuilds = _in_parallel([partial(rebuild, m) for m in measurements])
            for m, seconds, (build_seconds, rollup_rows) in zip(
                measurements, load_seconds, rebuilds, strict=True
            ):
                kind = m.database.kind
                with m.app.app_context():
                    rows, wishes = (int(db.session.execute(text(f"SELECT count(*) FROM {t}"))
                                        .scalar_one()) for t in ("responses", "response_wishes"))
                if rows != size:
                    raise RuntimeError(f"{kind}: {rows} responses loaded, {size} wanted")
                log(f"  {kind} {size:>10,}: load {seconds:.1f} s, rollups {build_seconds:.1f} s"
                    f" ({rollup_rows['tally_days']:,} day rows,"
                    f" {rollup_rows['tally_months']:,} month rows)")
                results[kind]["sizes"][str(size)] = {
                    "rows": rows, "wishes": wishes, "load_s": round(seconds, 2),
                    "rollup_build_s": round(build_seconds, 2), "rollup_rows": rollup_rows,
                    "queries": m.measure(size, log),
                }
                if kind == "postgresql" and size == sizes[-1]:
                    results[kind]["explain"] = m.explain()
        for m in measurements:
            m.close()
    checks = targets(results, sizes)
    return {
        "sizes": list(sizes),
        "databases": results,
        "targets": checks,
        "all_figures_match": all(
            q["figures_match"] for per_db in results.values()
            for per_size in per_db["sizes"].values() for q in per_size["queries"].values()
        ),
        "total_s": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1 million responses only")
    args = parser.parse_args(argv)
    results = run(quick=args.quick, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0 if results["all_figures_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
