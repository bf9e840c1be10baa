"""Privacy: the notice the app serves, the honest badge, and erasing one comment."""

from __future__ import annotations

import gettext
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Response, utcnow
from survey_app.services import periods, tallies
from survey_app.services.periods import Period
from survey_app.services.tallies import TallyFilter
from tests.factories import PROJECT_ROOT, audit_events, csrf_token, text_of, words_of

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")

CONTROLLER = {
    "DATA_CONTROLLER_NAME": "Văn phòng UBND tỉnh Quảng Trị",
    "DATA_CONTROLLER_ADDRESS": "45 Hùng Vương, phường Đông Hà, tỉnh Quảng Trị",
    "DATA_CONTROLLER_CONTACT": "baove.dulieu@quangtri.gov.vn",
}
PRIVACY = "/quyen-rieng-tu"


# The notice --------------------------------------------------------------------------------


def english_catalog_has(msgid: str) -> bool:
    """Whether the compiled English catalog translates a message (after `make translations`)."""
    path = PROJECT_ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.mo"
    if not path.exists():
        return False
    with open(path, "rb") as f:
        return msgid in gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]


def notice(app: Flask, language: str) -> str:
    app.config.update(CONTROLLER, DOSSIER_HASH_RETENTION_DAYS=95, RETENTION_DAYS=400)
    page = app.test_client().get(f"{PRIVACY}?lang={language}")
    assert page.status_code == 200
    assert f'<html lang="{language}">' in text_of(page)
    return words_of(page)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_notice_names_the_controller_the_laws_and_the_retention_days(app, language):
    text = notice(app, language)
    for value in CONTROLLER.values():
        assert value in text
    for law in ("13/2023/NĐ-CP", "91/2025/QH15", "356/2025/NĐ-CP", "dichvucong.gov.vn"):
        assert law in text
    assert "95" in text and "400" in text


def test_the_vietnamese_notice_says_how_long_each_item_is_kept_and_what_the_data_is(app):
    text = notice(app, "vi")
    assert "Quyền riêng tư: dữ liệu của phiếu đánh giá" in text
    assert "Mã băm của mã hồ sơ: 95 ngày." in text
    assert "Ý kiến viết thêm, mã băm của thiết bị và của địa chỉ IP: 400 ngày." in text
    assert "dữ liệu cá nhân đã được mã hóa, không phải dữ liệu ẩn danh" in text


@pytest.mark.skipif(not english_catalog_has("Lưu trong bao lâu"),
                    reason="needs the English catalog with the notice (make translations)")
def test_the_english_notice_says_how_long_each_item_is_kept(app):
    text = notice(app, "en")
    assert "How long it is kept" in text
    assert "95 days" in text and "400 days" in text
    assert "Lưu trong bao lâu" not in text


def test_the_notice_says_the_controller_is_not_set_until_it_is(app):
    text = words_of(app.test_client().get(PRIVACY))
    assert "[Chưa thiết lập: tên cơ quan vận hành — DATA_CONTROLLER_NAME]" in text


def test_the_form_thanks_and_home_pages_link_the_notice_and_the_kiosk_does_not(app, world):
    citizen = app.test_client()
    form = text_of(citizen.get(f"/s/{world.code_a}"))
    assert f'href="{PRIVACY}"' in form
    assert "Phiếu không ghi tên" in form and "ẩn danh" not in words_of_html(form)
    assert f'href="{PRIVACY}"' in text_of(citizen.get("/"))
    assert f'href="{PRIVACY}"' in text_of(citizen.get(f"/s/{world.code_a}/thanks"))
    # The kiosk's pages keep the citizen on the tablet: no link out, this one included.
    for kiosk_page in ("/kiosk", "/kiosk/thanks"):
        assert PRIVACY not in text_of(citizen.get(kiosk_page))


def words_of_html(html: str) -> str:
    """The form's own words, without the questionnaire's intro (another version's text)."""
    return html.split('<p class="badge">', 1)[1]


# Erasing one comment ---------------------------------------------------------------------


def stored_comment(app: Flask, response_id: int) -> tuple[str | None, bool, str]:
    with app.app_context():
        response = db.session.get(Response, response_id)
        assert response is not None
        return response.comment, response.comment_masked, response.status


def counted_in_commune_a(app: Flask, world: Any) -> tuple[int, dict[str, int]]:
    with app.app_context():
        today = periods.local_date(utcnow())
        flt = TallyFilter(Period(today - timedelta(days=30), today), frozenset({world.a_id}))
        counts = tallies.count_answers(db.session, flt)[None]
        return counts.responses, tallies.count_by_status(db.session, flt).get(None, {})


