"""Targets per year, indicator and scope, and the scopes themselves: who may change them,
validation, the audit trail, and a scope added without code judging the reports."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Sector, Target, TargetScope, TargetYear
from survey_app.questionnaire import CURRENT
from survey_app.services.periods import Period
from survey_app.services.recording import record_response
from survey_app.services.reports import build_report
from survey_app.services.tallies import TallyFilter
from survey_app.sipas import Indicator
from tests.factories import (
    NOT_FOUND,
    audit_events,
    create_agency,
    create_code,
    heading_of,
    hidden_value,
    sector_id,
    text_of,
)

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")

O, S = Indicator.OVERALL, Indicator.SIPAS_INDEX  # noqa: E741  (the spec's letters)
NAMED_SCOPES = ("LAND", "CONSTRUCTION", "INVESTMENT", "LAND_CONSTRUCTION_INVESTMENT")


def seeded(overall_all: float, overall_each: float, index: float) -> dict[Any, float]:
    """Return the seeded thresholds of a year by (indicator, scope code)."""
    return {(O, "all"): overall_all, **{(O, code): overall_each for code in NAMED_SCOPES},
            **{(S, code): index for code in ("all", *NAMED_SCOPES)}}


SEEDED_2025 = seeded(90.0, 85.0, 85.0)
SEEDED_2030 = seeded(95.0, 90.0, 90.0)


class _Inputs(HTMLParser):
    """The values a browser would send: text inputs, and ticked boxes as lists."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, Any] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag != "input" or not name or name == "csrf_token":
            return
        if found.get("type") == "checkbox":
            self.values.setdefault(name, [])
            if "checked" in found:
                self.values[name].append(found.get("value") or "")
        else:
            self.values[name] = found.get("value") or ""


def form_values(html: str) -> dict[str, Any]:
    parser = _Inputs()
    parser.feed(html)
    return parser.values


def submit(client: FlaskClient, path: str, changes: dict[str, Any] | None = None,
           drop: tuple[str, ...] = ()) -> Any:
    """Send the form at `path` as shown, with some fields changed (or left out)."""
    html = text_of(client.get(path))
    data = {**form_values(html), **(changes or {})}
    for name in drop:
        data.pop(name)
    return client.post(path, data={**data, "csrf_token": hidden_value(html, "csrf_token")})


def field(indicator: Indicator, scope: str) -> str:
    return f"{indicator.value}-{scope}"


def stored(app: Flask, year: int) -> tuple[int, dict[tuple[Indicator, str], float]] | None:
    """Return a year's minimum sample and its thresholds as stored, or None."""
    with app.app_context():
        target_year = db.session.get(TargetYear, year)
        if target_year is None:
            return None
        rows = db.session.execute(
            select(Target.indicator, TargetScope.code, Target.threshold)
            .join(TargetScope, Target.scope_id == TargetScope.id).where(Target.year == year)
        )
        return target_year.min_sample, {(Indicator(i), code): t for i, code, t in rows}


def year_table(html: str, year: int) -> dict[str, list[str]]:
    """Return the thresholds the index shows for a year: {scope label: [O cell, S cell]}."""
    section = re.search(rf'aria-labelledby="year-{year}">(.*?)</section>', html, re.S)
    assert section, f"no table for {year}"
    rows = re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', section.group(1), re.S)
    return {unescape(label).strip(): [unescape(c).replace("\xa0", " ").strip()
                                      for c in re.findall(r"<td>(.*?)</td>", cells, re.S)]
            for label, cells in rows}


# The list ----------------------------------------------------------------------------------


