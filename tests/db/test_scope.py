"""Each person sees only their own agencies: pages and the API answer 403 or nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import ApiToken, User
from survey_app.services.accounts import create_token, revoke_token
from tests.factories import (
    NOT_FOUND,
    REFUSED,
    fetch_page,
    heading_of,
)

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")


def test_commune_manager_sees_only_their_commune(app, world):
    client = world.login(app.test_client(), "manager_a")
    status, html = fetch_page(client, "/manage/")
    assert status == 200
    assert "Xã A" in html
    assert "Xã B" not in html and "Trung tâm Phục vụ" not in html

    assert fetch_page(client, f"/manage/agencies/{world.a_id}")[0] == 200
    for other in (world.b_id, world.province_id):
        status, html = fetch_page(client, f"/manage/agencies/{other}")
        assert status == 403
        assert world.code_b not in html


def test_province_manager_sees_the_province_and_its_communes(app, world):
    client = world.login(app.test_client(), "manager_province")
    status, html = fetch_page(client, "/manage/")
    assert status == 200
    assert all(name in html for name in ("Xã A", "Xã B", "Trung tâm Phục vụ"))
    status, html = fetch_page(client, f"/manage/agencies/{world.b_id}")
    assert status == 200 and world.code_b in html


def test_staff_member_sees_only_their_agency_codes(app, world):
    client = world.login(app.test_client(), "staff_a")
    status, html = fetch_page(client, f"/manage/agencies/{world.a_id}")
    assert status == 200 and world.code_a in html
    assert fetch_page(client, f"/manage/agencies/{world.b_id}")[0] == 403
    assert "Xã B" not in fetch_page(client, "/manage/")[1]


def test_unknown_agency_is_404_not_an_error(app, world):
    client = world.login(app.test_client(), "admin")
    status, html = fetch_page(client, "/manage/agencies/999999")
    assert status == 404 and heading_of(html) == NOT_FOUND


def test_scope_follows_a_change_of_agency_at_once(app, world):
    client = world.login(app.test_client(), "manager_a")
    status, html = fetch_page(client, f"/manage/agencies/{world.a_id}")
    assert status == 200 and heading_of(html) == "Xã A" and world.code_a in html
    from survey_app.models import Agency
    from survey_app.services.accounts import update_user

    with app.app_context():
        user = db.session.get(User, world.user_ids["manager_a"])
        update_user(db.session, user, role="manager", agency=db.session.get(Agency, world.b_id),
                    name=user.name, is_enabled=True)
        db.session.commit()
    # The old session carried the old scope: it is ended, and a new one sees only B.
    ended = client.get(f"/manage/agencies/{world.a_id}")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    client = world.login(app.test_client(), "manager_a")
    status, html = fetch_page(client, f"/manage/agencies/{world.a_id}")
    assert status == 403 and heading_of(html) == REFUSED and world.code_a not in html
    status, html = fetch_page(client, f"/manage/agencies/{world.b_id}")
    assert status == 200 and heading_of(html) == "Xã B" and world.code_b in html


# API tokens ------------------------------------------------------------------------------


def me(client, secret=None, scheme="Bearer"):
    headers = {"Authorization": f"{scheme} {secret}"} if secret is not None else {}
    return client.get("/api/v1/me", headers=headers)


def test_token_tells_its_owner_role_and_scope(app, client, world):
    result = me(client, world.token("manager_province"))
    assert result.status_code == 200
    assert result.json == {
        "email": "lanhdao@tinh.example", "name": "", "role": "manager", "agency": "TINH",
        "scope": {"all_agencies": False, "agencies": ["TINH", "XA-A", "XA-B"]},
    }
    commune = me(client, world.token("manager_a")).json
    assert commune["scope"] == {"all_agencies": False, "agencies": ["XA-A"]}
    admin = me(client, world.token("admin")).json
    assert admin["scope"]["all_agencies"] is True


@pytest.mark.parametrize("how", ["missing", "wrong", "basic", "revoked", "disabled"])
def test_api_refuses_requests_without_a_valid_token(app, client, world, how):
    secret = world.token("manager_a")
    if how == "revoked":
        with app.app_context():
            revoke_token(db.session, db.session.scalar(select(ApiToken)))
            db.session.commit()
    if how == "disabled":
        with app.app_context():
            db.session.get(User, world.user_ids["manager_a"]).is_enabled = False
            db.session.commit()
    result = {
        "missing": lambda: me(client),
        "wrong": lambda: me(client, secret + "x"),
        "basic": lambda: me(client, secret, scheme="Basic"),
    }.get(how, lambda: me(client, secret))()
    assert result.status_code == 401
    assert result.json["error"]["message"]
    assert result.headers["WWW-Authenticate"].startswith("Bearer")


def test_signed_in_session_is_not_an_api_credential(app, world):
    client = world.login(app.test_client(), "admin")
    refused = me(client)
    assert refused.status_code == 401
    assert refused.json["error"]["message"].startswith("missing bearer token")
    assert "quantri@tinh.example" not in refused.get_data(as_text=True)


def test_staff_cannot_hold_a_token(app, world):
    from survey_app.services.accounts import AccountError

    with app.app_context():
        user = db.session.get(User, world.user_ids["staff_a"])
        with pytest.raises(AccountError):
            create_token(db.session, user)


def test_token_is_stored_only_as_a_hash(app, world):
    secret = world.token("manager_a")
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert secret not in (token.token_hash, token.prefix)
        assert secret.startswith(token.prefix)


def test_forbidden_page_says_so_in_plain_words(app, world):
    client = world.login(app.test_client(), "staff_a")
    status, html = fetch_page(client, f"/manage/agencies/{world.b_id}")
    assert status == 403
    assert "Không có quyền truy cập" in html
