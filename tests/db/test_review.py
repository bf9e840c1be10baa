"""Comments and the review queue: scope, filters, escaping, flag and restore."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.extensions import db
from survey_app.models import Response, utcnow
from survey_app.services import periods, rollups, tallies
from survey_app.services.periods import Period
from survey_app.services.review import PAGE_SIZE, casefold_pattern
from survey_app.services.tallies import TallyFilter
from tests.factories import (
    VALID_ANSWERS,
    audit_events,
    csrf_token,
    open_form,
    record,
    text_of,
)

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")

CONFLICT = "Không thể khôi phục: đã có một phiếu khác được tính cho mã hồ sơ này."


def answer(app: Flask, code: str, comment: str | None = "Cán bộ nhiệt tình.",
           at: datetime | None = None, **answers: Any) -> int:
    """Store one response through the survey's own recording path; return its id."""
    with app.app_context():
        response = record(code, at, comment=comment, **answers)
        db.session.commit()
        return response.id


def stored(app: Flask, response_id: int) -> tuple[str, str | None]:
    with app.app_context():
        response = db.session.get(Response, response_id)
        assert response is not None
        return response.status, response.status_reason


def figures(app: Flask, agency_id: int) -> tuple[int, int]:
    """Return (counted responses, stored responses) of an agency this year, from the rollups."""
    with app.app_context():
        today = periods.local_date(utcnow())
        flt = TallyFilter(Period(today - timedelta(days=365), today), frozenset({agency_id}))
        counted = tallies.count_answers(db.session, flt)[None].responses
        by_status = tallies.count_by_status(db.session, flt).get(None, {})
        return counted, sum(by_status.values())


def _local_day(app: Flask, moment: datetime) -> date:
    with app.app_context():
        return periods.local_date(moment)


def flag(client: FlaskClient, response_id: int, reason: str = "abuse", note: str = "",
         next_path: str = "/review/comments") -> Any:
    return client.post(f"/review/responses/{response_id}/flag", data={
        "reason": reason, "note": note, "next": next_path, "csrf_token": csrf_token(client)})


def restore(client: FlaskClient, response_id: int, next_path: str = "/review/flagged") -> Any:
    return client.post(f"/review/responses/{response_id}/restore", data={
        "next": next_path, "csrf_token": csrf_token(client)})


def comments(client: FlaskClient, query: str = "") -> tuple[int, str]:
    page = client.get(f"/review/comments{query}")
    return page.status_code, text_of(page)


# Who sees what ---------------------------------------------------------------------------


def test_a_commune_manager_reads_only_the_comments_of_their_commune(app, world):
    answer(app, world.code_a, "Ý kiến ở xã A")
    answer(app, world.code_b, "Ý kiến ở xã B")
    client = world.signed_in("manager_a")

    status, html = comments(client)
    assert status == 200
    assert "Ý kiến ở xã A" in html and "Xã A" in html
    assert "Ý kiến ở xã B" not in html
    assert 'value="XA-B"' not in html and 'value="TINH"' not in html  # the agency choices

    for query in ("?agency=XA-B", "?agency=xa-b", "?agency=TINH"):
        status, html = comments(client, query)
        assert status == 403, query
        assert "Ý kiến ở xã B" not in html
    assert client.get("/review/flagged?agency=XA-B").status_code == 403


def test_the_province_manager_reads_every_commune_and_can_narrow_to_one(app, world):
    answer(app, world.code_a, "Ý kiến ở xã A")
    answer(app, world.code_b, "Ý kiến ở xã B")
    client = world.signed_in("manager_province")
    html = comments(client)[1]
    assert "Ý kiến ở xã A" in html and "Ý kiến ở xã B" in html
    status, html = comments(client, "?agency=XA-B")
    assert status == 200
    assert "Ý kiến ở xã B" in html and "Ý kiến ở xã A" not in html


def test_an_unknown_agency_or_sector_is_a_clear_error(app, world):
    client = world.signed_in("admin")
    status, html = comments(client, "?agency=KHONG-CO")
    assert status == 400
    assert "Không có đơn vị nào với mã này." in html
    status, html = comments(client, "?sector=KHONG_CO")
    assert status == 400
    assert "Không có lĩnh vực nào với mã này." in html


