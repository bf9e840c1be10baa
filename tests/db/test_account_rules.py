"""What staff accounts must hold to: passwords beyond length, sessions that end when idle or
too old, API tokens that expire, and the command line's changes logged with who ran them."""

from __future__ import annotations

import getpass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from survey_app.extensions import db
from survey_app.models import ApiToken, User, UserSession, utcnow
from survey_app.services.accounts import create_reset_link, create_token
from survey_app.services.passwords import is_common, password_problem
from tests.factories import (
    audit_actions,
    audit_events,
    csrf_token,
    make_user,
    sign_in,
    text_of,
    token_for_user,
    words_of,
)

STAFF = "canbo@xa.example"
ADMIN = "quantri@tinh.example"

COMMON = "Mật khẩu này nằm trong danh sách mật khẩu phổ biến"
SEQUENCE = "Mật khẩu này chỉ là một dãy ký tự liên tiếp hoặc lặp lại"
PERSONAL = "Mật khẩu không được chứa tên trong email hay họ tên của chủ tài khoản"
ADMIN_SHORT = "Mật khẩu của quản trị viên cần ít nhất 12 ký tự."


# Passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "reason"), [
    ("1234567890", "common"),
    ("password123", "common"),
    ("iloveyou2025!", "common"),  # a common word with a year is as easy to guess
    ("matkhau123", "common"),
    ("Admin@123456", "common"),
    ("abc@123456", "common"),
    ("aaaaaaaaaaaa", "sequence"),
    ("abababababab", "sequence"),
    ("qwertyuiopasd", "sequence"),
    ("98765432109", "sequence"),
    ("canbo-2025-xa!", "personal"),  # the e-mail's name part
    ("NguyenThiHoa#7", "personal"),  # the name, its accents dropped
    ("thi-hoa-mua-xuan", "personal"),  # two of the names side by side
])
def test_each_kind_of_weak_password_is_named(password, reason):
    problem = password_problem(password, role="staff", email=STAFF, name="Nguyễn Thị Hoà")
    assert problem is not None and problem.reason == reason


def test_a_decent_password_passes_and_the_bundled_list_is_the_common_ten_thousand():
    assert password_problem("mây-trắng-bay-qua-đèo", role="admin", email=ADMIN,
                            name="Trần Văn Bình") is None
    assert is_common("123456") and is_common("qwerty") and is_common("matkhau")
    assert is_common("123456789") and is_common("abc@123") and is_common("admin@123")
    assert not is_common("mây-trắng-bay-qua-đèo")


def change_password(client, new: str, current: str = "mat-khau-dung-1"):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new, "confirm": new,
        "csrf_token": csrf_token(client, "/account/password"),
    })


@pytest.mark.parametrize(("password", "message"), [
    ("matkhau@2025", COMMON),
    ("1234567890", COMMON),
    ("zxcvbnmzxcvbnm", SEQUENCE),
    ("canbo.xa.2025", PERSONAL),
])
def test_changing_ones_password_says_why_a_weak_one_is_refused(app, password, message):
    make_user(app)
    client = sign_in(app.test_client(), STAFF)
    refused = change_password(client, password)
    assert refused.status_code == 400
    assert message in text_of(refused)
    assert "user.password_changed" not in audit_actions(app)


def test_an_admins_password_needs_twelve_characters(app):
    make_user(app, ADMIN, "admin")
    client = sign_in(app.test_client(), ADMIN)
    assert "Ít nhất 12 ký tự" in text_of(client.get("/account/password"))
    refused = change_password(client, "mua-he-xanh")  # 11 characters
    assert refused.status_code == 400 and ADMIN_SHORT in text_of(refused)
    assert change_password(client, "mua-he-xanh-1").status_code == 302


