"""Signing in and out, passwords, lockout, audit entries and security headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from survey_app.extensions import db
from survey_app.models import AuditEvent, LoginFailure, PasswordReset, User, utcnow
from survey_app.services.accounts import (
    MAX_FAILURES_PER_ACCOUNT_EVERYWHERE,
    create_reset_link,
    create_token,
)
from survey_app.web.redirects import safe_next_url
from tests.factories import (
    PASSWORD,
    audit_actions,
    csrf_token,
    hidden_value,
    login,
    make_user,
    text_of,
    words_of,
)

WRONG_PASSWORD = "Email hoặc mật khẩu không đúng."
LOCKED = "Đăng nhập tạm thời bị khóa"


def assert_signed_in_as(client, result, email: str) -> None:
    """Fail unless the sign-in sent the person to their pages, signed in as `email`."""
    assert result.status_code == 302, text_of(result)[:300]
    assert result.headers["Location"] == "/manage/"
    page = client.get("/manage/")
    assert page.status_code == 200 and email in text_of(page)


def test_login_page_is_in_vietnamese_and_english(client):
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)
    assert "Sign in" in client.get("/login?lang=en").get_data(as_text=True)


def test_staff_member_signs_in_and_lands_on_their_pages(app, client):
    make_user(app)
    result = login(client, "CanBo@Xa.example ")  # emails match whatever their case
    assert result.status_code == 302
    assert result.headers["Location"] == "/manage/"
    page = client.get("/manage/").get_data(as_text=True)
    assert "canbo@xa.example" in page
    assert "Đơn vị XA" in page
    assert audit_actions(app)[-1] == "login.success"


def test_password_is_stored_as_a_modern_hash(app):
    user_id = make_user(app)
    with app.app_context():
        stored = db.session.get(User, user_id).password_hash
    assert stored.startswith("scrypt:")
    assert PASSWORD not in stored
    assert check_password_hash(stored, PASSWORD)


def test_wrong_password_and_unknown_email_get_the_same_answer(app, client):
    make_user(app)
    wrong = login(client, "canbo@xa.example", "sai-mat-khau-1")
    unknown = login(client, "ai-do@xa.example", "sai-mat-khau-1")
    for result in (wrong, unknown):
        assert result.status_code == 401
        assert WRONG_PASSWORD in result.get_data(as_text=True)
    assert audit_actions(app)[-2:] == ["login.failure", "login.failure"]
    with app.app_context():
        details = [e.details for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "login.failure"))]
    assert [d["reason"] for d in details] == ["password", "unknown_account"]
    assert all("ai-do" not in str(d) for d in details)  # a mistyped email is not kept


def test_disabled_account_cannot_sign_in(app, client):
    user_id = make_user(app)
    with app.app_context():
        db.session.get(User, user_id).is_enabled = False
        db.session.commit()
    result = login(client, "canbo@xa.example")
    assert result.status_code == 401
    assert WRONG_PASSWORD in result.get_data(as_text=True)


def test_five_failures_lock_the_account_even_for_the_right_password(app, client):
    make_user(app)
    for _ in range(5):
        assert login(client, "canbo@xa.example", "sai-mat-khau-1").status_code == 401

    locked = login(client, "canbo@xa.example")
    assert locked.status_code == 429
    assert LOCKED in locked.get_data(as_text=True)
    assert "15 phút" in locked.get_data(as_text=True)
    assert "login.refused" in audit_actions(app)

    # Once the failures are older than the window, the right password works again.
    with app.app_context():
        for failure in db.session.scalars(select(LoginFailure)):
            failure.at -= timedelta(minutes=16)
        db.session.commit()
    assert login(client, "canbo@xa.example").status_code == 302


def test_a_success_before_the_limit_clears_the_failures(app, client):
    make_user(app)
    for _ in range(4):
        login(client, "canbo@xa.example", "sai-mat-khau-1")
    assert login(client, "canbo@xa.example").headers["Location"] == "/manage/"
    client.post("/logout", data={"csrf_token": account_csrf(client)})
    for _ in range(4):
        failed = login(client, "canbo@xa.example", "sai-mat-khau-1")
        assert failed.status_code == 401
        assert WRONG_PASSWORD in text_of(failed) and LOCKED not in text_of(failed)
    # Eight failures in all, but never five in a row: the right password still opens.
    assert_signed_in_as(client, login(client, "canbo@xa.example"), "canbo@xa.example")


def test_twenty_failures_from_one_address_lock_that_address(app, client):
    make_user(app)
    for n in range(20):
        assert login(client, f"nguoi{n}@xa.example", "sai-mat-khau-1").status_code == 401
    # canbo never failed, but the address did: twenty guesses across accounts is an attack.
    locked = login(client, "canbo@xa.example")
    assert locked.status_code == 429
    assert LOCKED in text_of(locked)
    assert client.get("/manage/").status_code == 302  # not signed in


def test_one_locked_account_does_not_lock_the_office(app, client):
    make_user(app)
    make_user(app, email="canbo2@xa.example")
    for _ in range(6):
        login(client, "canbo@xa.example", "sai-mat-khau-1")
    assert_signed_in_as(client, login(client, "canbo2@xa.example"), "canbo2@xa.example")


def test_a_stranger_elsewhere_cannot_lock_the_owner_out(app, client):
    make_user(app)
    stranger = app.test_client()
    for _ in range(10):
        login(stranger, "canbo@xa.example", "sai-mat-khau-1", address="203.0.113.9")
    locked = login(stranger, "canbo@xa.example", address="203.0.113.9")
    assert locked.status_code == 429
    assert LOCKED in locked.get_data(as_text=True)
    # The owner, at the office, signs in as ever.
    owner = login(client, "canbo@xa.example", address="198.51.100.7")
    assert owner.headers["Location"] == "/manage/"


def test_a_stranger_at_the_office_address_cannot_lock_out_its_regulars(app, client):
    make_user(app)
    make_user(app, email="moi@xa.example")
    office = "198.51.100.7"
    assert login(client, "canbo@xa.example", address=office).status_code == 302
    client.post("/logout", data={"csrf_token": account_csrf(client)})
    stranger = app.test_client()
    for n in range(20):
        login(stranger, f"nguoi{n}@xa.example", "sai-mat-khau-1", address=office)
    # Someone who has signed in here before still can; an account new to this address waits.
    assert_signed_in_as(client, login(client, "canbo@xa.example", address=office),
                        "canbo@xa.example")
    waits = login(app.test_client(), "moi@xa.example", address=office)
    assert waits.status_code == 429
    assert LOCKED in text_of(waits)


def test_guessing_from_many_addresses_meets_a_ceiling_that_spares_the_owners_place(app, client):
    make_user(app)
    office = "198.51.100.7"
    assert login(client, "canbo@xa.example", address=office).status_code == 302
    client.post("/logout", data={"csrf_token": account_csrf(client)})
    guesser = app.test_client()
    for n in range(MAX_FAILURES_PER_ACCOUNT_EVERYWHERE):
        # Four from each address: never enough to lock any one of them.
        address = f"203.0.113.{n // 4 + 1}"
        assert login(guesser, "canbo@xa.example", "sai-mat-khau-1",
                     address=address).status_code == 401
    # The right password from yet another address waits; from the office it opens.
    assert login(guesser, "canbo@xa.example", address="203.0.113.200").status_code == 429
    assert login(client, "canbo@xa.example", address=office).headers["Location"] == "/manage/"


def account_csrf(client) -> str:
    """Return the CSRF token of the signed-in session (from the password page, never held)."""
    return csrf_token(client, "/account/password")


def test_logout_needs_a_post_and_ends_the_session(app, client):
    make_user(app)
    login(client, "canbo@xa.example")
    assert client.get("/logout").status_code == 405
    result = client.post("/logout", data={"csrf_token": account_csrf(client)})
    assert result.status_code == 302
    assert client.get("/manage/").status_code == 302
    assert "logout" in audit_actions(app)


def copy_of(app, client):
    """Return another client holding a copy of this client's session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy = app.test_client()
    copy.set_cookie("session", cookie.value)
    return copy


