"""The rollups stay exact over one spread of responses, built once per database: every
tally equals a naive recount, a rebuild, and the sum of its parts.

The 150 responses over fourteen months are built once for the module; each test reads
(or changes) them in a savepoint rolled back after it (`rows_per_module`).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, select

from survey_app import sipas
from survey_app.extensions import db
from survey_app.models import Response
from survey_app.services import reports, rollups, tallies
from survey_app.services.periods import Period
from survey_app.services.tallies import TallyFilter
from tests import oracle
from tests.factories import any_answers, create_agency, create_code, record, rollup_rows
from tests.factories import local_time as local

pytestmark = pytest.mark.rows_per_module("spread")


@pytest.fixture(scope="module")
def spread(shared_app: Flask, module_connection: Connection) -> dict[str, Any]:
    """Two communes, four codes, 150 responses over fourteen months, built once."""
    rng = random.Random(7)
    with shared_app.app_context():
        province = create_agency("T", "Tỉnh")
        a = create_agency("A", "Xã A", "commune", province)
        b = create_agency("B", "Xã B", "commune", province)
        codes = [create_code(a, "Quầy 1", "DAT_DAI"), create_code(a, "Quầy 2", "HO_TICH"),
                 create_code(b, "Quầy 1", "XAY_DUNG"), create_code(b, "Quầy 1", "DAU_TU")]
        start = local(2024, 11, 1, 0, 1)
        for n in range(150):
            when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 425))
            record(rng.choice(codes), when, f"n{n}", answers=any_answers(rng))
        db.session.commit()
        return {"a": a.id, "b": b.id, "province": province.id,
                "codes": [c.id for c in codes], "sectors": [c.sector_id for c in codes]}


FILTERS = [
    lambda s: Period(date(2024, 11, 1), date(2025, 12, 31)),  # everything
    lambda s: Period(date(2025, 1, 1), date(2025, 3, 31)),  # whole months only
    lambda s: Period(date(2025, 2, 10), date(2025, 2, 20)),  # inside one month
    lambda s: Period(date(2024, 11, 17), date(2025, 7, 3)),  # both edges partial
]


def test_tallies_equal_a_naive_recount_for_any_filter(app, spread):
    with app.app_context():
        for flt in (
            TallyFilter(make_period(spread), agency_ids=agencies, sector_ids=sectors,
                        statuses=statuses)
            for make_period in FILTERS
            for agencies in (None, frozenset({spread["a"]}))
            for sectors in (None, frozenset(spread["sectors"][2:]))
            for statuses in (("counted",), None)
        ):
            [counts] = tallies.count_answers(db.session, flt).values()
            assert counts == oracle.naive_recount(db.session, flt), flt


def test_incremental_rollups_equal_a_rebuild(app, spread):
    with app.app_context():
        incremental = rollup_rows()
        assert rollups.rebuild(db.session) == 150
        assert rollup_rows() == incremental


def test_grouping_by_month_and_sector_adds_up_to_the_whole(app, spread):
    period = Period(date(2024, 11, 15), date(2025, 12, 31))
    with app.app_context():
        whole = tallies.count_answers(db.session, TallyFilter(period))[None]
        for grouping in ("month", "sector", "agency", "counter", "code"):
            parts = tallies.count_answers(db.session, TallyFilter(period), grouping)
            assert sipas.pool(parts.values()) == whole, grouping
        months = tallies.count_answers(db.session, TallyFilter(period), "month")
        assert min(months) == date(2024, 11, 1) and max(months) == date(2025, 12, 1)


def test_status_change_moves_a_response_out_of_the_counted_figures(app, spread):
    period = Period(date(2024, 11, 1), date(2025, 12, 31))
    with app.app_context():
        before = tallies.count_answers(db.session, TallyFilter(period))[None]
        raw_before = tallies.count_by_status(db.session, TallyFilter(period))[None]
        response = db.session.scalar(select(Response).where(Response.status == "counted"))
        rollups.change_status(db.session, response, "flagged", "manual:abuse")
        db.session.commit()
        after = tallies.count_answers(db.session, TallyFilter(period))[None]
        raw_after = tallies.count_by_status(db.session, TallyFilter(period))[None]
        assert after.responses == before.responses - 1
        assert raw_after == {**raw_before, "counted": raw_before["counted"] - 1,
                             "flagged": raw_before.get("flagged", 0) + 1}
        assert after == oracle.naive_recount(db.session, TallyFilter(period))
        rollups.change_status(db.session, response, "counted", None)
        assert tallies.count_answers(db.session, TallyFilter(period))[None] == before


def test_report_pools_sectors_into_target_scopes(app, spread):
    period = Period(date(2024, 11, 1), date(2025, 12, 31))
    with app.app_context():
        report = reports.build_report(db.session, TallyFilter(period))
        by_sector = {code: fig.counts for code, fig in report.sectors.items()}
        assert set(by_sector) == {"DAT_DAI", "HO_TICH", "XAY_DUNG", "DAU_TU"}
        pooled = sipas.pool([by_sector["DAT_DAI"], by_sector["XAY_DUNG"], by_sector["DAU_TU"]])
        lci = report.scopes["LAND_CONSTRUCTION_INVESTMENT"]
        assert lci.counts == pooled
        assert lci.scores == sipas.score(pooled)
        assert report.scopes["all"].counts == sipas.pool(by_sector.values())
        assert report.scopes["LAND"].counts == by_sector["DAT_DAI"]
        assert report.target_year == 2025
        # Each indicator against its own target: O (q6) 90 and S 85 over all sectors,
        # 85 and 85 for land; a sector of no named scope is judged as all sectors.
        thresholds = {
            scope: {c.metric.value: c.threshold for c in figures.targets}
            for scope, figures in [*report.scopes.items(), *report.sectors.items()]
        }
        assert thresholds["all"] == {"overall": 90.0, "sipas_index": 85.0}
        assert thresholds["LAND"] == {"overall": 85.0, "sipas_index": 85.0}
        assert thresholds["LAND_CONSTRUCTION_INVESTMENT"] == {"overall": 85.0,
                                                              "sipas_index": 85.0}
        assert thresholds["HO_TICH"] == {"overall": 90.0, "sipas_index": 85.0}
        assert thresholds["DAU_TU"] == {"overall": 85.0, "sipas_index": 85.0}
        overall = report.scopes["all"].target(sipas.Indicator.OVERALL)
        assert overall is not None
        assert overall.judgement == sipas.judge_share(report.scopes["all"].scores.overall, 90.0,
                                                      report.min_sample)


def test_database_rebuild_equals_the_incremental_rows_and_the_python_rebuild(app, spread):
    with app.app_context():
        incremental = rollup_rows()
        assert rollups.rebuild_in_database(db.session) == 150
        assert rollup_rows() == incremental
        assert rollups.rebuild_in_python(db.session) == 150
        assert rollup_rows() == incremental
        rollups.rebuild_in_database(db.session)
        for make_period in FILTERS:
            for agencies in (None, frozenset({spread["b"]})):
                flt = TallyFilter(make_period(spread), agency_ids=agencies)
                [counts] = tallies.count_answers(db.session, flt).values()
                assert counts == oracle.naive_recount(db.session, flt), flt


def test_one_read_gives_what_the_two_reads_give(app, spread):
    with app.app_context():
        for response in db.session.scalars(select(Response).order_by(Response.id).limit(20)):
            rollups.change_status(db.session, response, "flagged", "manual")
        db.session.flush()
        for make_period in FILTERS:
            for group_by in ("none", "sector", "agency", "month", "code"):
                for statuses in (("counted",), ("flagged",), ("counted", "flagged"), None):
                    flt = TallyFilter(make_period(spread), statuses=statuses)
                    counted, by_status = tallies.count_answers_and_statuses(
                        db.session, flt, group_by
                    )
                    assert counted == tallies.count_answers(db.session, flt, group_by), flt
                    assert by_status == tallies.count_by_status(db.session, flt, group_by)