def test_an_admin_erases_a_comment_after_confirming_with_a_reason(app, world):
    response_id = world.add_response_a(app)
    before = counted_in_commune_a(app, world)
    admin = world.signed_in("admin")
    comments = text_of(admin.get("/review/comments"))
    erase_url = f"/review/responses/{response_id}/erase-comment"
    assert erase_url in comments

    confirm = admin.get(erase_url)
    assert "Phiếu mẫu của xã A" in words_of(confirm)
    assert "Xóa hẳn ý kiến của phiếu" in words_of(confirm)
    token = csrf_token(admin, erase_url)

    refused = admin.post(erase_url, data={"csrf_token": token, "reason": "  "})
    assert refused.status_code == 400
    assert "Vui lòng ghi lý do xóa ý kiến." in words_of(refused)
    assert stored_comment(app, response_id)[0] == "Phiếu mẫu của xã A"

    done = admin.post(erase_url, data={"csrf_token": token, "reason": "Người dân đề nghị",
                                       "next": "/review/comments"}, follow_redirects=True)
    assert "Đã xóa hẳn ý kiến của phiếu" in words_of(done)
    assert "Phiếu mẫu của xã A" not in words_of(done)
    assert stored_comment(app, response_id) == (None, False, "counted")
    assert counted_in_commune_a(app, world) == before
    [event] = audit_events(app, "response.comment_erased")
    assert event.actor_email == world.emails["admin"]
    assert event.target_id == str(response_id)
    assert event.details["reason"] == "Người dân đề nghị"
    assert "Phiếu mẫu" not in repr(event.details)
    # Nothing of the words is left to find, by the comment search or anywhere in the row.
    with app.app_context():
        row = db.session.execute(select(Response.__table__).where(Response.id == response_id))
        assert "Phiếu mẫu" not in repr(row.one())


@pytest.mark.parametrize("persona", ["manager_a", "manager_province", "staff_a"])
def test_only_admins_may_erase_a_comment(app, world, persona):
    response_id = world.add_response_a(app)
    client = world.signed_in(persona)
    assert f"/review/responses/{response_id}/erase-comment" not in text_of(
        client.get("/review/comments"))
    app.config["WTF_CSRF_ENABLED"] = False
    page = client.post(f"/review/responses/{response_id}/erase-comment",
                       data={"reason": "thử"})
    assert page.status_code == 403
    assert stored_comment(app, response_id)[0] == "Phiếu mẫu của xã A"


def test_erasing_an_unknown_response_is_not_found(app, world):
    assert world.signed_in("admin").get("/review/responses/999999/erase-comment").status_code \
        == 404


def test_the_command_erases_a_comment_and_logs_the_admin_and_the_system_user(
    app, runner, world
):
    response_id = world.add_response_a(app)
    before = counted_in_commune_a(app, world)
    result = runner.invoke(args=["responses", "erase-comment", str(response_id),
                                 "--reason", "Đề nghị qua điện thoại 05/12/2026",
                                 "--by", world.emails["admin"]])
    assert result.exit_code == 0, result.output
    assert f"the comment of response #{response_id} was erased" in result.output
    assert stored_comment(app, response_id) == (None, False, "counted")
    assert counted_in_commune_a(app, world) == before
    [event] = audit_events(app, "response.comment_erased")
    assert event.actor_email == world.emails["admin"]
    assert event.details["via"] == "cli"
    assert "system_user" in event.details
    again = runner.invoke(args=["responses", "erase-comment", str(response_id),
                                "--reason", "lần hai", "--by", world.emails["admin"]])
    assert "has no comment: nothing was changed" in again.output


@pytest.mark.parametrize("args, message", [
    (["999999", "--by", "quantri@tinh.example"], "no response #999999"),
    (["{id}", "--by", "lanhdao@tinh.example"], "may not erase comments: only admins may"),
    (["{id}", "--by", "nobody@tinh.example"], "no account 'nobody@tinh.example'"),
])
def test_the_command_refuses_a_wrong_id_or_account_clearly(app, runner, world, args, message):
    response_id = world.add_response_a(app)
    args = [a.format(id=response_id) for a in args]
    result = runner.invoke(args=["responses", "erase-comment", *args, "--reason", "thử"])
    assert result.exit_code != 0
    assert message in result.output
    assert stored_comment(app, response_id)[0] == "Phiếu mẫu của xã A"