def test_the_list_shows_each_years_targets_by_scope_and_indicator(app, world):
    html = text_of(world.signed_in("admin").get("/admin/targets"))
    assert "Hài lòng về giải quyết TTHC (câu 6)" in html
    assert "Chỉ số hài lòng (tính theo phương pháp SIPAS)" in html
    assert year_table(html, 2025) == {
        "Tất cả lĩnh vực": ["tối thiểu 90%", "tối thiểu 85%"],
        "Đất đai": ["tối thiểu 85%", "tối thiểu 85%"],
        "Xây dựng": ["tối thiểu 85%", "tối thiểu 85%"],
        "Đầu tư": ["tối thiểu 85%", "tối thiểu 85%"],
        "Đất đai, xây dựng, đầu tư (gộp)": ["tối thiểu 85%", "tối thiểu 85%"],
    }
    assert year_table(html, 2030)["Tất cả lĩnh vực"] == ["tối thiểu 95%", "tối thiểu 90%"]
    assert "Số phiếu tối thiểu: 30" in html
    # Today (2026 or later) is judged by 2025's targets until 2030.
    assert re.search(r'id="year-2025">Năm 2025 <span class="tag tag-on">Đang áp dụng', html) \
        or date.today().year >= 2030
    assert ("nếu năm đó chưa có chỉ tiêu, dùng chỉ tiêu của năm gần nhất trước đó") in html
    for link in ("/admin/targets/2025", "/admin/targets/2030", "/admin/targets/new",
                 "/admin/targets/scopes"):
        assert f'href="{link}"' in html


PAGES = [("GET", "/admin/targets"), ("GET", "/admin/targets/new"),
         ("POST", "/admin/targets/new"), ("GET", "/admin/targets/2025"),
         ("POST", "/admin/targets/2025"), ("GET", "/admin/targets/scopes"),
         ("GET", "/admin/targets/scopes/new"), ("POST", "/admin/targets/scopes/new"),
         ("GET", "/admin/targets/scopes/{land}"), ("POST", "/admin/targets/scopes/{land}")]


@pytest.mark.parametrize("persona", ["anonymous", "staff_a", "manager_a", "manager_province"])
def test_only_admins_may_see_or_change_targets_and_scopes(app, world, persona):
    with app.app_context():
        land = db.session.scalar(select(TargetScope.id).where(TargetScope.code == "LAND"))
        health = db.session.scalar(select(Sector.id).where(Sector.code == "Y_TE"))
    client = world.login(app.test_client(), persona)
    app.config["WTF_CSRF_ENABLED"] = False
    form = {"year": "2026", field(O, "all"): "50", "min_sample": "5", "code": "Y_TE",
            "label_vi": "Lấn quyền", "label_en": "Forged", "sector_ids": str(health)}
    for method, path in PAGES:
        page = client.open(path.format(land=land), method=method, data=form)
        if persona == "anonymous":
            assert page.status_code == 302 and page.headers["Location"].startswith("/login")
        else:
            assert page.status_code == 403, (method, path)
    assert stored(app, 2026) is None
    assert stored(app, 2025) == (30, SEEDED_2025)
    with app.app_context():
        labels = set(db.session.scalars(select(TargetScope.label_vi)))
    assert "Lấn quyền" not in labels
    assert audit_events(app, "target.updated") == []


# A year's targets --------------------------------------------------------------------------