@pytest.mark.parametrize("persona", ["staff_a", "staff_b"])
def test_staff_may_not_review(app, world, persona):
    response_id = answer(app, world.code_a)
    client = world.signed_in(persona)
    assert client.get("/review/comments").status_code == 403
    assert client.get("/review/flagged").status_code == 403
    assert flag(client, response_id).status_code == 403
    assert restore(client, response_id).status_code == 403
    assert stored(app, response_id) == ("counted", None)


def test_anonymous_visitors_are_sent_to_sign_in(app, world):
    client = app.test_client()
    for path in ("/review/comments", "/review/flagged"):
        page = client.get(path)
        assert page.status_code == 302
        assert page.headers["Location"].startswith("/login")
    response_id = answer(app, world.code_a)
    app.config["WTF_CSRF_ENABLED"] = False  # so the request reaches the sign-in check
    for action in ("flag", "restore"):
        page = client.post(f"/review/responses/{response_id}/{action}", data={"reason": "abuse"})
        assert page.status_code == 302
        assert page.headers["Location"].startswith("/login")
    assert stored(app, response_id) == ("counted", None)


# What the list shows ---------------------------------------------------------------------


def test_a_comment_is_shown_escaped(app, world):
    citizen = app.test_client()
    tokens = open_form(citizen, world.code_a)
    sent = citizen.post(f"/s/{world.code_a}", data={
        **VALID_ANSWERS, **tokens, "comment": "<script>alert(1)</script> & <b>đậm</b>"})
    assert sent.status_code in (302, 303)

    html = comments(world.signed_in("manager_a"))[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;đậm&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert "<b>đậm</b>" not in html


def test_each_comment_says_where_how_satisfied_and_whether_it_counts(app, world):
    answer(app, world.code_a, "Chờ lâu quá", q6="2")
    html = comments(world.signed_in("manager_a"))[1]
    assert "Chờ lâu quá" in html
    assert "Xã A" in html and "Quầy 1" in html and "Đất đai" in html
    assert "Không hài lòng" in html
    assert "Được tính" in html
    assert "Đánh dấu không tính" in html  # the flag form of a counted response


def test_responses_without_a_comment_are_not_listed(app, world):
    answer(app, world.code_a, None)
    answer(app, world.code_a, "Có ý kiến")
    html = comments(world.signed_in("manager_a"))[1]
    assert html.count('id="response-') == 1


def test_low_overall_only(app, world):
    answer(app, world.code_a, "Rất tệ", q6="1")
    answer(app, world.code_a, "Hơi chậm", q6="2")
    answer(app, world.code_a, "Bình thường thôi", q6="3")
    answer(app, world.code_a, "Rất tốt", q6="5")
    client = world.signed_in("manager_a")
    html = comments(client, "?low=y")[1]
    assert "Rất tệ" in html and "Hơi chậm" in html
    assert "Bình thường thôi" not in html and "Rất tốt" not in html
    assert "Rất không hài lòng" in html
    assert "Bình thường thôi" in comments(client)[1]


@pytest.mark.parametrize("typed", ["cán bộ", "CÁN BỘ", "Cán Bộ", "cÁn bỘ", "  cán bộ  "])
def test_search_ignores_case_including_vietnamese_letters(app, world, typed):
    answer(app, world.code_a, "Cán bộ rất nhiệt tình")
    answer(app, world.code_a, "THÁI ĐỘ CÁN BỘ CHƯA TỐT")
    answer(app, world.code_a, "Chờ đợi quá lâu")
    answer(app, world.code_a, "Can bo khong dau")  # without diacritics: another word
    status, html = comments(world.signed_in("manager_a"), f"?q={typed}")
    assert status == 200
    assert "Cán bộ rất nhiệt tình" in html and "THÁI ĐỘ CÁN BỘ CHƯA TỐT" in html
    assert "Chờ đợi quá lâu" not in html and "Can bo khong dau" not in html


def test_search_matches_a_vietnamese_capital_in_the_middle_of_a_word(app, world):
    answer(app, world.code_a, "Phòng chờ ĐÔNG người")
    client = world.signed_in("manager_a")
    assert "Phòng chờ ĐÔNG người" in comments(client, "?q=đông người")[1]
    assert "Phòng chờ ĐÔNG người" not in comments(client, "?q=dong nguoi")[1]


def test_search_treats_wildcards_and_pattern_characters_literally(app, world):
    answer(app, world.code_a, "Giảm 50% thời gian")
    answer(app, world.code_a, "Giảm 500 ngày")
    answer(app, world.code_a, "Mã_hồ_sơ sai")
    answer(app, world.code_a, "Mã hồ sơ đúng")
    answer(app, world.code_a, "Hỏi (có) [ngoặc] *sao* a+b? \\ ^$ |")
    client = world.signed_in("manager_a")

    html = comments(client, "?q=50%25")[1]
    assert "Giảm 50% thời gian" in html and "Giảm 500 ngày" not in html
    html = comments(client, "?q=_")[1]
    assert "Mã_hồ_sơ sai" in html and "Mã hồ sơ đúng" not in html
    html = comments(client, "?q=%25")[1]
    assert "Giảm 50% thời gian" in html and "Giảm 500 ngày" not in html
    for typed in ("(có) [ngoặc]", "*sao*", "a+b?", "\\ ^$ |"):
        status, html = comments(client, "?" + urlencode({"q": typed}))
        assert status == 200, typed
        assert "Hỏi (có)" in html, typed
        assert "Giảm 500 ngày" not in html, typed
    assert "Giảm 500 ngày" not in comments(client, "?q=.")[1]


def test_the_pattern_folds_only_letters():
    assert casefold_pattern("Cán 5%_") == "[Cc][Áá][Nn]\\ 5\\%\\_"


def test_a_search_that_is_too_long_is_refused_with_a_message(app, world):
    status, html = comments(world.signed_in("manager_a"), "?q=" + "a" * 101)
    assert status == 400
    assert "Nội dung tìm dài quá 100 ký tự." in html


def test_status_filter(app, world):
    first = answer(app, world.code_a, "Phiếu được tính", dossier="HS-1")
    answer(app, world.code_a, "Phiếu trùng mã", dossier="HS-1")
    assert stored(app, first) == ("counted", None)
    client = world.signed_in("manager_a")
    html = comments(client, "?status=counted")[1]
    assert "Phiếu được tính" in html and "Phiếu trùng mã" not in html
    html = comments(client, "?status=not_counted")[1]
    assert "Phiếu trùng mã" in html and "Phiếu được tính" not in html
    assert "Trùng mã hồ sơ" in html
    html = comments(client, "?status=all")[1]
    assert "Phiếu trùng mã" in html and "Phiếu được tính" in html
    assert comments(client, "?status=bogus")[0] == 400


def test_period_filter(app, world):
    long_ago = utcnow() - timedelta(days=800)
    answer(app, world.code_a, "Ý kiến cũ", at=long_ago)
    answer(app, world.code_a, "Ý kiến mới")
    client = world.signed_in("manager_a")
    html = comments(client)[1]  # this year by default, as on the dashboard
    assert "Ý kiến mới" in html and "Ý kiến cũ" not in html
    day = _local_day(app, long_ago)
    typed = day.strftime("%d/%m/%Y")
    html = comments(client, f"?from={typed}&to={typed}")[1]
    assert "Ý kiến cũ" in html and "Ý kiến mới" not in html
    # Links (the downloads, the dashboard's) write the dates YYYY-MM-DD: read as well.
    html = comments(client, f"?from={day.isoformat()}&to={day.isoformat()}")[1]
    assert "Ý kiến cũ" in html and "Ý kiến mới" not in html


@pytest.mark.parametrize("query, message", [
    ("?from=01/03/2025", "Vui lòng nhập cả ngày bắt đầu và ngày kết thúc."),
    ("?from=31/03/2025&to=01/03/2025", "Ngày kết thúc phải trùng hoặc sau ngày bắt đầu."),
    ("?from=2025-31-03&to=01/04/2025",
     "Vui lòng viết ngày theo dạng ngày/tháng/năm, ví dụ 31/03/2025."),
    ("?from=01/01/2000&to=01/01/2025", "Khoảng thời gian dài nhất là 10 năm."),
    ("?period=forever", "Vui lòng chọn một mục trong danh sách."),
    ("?period=all", "Vui lòng chọn một mục trong danh sách."),
])
def test_a_bad_period_is_explained(app, world, query, message):
    for path in ("/review/comments", "/review/flagged"):
        page = world.signed_in("manager_a").get(f"{path}{query}")
        assert page.status_code == 400
        assert message in text_of(page)


@pytest.mark.parametrize("path", ["/dashboard/", "/review/comments", "/review/flagged"])
def test_the_review_pages_show_the_dashboards_filter_bar(app, world, path):
    html = text_of(world.signed_in("manager_province").get(path))
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>',
                         html.split('name="period"', 1)[1].split("</select>", 1)[0])
    assert options == [
        ("this_month", "Tháng này"), ("this_quarter", "Quý này"), ("this_year", "Năm nay"),
        ("last_12_months", "12 tháng gần nhất"), ("custom", "Tự chọn khoảng ngày"),
    ]
    assert re.search(r'<option selected value="this_year">|<option value="this_year" selected',
                     html)
    for name in ("from", "to"):
        assert re.search(rf'<input[^>]*name="{name}"[^>]*type="text"', html)
    assert "Ngày/tháng/năm, ví dụ 01/01/2025" in html
    assert "Tất cả đơn vị trong phạm vi" in html and "Tất cả lĩnh vực" in html
    assert "Mọi đơn vị" not in html and "gần đây" not in html


