"""The commands that set up a deployment and the demo."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import exists, func, select

from survey_app.extensions import db
from survey_app.models import (
    Agency,
    DaySeal,
    DossierDigest,
    MintedReceipt,
    Response,
    Sector,
    SurveyCode,
    TargetScope,
    utcnow,
)
from survey_app.services.periods import Period, local_date
from survey_app.services.reports import build_report
from survey_app.services.tallies import TallyFilter
from tests.factories import count_rows

URL = re.compile(r"^http://survey\.test/s/[23456789A-HJKMNP-Z]{8}$")


def test_seed_loads_the_sectors_of_the_spec_once(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "0 added" in result.output  # the suite's database is already seeded
    with app.app_context():
        codes = set(db.session.scalars(select(Sector.code)))
        members = {scope.code: {s.code for s in scope.sectors}
                   for scope in db.session.scalars(select(TargetScope))}
        covering_all = set(db.session.scalars(
            select(TargetScope.code).where(TargetScope.covers_all_sectors)))
    assert len(codes) == 24
    assert covering_all == {"all"} and members["all"] == set()
    assert members["LAND"] == {"DAT_DAI"}
    assert members["CONSTRUCTION"] == {"XAY_DUNG", "QH_KT"}
    assert members["INVESTMENT"] == {"DAU_TU"}
    assert members["LAND_CONSTRUCTION_INVESTMENT"] == {"DAT_DAI", "XAY_DUNG", "QH_KT", "DAU_TU"}
    assert not any("HO_TICH" in sectors for sectors in members.values())


def test_seed_keeps_labels_edited_by_the_deployment(app, runner):
    with app.app_context():
        sector = db.session.scalar(select(Sector).where(Sector.code == "KHAC"))
        sector.label_vi = "Lĩnh vực khác"
        db.session.commit()
    runner.invoke(args=["seed"])
    with app.app_context():
        assert db.session.scalar(select(Sector.label_vi).where(Sector.code == "KHAC")) == (
            "Lĩnh vực khác"
        )


def test_demo_creates_a_province_with_responses_and_prints_each_survey_url(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output

    urls = [line for line in result.output.splitlines() if line.startswith("http")]
    assert urls and all(URL.match(u) for u in urls), urls
    # Every counter's code is printed; the codes that file receipt answers never are.
    assert len(urls) == count_rows(app, select(SurveyCode).where(SurveyCode.kind == "counter"))
    assert count_rows(app, select(SurveyCode).where(SurveyCode.kind == "receipt")) == 3
    with app.app_context():
        levels = db.session.scalars(select(Agency.level)).all()
        sectors = set(db.session.scalars(
            select(Sector.code).join(SurveyCode, SurveyCode.sector_id == Sector.id)))
        months = {r.created_at.strftime("%Y-%m")
                  for r in db.session.scalars(select(Response))}
    assert levels.count("province") == 1 and levels.count("commune") >= 2
    assert {"DAT_DAI", "XAY_DUNG", "DAU_TU"} <= sectors
    assert count_rows(app, Response) >= 2000
    assert len(months) >= 12


def test_demo_shows_receipt_answers_and_response_rates_on_first_run(app, runner):
    """Every new figure has something to show: answers by receipt, dossiers, rates."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        today = local_date(utcnow())
        report = build_report(db.session, TallyFilter(Period(date(today.year, 1, 1), today)))
        everything = report.scopes["all"]
        # Each receipt answer carries the digest of a receipt the one-stop system minted.
        unmatched = db.session.scalar(
            select(func.count()).select_from(DossierDigest).where(~exists().where(
                MintedReceipt.key_id == DossierDigest.key_id,
                MintedReceipt.digest == DossierDigest.digest)))
    assert everything.by_source["receipt"] > 0 and everything.by_source["counter"] > 0
    assert everything.dossiers and everything.dossiers > everything.responses
    assert everything.response_rate == pytest.approx(
        100 * everything.responses / everything.dossiers)
    assert 0 < report.receipts.answered < report.receipts.minted
    assert unmatched == 0


def test_demo_run_twice_duplicates_nothing(app, runner):
    first = runner.invoke(args=["demo"])
    counts = [count_rows(app, m) for m in (Agency, SurveyCode, Response)]
    second = runner.invoke(args=["demo"])

    assert second.exit_code == 0, second.output
    assert [count_rows(app, m) for m in (Agency, SurveyCode, Response)] == counts
    assert first.output == second.output


def test_demo_publishes_its_province_on_the_board_with_its_days_sealed(app, runner, client):
    assert runner.invoke(args=["demo"]).exit_code == 0
    board = client.get("/cong-khai/").get_data(as_text=True)
    assert "Trung tâm Phục vụ hành chính công tỉnh (demo)" in board
    assert "Xã Khe Sanh (demo)" not in board
    with app.app_context():
        newest = db.session.scalar(select(DaySeal).order_by(DaySeal.sequence.desc()).limit(1))
        assert newest is not None and newest.day == local_date(utcnow()) - timedelta(days=1)
    assert newest.digest in board
    assert runner.invoke(args=["seals", "verify"]).exit_code == 0


def test_demo_url_opens_its_form(app, runner, client):
    result = runner.invoke(args=["demo"])
    url = next(line for line in result.output.splitlines() if line.startswith("http"))
    page = client.get(url.removeprefix("http://survey.test"))
    assert page.status_code == 200
    assert "Gửi đánh giá" in page.get_data(as_text=True)