def test_add_a_year_starting_from_the_latest_one(app, world):
    client = world.signed_in("admin")
    shown = form_values(text_of(client.get("/admin/targets/new")))
    assert shown["year"] == "2031"  # the year after the latest, with its values as a start
    assert shown[field(O, "all")] == "95" and shown[field(S, "LAND")] == "90"
    assert shown["min_sample"] == "30"
    # A text box, which keeps a decimal comma as typed (a number box may drop "92,5").
    assert re.search(r'<input[^>]*inputmode="decimal"[^>]*name="overall-all"[^>]*type="text"',
                     text_of(client.get("/admin/targets/new")))

    page = submit(client, "/admin/targets/new", {
        "year": "2026", field(O, "all"): "92,5", field(O, "LAND"): "86.5",
        field(S, "INVESTMENT"): "", "min_sample": "40"})
    assert page.status_code == 302
    assert page.headers["Location"] == "/admin/targets"
    html = text_of(client.get("/admin/targets"))
    assert "Đã thêm chỉ tiêu năm 2026." in html
    assert year_table(html, 2026)["Tất cả lĩnh vực"] == ["tối thiểu 92,5%", "tối thiểu 90%"]
    assert year_table(html, 2026)["Đầu tư"] == ["tối thiểu 90%", "—"]

    expected = {**SEEDED_2030, (O, "all"): 92.5, (O, "LAND"): 86.5}
    del expected[(S, "INVESTMENT")]
    assert stored(app, 2026) == (40, expected)
    [event] = audit_events(app, "target.created")
    assert event.actor_email == world.emails["admin"]
    assert event.details == {"year": 2026, "min_sample": 40, "values": {
        f"{indicator.value}:{code}": value for (indicator, code), value in expected.items()}}

    with app.app_context():
        report = build_report(db.session, TallyFilter(Period(date(2027, 1, 1),
                                                             date(2027, 3, 31))))
    assert report.target_year == 2026 and report.min_sample == 40
    check = report.scopes["all"].target(O)
    assert check is not None and check.threshold == 92.5


@pytest.mark.parametrize("name, typed, message", [
    ("year", "1999", "Năm cần từ 2000 đến 2100."),
    ("year", "2101", "Năm cần từ 2000 đến 2100."),
    ("year", "hai nghìn", "Năm cần là một số nguyên, ví dụ 2026."),
    ("year", "", "Vui lòng nhập năm."),
    ("year", "2025", "Năm này đã có chỉ tiêu. Vui lòng sửa chỉ tiêu của năm đó thay vì thêm mới."),
    (field(O, "all"), "101", "Chỉ tiêu cần từ 0 đến 100."),
    (field(S, "LAND"), "-1", "Chỉ tiêu cần từ 0 đến 100."),
    (field(O, "CONSTRUCTION"), "92,55",
     "Chỉ tiêu có tối đa một chữ số sau dấu phẩy, ví dụ 92,5."),
    (field(S, "INVESTMENT"), "chín mươi", "Chỉ tiêu cần là một số, ví dụ 90 hoặc 92,5."),
    (field(S, "all"), "NaN", "Chỉ tiêu cần là một số, ví dụ 90 hoặc 92,5."),
    ("min_sample", "", "Vui lòng nhập số phiếu tối thiểu."),
    ("min_sample", "0", "Số phiếu tối thiểu cần từ 1 đến 10.000."),
    ("min_sample", "10001", "Số phiếu tối thiểu cần từ 1 đến 10.000."),
    ("min_sample", "30,5", "Số phiếu tối thiểu cần là một số nguyên, ví dụ 30."),
])
def test_a_bad_value_is_refused_with_a_message_beside_its_field(app, world, name, typed,
                                                                 message):
    page = submit(world.signed_in("admin"), "/admin/targets/new", {"year": "2026", name: typed})
    assert page.status_code == 400
    html = text_of(page)
    assert message in html
    # One message, not a second one that follows from it.
    assert len(re.findall(r'<li><a href="#', html)) == 1
    assert f'href="#{name}"' in html  # the error summary links to the field
    assert form_values(html)[name] == typed  # what was typed is kept
    assert stored(app, 2026) is None
    assert audit_events(app, "target.created") == []