def test_the_links_between_review_pages_keep_the_filter(app, world):
    first = answer(app, world.code_a, "Một", dossier="HS-7")
    answer(app, world.code_a, "Hai", dossier="HS-7")
    assert stored(app, first)[0] == "counted"
    client = world.signed_in("manager_province")
    html = comments(client, "?period=this_month&agency=XA-A")[1]
    assert unescape(html).count("/review/flagged?period=this_month&agency=XA-A") == 2


def test_counted_and_stored_totals_are_shown(app, world):
    answer(app, world.code_a, "Một", dossier="HS-9")
    answer(app, world.code_a, "Hai", dossier="HS-9")  # a duplicate: stored, not counted
    answer(app, world.code_a, None)
    html = comments(world.signed_in("manager_a"))[1]
    assert "2 phiếu được tính vào số liệu" in html
    assert "1 phiếu được lưu nhưng không được tính" in html
    assert "Tổng cộng 3 phiếu đã lưu" in html


def test_pages_of_fifty_newest_first_without_repeats(app, world):
    start = utcnow() - timedelta(days=2)
    for n in range(PAGE_SIZE + 5):
        answer(app, world.code_a, f"Ý kiến số {n:03d}", at=start + timedelta(minutes=n))
    client = world.signed_in("manager_a")
    first = comments(client)[1]
    assert first.count('id="response-') == PAGE_SIZE
    assert first.index("Ý kiến số 054") < first.index("Ý kiến số 005")
    assert "Ý kiến số 004" not in first
    next_url = next_page_url(first)
    second = text_of(client.get(next_url))
    assert second.count('id="response-') == 5
    assert all(f"Ý kiến số {n:03d}" in second for n in range(5))
    assert "Ý kiến số 005" not in second
    assert "← Về mới nhất" in second and 'rel="next"' not in second


