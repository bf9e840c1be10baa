"""Kiosk tablets: pairing, the answers they send (each stored once), their flags, revoking."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Agency, Kiosk, KioskPairing, Response, SurveyCode
from survey_app.services.review import restore_response
from tests.factories import (
    VALID_ANSWERS,
    World,
    audit_events,
    csrf_token,
    make_app,
    phone,
    text_of,
    varied_answers,
)

pytestmark = pytest.mark.rows_per_module("module_world")

FORM_ANSWERS = {key: value for key, value in VALID_ANSWERS.items() if key != "comment" and value}


def pairing_code(staff: FlaskClient, code: str) -> str:
    """Ask for a pairing code on the staff page of a counter's code; return it as shown."""
    page = staff.post(f"/codes/{code}/kiosks/pair",
                      data={"csrf_token": csrf_token(staff, f"/codes/{code}/kiosks")})
    assert page.status_code == 200, text_of(page)[:300]
    found = re.search(r'id="pairing-code">([A-Z0-9]{3}) ([A-Z0-9]{3})<', text_of(page))
    assert found, "no pairing code on the page"
    return found.group(1) + found.group(2)


def paired_tablet(app: Flask, world: World, address: str = "203.0.113.40") -> FlaskClient:
    tablet = phone(app, address)
    code = pairing_code(world.signed_in("staff_a"), world.code_a)
    paired = tablet.post("/kiosk/pair", data={"pairing_code": code})
    assert paired.status_code == 303, text_of(paired)[:300]
    return tablet


def send(tablet: FlaskClient, answers: dict[str, Any] | None = None, answer_id: str | None = None,
         seconds: float = 30, **extra: Any) -> Any:
    body = {"id": answer_id or str(uuid.uuid4()), "answers": answers or FORM_ANSWERS,
            "seconds": seconds, "language": "vi", **extra}
    return tablet.post("/kiosk/answers", json=body)


def kiosk_responses(app: Flask) -> list[Response]:
    with app.app_context():
        return list(db.session.scalars(
            select(Response).join(SurveyCode, SurveyCode.id == Response.survey_code_id)
            .where(SurveyCode.kind == "kiosk").order_by(Response.id)))


def only_kiosk(app: Flask) -> Kiosk:
    with app.app_context():
        kiosk = db.session.scalars(select(Kiosk)).one()
        db.session.expunge(kiosk)
        return kiosk


# Pairing -----------------------------------------------------------------------------------


def test_a_tablet_paired_with_a_code_shows_its_form_and_keeps_only_a_hashed_credential(app, world):
    tablet = phone(app)
    code = pairing_code(world.signed_in("staff_a"), world.code_a)
    paired = tablet.post("/kiosk/pair", data={"pairing_code": code.lower()[:3] + " " + code[3:]})
    assert paired.status_code == 303 and paired.headers["Location"].endswith("/kiosk")
    cookie = paired.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/kiosk" in cookie
    credential = tablet.get_cookie("kiosk", path="/kiosk").value
    page = tablet.get("/kiosk")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = text_of(page)
    assert "Quầy 1" in html and "Xã A" in html and 'id="kiosk-form"' in html
    assert 'rel="manifest"' in html
    kiosk = only_kiosk(app)
    assert credential not in (kiosk.credential_hash, str(kiosk.id)) and len(credential) >= 40
    with app.app_context():
        answer_code = db.session.get_one(SurveyCode, kiosk.answer_code_id)
        paired_code = db.session.get_one(SurveyCode, kiosk.survey_code_id)
        assert answer_code.kind == "kiosk" and paired_code.code == world.code_a
        assert (answer_code.counter_id, answer_code.sector_id) == (
            paired_code.counter_id, paired_code.sector_id)
        pairing = db.session.scalars(select(KioskPairing)).one()
        assert code not in pairing.code_hash
    assert [e.action for e in audit_events(app) if e.action.startswith("kiosk.")] == [
        "kiosk.pairing_started", "kiosk.paired"]
    # The hidden code of the kiosk is not one the staff page lists or prints.
    agency_page = text_of(world.signed_in("staff_a").get(f"/manage/agencies/{world.a_id}"))
    assert answer_code.code not in agency_page


