"""The yearly targets: who may change them, validation, and the audit trail."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import AuditEvent, TargetYear
from survey_app.reports import targets_for
from survey_app.tallies import Period
from tests.conftest import World, hidden_value

VALID = {
    "sipas_all": "92,5",
    "sipas_land": "86",
    "sipas_construction": "86.5",
    "sipas_investment": "0",
    "sipas_land_construction_investment": "100",
    "min_sample": "40",
}


def text_of(page: Any) -> str:
    return page.get_data(as_text=True)


def admin(app: Flask, world: World) -> FlaskClient:
    return world.login(app.test_client(), "admin")


def post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    token = hidden_value(text_of(client.get(path)), "csrf_token")
    return client.post(path, data={**data, "csrf_token": token})


def target(app: Flask, year: int) -> TargetYear | None:
    with app.app_context():
        found = db.session.get(TargetYear, year)
        db.session.expunge_all()
        return found


def audit_entries(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ))
        db.session.expunge_all()
        return events


def test_the_list_shows_every_year_and_explains_which_one_applies(app, world):
    page = admin(app, world).get("/admin/targets")
    assert page.status_code == 200
    html = text_of(page)
    for year in ("2025", "2030"):
        assert f'href="/admin/targets/{year}"' in html
    assert "90%" in html and "85%" in html and "95%" in html
    assert "năm gần nhất không sau ngày cuối kỳ" in html
    assert "Đang áp dụng" in html


@pytest.mark.parametrize("persona", ["anonymous", "staff_a", "manager_a", "manager_province"])
def test_only_admins_may_see_or_change_targets(app, world, persona):
    client = world.login(app.test_client(), persona)
    app.config["WTF_CSRF_ENABLED"] = False
    for method, path in (("GET", "/admin/targets"), ("GET", "/admin/targets/new"),
                         ("POST", "/admin/targets/new"), ("GET", "/admin/targets/2025"),
                         ("POST", "/admin/targets/2025")):
        page = client.open(path, method=method, data={**VALID, "year": "2026"})
        if persona == "anonymous":
            assert page.status_code == 302 and page.headers["Location"].startswith("/login")
        else:
            assert page.status_code == 403, (method, path)
    assert target(app, 2026) is None
    stored = target(app, 2025)
    assert stored is not None and stored.sipas_all == 90.0


def test_add_a_year(app, world):
    client = admin(app, world)
    form = text_of(client.get("/admin/targets/new"))
    assert 'value="2031"' in form  # the year after the latest, its values as a start
    page = post(client, "/admin/targets/new", {**VALID, "year": "2026"})
    assert page.status_code == 302
    assert page.headers["Location"] == "/admin/targets"
    assert "Đã thêm chỉ tiêu năm 2026." in text_of(client.get("/admin/targets"))

    stored = target(app, 2026)
    assert stored is not None
    assert (stored.sipas_all, stored.sipas_land, stored.sipas_construction,
            stored.sipas_investment, stored.sipas_land_construction_investment,
            stored.min_sample) == (92.5, 86.0, 86.5, 0.0, 100.0, 40)
    [event] = audit_entries(app, "target.created")
    assert event.actor_email == world.emails["admin"]
    assert event.details == {"year": 2026, "values": {
        "sipas_all": 92.5, "sipas_land": 86.0, "sipas_construction": 86.5,
        "sipas_investment": 0.0, "sipas_land_construction_investment": 100.0,
        "min_sample": 40}}

    with app.app_context():
        judged_by = targets_for(db.session, Period(date(2027, 1, 1), date(2027, 3, 31)))
        assert judged_by is not None and judged_by.year == 2026


@pytest.mark.parametrize("field, typed, message", [
    ("year", "1999", "Năm cần từ 2000 đến 2100."),
    ("year", "2101", "Năm cần từ 2000 đến 2100."),
    ("year", "hai nghìn", "Năm cần là một số nguyên, ví dụ 2026."),
    ("year", "", "Vui lòng nhập năm."),
    ("year", "2025", "Năm này đã có chỉ tiêu. Hãy sửa chỉ tiêu của năm đó thay vì thêm mới."),
    ("sipas_all", "100,5", "Chỉ tiêu cần từ 0 đến 100."),
    ("sipas_land", "-1", "Chỉ tiêu cần từ 0 đến 100."),
    ("sipas_construction", "92,55", "Chỉ tiêu có tối đa một chữ số sau dấu phẩy, ví dụ 92,5."),
    ("sipas_investment", "chín mươi", "Chỉ tiêu cần là một số, ví dụ 90 hoặc 92,5."),
    ("sipas_investment", "NaN", "Chỉ tiêu cần là một số, ví dụ 90 hoặc 92,5."),
    ("sipas_land_construction_investment", "", "Vui lòng nhập chỉ tiêu (phần trăm)."),
    ("min_sample", "0", "Số phiếu tối thiểu cần từ 1 đến 10.000."),
    ("min_sample", "10001", "Số phiếu tối thiểu cần từ 1 đến 10.000."),
    ("min_sample", "30,5", "Số phiếu tối thiểu cần là một số nguyên, ví dụ 30."),
])
def test_a_bad_value_is_refused_with_a_message_beside_its_field(app, world, field, typed,
                                                                 message):
    client = admin(app, world)
    page = post(client, "/admin/targets/new", {**VALID, "year": "2026", field: typed})
    assert page.status_code == 400
    html = text_of(page)
    assert message in html
    assert f'href="#{field}"' in html  # the error summary links to the field
    assert target(app, 2026) is None
    assert audit_entries(app, "target.created") == []


def test_change_a_year(app, world):
    client = admin(app, world)
    form = text_of(client.get("/admin/targets/2030"))
    assert 'value="95"' in form and 'value="30"' in form
    page = post(client, "/admin/targets/2030", {
        "sipas_all": "96", "sipas_land": "90", "sipas_construction": "90",
        "sipas_investment": "90", "sipas_land_construction_investment": "90,5",
        "min_sample": "50"})
    assert page.status_code == 302
    stored = target(app, 2030)
    assert stored is not None
    assert (stored.sipas_all, stored.sipas_land_construction_investment,
            stored.min_sample) == (96.0, 90.5, 50)
    [event] = audit_entries(app, "target.updated")
    assert event.details == {"year": 2030, "changes": {
        "sipas_all": [95.0, 96.0],
        "sipas_land_construction_investment": [90.0, 90.5],
        "min_sample": [30, 50]}}
    assert "Đã lưu chỉ tiêu năm 2030." in text_of(client.get("/admin/targets"))
    assert "96%" in text_of(client.get("/admin/targets"))


def test_saving_without_a_change_logs_nothing(app, world):
    client = admin(app, world)
    page = post(client, "/admin/targets/2025", {
        "sipas_all": "90", "sipas_land": "85,0", "sipas_construction": "85",
        "sipas_investment": "85", "sipas_land_construction_investment": "85",
        "min_sample": "30"})
    assert page.status_code == 302
    assert audit_entries(app, "target.updated") == []
    assert "không có gì thay đổi" in text_of(client.get("/admin/targets"))


def test_a_bad_change_is_refused_and_keeps_what_was_typed(app, world):
    client = admin(app, world)
    page = post(client, "/admin/targets/2025", {
        "sipas_all": "101", "sipas_land": "85", "sipas_construction": "85",
        "sipas_investment": "85", "sipas_land_construction_investment": "85",
        "min_sample": "30"})
    assert page.status_code == 400
    html = text_of(page)
    assert "Chỉ tiêu cần từ 0 đến 100." in html and 'value="101"' in html
    stored = target(app, 2025)
    assert stored is not None and stored.sipas_all == 90.0


def test_an_unknown_year_is_404(app, world):
    assert admin(app, world).get("/admin/targets/2099").status_code == 404


def test_changing_needs_the_csrf_token(app, world):
    page = admin(app, world).post("/admin/targets/2025", data={**VALID})
    assert page.status_code == 400
    stored = target(app, 2025)
    assert stored is not None and stored.sipas_all == 90.0