def next_page_url(html: str) -> str:
    match = re.search(r'<a href="([^"]+)" rel="next">', html)
    assert match, "no link to the next page"
    return unescape(match.group(1))


# Flag and restore ------------------------------------------------------------------------


def test_flagging_leaves_a_response_out_of_the_figures_and_restoring_brings_it_back(app, world):
    response_id = answer(app, world.code_a, "Phiếu giả")
    answer(app, world.code_a, "Phiếu thật")
    assert figures(app, world.a_id) == (2, 2)
    client = world.signed_in("manager_a")

    page = flag(client, response_id, "abuse", "Cùng một người gửi nhiều lần",
                next_path="/review/comments?q=phi%E1%BA%BFu")
    assert page.status_code == 303
    assert page.headers["Location"] == f"/review/comments?q=phi%E1%BA%BFu#response-{response_id}"
    assert stored(app, response_id) == ("flagged", "manual:abuse")
    assert figures(app, world.a_id) == (1, 2)
    html = text_of(client.get(page.headers["Location"]))
    assert f"Đã đánh dấu phiếu #{response_id}" in html
    assert "Đánh dấu thủ công: Lạm dụng / phiếu giả" in html

    [event] = audit_events(app, "response.flagged")
    assert event.target_type == "Response" and event.target_id == str(response_id)
    assert event.actor_email == world.emails["manager_a"]
    assert event.details == {"old_status": "counted", "old_reason": None,
                             "new_status": "flagged", "new_reason": "manual:abuse",
                             "note": "Cùng một người gửi nhiều lần"}

    queue = text_of(client.get("/review/flagged"))
    assert "Phiếu giả" in queue and "Phiếu thật" not in queue
    assert "Cùng một người gửi nhiều lần" in queue
    assert world.emails["manager_a"] in queue

    page = restore(client, response_id)
    assert page.status_code == 303
    assert stored(app, response_id) == ("counted", None)
    assert figures(app, world.a_id) == (2, 2)
    [event] = audit_events(app, "response.restored")
    assert event.details == {"old_status": "flagged", "old_reason": "manual:abuse",
                             "new_status": "counted", "new_reason": None}
    assert f"Đã khôi phục phiếu #{response_id}" in text_of(client.get(page.headers["Location"]))