def test_change_a_year(app, world):
    client = world.signed_in("admin")
    shown = form_values(text_of(client.get("/admin/targets/2030")))
    assert shown[field(O, "all")] == "95" and shown["min_sample"] == "30"
    page = submit(client, "/admin/targets/2030", {
        field(O, "all"): "96", field(S, "LAND_CONSTRUCTION_INVESTMENT"): "90,5",
        field(O, "INVESTMENT"): "", "min_sample": "50"})
    assert page.status_code == 302

    expected = {**SEEDED_2030, (O, "all"): 96.0, (S, "LAND_CONSTRUCTION_INVESTMENT"): 90.5}
    del expected[(O, "INVESTMENT")]
    assert stored(app, 2030) == (50, expected)
    [event] = audit_events(app, "target.updated")
    assert event.actor_email == world.emails["admin"]
    assert event.details == {"year": 2030, "changes": {
        "min_sample": [30, 50],
        "overall:all": [95.0, 96.0],
        "overall:INVESTMENT": [90.0, None],
        "sipas_index:LAND_CONSTRUCTION_INVESTMENT": [90.0, 90.5]}}
    html = text_of(client.get("/admin/targets"))
    assert "Đã lưu chỉ tiêu năm 2030." in html
    assert year_table(html, 2030)["Tất cả lĩnh vực"] == ["tối thiểu 96%", "tối thiểu 90%"]
    assert year_table(html, 2030)["Đầu tư"] == ["—", "tối thiểu 90%"]
    assert year_table(html, 2030)["Đất đai, xây dựng, đầu tư (gộp)"] == [
        "tối thiểu 90%", "tối thiểu 90,5%"]


def test_saving_without_a_change_logs_nothing(app, world):
    client = world.signed_in("admin")
    page = submit(client, "/admin/targets/2025", {field(O, "LAND"): "85,0"})
    assert page.status_code == 302
    assert audit_events(app, "target.updated") == []
    assert "Chỉ tiêu năm 2025 không có gì thay đổi." in text_of(client.get("/admin/targets"))


def test_a_bad_change_is_refused_and_keeps_what_was_typed(app, world):
    before = stored(app, 2025)
    page = submit(world.signed_in("admin"), "/admin/targets/2025", {field(O, "all"): "101"})
    assert page.status_code == 400
    html = text_of(page)
    assert "Tất cả lĩnh vực – Hài lòng về giải quyết TTHC (câu 6): " \
           "Chỉ tiêu cần từ 0 đến 100." in html
    assert form_values(html)[field(O, "all")] == "101"
    assert stored(app, 2025) == before
    assert audit_events(app, "target.updated") == []


def test_forged_or_missing_fields_change_nothing_they_do_not_name(app, world):
    before = stored(app, 2025)
    assert before is not None
    page = submit(world.signed_in("admin"), "/admin/targets/2025",
                  {"overall-NOPE": "50", "sipas_index-all'--": "1", "year": "1999",
                   field(S, "all"): "86"},
                  drop=(field(O, "LAND"),))
    assert page.status_code == 302
    assert stored(app, 2025) == (before[0], {**before[1], (S, "all"): 86.0})
    [event] = audit_events(app, "target.updated")
    assert event.details == {"year": 2025, "changes": {"sipas_index:all": [85.0, 86.0]}}