def test_a_pairing_code_works_once_and_not_after_it_expires(app, world):
    staff = world.signed_in("staff_a")
    code = pairing_code(staff, world.code_a)
    assert phone(app).post("/kiosk/pair", data={"pairing_code": code}).status_code == 303
    second = phone(app, "203.0.113.41").post("/kiosk/pair", data={"pairing_code": code})
    assert second.status_code == 400
    assert "Mã ghép nối không đúng hoặc đã hết hạn" in text_of(second)
    assert "kiosk=" not in second.headers.get("Set-Cookie", "")

    late = pairing_code(staff, world.code_a)
    with app.app_context():
        for pairing in db.session.scalars(select(KioskPairing)):
            pairing.expires_at -= timedelta(minutes=10)
        db.session.commit()
    assert phone(app).post("/kiosk/pair", data={"pairing_code": late}).status_code == 400


def test_a_new_pairing_code_cancels_the_one_before(app, world):
    staff = world.signed_in("staff_a")
    first = pairing_code(staff, world.code_a)
    second = pairing_code(staff, world.code_a)
    assert phone(app).post("/kiosk/pair", data={"pairing_code": first}).status_code == 400
    assert phone(app).post("/kiosk/pair", data={"pairing_code": second}).status_code == 303


@pytest.mark.parametrize("typed", ["", "ABC", "ABCDEFG", "O0I1L5", "AB\x00CDE", "A" * 5000,
                                   "ＡＢＣＤＥＦ"])
def test_a_malformed_pairing_code_is_refused_in_words(app, typed):
    refused = phone(app).post("/kiosk/pair", data={"pairing_code": typed})
    assert refused.status_code == 400
    assert "Mã ghép nối không đúng hoặc đã hết hạn" in text_of(refused)


