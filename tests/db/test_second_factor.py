"""The second factor of staff sign-in: enrolment, the code step, replays, recovery codes, the
requirement for administrators, and resets by an administrator or the command line."""

from __future__ import annotations

import getpass
import re

import pytest
from sqlalchemy import select

import config
from survey_app.extensions import db
from survey_app.models import LoginFailure, RecoveryCode, User, UserSession
from survey_app.services.second_factor import seal, unseal
from tests.factories import (
    audit_actions,
    audit_events,
    csrf_token,
    enrol_second_factor,
    forget_last_code,
    hidden_value,
    login,
    make_user,
    sign_in,
    text_of,
    totp_code,
    words_of,
)

STAFF = "canbo@xa.example"
ADMIN = "quantri@tinh.example"
WRONG_CODE = "Mã xác thực không đúng hoặc đã được dùng."


def send_code(client, code: str, next_url: str | None = None):
    path = "/login/code" + (f"?next={next_url}" if next_url else "")
    token = hidden_value(text_of(client.get(path)), "csrf_token")
    return client.post(path, data={"code": code, "csrf_token": token})


def enrol_page(client):
    page = client.get("/account/second-factor")
    assert page.status_code == 200, page.status_code
    return text_of(page)


def secret_on(page: str) -> str:
    found = re.search(r'<code class="secret-key" id="secret-key">([A-Z2-7 ]+)</code>', page)
    assert found, "the page shows no key to type"
    return found.group(1).replace(" ", "")


def confirm(client, code: str):
    return client.post("/account/second-factor", data={
        "code": code, "csrf_token": csrf_token(client, "/account/second-factor")})


def recovery_codes_on(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)


def user(app, email: str) -> User:
    with app.app_context():
        found = db.session.scalar(select(User).where(User.email == email))
        assert found is not None
        db.session.expunge(found)
        return found


def test_staff_enrol_from_their_account_page_with_a_qr_code_and_a_first_code(app, client):
    make_user(app)
    sign_in(client, STAFF)
    assert "Xác thực hai bước" in words_of(client.get("/manage/").get_data(as_text=True))

    page = enrol_page(client)
    assert re.search(r'<img class="qr second-factor-qr" src="data:image/svg\+xml;base64,', page)
    secret = secret_on(page)
    assert secret == secret_on(enrol_page(client))  # a reload keeps the scanned secret

    wrong = confirm(client, "000000" if totp_code(secret) != "000000" else "111111")
    assert wrong.status_code == 400
    assert "Mã xác thực không đúng" in text_of(wrong)
    assert not user(app, STAFF).has_second_factor

    shown = confirm(client, totp_code(secret))
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    codes = recovery_codes_on(text_of(shown))
    assert len(codes) == 10 and len(set(codes)) == 10

    stored = user(app, STAFF)
    assert stored.has_second_factor
    assert secret not in (stored.totp_secret or "")  # sealed, never in clear
    with app.app_context():
        assert unseal(stored.totp_secret or "") == secret
    with app.app_context():
        hashes = set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not hashes & set(codes)
    assert audit_actions(app)[-2:] == ["second_factor.enrol_failed", "second_factor.enrolled"]
    # Enrolled: the page now offers new recovery codes instead of a QR code.
    assert "Tạo bộ mã khôi phục mới" in words_of(enrol_page(client))


def test_a_sealed_secret_opens_only_unaltered_and_under_the_same_key(app):
    with app.app_context():
        sealed = seal("JBSWY3DPEHPK3PXP")
        assert "JBSWY3DPEHPK3PXP" not in sealed
        assert unseal(sealed) == "JBSWY3DPEHPK3PXP"
        assert seal("JBSWY3DPEHPK3PXP") != sealed  # a fresh nonce each time
        altered = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
        with pytest.raises(ValueError):
            unseal(altered)
        app.config["HASH_KEY"] = "another-hash-key-" + "x" * 32
        with pytest.raises(ValueError):
            unseal(sealed)


