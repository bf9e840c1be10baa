"""The migrations build exactly the schema the models describe, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from survey_app.extensions import db
from survey_app.models import Base
from survey_app.services.migrate import alembic_config, upgrade


def test_migrated_schema_matches_the_models(app):
    with db.engine_for(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_database_is_at_the_single_head_revision(app, database_url):
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"
    with db.engine_for(app).connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == heads[0]


def test_upgrade_downgrade_upgrade_on_an_empty_database(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'cycle.sqlite3'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(url)
    assert {"agencies", "sectors", "counters", "survey_codes", "responses"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_counts_by_status_move_onto_the_counted_rows_of_existing_rollups(tmp_path):
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'status.sqlite3'}"
    upgrade(url, "0005_rollup_keys")
    engine = create_engine(url)
    answers = ["responses", *(f"q{q}_{v}" for q in range(1, 7) for v in range(1, 6)),
               "q7_no", "q7_yes", "q7_decline", "wish_respondents",
               *(f"wish_{w}" for w in ("facilities", "attitude", "guidance", "speed",
                                       "transparency", "online", "feedback"))]
    day = "'2026-03-02', '2026-03-01'"
    with engine.begin() as connection:
        for code, status, n in ((1, "counted", 5), (1, "duplicate", 2), (1, "flagged", 1),
                                (2, "flagged", 3)):
            connection.execute(text(
                f"INSERT INTO tally_days (day, month, survey_code_id, status, agency_id, "
                f"counter_id, sector_id, {', '.join(answers)}) VALUES ({day}, {code}, "
                f"'{status}', 1, 1, 1, {n}, {', '.join('0' for _ in answers[1:])})"
            ))
    upgrade(url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT survey_code_id, responses, responses_duplicate, responses_flagged "
            "FROM tally_days WHERE status = 'counted' ORDER BY survey_code_id"
        )).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, 5, 2, 1), (2, 0, 0, 3)]


def test_targets_and_pair_counts_are_carried_over_from_0007(tmp_path):
    """Yearly thresholds become O's targets, groups become scopes, pairs are counted."""
    from flask import Flask
    from sqlalchemy import text

    from survey_app import create_app
    from survey_app.models import PAIR_COUNT_COLUMNS, Target, TargetScope, tally_days
    from survey_app.services.rollups import rebuild

    url = f"sqlite:///{tmp_path / 'targets.sqlite3'}"
    upgrade(url, "0007_tally_years")
    engine = create_engine(url)
    answers = [  # (q1, q2, q3, q4, q5, status)
        (5, 4, 5, None, 3, "counted"), (2, 4, 5, 4, None, "counted"),
        (4, 4, 1, 5, 5, "counted"), (3, 3, 3, None, None, "flagged"),
    ]
    with engine.begin() as c:
        c.execute(text("INSERT INTO agencies (id, code, name, level, created_at) "
                       "VALUES (1, 'A', 'A', 'commune', '2025-01-01 00:00:00')"))
        c.execute(text("INSERT INTO sectors (id, code, label_vi, label_en, target_group, "
                       "position) VALUES (1, 'DAT_DAI', 'Đất đai', 'Land', 'LAND', 1), "
                       "(2, 'HO_TICH', 'Hộ tịch', 'Civil status', NULL, 2)"))
        c.execute(text("INSERT INTO counters (id, agency_id, name, created_at) "
                       "VALUES (1, 1, 'Quầy 1', '2025-01-01 00:00:00')"))
        c.execute(text("INSERT INTO survey_codes (id, code, agency_id, counter_id, sector_id, "
                       "created_at) VALUES (1, 'ABCD2345', 1, 1, 1, '2025-01-01 00:00:00')"))
        c.execute(text("INSERT INTO target_years VALUES (2025, 92.5, 86, 85, 85, 85.5, 40)"))
        for n, (*ratings, status) in enumerate(answers, start=1):
            c.execute(text(
                "INSERT INTO responses (id, survey_code_id, agency_id, counter_id, sector_id, "
                "questionnaire_version, q1, q2, q3, q4, q5, q6, language, status, "
                "status_reason, created_at) VALUES (:id, 1, 1, 1, 1, 'sipas-2025-short', "
                ":q1, :q2, :q3, :q4, :q5, 4, 'vi', :status, :reason, '2025-03-02 03:00:00')"
            ), {"id": n, **dict(zip(("q1", "q2", "q3", "q4", "q5"), ratings, strict=True)),
                "status": status, "reason": None if status == "counted" else "manual"})
        # The rollup rows of 0007 (their counts are not what this test reads).
        for level, table, start in (("day", "tally_days", "'2025-03-02', '2025-03-01'"),
                                    ("month", "tally_months", "'2025-03-01'"),
                                    ("year", "tally_years", "'2025-01-01'")):
            columns = "day, month" if level == "day" else level
            for status, n in (("counted", 3), ("flagged", 1)):
                c.execute(text(
                    f"INSERT INTO {table} ({columns}, survey_code_id, status, agency_id, "
                    f"counter_id, sector_id, responses, " + ", ".join(
                        f"q{q}_{v}" for q in range(1, 7) for v in range(1, 6)) +
                    ", q7_no, q7_yes, q7_decline, wish_respondents, wish_facilities, "
                    "wish_attitude, wish_guidance, wish_speed, wish_transparency, wish_online, "
                    f"wish_feedback, responses_duplicate, responses_flagged) VALUES ({start}, "
                    f"1, '{status}', 1, 1, 1, {n}, " + ", ".join(["0"] * 30) +
                    ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"
                ))
    engine.dispose()
    upgrade(url)

    app: Flask = create_app({"DATABASE_URL": url})
    with app.app_context():
        migrated = {
            tuple(row[:2]): tuple(row[2:]) for row in db.session.execute(
                select_pairs(tally_days, PAIR_COUNT_COLUMNS)
            )
        }
        rebuild(db.session)
        rebuilt = {
            tuple(row[:2]): tuple(row[2:]) for row in db.session.execute(
                select_pairs(tally_days, PAIR_COUNT_COLUMNS)
            )
        }
        targets = {
            (t.year, t.indicator, t.scope.code): t.threshold
            for t in db.session.scalars(select_all(Target))
        }
        scopes = {s.code: sorted(x.code for x in s.sectors)
                  for s in db.session.scalars(select_all(TargetScope))}
        db.session.rollback()
    assert migrated == rebuilt
    # q1 and q2 both valid on the three counted responses; satisfied on q1 twice, on both twice.
    counted = dict(zip(PAIR_COUNT_COLUMNS, migrated[("2025-03-02", "counted")], strict=True))
    assert (counted["pair_q1_q2_valid"], counted["pair_q1_q2_first"],
            counted["pair_q1_q2_second"], counted["pair_q1_q2_both"]) == (3, 2, 3, 2)
    assert counted["pair_q4_q5_valid"] == 1
    assert targets[(2025, "overall", "all")] == 92.5
    assert targets[(2025, "overall", "LAND")] == 86.0
    assert targets[(2025, "overall", "LAND_CONSTRUCTION_INVESTMENT")] == 85.5
    assert targets[(2025, "sipas_index", "all")] == 85.0
    assert targets[(2025, "sipas_index", "LAND")] == 85.0
    assert scopes["LAND"] == ["DAT_DAI"] and scopes["all"] == []
    assert scopes["LAND_CONSTRUCTION_INVESTMENT"] == ["DAT_DAI"]