def test_a_cookie_copied_before_sign_out_is_dead_after_it(app, client):
    make_user(app, email="lanhdao@xa.example", role="manager")
    login(client, "lanhdao@xa.example")
    copied = copy_of(app, client)
    assert copied.get("/dashboard/").status_code == 200
    other_device = app.test_client()
    login(other_device, "lanhdao@xa.example")

    client.post("/logout", data={"csrf_token": account_csrf(client)})
    for path in ("/dashboard/", "/manage/", "/account/password"):
        refused = copied.get(path)
        assert refused.status_code == 302, path
        assert refused.headers["Location"].startswith("/login?next=")
    # Only that session ended: the same person on another device stays signed in.
    assert other_device.get("/dashboard/").status_code == 200


def test_signing_out_leaves_api_tokens_working(app, client):
    user_id = make_user(app, email="lanhdao@xa.example", role="manager")
    with app.app_context():
        _token, secret = create_token(db.session, db.session.get(User, user_id))
        db.session.commit()
    login(client, "lanhdao@xa.example")
    client.post("/logout", data={"csrf_token": account_csrf(client)})
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.get_json()["email"] == "lanhdao@xa.example"


def test_a_remember_me_cookie_opens_no_session(app, client):
    from flask_login.utils import encode_cookie

    user_id = make_user(app, email="lanhdao@xa.example", role="manager")
    with app.app_context():
        remember = encode_cookie(db.session.get(User, user_id).get_id())
    client.set_cookie("remember_token", remember)
    result = client.get("/dashboard/")
    assert result.status_code == 302
    assert result.headers["Location"].startswith("/login?next=")
    signed_in = login(client, "lanhdao@xa.example")
    assert "remember_token=" not in signed_in.headers.get("Set-Cookie", "")


