"""Retention: `flask purge` clears what could point to a person; every figure stays the same."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from survey_app.extensions import db
from survey_app.models import (
    AuditEvent,
    DossierDigest,
    LoginFailure,
    MintedReceipt,
    Response,
    SurveyCode,
    tally_days,
    tally_months,
    tally_years,
    utcnow,
)
from survey_app.services import receipts, rollups, tallies
from survey_app.services.periods import Period
from survey_app.services.purge import PERSONAL_FIELDS, personal_columns, purge
from survey_app.services.rates import receipt_counts
from survey_app.services.recording import DUPLICATE_DOSSIER, dossier_hash
from survey_app.services.reports import build_report
from survey_app.services.tallies import TallyFilter
from tests import oracle
from tests.factories import create_agency, create_code, record

# The anti-abuse hashes, where the model has them; the purge clears them like the others.
EXTRA_HASHES = [c.name for c in personal_columns() if c.name not in ("comment", "dossier_hash")]

OLD, BOUNDARY_OLD, BOUNDARY_KEPT, RECENT = 800, 731, 729, 10  # days ago


def store(code: SurveyCode, days_ago: int, nonce: str, *, q6: str = "5",
          comment: str | None = None, dossier: str | None = None) -> Response:
    answers = {"q1": "5", "q2": "4", "q3": "4", "q4": "na", "q5": "3", "q6": q6, "q7": "no",
               "q8": ["speed"], "comment": comment, "dossier": dossier}
    response = record(code, utcnow() - timedelta(days=days_ago), nonce, answers=answers)
    for name in EXTRA_HASHES:
        setattr(response, name, f"{name}-{nonce}".ljust(64, "0"))
    db.session.flush()
    return response


@pytest.fixture
def aged(app: Flask) -> dict[str, Any]:
    """Responses from 830 days ago to today, with comments, dossiers and every status."""
    with app.app_context():
        province = create_agency("T", "Tỉnh")
        commune = create_agency("A", "Xã A", "commune", province)
        land, civil = create_code(commune, "Quầy 1", "DAT_DAI"), create_code(province, "Quầy 2")
        ids: dict[str, list[int]] = {"old": [], "recent": []}
        for n, (code, days) in enumerate(
            [(land, OLD), (civil, OLD), (land, BOUNDARY_OLD), (civil, OLD + 30)]
        ):
            ids["old"].append(store(code, days, f"old{n}", q6=str(2 + n),
                                    comment=f"Ý kiến cũ {n}", dossier=f"HS-OLD-{n}").id)
        # The same dossier again: stored as a duplicate, not counted.
        ids["old"].append(store(land, OLD - 1, "old-dup", comment="Lần hai",
                                dossier="HS-OLD-0").id)
        flagged = store(civil, OLD, "old-flagged", q6="1", comment="Phiếu bị đánh dấu")
        rollups.change_status(db.session, flagged, "flagged", "abuse")
        ids["old"].append(flagged.id)
        for n, days in enumerate([BOUNDARY_KEPT, RECENT, 0]):
            ids["recent"].append(store(land, days, f"new{n}", comment=f"Ý kiến mới {n}",
                                       dossier=f"HS-NEW-{n}").id)
        db.session.commit()
        return ids


def personal_values(app: Flask, ids: list[int]) -> list[tuple[Any, ...]]:
    with app.app_context():
        columns = [getattr(Response, c.name) for c in personal_columns()]
        return list(db.session.execute(
            select(*columns).where(Response.id.in_(ids)).order_by(Response.id)))


def answers_and_statuses(app: Flask) -> list[tuple[Any, ...]]:
    """Return what the purge must leave alone: every answer, status, time and language."""
    with app.app_context():
        return [
            (r.id, r.survey_code_id, *(getattr(r, f"q{n}") for n in range(1, 8)),
             r.wish_codes, r.status, r.status_reason, r.created_at, r.language)
            for r in db.session.scalars(select(Response).order_by(Response.id))
        ]


def figures(app: Flask) -> dict[str, Any]:
    """Everything a manager could read about the whole period, and the rollup rows."""
    with app.app_context():
        today = date.today()
        everything = Period(today - timedelta(days=1000), today + timedelta(days=1))
        counted = TallyFilter(everything)
        report = build_report(db.session, counted)
        rows = {
            table.name: sorted(
                (tuple(row) for row in db.session.execute(select(table))), key=repr
            )
            for table in (tally_days, tally_months, tally_years)
        }
        return {
            "scopes": report.scopes,
            "sectors": report.sectors,
            "by_month": tallies.count_answers(db.session, counted, "month"),
            "by_status": tallies.count_by_status(db.session, counted, "agency"),
            "recount": oracle.naive_recount(db.session, TallyFilter(everything, statuses=None)),
            "rollups": rows,
        }


def test_purge_clears_personal_details_of_old_responses_and_keeps_recent_ones(
    app, runner, aged
):
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "older than 730 days" in result.output
    assert "comment: 6 cleared" in result.output
    assert "dossier_hash: 5 cleared" in result.output  # the flagged one had no dossier
    for name in EXTRA_HASHES:
        assert f"{name}: 6 cleared" in result.output

    # The 729-day-old response is past the dossiers' 120 days: its dossier hash goes alone.
    assert "older than 120 days" in result.output
    assert "dossier_hash: 1 cleared" in result.output

    assert all(value is None for row in personal_values(app, aged["old"]) for value in row)
    dossier = PERSONAL_FIELDS.index("dossier_hash")
    boundary, *newest = personal_values(app, aged["recent"])
    assert boundary[dossier] is None
    assert all(value is not None for n, value in enumerate(boundary) if n != dossier)
    assert all(value is not None for row in newest for value in row)


def test_answers_statuses_and_every_tally_stay_the_same(app, runner, aged):
    before_rows = answers_and_statuses(app)
    before = figures(app)
    assert before["scopes"]["all"].raw_responses == 9
    assert before["scopes"]["all"].not_counted == 2  # the duplicate and the flagged one

    assert runner.invoke(args=["purge"]).exit_code == 0

    assert answers_and_statuses(app) == before_rows
    assert figures(app) == before
    with app.app_context():  # and a recount from scratch still agrees with the rollups
        rollups.rebuild(db.session)
        db.session.commit()
    assert figures(app) == before


def test_old_failed_sign_ins_are_deleted_and_recent_ones_kept(app, runner):
    with app.app_context():
        for days in (OLD, BOUNDARY_OLD, BOUNDARY_KEPT, 0):
            db.session.add(LoginFailure(at=utcnow() - timedelta(days=days),
                                        account_hash="a" * 64, address_hash="b" * 64))
        db.session.commit()

    result = runner.invoke(args=["purge"])
    assert "login failures deleted: 2" in result.output
    with app.app_context():
        kept = db.session.scalars(select(LoginFailure.at)).all()
    assert len(kept) == 2
    assert all(at > utcnow() - timedelta(days=730) for at in kept)


def test_the_purge_is_audited_once_and_the_audit_log_keeps_everything(app, runner, aged):
    with app.app_context():
        old_event = AuditEvent(action="login.failure", at=utcnow() - timedelta(days=OLD),
                               address_hash="c" * 64, details={"email": "x@tinh.example"})
        db.session.add(old_event)
        db.session.commit()
        events_before = db.session.scalar(select(func.count(AuditEvent.id)))

    assert runner.invoke(args=["purge"]).exit_code == 0

    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == events_before + 1
        [purged] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "data.purged"))
        assert purged.details["retention_days"] == 730
        assert purged.details["cleared"]["comment"] == 6
        assert purged.details["cleared"]["dossier_hash"] == 5
        assert purged.details["dossier_retention_days"] == 120
        assert purged.details["dossier_cleared"]["dossier_hash"] == 1
        assert purged.details["login_failures_deleted"] == 0
        assert purged.actor_id is None
        # Old entries of the audit log are kept as they were, hashed address included.
        kept = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login.failure"))
        assert kept is not None and kept.address_hash == "c" * 64


def test_dry_run_says_what_would_be_cleared_and_changes_nothing(app, runner, aged):
    before = personal_values(app, aged["old"])
    result = runner.invoke(args=["purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "comment: 6 would be cleared" in result.output
    assert "nothing was changed" in result.output
    assert personal_values(app, aged["old"]) == before
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "data.purged")
        ) is None


def test_days_option_and_retention_setting_choose_the_cutoff(app, runner, aged):
    result = runner.invoke(args=["purge", "--days", "5"])
    assert "older than 5 days" in result.output
    assert "comment: 8 cleared" in result.output  # the two newest (10 and 0 days) stay
    app.config["RETENTION_DAYS"] = 1
    assert "older than 1 days" in runner.invoke(args=["purge"]).output
    remaining = personal_values(app, aged["recent"])
    assert [row[0] for row in remaining].count(None) == 2


@pytest.mark.parametrize("days", ["0", "-3", "a year"])
def test_a_retention_that_is_not_a_whole_number_of_days_is_refused(app, runner, aged, days):
    result = runner.invoke(args=["purge", "--days", days])
    assert result.exit_code != 0
    assert "Invalid value for '--days'" in result.output
    assert all(comment is not None for comment, *_ in personal_values(app, aged["old"]))


def test_updates_go_by_batches_of_ids_and_reach_every_old_response(app, aged):
    with app.app_context():
        connection = db.session.connection()
        updated: list[int] = []

        def count_updates(conn, cursor, statement, parameters, context, executemany) -> None:
            if statement.lstrip().upper().startswith("UPDATE RESPONSES"):
                updated.append(cursor.rowcount)

        event.listen(connection, "after_cursor_execute", count_updates)
        try:
            result = purge(db.session, 730, batch_size=2)
        finally:
            event.remove(connection, "after_cursor_execute", count_updates)
        assert result.cleared["comment"] == 6
        assert len(updated) >= 3 and max(updated) <= 2 and sum(updated) == 6
        db.session.commit()
    assert all(value is None for row in personal_values(app, aged["old"]) for value in row)


def test_a_dossier_code_counts_again_once_its_old_hash_is_purged(app, runner, aged):
    with app.app_context():
        code = db.session.scalar(select(SurveyCode).order_by(SurveyCode.id))
        assert db.session.scalar(
            select(func.count(Response.id)).where(Response.dossier_hash == dossier_hash("HS-OLD-0"))
        ) == 2
    assert runner.invoke(args=["purge"]).exit_code == 0
    with app.app_context():
        code = db.session.get(SurveyCode, code.id)
        again = store(code, 0, "again", dossier="HS-OLD-0")
        recent_again = store(code, 0, "recent-again", dossier="HS-NEW-1")
        db.session.commit()
        # The old hash is gone, so the same dossier is counted again; a recent one is not.
        assert again.status == "counted"
        assert recent_again.status == "duplicate"


def test_every_personal_field_of_the_model_is_purged():
    # A personal column added to responses must be added to PERSONAL_FIELDS too.
    names = {c.name for c in personal_columns()}
    assert {"comment", "dossier_hash"} <= names
    assert names == {name for name in PERSONAL_FIELDS if name in Response.__table__.c}


def test_purge_refuses_a_retention_under_one_day(app):
    with app.app_context(), pytest.raises(ValueError, match="at least one day"):
        purge(db.session, 0)


# Dossier hashes and receipt digests: kept only as long as de-duplication needs them --------


@pytest.fixture
def dossiers(app: Flask) -> dict[str, Any]:
    """Walk-in answers with dossier codes 121 and 119 days old, at an agency with a receipt
    key, and a receipt link minted for the older dossier."""
    with app.app_context():
        agency = create_agency("R", "Xã R", "commune")
        code = create_code(agency, "Quầy 1", "DAT_DAI")
        key = receipts.create_key(db.session, agency)
        issued = date.today() - timedelta(days=125)
        receipts.mint_links(db.session, agency, code.sector, ["HS-121"], issued)
        ids = {
            "old": store(code, 121, "d121", comment="Hồ sơ cũ", dossier="HS-121").id,
            "kept": store(code, 119, "d119", comment="Hồ sơ mới", dossier="HS-119").id,
        }
        db.session.commit()
        return {"code_id": code.id, "agency_id": agency.id, "key_id": key.id, **ids}


def dossier_state(app: Flask, response_id: int) -> tuple[bool, int, str | None, str]:
    """Whether the response keeps its dossier hash, how many digests, its comment, status."""
    with app.app_context():
        response = db.session.get(Response, response_id)
        assert response is not None
        digests = db.session.scalar(
            select(func.count()).where(DossierDigest.response_id == response_id))
        return response.dossier_hash is not None, int(digests or 0), response.comment, \
            response.status


def receipts_answered(app: Flask, agency_id: int) -> tuple[int, int] | None:
    with app.app_context():
        today = date.today()
        counts = receipt_counts(db.session, TallyFilter(
            Period(today - timedelta(days=400), today), frozenset({agency_id})))
        return None if counts is None else (counts.minted, counts.answered)


def test_a_dossier_hash_121_days_old_is_cleared_and_one_119_days_old_kept(
    app, runner, dossiers
):
    assert dossier_state(app, dossiers["old"]) == (True, 1, "Hồ sơ cũ", "counted")
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "older than 120 days" in result.output
    assert "dossier_hash: 1 cleared" in result.output
    assert "dossier_digests: 1 cleared" in result.output
    # Only the dossier goes: the comment stays until RETENTION_DAYS.
    assert dossier_state(app, dossiers["old"]) == (False, 0, "Hồ sơ cũ", "counted")
    assert dossier_state(app, dossiers["kept"]) == (True, 1, "Hồ sơ mới", "counted")


def test_the_dossier_retention_is_a_setting_and_an_option(app, runner, dossiers):
    app.config["DOSSIER_HASH_RETENTION_DAYS"] = 200
    assert "dossier_hash: 0 cleared" in runner.invoke(args=["purge"]).output
    assert dossier_state(app, dossiers["old"])[0] is True
    result = runner.invoke(args=["purge", "--dossier-days", "100"])
    assert "older than 100 days" in result.output
    assert "dossier_hash: 2 cleared" in result.output
    assert "warning" not in result.output
    # Shorter than a receipt link stays open: done, with a warning.
    shorter = runner.invoke(args=["purge", "--dossier-days", "60"])
    assert shorter.exit_code == 0
    assert "warning: dossier hashes kept 60 days, no longer than a receipt link stays open" \
        in shorter.output


def test_a_dossier_within_the_window_is_still_a_duplicate_after_the_purge(
    app, runner, dossiers
):
    assert runner.invoke(args=["purge"]).exit_code == 0
    with app.app_context():
        code = db.session.get(SurveyCode, dossiers["code_id"])
        assert code is not None
        again = store(code, 0, "again-119", dossier="HS-119")
        # Past the window the dossier is no longer known: the same code counts once more.
        past = store(code, 0, "again-121", dossier="HS-121")
        db.session.commit()
        assert (again.status, again.status_reason) == ("duplicate", DUPLICATE_DOSSIER)
        assert past.status == "counted"


def test_duplicates_already_decided_and_every_tally_stay_the_same(app, runner, dossiers):
    with app.app_context():
        code = db.session.get(SurveyCode, dossiers["code_id"])
        assert code is not None
        duplicate = store(code, 121, "d121-again", dossier="HS-121")
        db.session.commit()
        assert duplicate.status == "duplicate"
        duplicate_id = duplicate.id
    before_rows, before = answers_and_statuses(app), figures(app)
    assert runner.invoke(args=["purge"]).exit_code == 0
    assert dossier_state(app, duplicate_id)[::3] == (False, "duplicate")
    assert answers_and_statuses(app) == before_rows
    assert figures(app) == before


def test_a_receipt_answered_before_its_digests_were_purged_stays_answered(
    app, runner, dossiers
):
    assert receipts_answered(app, dossiers["agency_id"]) == (1, 1)
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert "receipt links marked answered: 1" in dry.output
    result = runner.invoke(args=["purge"])
    assert "receipt links marked answered: 1" in result.output
    assert dossier_state(app, dossiers["old"])[1] == 0  # the digest that showed it is gone
    assert receipts_answered(app, dossiers["agency_id"]) == (1, 1)
    with app.app_context():
        assert db.session.scalar(select(MintedReceipt.is_answered)) is True