def test_flag_changes_the_report_figures(app, world):
    from survey_app.services.reports import build_report

    response_id = answer(app, world.code_a)

    def counted_and_raw() -> tuple[int, int]:
        with app.app_context():
            today = periods.local_date(utcnow())
            report = build_report(db.session, TallyFilter(Period(today, today),
                                                          frozenset({world.a_id})))
            scope = report.scopes["all"]
            return scope.responses, scope.raw_responses

    assert counted_and_raw() == (1, 1)
    flag(world.signed_in("admin"), response_id, "test")
    assert stored(app, response_id) == ("flagged", "manual:test")
    assert counted_and_raw() == (0, 1)


def test_flagging_twice_or_restoring_a_counted_response_changes_nothing(app, world):
    response_id = answer(app, world.code_a)
    client = world.signed_in("manager_a")
    page = restore(client, response_id)
    assert "đang được tính; không có gì thay đổi" in text_of(client.get(page.headers["Location"]))
    assert audit_events(app, "response.restored") == []

    flag(client, response_id, "test")
    page = flag(client, response_id, "abuse")
    assert "đã được đánh dấu từ trước; không có gì thay đổi" in text_of(
        client.get(page.headers["Location"]))
    assert stored(app, response_id) == ("flagged", "manual:test")
    assert len(audit_events(app, "response.flagged")) == 1
    assert figures(app, world.a_id) == (0, 1)


def test_a_bad_flag_form_changes_nothing_and_says_why(app, world):
    response_id = answer(app, world.code_a)
    client = world.signed_in("manager_a")
    page = flag(client, response_id, "abuse", "x" * 201)
    assert page.status_code == 303
    assert "Ghi chú dài quá 200 ký tự." in text_of(client.get(page.headers["Location"]))
    page = flag(client, response_id, "spam")
    assert "Vui lòng chọn một mục trong danh sách." in text_of(
        client.get(page.headers["Location"]))
    assert stored(app, response_id) == ("counted", None)
    assert audit_events(app, "response.flagged") == []


def test_flag_needs_the_csrf_token(app, world):
    response_id = answer(app, world.code_a)
    client = world.signed_in("manager_a")
    page = client.post(f"/review/responses/{response_id}/flag", data={"reason": "abuse"})
    assert page.status_code == 400
    assert stored(app, response_id) == ("counted", None)


def test_flag_and_restore_stay_within_the_scope(app, world):
    in_b = answer(app, world.code_b)
    client = world.signed_in("manager_a")
    assert flag(client, in_b).status_code == 403
    assert stored(app, in_b) == ("counted", None)
    assert restore(client, in_b).status_code == 403
    assert flag(client, 999999).status_code == 404
    assert restore(client, 999999).status_code == 404
    assert flag(world.signed_in("manager_province"), in_b).status_code == 303
    assert stored(app, in_b) == ("flagged", "manual:abuse")