def select_pairs(table, columns):
    from sqlalchemy import String, cast, select

    return select(cast(table.c.day, String), table.c.status,
                  *(table.c[c] for c in columns)).order_by(table.c.day, table.c.status)


def select_all(model):
    from sqlalchemy import select

    return select(model)


def test_a_downgrade_from_0016_files_kiosk_answers_under_withdrawn_counter_codes(tmp_path):
    from alembic import command
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'kiosks.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO agencies (id, code, name, level, created_at) "
            "VALUES (1, 'XA', 'Xã', 'commune', '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO counters (id, agency_id, name, created_at) "
            "VALUES (1, 1, 'Quầy 1', '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO sectors (id, code, label_vi, label_en, position) "
            "VALUES (1, 'HO_TICH', 'Hộ tịch', 'Civil status', 1)"))
        sector = 1
        for code_id, code, kind in ((1, 'AAAA2222', 'counter'), (2, 'BBBB3333', 'kiosk')):
            connection.execute(text(
                "INSERT INTO survey_codes (id, code, agency_id, counter_id, sector_id, "
                f"created_at, kind) VALUES ({code_id}, '{code}', 1, 1, {sector}, "
                f"'2026-01-01 00:00:00', '{kind}')"))
    command.downgrade(alembic_config(url), "0015_masked_comments")
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT code, kind, revoked_at IS NOT NULL FROM survey_codes ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("AAAA2222", "counter", False), ("BBBB3333", "counter", True)]