def test_an_admin_creating_or_resetting_an_account_gets_the_same_rules(app):
    make_user(app, ADMIN, "admin")
    staff_id = make_user(app)
    client = sign_in(app.test_client(), ADMIN)
    created = client.post("/admin/users/new", data={
        "email": "quantri2@tinh.example", "name": "", "role": "admin", "agency_id": "",
        "password": "abc12345678", "csrf_token": csrf_token(client, "/admin/users/new"),
    })
    assert created.status_code == 400 and ADMIN_SHORT in text_of(created)
    reset = client.post(f"/admin/users/{staff_id}/password", data={
        "password": "qwertyuiop", "csrf_token": csrf_token(client, "/admin/users"),
    })
    assert reset.status_code == 400 and COMMON in text_of(reset)


def test_a_reset_link_refuses_a_weak_password(app):
    user_id = make_user(app)
    with app.app_context():
        _reset, secret = create_reset_link(db.session, db.session.get(User, user_id))
        db.session.commit()
    client = app.test_client()
    path = f"/reset/{secret}"
    refused = client.post(path, data={
        "new_password": "canbo-xa-mua-he", "confirm": "canbo-xa-mua-he",
        "csrf_token": csrf_token(client, path),
    })
    assert refused.status_code == 400 and PERSONAL in text_of(refused), words_of(text_of(refused))


def test_the_command_line_refuses_a_common_password(app, runner):
    result = runner.invoke(args=["users", "create", ADMIN, "--role", "admin",
                                 "--password-stdin"], input="admin@123456\n")
    assert result.exit_code == 1
    assert "one of the most common" in result.stderr


# Sessions -------------------------------------------------------------------------------


def move_session_clock(app, **ago: timedelta) -> None:
    """Set the signed-in sessions' sign-in and last activity this long ago."""
    now = utcnow()
    with app.app_context():
        db.session.execute(update(UserSession).values(
            {column: now - delta for column, delta in ago.items()}))
        db.session.commit()


@pytest.mark.parametrize(("ago", "reason"), [
    ({"last_seen_at": timedelta(minutes=31)}, "idle"),
    ({"created_at": timedelta(hours=12, minutes=1), "last_seen_at": timedelta(0)}, "lifetime"),
])
def test_a_session_ends_when_idle_or_too_old_and_sign_in_keeps_the_page(app, ago, reason):
    user_id = make_user(app)
    client = sign_in(app.test_client(), STAFF)
    move_session_clock(app, **ago)

    sent = client.get("/manage/agencies/1?tab=codes")
    assert sent.status_code == 302
    assert sent.headers["Location"] == "/login?next=/manage/agencies/1?tab%3Dcodes"
    page = text_of(client.get(sent.headers["Location"]))
    assert "Phiên đăng nhập đã hết hạn" in page
    (event,) = audit_events(app, "session.expired")
    assert event.actor_id == user_id and event.details["reason"] == reason
    with app.app_context():
        assert db.session.scalar(select(UserSession.id)) is None
    assert client.get("/manage/").status_code == 302  # ended for good


def test_each_request_keeps_an_active_session_open(app):
    make_user(app)
    client = sign_in(app.test_client(), STAFF)
    move_session_clock(app, last_seen_at=timedelta(minutes=29))
    assert client.get("/manage/").status_code == 200
    with app.app_context():
        last_seen = db.session.scalar(select(UserSession.last_seen_at))
    assert last_seen is not None and utcnow() - last_seen < timedelta(minutes=1)
    move_session_clock(app, created_at=timedelta(hours=1), last_seen_at=timedelta(minutes=29))
    assert client.get("/manage/").status_code == 200


def test_the_idle_time_and_the_lifetime_are_settings(app):
    app.config.update(SESSION_IDLE_MINUTES=5, SESSION_MAX_HOURS=1)
    make_user(app)
    client = sign_in(app.test_client(), STAFF)
    move_session_clock(app, last_seen_at=timedelta(minutes=6))
    assert client.get("/manage/").status_code == 302
    client = sign_in(app.test_client(), STAFF)
    move_session_clock(app, created_at=timedelta(minutes=61), last_seen_at=timedelta(0))
    assert client.get("/manage/").status_code == 302
    assert [e.details["reason"] for e in audit_events(app, "session.expired")] == [
        "idle", "lifetime"]


