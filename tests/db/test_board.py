"""The public board at /cong-khai: published agencies only, small figures withheld, cached,
framable by the configured portals alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app import create_app
from survey_app.extensions import db
from survey_app.models import Agency, BoardPublication, Response
from survey_app.services import board
from survey_app.services.board import Quarter
from survey_app.services.dashboard import local_today
from survey_app.services.review import flag_response
from tests.factories import (
    REFUSED,
    audit_events,
    create_agency,
    create_code,
    csrf_token,
    flag,
    heading_of,
    local_time,
    make_app,
    make_user,
    record,
    sign_in,
    text_of,
    words_of,
)

ADMIN = "quantri@tinh.gov.vn"
QUARTER = "2026-Q3"
PORTALS = "https://congthongtin.quangtri.gov.vn https://dichvucong.example:8443"
# A figure as the board shows it: «92,4%» (a target is «tối thiểu 90%», with no decimal).
FIGURE = re.compile(r"\d+,\d%")


def answers_satisfied(n: int) -> dict[str, Any]:
    """Return the n-th of a mix of answers: two in three satisfied on question 6."""
    return {"q1": "5", "q2": "4", "q3": "5", "q4": "na", "q5": "3",
            "q6": ["4", "5", "2"][n % 3], "q7": "no", "q8": [],
            "comment": f"Chị Lan ở quầy số {n} rất tận tình", "dossier": ""}


def store(code: str, n: int, first: int = 0) -> None:
    """Store n counted responses through a code, spread over the third quarter of 2026."""
    for i in range(first, first + n):
        record(code, local_time(2026, 7 + i % 3, 1 + i % 28, 8 + i % 9, i % 60),
               answers=answers_satisfied(i))


def build(app: Flask, sectors: dict[str, int], publish: bool = True,
          code: str = "XA-CUAVIET", counter: str = "Quầy Nguyễn Văn Bình") -> int:
    """Make an agency with so many responses per sector in 2026-Q3; return its id."""
    with app.app_context():
        agency = create_agency(code, "Xã Cửa Việt", "commune")
        first = 0
        for sector, n in sectors.items():
            survey_code = create_code(agency, counter, sector)
            store(survey_code.code, n, first)
            first += n
        if publish:
            board.publish(db.session, agency)
        db.session.commit()
        return agency.id


def page(client: FlaskClient, code: str = "XA-CUAVIET", quarter: str = QUARTER,
         etag: str | None = None) -> Any:
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(f"/cong-khai/{code}", query_string={"quy": quarter}, headers=headers)


def figures_shown(html: str) -> str:
    """Return the words of the page above its note on how to read the figures."""
    return words_of(html.split('<section class="method"')[0])


def section(html: str, heading: str) -> str:
    """Return the words of the <section> whose heading is `heading`."""
    for part in re.findall(r"<section[^>]*>.*?</section>", html, re.S):
        if re.search(rf"<h[23][^>]*>\s*{re.escape(heading)}\s*</h[23]>", part):
            return words_of(part)
    raise AssertionError(f"no section headed {heading!r}")


# Who sees what -------------------------------------------------------------------------------


def test_a_published_agency_shows_o_and_s_of_the_whole_and_of_each_sector(app):
    build(app, {"HO_TICH": 45, "DAT_DAI": 36})
    result = page(app.test_client())
    assert result.status_code == 200
    html = text_of(result)
    assert heading_of(html) == "Xã Cửa Việt"
    whole = section(html, "Toàn đơn vị")
    assert "81 phiếu được tính" in whole
    # Two in three satisfied on question 6: 54 of 81.
    assert "Hài lòng về giải quyết TTHC 66,7% n = 81 câu trả lời" in whole
    assert "Khoảng tin cậy 95%: 55,9% – 76,0%" in whole
    assert "Chỉ tiêu tối thiểu 90% · ✗ Chưa đạt" in whole
    assert "Chỉ số hài lòng (tính theo phương pháp SIPAS)" in whole
    land = section(html, "Đất đai")
    assert "36 phiếu được tính" in land and "66,7%" in land and "Chỉ tiêu tối thiểu 85%" in land
    assert "Quý 3/2026 (01/07/2026 – 30/09/2026)" in words_of(html)


def test_the_board_names_no_counter_no_clerk_and_no_comment(app):
    build(app, {"HO_TICH": 40})
    text = words_of(page(app.test_client()))
    assert "Quầy" not in text and "Nguyễn Văn Bình" not in text
    assert "Chị Lan" not in text and "tận tình" not in text


def test_an_unpublished_agency_answers_404_in_vietnamese(app):
    build(app, {"HO_TICH": 40}, publish=False)
    for code in ("XA-CUAVIET", "KHONG-CO", "xa-cuaviet", "XA%00", "X" * 500):
        result = page(app.test_client(), code)
        assert result.status_code == 404, code
        assert heading_of(result) == "Không có bảng công khai của đơn vị này"
        assert "Xã Cửa Việt" not in words_of(result)


def test_unpublishing_takes_the_page_off_at_once(app):
    agency_id = build(app, {"HO_TICH": 40})
    client = app.test_client()
    assert page(client).status_code == 200
    with app.app_context():
        board.unpublish(db.session, db.session.get(Agency, agency_id))
        db.session.commit()
    assert page(client).status_code == 404
    assert "Xã Cửa Việt" not in words_of(client.get("/cong-khai"))


def test_codes_are_read_in_any_case(app):
    build(app, {"HO_TICH": 40})
    assert heading_of(page(app.test_client(), "xa-cuaviet")) == "Xã Cửa Việt"


def test_the_index_lists_the_published_agencies_only(app):
    build(app, {"HO_TICH": 40})
    with app.app_context():
        province = create_agency("TINH", "Trung tâm Phục vụ hành chính công tỉnh")
        db.session.get(Agency, board.published_agencies(db.session)[0].id).parent = province
        create_agency("XA-KHAC", "Xã Chưa Công Khai", "commune", province)
        board.publish(db.session, province)
        db.session.commit()
    html = text_of(app.test_client().get("/cong-khai"))
    text = words_of(html)
    assert "Xã Cửa Việt" in text and "Trung tâm Phục vụ hành chính công tỉnh" in text
    assert "Xã Chưa Công Khai" not in text
    assert 'href="/cong-khai/TINH"' in html
    assert "gồm cả các đơn vị do đơn vị này theo dõi" in text


def test_a_province_page_pools_every_agency_below_it(app):
    build(app, {"HO_TICH": 40})
    with app.app_context():
        province = create_agency("TINH", "Trung tâm Phục vụ hành chính công tỉnh")
        commune = db.session.scalar(select(Agency).where(Agency.code == "XA-CUAVIET"))
        commune.parent = province
        store(create_code(province, "Quầy 1", "HO_TICH").code, 10, 100)
        board.publish(db.session, province)
        db.session.commit()
    whole = section(text_of(page(app.test_client(), "TINH")),
                    "Toàn đơn vị, gồm cả các đơn vị do đơn vị này theo dõi")
    assert "50 phiếu được tính" in whole


def test_the_home_page_links_to_the_board(app):
    html = text_of(app.test_client().get("/"))
    assert 'href="/cong-khai"' in html
    assert "Xem bảng công khai kết quả" in words_of(html)


# Suppression ---------------------------------------------------------------------------------


def test_a_figure_under_the_minimum_sample_shows_no_value_and_no_interval(app):
    build(app, {"HO_TICH": 29})
    html = text_of(page(app.test_client()))
    whole = section(html, "Toàn đơn vị")
    assert "29 phiếu được tính" in whole
    assert whole.count("Chưa đủ mẫu") == 2
    shown = figures_shown(html)
    assert not FIGURE.search(shown), FIGURE.findall(shown)
    assert "Khoảng tin cậy" not in shown
    assert "Đạt" not in shown and "Chưa đạt" not in shown


def test_the_minimum_sample_itself_is_enough(app):
    build(app, {"HO_TICH": 30})
    whole = section(text_of(page(app.test_client())), "Toàn đơn vị")
    assert "Chưa đủ mẫu" not in whole
    assert "66,7%" in whole


def test_a_small_sector_is_withheld_with_the_smallest_other_so_it_cannot_be_subtracted(app):
    build(app, {"HO_TICH": 60, "DAT_DAI": 34, "CHUNG_THUC": 4})
    html = text_of(page(app.test_client()))
    assert FIGURE.search(section(html, "Toàn đơn vị"))
    assert FIGURE.search(section(html, "Hộ tịch"))
    small = section(html, "Chứng thực")
    assert "Chưa đủ mẫu" in small and not FIGURE.search(small)
    # The whole minus Hộ tịch would give Đất đai and Chứng thực pooled (38 responses), but
    # the whole minus both would give Chứng thực alone (4): Đất đai is withheld with it.
    shielding = section(html, "Đất đai")
    assert "Không công bố" in shielding and not FIGURE.search(shielding)
    assert "Khoảng tin cậy" not in shielding
    assert "có thể suy ra tỷ lệ của lĩnh vực chưa đủ mẫu" in words_of(html)


def test_the_withheld_sectors_together_always_hold_the_minimum_or_nothing():
    cases = [
        ({"a": 60, "b": 34, "c": 4}, {"b", "c"}),
        ({"a": 60, "b": 34, "c": 4, "d": 29}, {"c", "d"}),  # 33 withheld together: enough
        ({"a": 60, "b": 40}, set()),
        ({"a": 10}, {"a"}),
        ({"a": 31, "b": 1, "c": 0}, {"a", "b"}),
    ]
    for parts, expected in cases:
        whole = sum(parts.values())
        withheld = board.withheld_with_the_small(whole if whole >= 30 else 0, parts, 30)
        assert withheld == expected, parts
        pooled = sum(parts[key] for key in withheld)
        assert pooled == 0 or pooled >= 30 or whole < 30


def test_flagged_responses_do_not_lift_a_figure_over_the_minimum(app):
    agency_id = build(app, {"HO_TICH": 29})
    with app.app_context():
        agency = db.session.get(Agency, agency_id)
        code = create_code(agency, "Quầy 2", "HO_TICH")
        flag(record(code, local_time(2026, 8, 5)))
        db.session.commit()
    assert section(text_of(page(app.test_client())), "Toàn đơn vị").count("Chưa đủ mẫu") == 2


# Quarters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("quarter", ["2026-Q5", "2026Q3", "2099-Q1", "1999-Q1", "x" * 300,
                                     "2026-Q3\x00", "2026-Q3;", "٢٠٢٦-Q3"])
def test_a_quarter_we_do_not_show_gets_a_clear_page(app, quarter):
    build(app, {"HO_TICH": 40})
    result = page(app.test_client(), quarter=quarter)
    assert result.status_code == 404
    assert heading_of(result) == "Không có số liệu của quý này"


def test_without_a_quarter_the_last_complete_one_is_shown():
    from datetime import date

    assert board.default_quarter(date(2026, 12, 5)) == Quarter(2026, 3)
    assert board.default_quarter(date(2027, 1, 1)) == Quarter(2026, 4)
    assert Quarter(2026, 4).period.end == date(2026, 12, 31)
    assert Quarter(2024, 1).period.end == date(2024, 3, 31)
    assert board.parse_quarter("2026-Q4", date(2026, 12, 5)) == Quarter(2026, 4)
    assert board.parse_quarter("2027-Q1", date(2026, 12, 5)) is None


# Cache ---------------------------------------------------------------------------------------


def test_the_page_is_public_cacheable_and_revalidates_with_304(app):
    build(app, {"HO_TICH": 40})
    client = app.test_client()
    first = page(client)
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = page(client, etag=first.headers["ETag"])
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]


def test_a_new_response_changes_the_running_quarter_and_its_etag(app):
    with app.app_context():
        running = Quarter.of(local_today())
        agency = create_agency("XA-CUAVIET", "Xã Cửa Việt", "commune")
        codes = [create_code(agency, f"Quầy {n}", "HO_TICH").code for n in range(4)]
        begun = local_time(running.year, running.period.start.month, 1, 0, 0)
        for n in range(40):  # within the running quarter, however young it is
            moment = max(datetime.now(UTC) - timedelta(minutes=n), begun)
            record(codes[n % 4], moment, answers=answers_satisfied(n))
        code = codes[0]
        board.publish(db.session, agency)
        db.session.commit()
    client = app.test_client()
    first = page(client, quarter=running.key)
    assert "40 phiếu được tính" in section(text_of(first), "Toàn đơn vị")
    with app.app_context():
        record(code)
        db.session.commit()
    second = page(client, quarter=running.key, etag=first.headers["ETag"])
    assert second.status_code == 200
    assert "41 phiếu được tính" in section(text_of(second), "Toàn đơn vị")


def test_a_past_quarter_moves_with_a_flag_not_with_new_responses(app):
    agency_id = build(app, {"HO_TICH": 40})
    client = app.test_client()
    first = page(client)
    with app.app_context():
        agency = db.session.get(Agency, agency_id)
        record(create_code(agency, "Quầy 2", "HO_TICH"))  # today: another quarter
        db.session.commit()
    assert page(client, etag=first.headers["ETag"]).status_code == 304
    with app.app_context():
        flagged = db.session.scalar(select(Response).order_by(Response.id))
        flag_response(db.session, flagged, "abuse")
        db.session.commit()
    second = page(client, etag=first.headers["ETag"])
    assert second.status_code == 200
    assert "39 phiếu được tính" in section(text_of(second), "Toàn đơn vị")


def test_a_repeated_visit_is_served_from_the_kept_page(app, monkeypatch):
    build(app, {"HO_TICH": 40})
    built = []
    original = board.board_figures
    monkeypatch.setattr(board, "board_figures", lambda *a: built.append(a) or original(*a))
    for _visitor in range(3):
        assert page(app.test_client()).status_code == 200
    assert len(built) == 1


def test_stray_parameters_are_sent_to_the_address_without_them(app):
    build(app, {"HO_TICH": 40})
    client = app.test_client()
    for query, expected in (
        ("quy=2026-Q3&utm_source=congthongtin", "/cong-khai/XA-CUAVIET?quy=2026-Q3"),
        ("quy=2026-Q3&quy=2025-Q1", "/cong-khai/XA-CUAVIET?quy=2026-Q3"),
        ("x=%3Cscript%3E&lang=en", "/cong-khai/XA-CUAVIET?lang=en"),
    ):
        result = client.get(f"/cong-khai/XA-CUAVIET?{query}")
        assert result.status_code == 301 and result.headers["Location"] == expected, query
    result = client.get("/cong-khai?fbclid=abc")
    assert result.status_code == 301 and result.headers["Location"] == "/cong-khai"
    assert "script" not in text_of(client.get("/cong-khai/XA-CUAVIET?quy=2026-Q3"))


def test_choosing_english_keeps_the_answer_out_of_shared_caches(app):
    build(app, {"HO_TICH": 40})
    result = app.test_client().get(f"/cong-khai/XA-CUAVIET?quy={QUARTER}&lang=en")
    assert "Set-Cookie" in result.headers
    assert result.headers["Cache-Control"].startswith("private")
    assert '<html lang="en">' in text_of(result)


# Frames --------------------------------------------------------------------------------------


def test_the_board_may_be_framed_by_the_configured_portals_only(app):
    build(app, {"HO_TICH": 40})
    framed = make_app(app, BOARD_FRAME_ANCESTORS=PORTALS)
    client = framed.test_client()
    for path in ("/cong-khai", f"/cong-khai/XA-CUAVIET?quy={QUARTER}", "/cong-khai/KHONG-CO"):
        result = client.get(path)
        policy = result.headers["Content-Security-Policy"]
        assert ("frame-ancestors https://congthongtin.quangtri.gov.vn "
                "https://dichvucong.example:8443;") in policy, path
        assert "X-Frame-Options" not in result.headers, path
    for path in ("/", "/login", "/admin/board", "/s/ABCD2345", "/cong-khai/a/b"):
        result = client.get(path)
        assert "frame-ancestors 'none'" in result.headers["Content-Security-Policy"], path
        assert result.headers["X-Frame-Options"] == "DENY", path


def test_without_the_setting_the_board_refuses_frames_too(app):
    build(app, {"HO_TICH": 40})
    result = page(app.test_client())
    assert "frame-ancestors 'none'" in result.headers["Content-Security-Policy"]
    assert result.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("setting", [
    "*",
    "https://*.gov.vn",
    "http://congthongtin.quangtri.gov.vn",
    "https://portal.example; script-src https://evil.example",
    "https://portal.example;",
    "'self'",
    "'none'",
    "https://portal.example/path",
    "https://portal.example/",
    "https://portal.example,https://other.example",
    "https://portal.example\thttps://other.example",
    "https://portal.example\nscript-src *",
    "https://portal.example\x00",
    "https://portal.example:99999",
    "https://portal.example:0",
    'https://portal.example"',
    "https://user@portal.example",
    "https://-portal.example",
    "https://portal..example",
    "https://[::1]",
    "data:",
    "https://cổngthôngtin.vn",
])
def test_a_setting_that_is_not_a_list_of_https_origins_stops_the_start(database_url, setting):
    with pytest.raises(RuntimeError, match="BOARD_FRAME_ANCESTORS"):
        create_app({"DATABASE_URL": database_url, "BOARD_FRAME_ANCESTORS": setting})


def test_origins_are_read_in_any_case_and_spaces_between_them_do_not_matter():
    assert board_origins("  HTTPS://Portal.Example:443   https://portal.example:443 ") == (
        "https://portal.example:443",)


def board_origins(setting: str) -> tuple[str, ...]:
    from survey_app.web.security import parse_frame_ancestors

    return parse_frame_ancestors(setting)


# Publishing ----------------------------------------------------------------------------------


def publish_as(client: FlaskClient, agency_id: int, value: str) -> Any:
    token = csrf_token(client, "/admin/board")
    return client.post(f"/admin/board/{agency_id}", data={"publish": value, "csrf_token": token})


def test_an_admin_publishes_and_unpublishes_and_the_log_says_who(app):
    agency_id = build(app, {"HO_TICH": 40}, publish=False)
    make_user(app, ADMIN, "admin")
    client = sign_in(app.test_client(), ADMIN)
    assert "Chưa công khai" in words_of(client.get("/admin/board"))
    result = publish_as(client, agency_id, "1")
    assert result.status_code == 303
    assert "Đã công khai số liệu của Xã Cửa Việt." in words_of(client.get("/admin/board"))
    assert page(app.test_client()).status_code == 200
    with app.app_context():
        publication = db.session.get(BoardPublication, agency_id)
        assert publication is not None and publication.published_by.email == ADMIN
    publish_as(client, agency_id, "1")  # again: nothing new
    publish_as(client, agency_id, "0")
    assert page(app.test_client()).status_code == 404
    events = audit_events(app)
    published = [e for e in events if e.action.startswith("board.")]
    assert [(e.action, e.actor_email, e.target_id) for e in published] == [
        ("board.published", ADMIN, str(agency_id)),
        ("board.unpublished", ADMIN, str(agency_id)),
    ]
    log = words_of(client.get("/admin/audit"))
    assert "Công khai số liệu của đơn vị" in log and "Thôi công khai số liệu của đơn vị" in log


@pytest.mark.parametrize("value", ["", "2", "true", "1\x00", None])
def test_a_forged_choice_is_refused_and_changes_nothing(app, value):
    agency_id = build(app, {"HO_TICH": 40}, publish=False)
    make_user(app, ADMIN, "admin")
    client = sign_in(app.test_client(), ADMIN)
    token = csrf_token(client, "/admin/board")
    data = {"csrf_token": token} | ({} if value is None else {"publish": value})
    assert client.post(f"/admin/board/{agency_id}", data=data).status_code == 400
    assert client.post("/admin/board/999999", data={"publish": "1", "csrf_token": token}
                       ).status_code == 404
    assert page(app.test_client()).status_code == 404


def test_publishing_needs_the_csrf_token_of_the_session(app):
    agency_id = build(app, {"HO_TICH": 40}, publish=False)
    make_user(app, ADMIN, "admin")
    other = sign_in(app.test_client(), ADMIN)
    client = sign_in(app.test_client(), ADMIN)
    stolen = csrf_token(other, "/admin/board")
    result = client.post(f"/admin/board/{agency_id}", data={"publish": "1", "csrf_token": stolen})
    assert result.status_code == 400
    assert page(app.test_client()).status_code == 404


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_only_an_admin_may_publish(app, role):
    agency_id = build(app, {"HO_TICH": 40}, publish=False)
    email = f"{role}@xa.example"
    make_user(app, email, role, "XA-CUAVIET")
    client = sign_in(app.test_client(), email)
    assert heading_of(client.get("/admin/board")) == REFUSED
    token = csrf_token(client, "/manage/")
    result = client.post(f"/admin/board/{agency_id}", data={"publish": "1", "csrf_token": token})
    assert result.status_code == 403
    assert page(app.test_client()).status_code == 404
