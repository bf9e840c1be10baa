"""Every non-public route, for every kind of person: sign-in redirect, 403, or allowed.

A route added later without an entry here makes `test_every_route_is_in_the_matrix` fail,
so nobody can add a page without deciding who may open it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from survey_app.extensions import db
from survey_app.models import Agency, User
from survey_app.services.access import PERMISSIONS, Reach, can
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
    "survey.receipt",
    "survey.receipt_thanks",
    "survey.kiosk",
    "survey.kiosk_pair",
    "survey.kiosk_answers",
    "survey.kiosk_answer",
    "survey.kiosk_thanks",
    "survey.kiosk_manifest",
    "survey.kiosk_worker",
    "counters.qr_svg",
    "counters.qr_png",
    "api.openapi_document",
    "main.healthz",
    "auth.login",
    "auth.logout",
    "auth.reset_password",
    "auth.second_step",
    "seals.index",
    "seals.chain_json",
    "seals.day_json",
    "board.index",
    "board.agency",
    "voice.clip",
}
TOKEN_ONLY = {"api.me", "api.tallies", "api.responses", "api.mint_receipts", "api.put_volumes"}


SIGNED_IN = "signed in"  # any signed-in account (its own password page)

Url = Callable[[World], str]

# Each route: its address, the permission it needs (from services/access.py, or SIGNED_IN),
# and whether it acts on commune A (the agency the permission is checked at) or on none.
MATRIX: dict[str, tuple[Url, str, bool]] = {
    "manage.index": (lambda w: "/manage/", "codes.view", False),
    "manage.agency": (lambda w: f"/manage/agencies/{w.a_id}", "codes.view", True),
    "auth.change_password": (lambda w: "/account/password", SIGNED_IN, False),
    "auth.second_factor": (lambda w: "/account/second-factor", SIGNED_IN, False),
    "counters.create": (lambda w: f"/agencies/{w.a_id}/codes", "code.create", True),
    "counters.replace": (lambda w: f"/codes/{w.code_a}/replace", "code.replace", True),
    "counters.revoke": (lambda w: f"/codes/{w.code_a}/revoke", "code.revoke", True),
    "counters.kiosks": (lambda w: f"/codes/{w.code_a}/kiosks", "kiosk.pair", True),
    "counters.kiosk_pairing": (lambda w: f"/codes/{w.code_a}/kiosks/pair", "kiosk.pair", True),
    "counters.kiosk_revoke": (lambda w: f"/codes/{w.code_a}/kiosks/999999/revoke",
                              "kiosk.revoke", True),
    "counters.poster": (lambda w: f"/codes/{w.code_a}/poster", "codes.print", True),
    "counters.tent": (lambda w: f"/codes/{w.code_a}/tent", "codes.print", True),
    "counters.sheet": (lambda w: f"/agencies/{w.a_id}/codes/sheet", "codes.print", True),
    "exports.tallies": (lambda w: "/exports/tallies.xlsx?from=2025-01-01&to=2025-03-31",
                        "figures.export", False),
    "exports.responses": (lambda w: "/exports/responses.csv?from=2025-01-01&to=2025-03-31",
                          "figures.export", False),
    "dashboard.index": (lambda w: "/dashboard/", "figures.view", False),
    "dashboard.report": (lambda w: "/dashboard/report", "figures.view", False),
    "dashboard.method": (lambda w: "/dashboard/method", "figures.view", False),
    "review.comments": (lambda w: "/review/comments", "figures.view", False),
    "review.queue": (lambda w: "/review/flagged", "responses.review", False),
    "review.flag": (lambda w: f"/review/responses/{w.response_a}/flag", "responses.review",
                    True),
    "review.restore": (lambda w: f"/review/responses/{w.response_a}/restore",
                       "responses.review", True),
    "targets.index": (lambda w: "/admin/targets", "targets.manage", False),
    "targets.new": (lambda w: "/admin/targets/new", "targets.manage", False),
    "targets.edit": (lambda w: "/admin/targets/2025", "targets.manage", False),
    "targets.scopes": (lambda w: "/admin/targets/scopes", "targets.manage", False),
    "targets.scope_new": (lambda w: "/admin/targets/scopes/new", "targets.manage", False),
    "targets.scope_edit": (lambda w: "/admin/targets/scopes/1", "targets.manage", False),
    "admin.users": (lambda w: "/admin/users", "accounts.manage", False),
    "admin.agencies": (lambda w: "/admin/agencies", "agencies.manage", False),
    "admin.sectors": (lambda w: "/admin/sectors", "sectors.manage", False),
    "admin.audit": (lambda w: "/admin/audit", "audit.view", False),
    "admin.user_new": (lambda w: "/admin/users/new", "accounts.manage", False),
    "admin.user_edit": (lambda w: f"/admin/users/{w.user_ids['staff_a']}", "accounts.manage",
                        False),
    "admin.user_password": (lambda w: f"/admin/users/{w.user_ids['staff_a']}/password",
                            "accounts.manage", False),
    "admin.user_reset_link": (lambda w: f"/admin/users/{w.user_ids['staff_a']}/reset-link",
                              "accounts.manage", False),
    "admin.user_second_factor_reset": (
        lambda w: f"/admin/users/{w.user_ids['staff_a']}/second-factor/reset",
        "accounts.manage", False),
    "admin.agency_new": (lambda w: "/admin/agencies/new", "agencies.manage", False),
    "admin.agency_edit": (lambda w: f"/admin/agencies/{w.a_id}", "agencies.manage", False),
    "admin.agency_counter_add": (lambda w: f"/admin/agencies/{w.a_id}/counters",
                                 "agencies.manage", False),
    "admin.agency_counter_rename": (lambda w: f"/admin/counters/{w.counter_a_id}",
                                    "agencies.manage", False),
    "alerts.inbox": (lambda w: "/alerts/", "alerts.read", False),
    "alerts.show": (lambda w: f"/alerts/{w.alert_a}", "alerts.read", True),
    "alerts.acknowledge": (lambda w: f"/alerts/{w.alert_a}/acknowledge", "alerts.handle", True),
    "alerts.close": (lambda w: f"/alerts/{w.alert_a}/close", "alerts.handle", True),
    "alerts.rules": (lambda w: "/alerts/rules", "alerts.rules", False),
    "alerts.preferences": (lambda w: "/alerts/preferences", "alerts.read", False),
    "admin.sector_edit": (lambda w: f"/admin/sectors/{w.sector_id}", "sectors.manage", False),
    "board.manage": (lambda w: "/admin/board", "board.publish", False),
    "board.toggle": (lambda w: f"/admin/board/{w.a_id}", "board.publish", False),
    "voice.manage": (lambda w: "/admin/voice", "voice.manage", False),
    "voice.upload": (lambda w: "/admin/voice/q3", "voice.manage", False),
    "voice.revert": (lambda w: "/admin/voice/q3/revert", "voice.manage", False),
}


def expected_outcome(app, world: World, persona: str, action: str, at_commune_a: bool) -> str:
    """What the permission table says this persona gets at this route."""
    if persona == "anonymous":
        return LOGIN
    if action == SIGNED_IN:
        return OK
    with app.app_context():
        user = db.session.get(User, world.user_ids[persona])
        agency = db.session.get(Agency, world.a_id) if at_commune_a else None
        return OK if can(user, action, agency) else FORBIDDEN


def test_the_table_says_who_may_do_what():
    """The policy in words: staff change their own agency's codes, managers read figures."""
    code_keepers = {"admin", "staff"}
    for action in ("code.create", "code.replace", "code.revoke", "kiosk.pair", "kiosk.revoke"):
        assert set(PERMISSIONS[action].roles) == code_keepers
        assert PERMISSIONS[action].reach is Reach.OWN
    for action in ("figures.view", "figures.export", "responses.review", "api.read",
                   "receipts.mint"):
        assert set(PERMISSIONS[action].roles) == {"admin", "manager"}
        assert PERMISSIONS[action].reach is Reach.SCOPE
    for action in ("alerts.read", "alerts.handle"):
        assert set(PERMISSIONS[action].roles) == {"admin", "manager"}
        assert PERMISSIONS[action].reach is Reach.SCOPE
    for action in ("accounts.manage", "agencies.manage", "sectors.manage", "targets.manage",
                   "audit.view", "alerts.rules", "board.publish", "voice.manage"):
        assert PERMISSIONS[action].roles == ("admin",)
    assert set(PERMISSIONS["codes.view"].roles) == {"admin", "manager", "staff"}


