"""The citizen's survey, end to end through the test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import SurveyCode
from survey_app.services.recording import CODE_REVOKED, dossier_hash
from tests.factories import (
    VALID_ANSWERS,
    a_moment_later,
    create_agency,
    create_code,
    open_form,
    responses,
    submit,
    tally_of_today,
    text_of,
)

# Showing the form --------------------------------------------------------------------


def test_form_in_vietnamese_names_the_place_and_every_question(client, survey_code):
    page = client.get(f"/s/{survey_code}")
    html = text_of(page)

    assert page.status_code == 200
    assert '<html lang="vi">' in html
    assert "Trung tâm Phục vụ hành chính công tỉnh" in html
    assert "Quầy 3 · Đất đai" in html
    assert "Phiếu không ghi tên" in html
    assert "Nơi tiếp nhận hồ sơ có biển chỉ dẫn rõ ràng" in html
    assert "Nhìn chung, Ông/Bà hài lòng như thế nào" in html
    for label in ("Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng",
                  "Rất hài lòng", "Chưa nhận kết quả", "Chưa góp ý, phản ánh"):
        assert label in html
    for name in ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"):
        assert f'name="{name}"' in html
    assert 'name="comment"' in html and 'name="dossier"' in html
    assert "Gửi đánh giá" in html
    # Five faces and words, never bare numbers, for each 1–5 question.
    assert html.count('href="#face-5"') == 6


def test_form_reads_in_the_2026_wording(client, survey_code):
    html = text_of(client.get(f"/s/{survey_code}"))
    assert ("Xin Ông/Bà cho biết mức độ hài lòng khi đến làm thủ tục tại Trung tâm Phục vụ "
            "hành chính công tỉnh hôm nay. Với mỗi nội dung dưới đây, xin chọn một mức.") in html
    assert ("Lần này, Ông/Bà có bị gây phiền hà, sách nhiễu hoặc phải đưa thêm tiền ngoài "
            "phí, lệ phí không?") in html
    # q7's answers with «Có» first; what each one sends is unchanged.
    q7 = re.findall(r'name="q7" value="(\w+)".*?<span class="text">([^<]+)</span>', html, re.S)
    assert q7 == [("yes", "Có"), ("no", "Không"), ("decline", "Không muốn trả lời")]
    for label in ("Cách hướng dẫn của công chức", "Thời gian giải quyết",
                  "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị"):
        assert label in html
    assert "Không bắt buộc. Xin không ghi họ tên, số điện thoại, số CCCD." in html
    assert ("Không bắt buộc · Ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả (giấy hẹn). "
            "Chỉ dùng để mỗi hồ sơ được đánh giá một lần.") in html


def test_form_reads_in_the_2026_wording_in_english(client, survey_code):
    english = text_of(client.get(f"/s/{survey_code}?lang=en"))
    assert "Please tell us how satisfied you are with your visit to" in english
    assert "This time, were you harassed, or asked for money beyond the fees?" in english
    assert "Optional. Please do not write names, phone or ID numbers." in english


def test_form_in_english_on_request_and_the_choice_is_remembered(client, survey_code):
    english = text_of(client.get(f"/s/{survey_code}?lang=en"))
    assert '<html lang="en">' in english
    assert "Overall, how satisfied are you" in english
    assert "Very satisfied" in english
    assert "Counter 3" not in english  # counter names are the agency's own words
    assert "Quầy 3 · Land" in english

    again = text_of(client.get(f"/s/{survey_code}"))
    assert '<html lang="en">' in again

    back = text_of(client.get(f"/s/{survey_code}?lang=vi"))
    assert '<html lang="vi">' in back


def test_language_switch_is_a_link_on_the_page(client, survey_code):
    html = text_of(client.get(f"/s/{survey_code}"))
    assert f'href="/s/{survey_code}?lang=en"' in html


def test_code_typed_in_lower_case_opens_the_same_form(client, survey_code):
    page = client.get(f"/s/{survey_code.lower()}")
    assert page.status_code == 308
    assert page.headers["Location"].endswith(f"/s/{survey_code}")


def test_home_page_takes_a_typed_code(client, survey_code):
    page = client.get("/s", query_string={"code": f"  {survey_code.lower()} "})
    assert page.status_code == 302
    assert page.headers["Location"].endswith(f"/s/{survey_code}")


def test_form_and_its_assets_weigh_under_30_kb_and_stay_on_the_server(client, survey_code):
    html = text_of(client.get(f"/s/{survey_code}"))
    assets = re.findall(r'(?:href|src)="(/static/[^"?]+)', html)
    assert {a.rsplit("/", 1)[1] for a in assets} == {"public.css", "survey.js"}
    total = len(html.encode())
    for asset in assets:
        with client.get(asset) as response:
            total += len(response.data)
    assert total < 30 * 1024, total
    # Nothing is fetched from elsewhere: no absolute URL in any src or href.
    assert not re.search(r'(?:href|src)="(?:https?:)?//', html)


# Submitting ----------------------------------------------------------------------------


def test_valid_submission_is_stored_with_every_field(app, client, survey_code):
    before = datetime.now(UTC)
    result = submit(client, survey_code, VALID_ANSWERS, dossier=" 000.00.12.h56-250101 ")

    assert result.status_code == 303
    assert result.headers["Location"].endswith(f"/s/{survey_code}/thanks")
    thanks = client.get(result.headers["Location"])
    assert "Cảm ơn Ông/Bà đã đánh giá" in text_of(thanks)
    assert "<form" not in text_of(thanks)

    [stored] = responses(app)
    assert stored.survey_code.code == survey_code
    assert (stored.agency_id, stored.counter_id, stored.sector_id) == (
        stored.survey_code.agency_id, stored.survey_code.counter_id,
        stored.survey_code.sector_id)
    assert stored.questionnaire_version == "sipas-2026-short"
    assert (stored.q1, stored.q2, stored.q3, stored.q4, stored.q5, stored.q6) == (
        5, 4, 5, None, 3, 4)
    assert stored.q7 == "no"
    assert stored.wish_codes == ["online", "speed"]
    assert stored.comment == "Cán bộ nhiệt tình."
    assert stored.language == "vi"
    assert (stored.status, stored.status_reason) == ("counted", None)
    assert before <= stored.created_at <= datetime.now(UTC)
    assert stored.created_at.tzinfo is not None
    # The dossier code is normalised and kept only as a keyed hash.
    with app.app_context():
        assert stored.dossier_hash == dossier_hash("000.00.12.H56-250101")
    assert "250101" not in repr(vars(stored))


def test_optional_questions_may_be_left_out(app, client, survey_code):
    answers = {k: VALID_ANSWERS[k] for k in ("q1", "q2", "q3", "q4", "q5", "q6")}
    assert submit(client, survey_code, answers).status_code == 303
    [stored] = responses(app)
    assert (stored.q7, stored.wish_codes, stored.comment, stored.dossier_hash) == (
        None, [], None, None)


def test_english_submission_records_its_language(app, client, survey_code):
    tokens = open_form(client, survey_code, "?lang=en")
    assert submit(client, survey_code, VALID_ANSWERS, tokens).status_code == 303
    assert responses(app)[0].language == "en"


def test_comment_is_cleaned_of_control_characters(app, client, survey_code):
    result = submit(client, survey_code, VALID_ANSWERS, comment="  Tốt\x00 lắm\r\nCảm ơn\x07 ")
    assert result.status_code == 303
    assert responses(app)[0].comment == "Tốt lắm\nCảm ơn"


def test_comment_of_exactly_1000_characters_is_accepted(app, client, survey_code):
    assert submit(client, survey_code, VALID_ANSWERS, comment="ơ" * 1000).status_code == 303
    assert len(responses(app)[0].comment) == 1000


# Bad input: a clear answer, the answers kept, nothing stored ---------------------------


def test_missing_required_answer_is_named_and_other_answers_stay_selected(
    app, client, survey_code
):
    answers = {k: v for k, v in VALID_ANSWERS.items() if k != "q3"}
    result = submit(client, survey_code, answers)
    html = text_of(result)

    assert result.status_code == 422
    assert "Vui lòng trả lời các câu còn thiếu" in html
    assert '<a href="#q3-1">Câu 3: Vui lòng chọn một câu trả lời cho câu này.</a>' in html
    assert 'id="q3-error"' in html
    assert re.search(r'id="q1-5" name="q1" value="5" checked', html)
    assert re.search(r'id="q4-na" name="q4" value="na" checked', html)
    assert re.search(r'id="q8-speed" name="q8" value="speed" checked', html)
    assert "Cán bộ nhiệt tình." in html
    assert responses(app) == []


@pytest.mark.parametrize(
    ("overrides", "anchor", "message"),
    [
        ({"q1": "7"}, "q1-1", "Câu trả lời này không có trong danh sách, vui lòng chọn lại."),
        ({"q6": "na"}, "q6-1", "Câu trả lời này không có trong danh sách, vui lòng chọn lại."),
        ({"q7": "maybe"}, "q7-yes", "Câu trả lời này không có trong danh sách, vui lòng chọn lại."),
        ({"q8": ["speed", "bribes"]}, "q8-facilities",
         "Lựa chọn này không có trong danh sách, vui lòng chọn lại."),
        ({"q8": ["speed", "online", "attitude"]}, "q8-facilities", "Vui lòng chọn tối đa 2 ý."),
        ({"comment": "a" * 1001}, "comment", "Ý kiến dài quá 1.000 ký tự, vui lòng rút gọn."),
        ({"dossier": "HS 2025;DROP"}, "dossier", "Mã hồ sơ chỉ gồm chữ cái không dấu"),
        ({"dossier": "A" * 41}, "dossier", "Mã hồ sơ dài tối đa 40 ký tự."),
    ],
)
def test_invalid_answer_gets_a_clear_message_and_stores_nothing(
    app, client, survey_code, overrides, anchor, message
):
    result = submit(client, survey_code, VALID_ANSWERS, **overrides)
    html = text_of(result)

    assert result.status_code == 422
    assert "Vui lòng kiểm tra lại các câu trả lời" in html
    assert f'<a href="#{anchor}">' in html
    assert message in html
    assert responses(app) == []


def test_missing_csrf_token_keeps_the_answers_and_stores_nothing(app, client, survey_code):
    tokens = open_form(client, survey_code)
    tokens.pop("csrf_token")
    result = submit(client, survey_code, VALID_ANSWERS, tokens)
    html = text_of(result)

    assert result.status_code == 400
    assert "Trang đã mở quá lâu nên phiếu chưa gửi được" in html
    assert re.search(r'id="q1-5" name="q1" value="5" checked', html)
    assert responses(app) == []


def test_wrong_csrf_token_stores_nothing(app, client, survey_code):
    tokens = open_form(client, survey_code)
    tokens["csrf_token"] = "forged"
    assert submit(client, survey_code, VALID_ANSWERS, tokens).status_code == 400
    assert responses(app) == []


def test_post_from_another_browser_without_the_session_is_refused(app, survey_code):
    tokens = open_form(app.test_client(), survey_code)
    stranger = app.test_client()  # no session cookie: a cross-site or scripted post
    assert submit(stranger, survey_code, VALID_ANSWERS, tokens).status_code == 400
    assert responses(app) == []


def test_forged_or_foreign_submit_token_is_refused(app, client, survey_code):
    with app.app_context():
        other = create_code(create_agency("XA", "Xã A", "commune"), "Quầy 1", "HO_TICH").code
        db.session.commit()
    tokens = open_form(client, survey_code)
    foreign = open_form(client, other)["submit_token"]

    for token in ("forged.token", foreign, ""):
        result = submit(client, survey_code, VALID_ANSWERS, {**tokens, "submit_token": token})
        assert result.status_code == 400
        assert "Trang đã mở quá lâu nên phiếu chưa gửi được" in text_of(result)
    assert responses(app) == []


def test_replayed_submit_lands_on_the_same_thanks_page_and_stores_one(app, client, survey_code):
    tokens = open_form(client, survey_code)
    first = submit(client, survey_code, VALID_ANSWERS, tokens)
    again = submit(client, survey_code, VALID_ANSWERS, tokens)
    changed = submit(client, survey_code, {**VALID_ANSWERS, "q1": "1"}, tokens)

    for result in (first, again, changed):
        assert result.status_code == 303
        assert result.headers["Location"].endswith(f"/s/{survey_code}/thanks")
    [stored] = responses(app)
    assert stored.q1 == 5


def test_each_new_rendering_may_submit_once(app, client, survey_code):
    assert submit(client, survey_code, VALID_ANSWERS).status_code == 303
    assert submit(client, survey_code, VALID_ANSWERS).status_code == 303
    assert len(responses(app)) == 2


def test_unknown_code_gets_a_404_page_without_a_form(client):
    for method in (client.get, client.post):
        result = method("/s/ZZZZ2222")
        html = text_of(result)
        assert result.status_code == 404
        assert "Không tìm thấy mã đánh giá" in html
        assert "nhờ cán bộ tại quầy" in html
        assert "<form" not in html


def revoke_at(app: Flask, code: str, at: datetime) -> None:
    with app.app_context():
        survey_code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
        survey_code.revoked_at = at
        db.session.commit()


def test_revoked_code_gets_a_410_page_and_stores_nothing(app, client, survey_code):
    tokens = open_form(client, survey_code)
    # Revoked before this form was served (a page kept from earlier, say), or with no token.
    revoke_at(app, survey_code, datetime.now(UTC) - timedelta(hours=1))

    shown = client.get(f"/s/{survey_code}")
    posted = submit(client, survey_code, VALID_ANSWERS, tokens)
    tokenless = submit(client, survey_code, VALID_ANSWERS, {**tokens, "submit_token": ""})
    for result in (shown, posted, tokenless):
        html = text_of(result)
        assert result.status_code == 410
        assert "Mã QR này đã ngừng sử dụng" in html
        assert "<form" not in html
    assert responses(app) == []


def test_answers_to_a_form_open_when_its_code_is_revoked_are_kept_but_not_counted(
    app, client, survey_code
):
    tokens = open_form(client, survey_code)
    revoke_at(app, survey_code, a_moment_later())

    posted = submit(client, survey_code, VALID_ANSWERS, tokens)
    assert posted.status_code == 303
    assert posted.headers["Location"].endswith(f"/s/{survey_code}/thanks")
    thanks = client.get(posted.headers["Location"])
    assert thanks.status_code == 200 and "Cảm ơn" in text_of(thanks)

    [stored] = responses(app)
    assert (stored.status, stored.status_reason) == ("flagged", CODE_REVOKED)
    assert stored.q1 == 5 and stored.comment == "Cán bộ nhiệt tình."
    assert tally_of_today(app, survey_code) == ({"flagged": 1}, 0)


def test_error_pages_speak_english_when_chosen(client):
    client.get("/?lang=en")
    assert "Survey code not found" in text_of(client.get("/s/ZZZZ2222"))


def test_oversized_body_is_refused_cleanly(app, client, survey_code):
    result = submit(client, survey_code, VALID_ANSWERS, comment="x" * 200_000)
    assert result.status_code == 413
    assert "Nội dung gửi quá lớn" in text_of(result)
    assert responses(app) == []


# Dossier codes -------------------------------------------------------------------------


def test_second_response_with_the_same_dossier_is_kept_as_a_duplicate(app, client, survey_code):
    assert submit(client, survey_code, VALID_ANSWERS, dossier="HS-2025/001").status_code == 303
    # From another phone: a second response from the same one would be a device repeat.
    phone = app.test_client()
    assert submit(phone, survey_code, VALID_ANSWERS, dossier=" hs-2025/001").status_code == 303

    first, second = responses(app)
    assert (first.status, first.status_reason) == ("counted", None)
    assert (second.status, second.status_reason) == ("duplicate", "dossier_repeat")
    assert first.dossier_hash == second.dossier_hash


def test_same_dossier_at_another_agency_counts_there(app, client, survey_code):
    with app.app_context():
        other = create_code(create_agency("XB", "Xã B", "commune"), "Quầy 1", "DAT_DAI").code
        db.session.commit()
    submit(client, survey_code, VALID_ANSWERS, dossier="HS-1")
    submit(client, other, VALID_ANSWERS, dossier="HS-1")
    assert [r.status for r in responses(app)] == ["counted", "counted"]


def test_database_refuses_a_second_counted_response_for_one_dossier(app, survey_code):
    """The rule holds in the database itself, so concurrent submits cannot both count."""
    from sqlalchemy.exc import IntegrityError

    from survey_app.models import Response

    with app.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == survey_code))
        for nonce in ("a", "b"):
            db.session.add(Response(
                survey_code_id=code.id, agency_id=code.agency_id, counter_id=code.counter_id,
                sector_id=code.sector_id, questionnaire_version="sipas-2025-short",
                q1=5, q2=5, q3=5, q6=5, dossier_hash="h" * 64, language="vi",
                submit_nonce=nonce))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_unknown_page_outside_the_survey_says_page_not_found(client):
    result = client.get("/khong-co-trang-nay")
    assert result.status_code == 404
    assert "Không tìm thấy trang" in text_of(result)


# Where to complain, after q7 «Có» ------------------------------------------------------


@pytest.fixture
def commune_code(app: Flask) -> str:
    """Return a code of a commune (without a hotline) below a province that has one."""
    with app.app_context():
        province = create_agency()
        province.hotline, province.hotline_note = "0233 3852 111", "giờ hành chính"
        commune = create_agency("XA-CV", "Trung tâm Phục vụ hành chính công xã Cửa Việt",
                                "commune", province)
        code = create_code(commune, "Quầy 1").code
        db.session.commit()
    return code


def complaint_box(html: str) -> str:
    found = re.search(r'<section class="complaint".*?</section>', html, re.S)
    return re.sub(r"\s+", " ", found.group(0)) if found else ""


def test_after_yes_the_thanks_say_where_to_lodge_a_formal_complaint(client, commune_code):
    result = submit(client, commune_code, {**VALID_ANSWERS, "q7": "yes"})
    assert result.status_code == 303
    # Nothing in the address says what was answered: it would stay in the browser's history
    # and the proxy's access log beside the citizen's address. A cookie of the page asks.
    assert result.headers["Location"].endswith(f"/s/{commune_code}/thanks")
    cookie = result.headers["Set-Cookie"]
    assert cookie.startswith("sid_pa=1;") and f"Path=/s/{commune_code}/thanks" in cookie
    assert "HttpOnly" in cookie and "Max-Age=600" in cookie
    page = client.get(result.headers["Location"])
    assert page.headers["Cache-Control"] == "private, no-store"  # the cookie's page
    html = text_of(page)
    assert "Cảm ơn Ông/Bà đã đánh giá" in html
    box = complaint_box(html)
    assert "Nơi Ông/Bà có thể phản ánh chính thức" in box
    assert "Phiếu đánh giá không dùng để giải quyết từng trường hợp." in box
    # The commune has none: the province's hotline, named as the province's.
    assert ("Gọi đường dây nóng của Trung tâm Phục vụ hành chính công tỉnh: "
            '<a class="phone" href="tel:02333852111">0233 3852 111</a> (giờ hành chính)') in box
    assert ("Gửi phản ánh, kiến nghị trên Cổng Dịch vụ công quốc gia: "
            '<a href="https://dichvucong.gov.vn">dichvucong.gov.vn</a>') in box


def test_the_next_answer_on_the_same_phone_clears_the_complaint_box(client, commune_code):
    submit(client, commune_code, {**VALID_ANSWERS, "q7": "yes"})
    result = submit(client, commune_code, {**VALID_ANSWERS, "q7": "no"})
    assert "sid_pa=;" in result.headers["Set-Cookie"]
    assert complaint_box(text_of(client.get(result.headers["Location"]))) == ""


def test_a_thanks_address_with_junk_asks_for_no_complaint_box(client, commune_code):
    html = text_of(client.get(f"/s/{commune_code}/thanks?phan-anh=1"))
    assert "Cảm ơn Ông/Bà đã đánh giá" in html and complaint_box(html) == ""


@pytest.mark.parametrize("q7", ["no", "decline", ""])
def test_other_thanks_are_unchanged(client, commune_code, q7):
    result = submit(client, commune_code, {**VALID_ANSWERS, "q7": q7})
    assert result.headers["Location"].endswith(f"/s/{commune_code}/thanks")
    html = text_of(client.get(result.headers["Location"]))
    assert "Cảm ơn Ông/Bà đã đánh giá" in html
    assert complaint_box(html) == "" and "dichvucong" not in html and "tel:" not in html


def test_without_any_hotline_the_thanks_name_the_portal_alone(app, client, survey_code):
    result = submit(client, survey_code, {**VALID_ANSWERS, "q7": "yes"})
    box = complaint_box(text_of(client.get(result.headers["Location"])))
    assert "dichvucong.gov.vn" in box
    assert "đường dây nóng" not in box and "tel:" not in box
