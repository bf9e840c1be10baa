"""Every non-public route, for every kind of person: sign-in redirect, 403, or allowed.

A route added later without an entry here makes `test_every_route_is_in_the_matrix` fail,
so nobody can add a page without deciding who may open it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.factories import World

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")

PERSONAS = ("anonymous", "staff_a", "staff_b", "manager_a", "manager_province", "admin")

LOGIN, FORBIDDEN, OK = "sign-in redirect", "403", "allowed"

# Routes anybody may open, and routes that take an API token instead of a session.
PUBLIC = {
    "static",
    "main.index",
    "survey.find",
    "survey.show",
    "survey.thanks",
    "counters.qr_svg",
    "counters.qr_png",
    "api.openapi_document",
    "main.healthz",
    "auth.login",
    "auth.logout",
    "auth.reset_password",
}
TOKEN_ONLY = {"api.me", "api.tallies", "api.responses"}


def everyone_signed_in() -> dict[str, str]:
    return {p: (LOGIN if p == "anonymous" else OK) for p in PERSONAS}


def admins_only() -> dict[str, str]:
    return {p: {"anonymous": LOGIN, "admin": OK}.get(p, FORBIDDEN) for p in PERSONAS}


def agency_a_readers() -> dict[str, str]:
    """Commune A's own staff and manager, the province's manager, and admins."""
    return {"anonymous": LOGIN, "staff_a": OK, "staff_b": FORBIDDEN, "manager_a": OK,
            "manager_province": OK, "admin": OK}


def agency_a_code_keepers() -> dict[str, str]:
    """Commune A's own staff and admins: managers read codes but do not change them."""
    return {"anonymous": LOGIN, "staff_a": OK, "staff_b": FORBIDDEN, "manager_a": FORBIDDEN,
            "manager_province": FORBIDDEN, "admin": OK}


def managers_and_admins() -> dict[str, str]:
    return {p: {"anonymous": LOGIN, "staff_a": FORBIDDEN, "staff_b": FORBIDDEN}.get(p, OK)
            for p in PERSONAS}


Url = Callable[[World], str]

MATRIX: dict[str, tuple[Url, dict[str, str]]] = {
    "manage.index": (lambda w: "/manage/", everyone_signed_in()),
    "manage.agency": (lambda w: f"/manage/agencies/{w.a_id}", agency_a_readers()),
    "auth.change_password": (lambda w: "/account/password", everyone_signed_in()),
    "counters.create": (lambda w: f"/agencies/{w.a_id}/codes", agency_a_code_keepers()),
    "counters.replace": (lambda w: f"/codes/{w.code_a}/replace", agency_a_code_keepers()),
    "counters.revoke": (lambda w: f"/codes/{w.code_a}/revoke", agency_a_code_keepers()),
    "counters.poster": (lambda w: f"/codes/{w.code_a}/poster", agency_a_readers()),
    "counters.tent": (lambda w: f"/codes/{w.code_a}/tent", agency_a_readers()),
    "counters.sheet": (lambda w: f"/agencies/{w.a_id}/codes/sheet", agency_a_readers()),
    "exports.tallies": (lambda w: "/exports/tallies.xlsx?from=2025-01-01&to=2025-03-31",
                        managers_and_admins()),
    "exports.responses": (lambda w: "/exports/responses.csv?from=2025-01-01&to=2025-03-31",
                          managers_and_admins()),
    "dashboard.index": (lambda w: "/dashboard/", managers_and_admins()),
    "dashboard.report": (lambda w: "/dashboard/report", managers_and_admins()),
    "dashboard.method": (lambda w: "/dashboard/method", managers_and_admins()),
    "review.comments": (lambda w: "/review/comments", managers_and_admins()),
    "review.queue": (lambda w: "/review/flagged", managers_and_admins()),
    "review.flag": (lambda w: f"/review/responses/{w.response_a}/flag", managers_and_admins()),
    "review.restore": (
        lambda w: f"/review/responses/{w.response_a}/restore", managers_and_admins()
    ),
    "targets.index": (lambda w: "/admin/targets", admins_only()),
    "targets.new": (lambda w: "/admin/targets/new", admins_only()),
    "targets.edit": (lambda w: "/admin/targets/2025", admins_only()),
    "targets.scopes": (lambda w: "/admin/targets/scopes", admins_only()),
    "targets.scope_new": (lambda w: "/admin/targets/scopes/new", admins_only()),
    "targets.scope_edit": (lambda w: "/admin/targets/scopes/1", admins_only()),
    "admin.users": (lambda w: "/admin/users", admins_only()),
    "admin.agencies": (lambda w: "/admin/agencies", admins_only()),
    "admin.sectors": (lambda w: "/admin/sectors", admins_only()),
    "admin.audit": (lambda w: "/admin/audit", admins_only()),
    "admin.user_new": (lambda w: "/admin/users/new", admins_only()),
    "admin.user_edit": (lambda w: f"/admin/users/{w.user_ids['staff_a']}", admins_only()),
    "admin.user_password": (
        lambda w: f"/admin/users/{w.user_ids['staff_a']}/password", admins_only()
    ),
    "admin.user_reset_link": (
        lambda w: f"/admin/users/{w.user_ids['staff_a']}/reset-link", admins_only()
    ),
    "admin.agency_new": (lambda w: "/admin/agencies/new", admins_only()),
    "admin.agency_edit": (lambda w: f"/admin/agencies/{w.a_id}", admins_only()),
    "admin.agency_counter_add": (lambda w: f"/admin/agencies/{w.a_id}/counters", admins_only()),
    "admin.agency_counter_rename": (lambda w: f"/admin/counters/{w.counter_a_id}", admins_only()),
    "admin.sector_edit": (lambda w: f"/admin/sectors/{w.sector_id}", admins_only()),
}


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unlisted = endpoints - PUBLIC - TOKEN_ONLY - set(MATRIX)
    assert not unlisted, f"add these routes to the access matrix: {sorted(unlisted)}"
    stale = set(MATRIX) - endpoints
    assert not stale, f"the matrix names routes that no longer exist: {sorted(stale)}"


def outcome(response) -> str:
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        return LOGIN
    if response.status_code == 403:
        return FORBIDDEN
    assert response.status_code < 500, response.status_code
    assert response.status_code != 401
    return OK


@pytest.mark.parametrize("persona", PERSONAS)
def test_access_matrix(app, world, persona):
    world.add_response_a(app)
    client = world.login(app.test_client(), persona)
    # CSRF is tested on its own; here every POST must reach the access check.
    app.config["WTF_CSRF_ENABLED"] = False
    methods_of = {rule.endpoint: rule.methods - {"HEAD", "OPTIONS"}
                  for rule in app.url_map.iter_rules()}
    wrong = []
    for endpoint, (url, expected) in sorted(MATRIX.items()):
        for method in sorted(methods_of[endpoint]):
            with client.open(url(world), method=method) as response:
                got = outcome(response)
            if got != expected[persona]:
                wrong.append(f"{method} {endpoint}: expected {expected[persona]}, got {got}")
    assert not wrong, f"{persona}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("endpoint", sorted(TOKEN_ONLY))
def test_token_routes_refuse_a_session_without_a_token(app, world, endpoint):
    client = world.login(app.test_client(), "admin")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    refused = client.get(rule.rule)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="survey_app"'
    assert refused.get_json()["error"]["message"].startswith("missing bearer token")