def test_guessing_pairing_codes_is_bounded_per_address_and_in_all(app, world):
    limited = make_app(app, RATELIMIT_KIOSK_PAIR_PER_ADDRESS="3 per hour",
                       RATELIMIT_KIOSK_PAIR_ALL="5 per hour")
    guesser = phone(limited, "198.51.100.7")
    statuses = [guesser.post("/kiosk/pair", data={"pairing_code": "ABCDEF"}).status_code
                for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    # Even the right code is refused from that address now.
    staff = limited.test_client()
    from tests.factories import sign_in
    sign_in(staff, world.emails["staff_a"])
    right = pairing_code(staff, world.code_a)
    assert guesser.post("/kiosk/pair", data={"pairing_code": right}).status_code == 429
    # Other addresses share the ceiling of all pairings.
    others = [phone(limited, f"198.51.100.{20 + i}").post(
        "/kiosk/pair", data={"pairing_code": "ABCDEF"}).status_code for i in range(3)]
    assert others == [400, 400, 429]


def test_a_pairing_from_another_site_is_refused(app, world):
    code = pairing_code(world.signed_in("staff_a"), world.code_a)
    forged = phone(app).post("/kiosk/pair", data={"pairing_code": code},
                             headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert phone(app).post("/kiosk/pair", data={"pairing_code": code}).status_code == 303


def test_staff_of_another_agency_can_neither_pair_nor_revoke(app, world):
    staff_b = world.signed_in("staff_b")
    assert staff_b.get(f"/codes/{world.code_a}/kiosks").status_code == 403
    tablet = paired_tablet(app, world)
    kiosk = only_kiosk(app)
    token = csrf_token(staff_b)
    revoke = staff_b.post(f"/codes/{world.code_a}/kiosks/{kiosk.id}/revoke",
                          data={"csrf_token": token})
    assert revoke.status_code == 403
    # Nor through a code of their own agency.
    other = staff_b.post(f"/codes/{world.code_b}/kiosks/{kiosk.id}/revoke",
                         data={"csrf_token": token})
    assert other.status_code == 404
    assert send(tablet).status_code == 200


# Answers -----------------------------------------------------------------------------------


def test_an_answer_is_stored_once_with_source_kiosk_however_often_it_is_sent(app, world):
    tablet = paired_tablet(app, world)
    answer_id = str(uuid.uuid4())
    first = send(tablet, answer_id=answer_id)
    assert first.status_code == 200
    assert first.get_json() == {"id": answer_id, "stored": True, "is_new": True}
    again = send(tablet, answer_id=answer_id.upper(), answers=varied_answers(1))
    assert again.status_code == 200 and again.get_json()["is_new"] is False
    stored = kiosk_responses(app)
    assert len(stored) == 1 and stored[0].status == "counted" and stored[0].device_hash is None
    assert stored[0].q1 == int(FORM_ANSWERS["q1"])
    # The staff page shows when the kiosk last sent an answer.
    page = text_of(world.signed_in("staff_a").get(f"/codes/{world.code_a}/kiosks"))
    assert "Đang dùng" in page and "Chưa có" not in page


def test_an_answer_id_of_another_kiosk_stores_nothing_and_tells_nothing(app, world):
    first = paired_tablet(app, world)
    second = paired_tablet(app, world, "203.0.113.50")
    answer_id = str(uuid.uuid4())
    assert send(first, answer_id=answer_id).status_code == 200
    taken = send(second, answer_id=answer_id, answers=varied_answers(2))
    assert taken.status_code in (400, 409)
    assert len(kiosk_responses(app)) == 1


@pytest.mark.parametrize("body", [
    None, [], "text", {"id": "not-a-uuid", "answers": FORM_ANSWERS},
    {"answers": FORM_ANSWERS}, {"id": str(uuid.uuid4())},
    {"id": str(uuid.uuid4()), "answers": ["q1", "5"]},
    {"id": str(uuid.uuid4()), "answers": {"q1": {"x": 1}}},
    {"id": str(uuid.uuid4()) + "\x00", "answers": FORM_ANSWERS},
    {"id": 12, "answers": FORM_ANSWERS},
])
def test_a_malformed_answer_gets_a_json_error_and_stores_nothing(app, world, body):
    tablet = paired_tablet(app, world)
    refused = tablet.post("/kiosk/answers", json=body)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["message"]
    assert kiosk_responses(app) == []


def test_answers_are_validated_as_on_the_phone_form(app, world):
    tablet = paired_tablet(app, world)
    missing = send(tablet, answers={**FORM_ANSWERS, "q1": None})
    assert missing.status_code == 422
    error = missing.get_json()["error"]
    assert error["reason"] == "invalid" and "q1" in error["fields"]
    for wrong in ({"q2": "9"}, {"q1": ["1", "5"]}, {"q8": ["speed", "speed"]},
                  {"comment": "x" * 1001}, {"dossier": "HS 2025 ?"}, {"q3": True}):
        answer = send(tablet, answers={**FORM_ANSWERS, **wrong})
        assert answer.status_code in (400, 422), wrong
        assert "error" in answer.get_json()
    huge = tablet.post("/kiosk/answers", data="{" + " " * 40000 + "}",
                       content_type="application/json")
    assert huge.status_code == 413
    assert kiosk_responses(app) == []


def test_a_comment_is_masked_and_tabs_or_nul_are_cleaned_as_on_the_phone(app, world):
    tablet = paired_tablet(app, world)
    answer = send(tablet, answers={**FORM_ANSWERS, "comment": "Gọi\t0912 345 678\x00 nhé"})
    assert answer.status_code == 200
    comment = kiosk_responses(app)[0].comment
    assert comment is not None and "0912" not in comment and "\x00" not in comment


def test_without_a_credential_or_with_a_forged_one_the_answer_is_refused(app, world):
    anonymous = phone(app)
    refused = send(anonymous)
    assert refused.status_code == 401
    assert "chưa được ghép nối" in refused.get_json()["error"]["message"]
    anonymous.set_cookie("kiosk", "forged-credential", path="/kiosk")
    assert send(anonymous).status_code == 401
    assert kiosk_responses(app) == []
    page = anonymous.get("/kiosk")
    assert page.status_code == 200 and 'name="pairing_code"' in text_of(page)


def test_a_revoked_kiosk_refuses_answers_in_vietnamese_and_keeps_those_it_took(app, world):
    tablet = paired_tablet(app, world)
    assert send(tablet).status_code == 200
    kiosk = only_kiosk(app)
    staff = world.signed_in("staff_a")
    confirm = staff.get(f"/codes/{world.code_a}/kiosks/{kiosk.id}/revoke")
    assert "Thu hồi máy tính bảng" in text_of(confirm)
    revoked = staff.post(f"/codes/{world.code_a}/kiosks/{kiosk.id}/revoke",
                         data={"csrf_token": csrf_token(staff)})
    assert revoked.status_code == 302
    refused = send(tablet)
    assert refused.status_code == 403
    assert "đã bị thu hồi" in refused.get_json()["error"]["message"]
    page = tablet.get("/kiosk")
    assert page.status_code == 403 and "đã bị thu hồi" in text_of(page)
    assert 'id="kiosk-form"' not in text_of(page)
    form_post = tablet.post("/kiosk/answer", data=FORM_ANSWERS)
    assert form_post.status_code == 403
    assert len(kiosk_responses(app)) == 1
    assert [e.action for e in audit_events(app, "kiosk.revoked")] == ["kiosk.revoked"]
    listing = text_of(staff.get(f"/codes/{world.code_a}/kiosks"))
    assert "Đã thu hồi" in listing


def test_a_kiosk_of_a_revoked_code_stops_taking_answers(app, world):
    tablet = paired_tablet(app, world)
    staff = world.signed_in("staff_a")
    staff.post(f"/codes/{world.code_a}/revoke", data={"csrf_token": csrf_token(staff)})
    refused = send(tablet)
    assert refused.status_code == 403 and "ngừng sử dụng" in refused.get_json()["error"]["message"]


def test_the_plain_form_post_stores_the_answer_and_thanks(app, world):
    tablet = paired_tablet(app, world)
    sent = tablet.post("/kiosk/answer", data={**FORM_ANSWERS, "answer_id": str(uuid.uuid4())})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/kiosk/thanks")
    thanks = tablet.get("/kiosk/thanks")
    assert "Cảm ơn Ông/Bà đã đánh giá" in text_of(thanks)
    assert thanks.headers["Cache-Control"] == "no-store"
    assert 'http-equiv="refresh"' in text_of(thanks)
    invalid = tablet.post("/kiosk/answer", data={"q1": "5"})
    assert invalid.status_code == 422 and "Vui lòng chọn một câu trả lời" in text_of(invalid)
    assert len(kiosk_responses(app)) == 1


def test_after_yes_the_kiosk_names_the_hotline_and_the_portal_without_links(app, world):
    with app.app_context():
        db.session.get_one(Agency, world.a_id).hotline = "0233 3852 111"
        db.session.commit()
    tablet = paired_tablet(app, world)
    html = text_of(tablet.get("/kiosk"))
    # kiosk.js shows this box on the thanks panel only after «Có».
    box = re.search(r'<div id="kiosk-complaint" hidden>(.*?)</div>', html, re.S)
    assert box and '<strong class="phone">0233 3852 111</strong>' in box.group(1)
    assert "<strong>dichvucong.gov.vn</strong>" in box.group(1)
    assert "<a " not in box.group(1)  # nothing that leaves the kiosk
    sent = tablet.post("/kiosk/answer",
                       data={**FORM_ANSWERS, "q7": "yes", "answer_id": str(uuid.uuid4())})
    assert sent.headers["Location"].endswith("/kiosk/thanks")
    thanks = text_of(tablet.get(sent.headers["Location"]))
    assert "Gọi đường dây nóng của Xã A:" in thanks and "dichvucong.gov.vn" in thanks
    assert 'content="30;url=/kiosk"' in thanks and "href=\"http" not in thanks
    # The next person at the same tablet answers «Không»: the box is not theirs.
    sent = tablet.post("/kiosk/answer",
                       data={**FORM_ANSWERS, "q7": "no", "answer_id": str(uuid.uuid4())})
    assert "dichvucong" not in text_of(tablet.get(sent.headers["Location"]))


def test_an_answer_from_another_site_is_refused(app, world):
    tablet = paired_tablet(app, world)
    forged = tablet.post("/kiosk/answers", json={"id": str(uuid.uuid4()), "answers": FORM_ANSWERS},
                         headers={"Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403
    assert kiosk_responses(app) == []


# Flags -------------------------------------------------------------------------------------


def test_the_device_and_address_rules_do_not_apply_to_a_kiosk(app, world):
    app.config.update(DEVICE_REPEAT_WINDOW=6 * 3600, ADDRESS_PER_CODE_10_MIN=1,
                      ADDRESS_PER_CODE_HOUR=1)
    tablet = paired_tablet(app, world)
    for n in range(3):
        assert send(tablet, answers=varied_answers(n)).status_code == 200
    assert [r.status for r in kiosk_responses(app)] == ["counted"] * 3


def test_an_answer_faster_than_a_person_is_stored_flagged_and_restorable(app, world):
    app.config["KIOSK_MIN_SECONDS_TO_ANSWER"] = 5
    tablet = paired_tablet(app, world)
    assert send(tablet, seconds=1.5).status_code == 200
    assert send(tablet, answers=varied_answers(3), seconds=40).status_code == 200
    fast, slow = kiosk_responses(app)
    assert (fast.status, fast.status_reason) == ("flagged", "too_fast")
    assert slow.status == "counted"
    queue = text_of(world.signed_in("manager_a").get("/review/flagged"))
    assert "Gửi quá nhanh sau khi mở phiếu" in queue
    with app.app_context():
        restore_response(db.session, db.session.get_one(Response, fast.id))
        db.session.commit()
    assert kiosk_responses(app)[0].status == "counted"


@pytest.mark.parametrize("seconds", [-5, "fast", None, float("inf"), True])
def test_a_time_that_is_no_time_is_not_believed(app, world, seconds):
    app.config["KIOSK_MIN_SECONDS_TO_ANSWER"] = 5
    tablet = paired_tablet(app, world)
    body = {"id": str(uuid.uuid4()), "answers": FORM_ANSWERS, "seconds": seconds}
    sent = tablet.post("/kiosk/answers", data=__import__("json").dumps(body).replace(
        "Infinity", "1e999"), content_type="application/json")
    assert sent.status_code == 200
    assert len(kiosk_responses(app)) == 1


def test_a_run_of_identical_answers_at_one_kiosk_is_flagged_from_the_fourth(app, world):
    tablet = paired_tablet(app, world)
    for _ in range(5):
        assert send(tablet).status_code == 200
    # A person who writes a comment is a person, whatever they rated.
    assert send(tablet, answers={**FORM_ANSWERS, "comment": "Cán bộ tận tình."}).status_code == 200
    statuses = [(r.status, r.status_reason) for r in kiosk_responses(app)]
    assert statuses == [("counted", None)] * 3 + [("flagged", "kiosk_repeat")] * 2 + [
        ("counted", None)]
    queue = text_of(world.signed_in("manager_a").get("/review/flagged"))
    assert "Nhiều phiếu giống hệt nhau liên tiếp tại máy tính bảng" in queue


def test_identical_answers_at_two_kiosks_are_not_one_run(app, world):
    first = paired_tablet(app, world)
    second = paired_tablet(app, world, "203.0.113.51")
    for tablet in (first, second, first, second, first, second):
        assert send(tablet).status_code == 200
    assert {r.status for r in kiosk_responses(app)} == {"counted"}


def test_a_stolen_credential_sends_no_more_than_its_allowance(app, world):
    limited = make_app(app, RATELIMIT_PER_KIOSK="3 per hour")
    tablet = phone(limited)
    staff = limited.test_client()
    from tests.factories import sign_in
    sign_in(staff, world.emails["staff_a"])
    assert tablet.post("/kiosk/pair", data={"pairing_code": pairing_code(staff, world.code_a)}
                       ).status_code == 303
    statuses = [send(tablet, answers=varied_answers(n)).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = send(tablet)
    assert refused.get_json()["error"]["reason"] == "too_many"
    assert int(refused.headers["Retry-After"]) > 0
    assert len(kiosk_responses(app)) == 3


# The tablet's page and its files -----------------------------------------------------------


def test_the_manifest_and_the_service_worker_cover_the_kiosk(app):
    client = app.test_client()
    manifest = client.get("/kiosk/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json()
    assert body["display"] == "fullscreen" and body["start_url"] == "/kiosk"
    worker = client.get("/kiosk/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.mimetype
    assert worker.headers["Service-Worker-Allowed"] == "/kiosk"
    worker.close()


def test_the_kiosk_source_is_named_in_exports_and_on_the_dashboard(app, world):
    tablet = paired_tablet(app, world)
    assert send(tablet).status_code == 200
    page = text_of(world.signed_in("manager_a").get("/dashboard/?period=this_month"))
    assert "Máy tính bảng tại quầy" in page