def test_every_view_declares_the_permission_of_the_matrix(app):
    """The views name their permission; the matrix names the same one."""
    for endpoint, (_url, action, _at_a) in MATRIX.items():
        declared = getattr(app.view_functions[endpoint], "permission", SIGNED_IN)
        assert declared == action, f"{endpoint} declares {declared}, the matrix says {action}"


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
    world.add_alert_a(app)
    client = world.login(app.test_client(), persona)
    # CSRF is tested on its own; here every POST must reach the access check.
    app.config["WTF_CSRF_ENABLED"] = False
    methods_of = {rule.endpoint: rule.methods - {"HEAD", "OPTIONS"}
                  for rule in app.url_map.iter_rules()}
    wrong = []
    for endpoint, (url, action, at_commune_a) in sorted(MATRIX.items()):
        expected = expected_outcome(app, world, persona, action, at_commune_a)
        for method in sorted(methods_of[endpoint]):
            with client.open(url(world), method=method) as response:
                got = outcome(response)
            if got != expected:
                wrong.append(f"{method} {endpoint}: expected {expected}, got {got}")
    assert not wrong, f"{persona}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("endpoint", sorted(TOKEN_ONLY))
def test_token_routes_refuse_a_session_without_a_token(app, world, endpoint):
    client = world.login(app.test_client(), "admin")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    refused = client.open(rule.rule, method=method)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="survey_app"'
    assert refused.get_json()["error"]["message"].startswith("missing bearer token")
