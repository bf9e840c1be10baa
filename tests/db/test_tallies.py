"""The rollups stay exact: every tally equals a naive recount of the responses.

(The tests over one spread of 150 responses are in tests/db/test_tallies_spread.py.)
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from survey_app import sipas
from survey_app.extensions import db
from survey_app.models import Response, tally_days
from survey_app.questionnaire import SIPAS_2025_SHORT, SIPAS_2026_SHORT
from survey_app.services import rollups, tallies
from survey_app.services.periods import Period
from survey_app.services.tallies import TallyFilter
from tests.factories import LOCAL_ZONE as VN
from tests.factories import any_answers, create_code, record, rollup_rows
from tests.factories import local_time as local


def test_period_edges_follow_the_local_day(app):
    """23:30 on the last day in Hà Nội counts; 00:30 the next day does not."""
    with app.app_context():
        code = create_code()
        rng = random.Random(1)
        record(code, local(2025, 3, 31, 23, 30), "inside", answers=any_answers(rng))
        record(code, local(2025, 4, 1, 0, 30), "outside", answers=any_answers(rng))
        record(code, local(2025, 1, 1, 0, 5), "first minute", answers=any_answers(rng))
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


def test_database_rebuild_keeps_responses_at_local_midnight_on_their_local_day(app):
    with app.app_context():
        code = create_code()
        rng = random.Random(3)
        for n, when in enumerate([local(2025, 12, 31, 23, 59), local(2026, 1, 1, 0, 0),
                                  local(2026, 1, 31, 23, 59), local(2026, 2, 1, 0, 1)]):
            record(code, when, f"edge{n}", answers=any_answers(rng))
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
            record(code, when.astimezone(UTC), f"dst{n}", answers=any_answers(rng))
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


def test_responses_of_both_wordings_are_tallied_together_and_score_alike(app):
    """A 2025 response and a 2026 one with the same answers count the same way, in one tally."""
    rng = random.Random(20)
    drawn = [any_answers(rng) for _ in range(12)]
    with app.app_context():
        code = create_code()
        for n, answers in enumerate(drawn):
            record(code, local(2026, 11, 2, 9, n), f"old{n}", answers=answers,
                   questionnaire=SIPAS_2025_SHORT)
            record(code, local(2026, 12, 2, 9, n), f"new{n}", answers=answers,
                   questionnaire=SIPAS_2026_SHORT)
        db.session.commit()
        versions = db.session.scalars(select(Response.questionnaire_version)).all()
        assert sorted(set(versions)) == ["sipas-2025-short", "sipas-2026-short"]

        def counts(start, end):
            return tallies.count_answers(db.session, TallyFilter(Period(start, end)))[None]

        old = counts(date(2026, 11, 1), date(2026, 11, 30))
        new = counts(date(2026, 12, 1), date(2026, 12, 31))
        both = tallies.count_answers(
            db.session, TallyFilter(Period(date(2026, 11, 1), date(2026, 12, 31))))[None]
    assert old == new  # «Có» shown first in 2026, yet "yes" is counted as "yes"
    assert both == sipas.pool([old, new])
    assert both.responses == 24
    assert both.integrity.get("yes", 0) == 2 * sum(a["q7"] == "yes" for a in drawn)
    assert both.wishes.get("speed", 0) == 2 * sum("speed" in a["q8"] for a in drawn)
    assert sipas.score(old) == sipas.score(new)


def test_a_form_sent_twice_and_a_repeated_dossier_are_counted_as_a_rebuild_counts_them(app):
    """Each answer counts itself as it is stored (on PostgreSQL in the insert's statement):
    a form sent again counts nothing more, a repeated dossier counts as a duplicate."""
    with app.app_context():
        code = create_code()
        rng = random.Random(5)
        first = record(code, local(2026, 3, 2), "same-form", answers=any_answers(rng),
                       dossier="HS-000123")
        again = record(code, local(2026, 3, 2), "same-form", answers=any_answers(rng))
        repeated = record(code, local(2026, 3, 2, 10), "other-form", answers=any_answers(rng),
                          dossier="HS-000123")
        record(code, local(2026, 3, 3), "third-form", answers=any_answers(rng))
        db.session.commit()
        assert again.id == first.id
        assert (first.status, repeated.status) == ("counted", "duplicate")
        incremental = rollup_rows()
        assert rollups.rebuild(db.session) == 3  # the three responses stored
        assert rollup_rows() == incremental