@pytest.mark.parametrize("unsafe", [
    "//evil.example/x", "https://evil.example/", "\\\\evil", "/\\evil", "",
    "/\t/evil.example", "/\n/evil.example", "/\r\nSet-Cookie: x=1", "/%09/evil.example",
    "/%2F/evil.example", "/%5Cevil.example", "/%252F%252Fevil.example",
])
def test_the_way_back_is_a_path_of_this_site(app, world, unsafe):
    response_id = answer(app, world.code_a)
    client = world.signed_in("manager_a")
    for page in (flag(client, response_id, next_path=unsafe),
                 restore(client, response_id, next_path=unsafe)):
        assert page.status_code == 303
        assert page.headers["Location"] == f"/review/comments#response-{response_id}"


def test_the_way_back_lands_on_the_response_whatever_anchor_it_had(app, world):
    response_id = answer(app, world.code_a)
    page = flag(world.signed_in("manager_a"), response_id,
                next_path="/review/flagged?period=this_month#response-1")
    assert page.headers["Location"] == f"/review/flagged?period=this_month#response-{response_id}"


def test_restoring_a_repeated_dossier_never_counts_it_twice(app, world):
    first = answer(app, world.code_a, "Lần đầu", dossier="HS-2025-001")
    repeat = answer(app, world.code_a, "Lần hai", dossier="HS-2025-001")
    assert stored(app, repeat) == ("duplicate", "dossier_repeat")
    client = world.signed_in("manager_a")

    queue = text_of(client.get("/review/flagged"))
    assert "Lần hai" in queue and "Lần đầu" not in queue
    assert "Mã hồ sơ này đã có một phiếu khác được tính" in queue

    page = restore(client, repeat)
    assert page.status_code == 303
    assert CONFLICT in text_of(client.get(page.headers["Location"]))
    assert stored(app, repeat) == ("duplicate", "dossier_repeat")
    assert figures(app, world.a_id) == (1, 2)
    assert audit_events(app, "response.restored") == []

    # Once the first one is left out, the repeat may take its place, and not back again.
    flag(client, first, "other")
    restore(client, repeat)
    assert stored(app, repeat) == ("counted", None)
    page = restore(client, first)
    assert CONFLICT in text_of(client.get(page.headers["Location"]))
    assert stored(app, first) == ("flagged", "manual:other")
    assert figures(app, world.a_id) == (1, 2)


def test_the_queue_explains_every_reason_in_words(app, world):
    ids = {reason: answer(app, world.code_a, f"Phiếu {reason}") for reason in
           ("too_fast", "honeypot", "device_repeat", "burst", "something_new")}
    answer(app, world.code_a, "Phiếu bình thường")
    with app.app_context():
        for reason, response_id in ids.items():
            response = db.session.get(Response, response_id)
            assert response is not None
            rollups.change_status(db.session, response, "flagged", reason)
        db.session.commit()
    html = text_of(world.signed_in("manager_province").get("/review/flagged"))
    assert "Gửi quá nhanh sau khi mở phiếu" in html
    assert "Có dấu hiệu gửi tự động" in html
    assert "Cùng một thiết bị gửi nhiều phiếu" in html
    assert "Nhiều phiếu dồn dập qua cùng một mã QR" in html
    assert "something_new" in html  # an unknown reason is shown as stored
    assert "Phiếu bình thường" not in html
    assert html.count("Khôi phục</button>") == 5
    assert figures(app, world.a_id) == (1, 6)


def test_the_queue_lists_responses_without_a_comment_too(app, world):
    response_id = answer(app, world.code_a, None)
    flag(world.signed_in("admin"), response_id)
    html = text_of(world.signed_in("manager_a").get("/review/flagged"))
    assert f'id="response-{response_id}"' in html
    assert "Không có ý kiến" in html


def test_old_responses_in_the_queue_are_found_by_their_dates(app, world):
    old = answer(app, world.code_a, "Cũ", at=datetime(2024, 1, 5, 3, 0, tzinfo=UTC),
                 dossier="HS-OLD")
    repeat = answer(app, world.code_a, "Cũ lặp lại", at=datetime(2024, 1, 6, 3, 0, tzinfo=UTC),
                    dossier="HS-OLD")
    assert stored(app, old)[0] == "counted" and stored(app, repeat)[0] == "duplicate"
    client = world.signed_in("manager_a")
    assert "Cũ lặp lại" not in text_of(client.get("/review/flagged"))  # this year by default
    html = text_of(client.get("/review/flagged?from=01/01/2024&to=31/12/2024"))
    assert "Cũ lặp lại" in html