def test_change_own_password_ends_other_sessions(app, client):
    make_user(app)
    other_device = app.test_client()
    login(client, "canbo@xa.example")
    login(other_device, "canbo@xa.example")

    token = account_csrf(client)
    wrong = client.post("/account/password", data={
        "csrf_token": token, "current_password": "khong-dung-1",
        "new_password": "mat-khau-moi-1", "confirm": "mat-khau-moi-1"})
    assert wrong.status_code == 400
    assert "Mật khẩu hiện tại không đúng." in wrong.get_data(as_text=True)

    done = client.post("/account/password", data={
        "csrf_token": token, "current_password": PASSWORD,
        "new_password": "mat-khau-moi-1", "confirm": "mat-khau-moi-1"})
    assert done.status_code == 302
    assert client.get("/manage/").status_code == 200  # this session goes on
    assert other_device.get("/manage/").status_code == 302  # the other one is signed out
    assert "user.password_changed" in audit_actions(app)
    client.post("/logout", data={"csrf_token": account_csrf(client)})
    assert login(client, "canbo@xa.example", "mat-khau-moi-1").status_code == 302


def change_password(client, current, new, confirm=None):
    return client.post("/account/password", data={
        "csrf_token": account_csrf(client), "current_password": current, "new_password": new,
        "confirm": new if confirm is None else confirm})