# API tokens -----------------------------------------------------------------------------


def test_a_token_expires_after_a_year_by_default(app):
    user_id = make_user(app, ADMIN, "admin")
    with app.app_context():
        token, _secret = create_token(db.session, db.session.get(User, user_id))
        assert timedelta(days=364) < token.expires_at - utcnow() <= timedelta(days=365)
        db.session.commit()
    (event,) = audit_events(app, "token.created")
    assert "expires_at" in event.details


def test_an_expired_token_is_refused_with_a_json_error(app, client):
    secret = token_for_user(app, make_user(app, ADMIN, "admin"))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401 and refused.mimetype == "application/json"
    assert refused.get_json()["error"]["message"].startswith("the token expired on ")


def test_tokens_take_a_number_of_days_and_the_list_shows_the_expiry(app, runner):
    make_user(app, ADMIN, "admin")
    created = runner.invoke(args=["tokens", "create", ADMIN, "--days", "30", "--actor", ADMIN])
    assert created.exit_code == 0, created.output
    assert "it expires " in created.output
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token is not None
        assert timedelta(days=29) < token.expires_at - utcnow() <= timedelta(days=30)
        expected = (token.expires_at + timedelta(hours=7)).strftime("%Y-%m-%d")
        token.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    listed = runner.invoke(args=["tokens", "list"])
    assert listed.stdout.splitlines()[2].endswith("expired")
    assert runner.invoke(args=["tokens", "create", ADMIN, "--days", "0"]).exit_code == 2
    assert expected  # shown in the deployment's time zone when it was active
    (event,) = audit_events(app, "token.created")
    assert event.actor_email == ADMIN and event.details["operator"] == getpass.getuser()


# The command line's changes -------------------------------------------------------------


def test_account_commands_log_the_operator_and_the_named_actor(app, runner):
    admin_id = make_user(app, ADMIN, "admin")
    created = runner.invoke(args=["users", "create", STAFF, "--role", "admin", "--actor", ADMIN,
                                  "--password-stdin"], input="mây-trắng-bay-qua-đèo\n")
    assert created.exit_code == 0, created.output
    disabled = runner.invoke(args=["users", "disable", STAFF])
    assert disabled.exit_code == 0, disabled.output
    made, changed = audit_events(app, "user.created")[-1], audit_events(app, "user.updated")[-1]
    assert made.actor_id == admin_id
    assert changed.actor_id is None  # no --actor: the OS account alone
    for event in (made, changed):
        assert event.details["operator"] == getpass.getuser()


def test_the_upgrade_gives_existing_tokens_a_year_and_open_sessions_their_start(tmp_path):
    from datetime import datetime

    from sqlalchemy import create_engine, text

    from survey_app.services.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'tokens.sqlite3'}"
    upgrade(url, "0017_voice_clips")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (id, email, name, password_hash, role, is_enabled, created_at, "
            "session_version, must_change_password) VALUES (1, 'a@b.vn', '', 'x', 'admin', 1, "
            "'2025-01-01 00:00:00.000000', 1, 0)"))
        connection.execute(text(
            "INSERT INTO api_tokens (user_id, token_hash, prefix, label, created_at) "
            "VALUES (1, 'h', 'sat_', '', '2025-03-04 05:06:07.000000')"))
        connection.execute(text(
            "INSERT INTO user_sessions (user_id, token_hash, created_at) "
            "VALUES (1, 's', '2026-12-01 08:00:00.000000')"))
    upgrade(url)
    with engine.connect() as connection:
        expires = connection.execute(text("SELECT expires_at FROM api_tokens")).scalar_one()
        seen = connection.execute(text("SELECT last_seen_at FROM user_sessions")).scalar_one()
    engine.dispose()
    assert datetime.fromisoformat(str(expires)[:19]) == datetime(2026, 3, 4, 5, 6, 7)
    assert str(seen).startswith("2026-12-01 08:00:00")