def test_sign_in_asks_for_the_code_after_the_password_and_signs_in_only_then(app, client):
    user_id = make_user(app)
    secret, _codes = enrol_second_factor(app, user_id)

    asked = login(client, STAFF, next_url="/manage/agencies/1")
    assert asked.status_code == 302
    assert asked.headers["Location"].startswith("/login/code")
    # The password alone opens nothing.
    assert client.get("/manage/").headers["Location"].startswith("/login")
    with app.app_context():
        assert db.session.scalar(select(UserSession.id)) is None

    page = client.get(asked.headers["Location"])
    assert "nhập mã 6 chữ số" in words_of(page.get_data(as_text=True))
    done = send_code(client, totp_code(secret))
    assert done.status_code == 302 and done.headers["Location"] == "/manage/"
    assert STAFF in text_of(client.get("/manage/"))
    assert audit_actions(app)[-3:] == [
        "login.password_accepted", "login.second_factor_ok", "login.success"]
    assert all(e.actor_id == user_id for e in audit_events(app)[-3:])


def test_the_code_step_keeps_the_page_asked_for(app, client):
    user_id = make_user(app)
    secret, _codes = enrol_second_factor(app, user_id)
    asked = login(client, STAFF, next_url="/account/password")
    location = asked.headers["Location"]
    token = hidden_value(text_of(client.get(location)), "csrf_token")
    done = client.post(location, data={"code": totp_code(secret), "csrf_token": token})
    assert done.headers["Location"] == "/account/password"


def test_a_wrong_code_is_refused_and_counts_towards_the_lock(app, client):
    user_id = make_user(app)
    secret, _codes = enrol_second_factor(app, user_id)
    login(client, STAFF)
    wrong = "000000" if totp_code(secret) != "000000" else "111111"

    refused = send_code(client, wrong)
    assert refused.status_code == 401
    assert WRONG_CODE in text_of(refused)
    assert client.get("/manage/").status_code == 302
    assert audit_actions(app)[-1] == "login.second_factor_failed"

    for _ in range(4):
        send_code(client, wrong)
    with app.app_context():
        assert len(list(db.session.scalars(select(LoginFailure.id)))) == 5
    # Locked now, even with the right code; typing the password again does not unlock it.
    locked = send_code(client, totp_code(secret))
    assert locked.status_code == 429
    assert "tạm thời bị khóa" in text_of(locked)
    assert login(client, STAFF).status_code == 429


def test_a_code_is_accepted_once_a_replay_is_refused(app):
    user_id = make_user(app)
    secret, _codes = enrol_second_factor(app, user_id)
    code = totp_code(secret)
    first = app.test_client()
    login(first, STAFF)
    assert send_code(first, code).status_code == 302

    # Someone who saw the code types it in another browser within its 30 seconds.
    second = app.test_client()
    login(second, STAFF)
    replayed = send_code(second, code)
    assert replayed.status_code == 401
    assert WRONG_CODE in text_of(replayed)
    assert second.get("/manage/").status_code == 302


def test_the_code_page_without_a_password_first_sends_back_to_sign_in(app, client):
    result = client.get("/login/code")
    assert result.status_code == 302 and result.headers["Location"].startswith("/login")
    assert "Đã quá thời gian nhập mã xác thực" in text_of(client.get(result.headers["Location"]))


def test_a_recovery_code_signs_in_once(app):
    user_id = make_user(app)
    _secret, codes = enrol_second_factor(app, user_id)
    client = app.test_client()
    login(client, STAFF)
    assert send_code(client, codes[3].upper()).status_code == 302  # case does not matter
    assert audit_actions(app)[-2:] == ["login.recovery_code_used", "login.success"]
    (used,) = audit_events(app, "login.recovery_code_used")
    assert used.details == {"left": 9}

    other = app.test_client()
    login(other, STAFF)
    assert send_code(other, codes[3]).status_code == 401
    with app.app_context():
        assert len(list(db.session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.used_at.is_not(None))))) == 1


def test_new_recovery_codes_replace_the_old_ones(app, client):
    user_id = make_user(app)
    secret, old = enrol_second_factor(app, user_id)
    login(client, STAFF)
    send_code(client, old[0])
    renewed = confirm(client, totp_code(secret))
    assert renewed.headers["Cache-Control"] == "no-store"
    new = recovery_codes_on(text_of(renewed))
    assert len(new) == 10 and not set(new) & set(old)
    assert audit_actions(app)[-1] == "second_factor.recovery_codes_renewed"

    forget_last_code(app, user_id)
    for code, status in ((old[1], 401), (new[0], 302)):
        other = app.test_client()
        login(other, STAFF)
        assert send_code(other, code).status_code == status


def test_the_requirement_for_admins_is_on_by_default():
    assert config.Config.SECOND_FACTOR_FOR_ADMINS is True
    assert config.ProductionConfig.SECOND_FACTOR_FOR_ADMINS is True