def test_an_unknown_year_or_scope_is_404(app, world):
    client = world.signed_in("admin")
    for path in ("/admin/targets/2099", "/admin/targets/scopes/999999"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert heading_of(page) == NOT_FOUND, path


def test_changing_needs_the_csrf_token(app, world):
    page = world.signed_in("admin").post("/admin/targets/2025",
                                  data={field(O, "all"): "50", "min_sample": "30"})
    assert page.status_code == 400
    assert stored(app, 2025) is not None and stored(app, 2025)[1][(O, "all")] == 90.0


# Scopes ------------------------------------------------------------------------------------


def scope(app: Flask, code: str) -> tuple[int, str, str, list[str]] | None:
    """Return a scope's id, labels and sector codes as stored, or None."""
    with app.app_context():
        found = db.session.scalar(select(TargetScope).where(TargetScope.code == code))
        if found is None:
            return None
        return found.id, found.label_vi, found.label_en, [s.code for s in found.sectors]


def scope_rows(html: str) -> dict[str, str]:
    """Return the scopes list as {label: its sectors as shown}."""
    rows = re.findall(r'<th scope="row"><a [^>]*>(.*?)</a>.*?</th>\s*<td>(.*?)</td>', html, re.S)
    return {unescape(label): " ".join(unescape(sectors).split()) for label, sectors in rows}


def test_the_scopes_list_shows_each_scope_with_its_sectors(app, world):
    html = text_of(world.signed_in("admin").get("/admin/targets/scopes"))
    rows = scope_rows(html)
    assert rows["Tất cả lĩnh vực"] == "Tất cả lĩnh vực, kể cả lĩnh vực thêm sau này"
    assert rows["Xây dựng"] == "Xây dựng; Quy hoạch xây dựng, kiến trúc"
    assert rows["Đất đai, xây dựng, đầu tư (gộp)"] == (
        "Đất đai; Xây dựng; Quy hoạch xây dựng, kiến trúc; Đầu tư tại Việt Nam")
    assert 'href="/admin/targets/scopes/new"' in html


def test_a_scope_added_by_an_admin_gets_a_target_and_judges_the_reports(app, world):
    """Y tế ≥ 90 on the SIPAS-style index, with no code: a scope, then a target."""
    client = world.signed_in("admin")
    page = submit(client, "/admin/targets/scopes/new", {
        "code": "y_te", "label_vi": "Y tế", "label_en": "Health",
        "sector_ids": [str(sector_id(app, "Y_TE"))]})
    assert page.status_code == 302 and page.headers["Location"] == "/admin/targets/scopes"
    html = text_of(client.get("/admin/targets/scopes"))
    assert "Đã thêm phạm vi «Y tế»." in html
    assert scope_rows(html)["Y tế"] == "Y tế"
    created = scope(app, "Y_TE")
    assert created is not None and created[1:] == ("Y tế", "Health", ["Y_TE"])
    [event] = audit_events(app, "target_scope.created")
    assert event.actor_email == world.emails["admin"]
    assert event.details["code"] == "Y_TE" and event.details["sectors"] == ["Y_TE"]

    # The year's form now has the new scope's boxes, empty: no target yet.
    shown = form_values(text_of(client.get("/admin/targets/2025")))
    assert shown[field(O, "Y_TE")] == "" and shown[field(S, "Y_TE")] == ""
    page = submit(client, "/admin/targets/2025", {field(S, "Y_TE"): "90"})
    assert page.status_code == 302
    assert stored(app, 2025)[1][(S, "Y_TE")] == 90.0
    assert year_table(text_of(client.get("/admin/targets")), 2025)["Y tế"] == ["—", "tối thiểu 90%"]

    # Three responses at a health counter in 2025, an hour apart.
    with app.app_context():
        code = create_code(create_agency("BV", "Bệnh viện tỉnh"), "Quầy 1", "Y_TE")
        for i in range(3):
            record_response(db.session, code, CURRENT,
                            {"q1": "5", "q2": "4", "q3": "5", "q4": "4", "q5": "na", "q6": "4"},
                            f"health-{i}", "vi",
                            now=datetime(2025, 6, 10, 2, tzinfo=UTC) + timedelta(hours=i))
        db.session.commit()
        report = build_report(db.session, TallyFilter(Period(date(2025, 1, 1),
                                                             date(2025, 12, 31))))

    health = report.scopes["Y_TE"]
    assert health.responses == 3
    [check] = health.targets  # only S has a target of its own in this scope
    assert (check.metric, check.threshold, check.scope, check.year) == (S, 90.0, "Y_TE", 2025)
    sector = report.sectors["Y_TE"]
    by_indicator = {c.metric: (c.threshold, c.scope) for c in sector.targets}
    # S by the health scope's target; O, which health has none of, by the all-sector one.
    assert by_indicator == {S: (90.0, "Y_TE"), O: (90.0, "all")}


@pytest.mark.parametrize("changes, name, message", [
    ({"code": ""}, "code", "Vui lòng nhập mã phạm vi."),
    ({"code": "Y TẾ"}, "code",
     "Mã phạm vi chỉ gồm chữ in hoa không dấu, chữ số, dấu - và dấu _."),
    ({"code": "X" * 41}, "code", "Mã phạm vi dài quá 40 ký tự."),
    ({"code": "LAND"}, "code", "Đã có phạm vi chỉ tiêu với mã này."),
    ({"label_vi": "  "}, "label_vi", "Vui lòng nhập tên tiếng Việt."),
    ({"label_en": ""}, "label_en", "Vui lòng nhập tên tiếng Anh."),
    ({"sector_ids": []}, "sector_ids", "Vui lòng chọn ít nhất một lĩnh vực."),
    ({"sector_ids": ["999999"]}, "sector_ids", "Vui lòng chọn lĩnh vực trong danh sách."),
    ({"sector_ids": ["abc"]}, "sector_ids", "Vui lòng chọn ít nhất một lĩnh vực."),
])
def test_a_bad_scope_is_refused_with_a_message_beside_its_field(app, world, changes, name,
                                                                message):
    valid = {"code": "Y_TE", "label_vi": "Y tế", "label_en": "Health",
             "sector_ids": [str(sector_id(app, "Y_TE"))]}
    page = submit(world.signed_in("admin"), "/admin/targets/scopes/new", {**valid, **changes})
    assert page.status_code == 400
    html = text_of(page)
    assert message in html
    assert f'href="#{name}"' in html
    assert scope(app, "Y_TE") is None
    assert audit_events(app, "target_scope.created") == []


def test_change_a_scopes_labels_and_sectors(app, world):
    construction = scope(app, "CONSTRUCTION")
    assert construction is not None
    client = world.signed_in("admin")
    path = f"/admin/targets/scopes/{construction[0]}"
    shown = form_values(text_of(client.get(path)))
    assert "code" not in shown  # a code never changes
    assert sorted(shown["sector_ids"]) == sorted(
        str(sector_id(app, c)) for c in ("XAY_DUNG", "QH_KT"))
    page = submit(client, path, {
        "label_vi": "Xây dựng, nhà ở", "label_en": "Construction, housing",
        "sector_ids": [str(sector_id(app, c)) for c in ("XAY_DUNG", "QH_KT", "NHA_O")]})
    assert page.status_code == 302
    assert scope(app, "CONSTRUCTION") == (construction[0], "Xây dựng, nhà ở",
                                          "Construction, housing",
                                          ["XAY_DUNG", "QH_KT", "NHA_O"])
    [event] = audit_events(app, "target_scope.updated")
    assert event.details["changes"] == {
        "label_vi": ["Xây dựng", "Xây dựng, nhà ở"],
        "label_en": ["Construction", "Construction, housing"],
        "sectors": [["QH_KT", "XAY_DUNG"], ["NHA_O", "QH_KT", "XAY_DUNG"]]}
    assert "Đã lưu phạm vi «Xây dựng, nhà ở»." in text_of(client.get("/admin/targets/scopes"))


def test_the_all_sector_scope_keeps_every_sector(app, world):
    everything = scope(app, "all")
    assert everything is not None
    client = world.signed_in("admin")
    path = f"/admin/targets/scopes/{everything[0]}"
    html = text_of(client.get(path))
    assert "sector_ids" not in form_values(html)
    assert "chỉ sửa được tên" in html
    page = submit(client, path, {"label_vi": "Toàn tỉnh", "code": "FORGED",
                                 "sector_ids": [str(sector_id(app, "Y_TE"))]})
    assert page.status_code == 302
    assert scope(app, "all") == (everything[0], "Toàn tỉnh", "All sectors", [])
    with app.app_context():
        assert db.session.scalar(select(TargetScope.covers_all_sectors)
                                 .where(TargetScope.code == "all")) is True
    assert year_table(text_of(client.get("/admin/targets")), 2025)["Toàn tỉnh"] == [
        "tối thiểu 90%", "tối thiểu 85%"]
