"""The rollups stay exact: every tally equals a naive recount of the responses."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from survey_app import sipas
from survey_app.extensions import db
from survey_app.models import Response, tally_days, tally_months, tally_years
from survey_app.services import reports, rollups, tallies
from survey_app.services.periods import Period
from survey_app.services.tallies import TallyFilter
from tests import oracle
from tests.factories import LOCAL_ZONE as VN
from tests.factories import create_agency, create_code, record
from tests.factories import local_time as local


def answers(rng: random.Random) -> dict:
    pick = lambda: rng.choice(["1", "2", "3", "4", "5", "5", "4"])  # noqa: E731
    return {
        "q1": pick(), "q2": pick(), "q3": pick(),
        "q4": rng.choice(["na", pick()]), "q5": rng.choice(["na", "na", pick()]), "q6": pick(),
        "q7": rng.choice([None, "no", "no", "yes", "decline"]),
        "q8": rng.sample(["speed", "online", "attitude", "facilities"], rng.choice([0, 1, 2])),
        "comment": None, "dossier": None,
    }


@pytest.fixture
def spread(app):
    """Two communes, four codes, 150 responses over fourteen months, committed."""
    rng = random.Random(7)
    with app.app_context():
        province = create_agency("T", "Tỉnh")
        a = create_agency("A", "Xã A", "commune", province)
        b = create_agency("B", "Xã B", "commune", province)
        codes = [create_code(a, "Quầy 1", "DAT_DAI"), create_code(a, "Quầy 2", "HO_TICH"),
                 create_code(b, "Quầy 1", "XAY_DUNG"), create_code(b, "Quầy 1", "DAU_TU")]
        start = local(2024, 11, 1, 0, 1)
        for n in range(150):
            when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 425))
            record(rng.choice(codes), when, f"n{n}", answers=answers(rng))
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
        def snapshot():
            return {
                table.name: sorted(
                    tuple(row) for row in db.session.execute(select(table)).all()
                )
                for table in (tally_days, tally_months, tally_years)
            }

        incremental = snapshot()
        assert rollups.rebuild(db.session) == 150
        assert snapshot() == incremental


def test_grouping_by_month_and_sector_adds_up_to_the_whole(app, spread):
    period = Period(date(2024, 11, 15), date(2025, 12, 31))
    with app.app_context():
        whole = tallies.count_answers(db.session, TallyFilter(period))[None]
        for grouping in ("month", "sector", "agency", "counter", "code"):
            parts = tallies.count_answers(db.session, TallyFilter(period), grouping)
            assert sipas.pool(parts.values()) == whole, grouping
        months = tallies.count_answers(db.session, TallyFilter(period), "month")
        assert min(months) == date(2024, 11, 1) and max(months) == date(2025, 12, 1)


def test_period_edges_follow_the_local_day(app):
    """23:30 on the last day in Hà Nội counts; 00:30 the next day does not."""
    with app.app_context():
        code = create_code()
        rng = random.Random(1)
        record(code, local(2025, 3, 31, 23, 30), "inside", answers=answers(rng))
        record(code, local(2025, 4, 1, 0, 30), "outside", answers=answers(rng))
        record(code, local(2025, 1, 1, 0, 5), "first minute", answers=answers(rng))
        db.session.commit()
        q1 = tallies.count_answers(db.session, TallyFilter(Period(date(2025, 1, 1),
                                                                  date(2025, 3, 31))))
        assert q1[None].responses == 2
        march_31 = tallies.count_answers(db.session, TallyFilter(Period(date(2025, 3, 31),
                                                                        date(2025, 3, 31))))
        assert march_31[None].responses == 1


def test_empty_scope_gives_zero_counts_not_an_error(app):
    with app.app_context():
        [counts] = tallies.count_answers(
            db.session, TallyFilter(Period(date(2020, 1, 1), date(2020, 1, 31)))).values()
        assert counts == sipas.AnswerCounts()


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


def rollup_rows():
    """Every row of both rollup tables, sorted, to compare two ways of building them."""
    return {
        table.name: sorted(tuple(row) for row in db.session.execute(select(table)).all())
        for table in (tally_days, tally_months, tally_years)
    }


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


def test_database_rebuild_keeps_responses_at_local_midnight_on_their_local_day(app):
    with app.app_context():
        code = create_code()
        rng = random.Random(3)
        for n, when in enumerate([local(2025, 12, 31, 23, 59), local(2026, 1, 1, 0, 0),
                                  local(2026, 1, 31, 23, 59), local(2026, 2, 1, 0, 1)]):
            record(code, when, f"edge{n}", answers=answers(rng))
        db.session.commit()
        incremental = rollup_rows()
        assert rollups.rebuild_in_database(db.session) == 4
        assert rollup_rows() == incremental
        days = sorted(row.day for row in db.session.execute(select(tally_days)))
        assert days == [date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 31),
                        date(2026, 2, 1)]


def test_rebuild_under_a_zone_with_daylight_saving_time(app):
    """PostgreSQL applies the zone's rules; SQLite cannot, so the rebuild runs in Python."""
    paris = ZoneInfo("Europe/Paris")
    with app.app_context():
        app.config["TIMEZONE"] = paris.key
        code = create_code()
        rng = random.Random(5)
        moments = [datetime(2026, 3, 28, 23, 30, tzinfo=paris), datetime(2026, 3, 29, 0, 30,
                   tzinfo=paris), datetime(2026, 7, 1, 0, 15, tzinfo=paris),
                   datetime(2026, 10, 25, 23, 45, tzinfo=paris)]
        for n, when in enumerate(moments):
            record(code, when.astimezone(UTC), f"dst{n}", answers=answers(rng))
        db.session.commit()
        incremental = rollup_rows()
        in_database = rollups.rebuild_in_database(db.session)
        if db.session.get_bind().dialect.name == "sqlite":
            assert in_database is None
            assert rollup_rows() == incremental  # left untouched
        else:
            assert in_database == 4
            assert rollup_rows() == incremental
        assert rollups.rebuild(db.session) == 4
        assert rollup_rows() == incremental


def test_fixed_offset_over_a_span():
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, 17, tzinfo=UTC)
    assert rollups.fixed_offset(VN, start, end) == timedelta(hours=7)
    assert rollups.fixed_offset(ZoneInfo("Europe/Paris"), start, end) is None
    summer = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)
    assert rollups.fixed_offset(ZoneInfo("Europe/Paris"), *summer) == timedelta(hours=2)
    assert rollups.fixed_offset(VN, None, None) == timedelta(hours=7)


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