def test_a_password_an_admin_chose_must_be_replaced_before_any_page_opens(app, client):
    make_user(app, email="lanhdao@xa.example", role="manager", must_change_password=True)
    assert login(client, "lanhdao@xa.example").status_code == 302
    for path in ("/manage/", "/dashboard/", "/review/comments", "/account/password?x=1"):
        held = client.get(path)
        if path.startswith("/account/password"):
            assert held.status_code == 200
            assert "Mật khẩu này do quản trị viên đặt." in held.get_data(as_text=True)
        else:
            assert held.status_code == 302, path
            assert held.headers["Location"] == "/account/password"
    assert client.get("/s/KHONGCO1").status_code != 302  # the public form is never held back

    same = change_password(client, PASSWORD, PASSWORD)
    assert same.status_code == 400
    assert "Mật khẩu mới cần khác mật khẩu hiện tại." in same.get_data(as_text=True)
    assert change_password(client, PASSWORD, "ngan").status_code == 400
    assert client.get("/dashboard/").status_code == 302

    assert change_password(client, PASSWORD, "mat-khau-rieng-1").status_code == 302
    assert client.get("/dashboard/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "lanhdao@xa.example"))
        assert user.must_change_password is False


def test_signing_out_works_before_the_password_is_replaced(app, client):
    make_user(app, must_change_password=True)
    login(client, "canbo@xa.example")
    result = client.post("/logout", data={"csrf_token": account_csrf(client)})
    assert result.headers["Location"] == "/login"
    assert client.get("/account/password").headers["Location"].startswith("/login")


def new_reset_link(app, email="canbo@xa.example") -> str:
    """Issue a reset link as an admin would, and return its path."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        _reset, secret = create_reset_link(db.session, user)
        db.session.commit()
    return f"/reset/{secret}"


def reset_with(client, path, new, confirm=None):
    token = hidden_value(client.get(path).get_data(as_text=True), "csrf_token")
    return client.post(path, data={"csrf_token": token, "new_password": new,
                                   "confirm": new if confirm is None else confirm})


def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(app, client):
    make_user(app, must_change_password=True)
    signed_in = app.test_client()
    login(signed_in, "canbo@xa.example")
    path = new_reset_link(app)
    with app.app_context():
        [stored] = db.session.scalars(select(PasswordReset))
        assert path.removeprefix("/reset/") not in stored.token_hash  # only a hash is kept
        assert stored.expires_at - stored.created_at == timedelta(hours=24)

    page = client.get(path)
    assert page.status_code == 200
    assert "canbo@xa.example" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    mismatch = reset_with(client, path, "mat-khau-moi-1", "mat-khau-khac-1")
    assert mismatch.status_code == 400
    assert "Hai mật khẩu mới không khớp nhau." in mismatch.get_data(as_text=True)

    done = reset_with(client, path, "mat-khau-moi-1")
    assert done.status_code == 302
    assert done.headers["Location"] == "/login"  # nobody is signed in by a link
    assert signed_in.get("/manage/").status_code == 302
    assert login(client, "canbo@xa.example").status_code == 401
    assert login(client, "canbo@xa.example", "mat-khau-moi-1").status_code == 302
    assert client.get("/manage/").status_code == 200  # chosen by the owner: no forced change
    assert "password.reset_used" in audit_actions(app)

    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "Liên kết đặt lại mật khẩu này đã được dùng." in again.get_data(as_text=True)


def test_a_used_link_posted_again_changes_nothing(app, client):
    make_user(app)
    path = new_reset_link(app)
    token = hidden_value(client.get(path).get_data(as_text=True), "csrf_token")
    data = {"csrf_token": token, "new_password": "mat-khau-moi-1", "confirm": "mat-khau-moi-1"}
    assert client.post(path, data=data).status_code == 302
    replay = client.post(path, data={**data, "new_password": "ke-gian-123",
                                     "confirm": "ke-gian-123"})
    assert replay.status_code == 410
    assert login(client, "canbo@xa.example", "ke-gian-123").status_code == 401
    assert audit_actions(app).count("password.reset_used") == 1


def test_an_expired_reset_link_opens_nothing(app, client):
    make_user(app)
    path = new_reset_link(app)
    with app.app_context():
        db.session.execute(
            update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    for response in (client.get(path), client.post(path, data={
            "csrf_token": csrf_token(client, "/login"), "new_password": "mat-khau-moi-1",
            "confirm": "mat-khau-moi-1"})):
        assert response.status_code == 410
        assert "Liên kết đặt lại mật khẩu này đã hết hạn." in response.get_data(as_text=True)
    assert login(client, "canbo@xa.example").status_code == 302  # the old password still works


@pytest.mark.parametrize("forged", ["x", "A" * 43, "%00", "a" * 5000, "sat_" + "b" * 43])
def test_a_forged_reset_link_is_not_found(app, client, forged):
    make_user(app)
    new_reset_link(app)
    for response in (client.get(f"/reset/{forged}"), client.post(f"/reset/{forged}", data={
            "csrf_token": csrf_token(client, "/login"), "new_password": "mat-khau-moi-1",
            "confirm": "mat-khau-moi-1"})):
        assert response.status_code == 404
        assert "Liên kết đặt lại mật khẩu không hợp lệ." in response.get_data(as_text=True)
    assert "password.reset_used" not in audit_actions(app)


def test_a_new_link_voids_the_one_before(app, client):
    make_user(app)
    first = new_reset_link(app)
    second = new_reset_link(app)
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200
    assert audit_actions(app).count("password.reset_link_created") == 2


def test_a_reset_link_of_a_disabled_account_opens_nothing(app, client):
    make_user(app)
    path = new_reset_link(app)
    with app.app_context():
        db.session.execute(update(User).values(is_enabled=False))
        db.session.commit()
    page = client.get(path)
    assert page.status_code == 404
    # The same answer as a link that never existed: nothing says the account is there.
    assert "Liên kết đặt lại mật khẩu không hợp lệ." in words_of(page)
    assert "canbo@xa.example" not in text_of(page) and "new_password" not in text_of(page)


# What `next` may hold once the query string is decoded, and why each must stay on the site.
LEAVING_THE_SITE = [
    "//evil.example/x",  # another host, same scheme
    "https://evil.example/",  # a scheme
    "http:/evil.example",  # a scheme without its slashes
    "javascript:alert(1)",  # a script
    "evil.example",  # not a path
    "/\\evil.example",  # a backslash is a slash to browsers
    "\\\\evil.example",
    "/\t/evil.example",  # browsers drop tabs and newlines: //evil.example
    "/\n/evil.example",
    "/\r\nSet-Cookie: x=1",  # a header of its own
    " //evil.example",  # browsers trim leading spaces and controls
    "\x00//evil.example",
    "/\u200b/evil.example",  # invisible
    "/%2F/evil.example",  # an encoded slash, for a proxy that decodes it
    "/%5Cevil.example",  # an encoded backslash
    "/%09/evil.example",  # an encoded tab
    "/%252F%252Fevil.example",  # encoded twice
    "/%25252F%25252Fevil.example",  # encoded three times
    "%2F%2Fevil.example",
    "/" + "a" * 2001,  # longer than any address of ours
    "",
    None,
]
STAYING_ON_THE_SITE = [
    "/manage/",
    "/dashboard/?agency=XA&period=this_year",
    "/review/comments?q=phi%E1%BA%BFu&low=y",
    "/review/flagged?before=42#response-42",
    "/s/ABCD2345",
]


@pytest.mark.parametrize("target", LEAVING_THE_SITE)
def test_a_return_link_never_leaves_the_site(target):
    assert safe_next_url(target, "/home") == "/home"


@pytest.mark.parametrize("target", STAYING_ON_THE_SITE)
def test_a_return_link_within_the_site_is_kept(target):
    assert safe_next_url(target, "/home") == target


# As they arrive in the query string of the sign-in page.
@pytest.mark.parametrize("target", [
    "//evil.example/x", "https://evil.example/", "/\\evil", "/%09/evil.example",
    "/%5C/evil.example", "/%0A/x", "/%0D%0ASet-Cookie:%20x=1", "%2F%2Fevil.example",
    "/%252F%252Fevil.example", "https:%2F%2Fevil.example",
])
def test_login_never_redirects_to_another_site(app, client, target):
    make_user(app)
    result = login(client, "canbo@xa.example", next_url=target)
    assert result.status_code == 302
    assert result.headers["Location"] == "/manage/"
    # Signed in already, the sign-in page sends the person on the same way.
    again = client.get(f"/login?next={target}")
    assert again.status_code == 302
    assert again.headers["Location"] == "/manage/"


def test_login_returns_to_the_page_asked_for(app, client):
    make_user(app)
    assert client.get("/manage/").headers["Location"].startswith("/login?next=/manage/")
    result = login(client, "canbo@xa.example", next_url="/manage/")
    assert result.headers["Location"] == "/manage/"


def test_session_cookie_is_httponly_and_samesite_lax(app, client):
    make_user(app)
    result = login(client, "canbo@xa.example")
    cookie = result.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.parametrize("path", ["/", "/login", "/s/ZZZZ2222", "/static/public.css"])
def test_security_headers_on_every_response(client, path):
    with client.get(path) as response:
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # only in production, over HTTPS


def test_hsts_in_production(monkeypatch):
    from survey_app import create_app

    monkeypatch.setenv("APP_ENV", "production")
    # Settings production accepts; the home page opens neither the database nor Redis.
    app = create_app({
        "SECRET_KEY": "217462960c647df7cd032f0d6a95078e480b7a1ca3ed71931ae29a9b956e012c",
        "HASH_KEY": "41c583b1b3a95909d085102b797622533723b0b4a9d06a0b23c4cfabb43e019d",
        "DATABASE_URL": "postgresql://survey_app@127.0.0.1:5432/survey",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "PUBLIC_BASE_URL": "https://danhgia.tinh.gov.vn", "TRUSTED_PROXIES": 1,
    })
    assert "max-age=" in app.test_client().get("/").headers["Strict-Transport-Security"]


def test_audit_log_refuses_updates_and_deletes(app):
    from sqlalchemy import delete
    from sqlalchemy.exc import DatabaseError

    make_user(app)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id)) is not None
        for statement in (update(AuditEvent).values(action="forged"), delete(AuditEvent)):
            with pytest.raises(DatabaseError, match="append-only"), db.session.begin_nested():
                db.session.execute(statement)