def test_an_admin_without_a_second_factor_can_do_nothing_before_enrolling(app, client):
    app.config["SECOND_FACTOR_FOR_ADMINS"] = True
    admin_id = make_user(app, ADMIN, "admin")
    sign_in(client, ADMIN)
    for path in ("/dashboard/", "/admin/users", "/admin/audit", "/account/password"):
        sent = client.get(path)
        assert sent.status_code == 302, path
        assert sent.headers["Location"] == "/account/second-factor", path
    page = enrol_page(client)
    assert "Quản trị viên phải bật xác thực hai bước" in words_of(page)

    codes = recovery_codes_on(text_of(confirm(client, totp_code(secret_on(page)))))
    assert len(codes) == 10
    assert client.get("/admin/users").status_code == 200

    # From now on the admin's sign-in asks for the code.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/users")})
    forget_last_code(app, admin_id)
    assert login(client, ADMIN).headers["Location"].startswith("/login/code")


def test_a_staff_member_is_not_made_to_enrol(app, client):
    app.config["SECOND_FACTOR_FOR_ADMINS"] = True
    make_user(app)
    sign_in(client, STAFF)
    assert client.get("/manage/").status_code == 200


def test_an_admin_resets_a_lost_second_factor_and_the_log_names_them(app):
    admin_id = make_user(app, ADMIN, "admin")
    staff_id = make_user(app)
    enrol_second_factor(app, staff_id)
    staff = app.test_client()
    admin = sign_in(app.test_client(), ADMIN)

    page = admin.get(f"/admin/users/{staff_id}").get_data(as_text=True)
    assert "Đặt lại xác thực hai bước" in words_of(page)
    token = hidden_value(page, "csrf_token")
    done = admin.post(f"/admin/users/{staff_id}/second-factor/reset",
                      data={"csrf_token": token})
    assert done.status_code == 302
    assert "Đã đặt lại xác thực hai bước" in text_of(admin.get(done.headers["Location"]))

    assert not user(app, STAFF).has_second_factor
    (event,) = audit_events(app, "second_factor.reset")
    assert event.actor_id == admin_id and event.target_id == str(staff_id)
    with app.app_context():
        assert db.session.scalar(select(RecoveryCode.id)) is None
    # The password alone signs in again (the staff member may enrol anew).
    assert login(staff, STAFF).headers["Location"] == "/manage/"


def test_the_command_line_resets_a_second_factor_and_logs_who_ran_it(app, runner):
    admin_id = make_user(app, ADMIN, "admin")
    staff_id = make_user(app)
    enrol_second_factor(app, staff_id)

    result = runner.invoke(args=["users", "reset-second-factor", STAFF, "--actor", ADMIN])
    assert result.exit_code == 0, result.output
    assert "reset the second factor of canbo@xa.example" in result.output
    assert not user(app, STAFF).has_second_factor
    (event,) = audit_events(app, "second_factor.reset")
    assert event.actor_id == admin_id
    assert event.details["operator"] == getpass.getuser()

    again = runner.invoke(args=["users", "reset-second-factor", STAFF])
    assert again.exit_code == 0 and "has no second factor" in again.output
    refused = runner.invoke(args=["users", "reset-second-factor", STAFF, "--actor", STAFF])
    assert refused.exit_code == 1 and "--actor must name an enabled administrator" in (
        refused.stderr)


def test_the_accounts_list_shows_who_has_a_second_factor(app):
    make_user(app, ADMIN, "admin")
    enrol_second_factor(app, make_user(app))
    make_user(app, "lanhdao@xa.example", "manager")
    page = sign_in(app.test_client(), ADMIN).get("/admin/users").get_data(as_text=True)
    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: words_of(row)
            for row in page.split("<tr>")[2:]}
    assert "Xác thực hai bước" in rows[STAFF]
    assert "Xác thực hai bước" not in rows["lanhdao@xa.example"]


def test_guessing_codes_for_new_recovery_codes_meets_the_sign_in_lock(app, client):
    user_id = make_user(app)
    secret, codes = enrol_second_factor(app, user_id)
    login(client, STAFF)
    send_code(client, codes[0])
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    for _ in range(5):
        assert confirm(client, wrong).status_code == 400
    locked = confirm(client, totp_code(secret))
    assert "tạm thời bị khóa" in text_of(locked)
    assert "recovery-codes" not in text_of(locked)
