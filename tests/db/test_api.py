"""API v1: figures to the last digit, responses as answered, errors, tokens, the document.

Every answer of every test here is checked against the OpenAPI document the API serves.
(The tests over one spread of responses, built once: tests/db/test_api_spread.py.)
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_document

from survey_app import sipas
from survey_app.extensions import db
from survey_app.models import Agency
from tests.factories import (
    API_DOCUMENT,
    LOCAL_ZONE,
    VALID_ANSWERS,
    api_get,
    create_code,
    flag,
    local_time,
    open_form,
    record,
)

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")

Q1 = {"from": "2025-01-01", "to": "2025-03-31"}

ANSWERS: dict[str, Any] = {
    "q1": "5", "q2": "4", "q3": "5", "q4": "4", "q5": "4", "q6": "5",
    "q7": "no", "q8": [], "comment": None, "dossier": None,
}  # fmt: skip
# Store one response through the service the form uses (rollups kept exact).
store = partial(record, answers=ANSWERS)


def index_interval_from_responses(rows: list[list[int | None]]) -> tuple[float, float]:
    """Return the 95% interval of S computed response by response (N/A as None).

    Each response's part in S is z_i = (1/K) sum over its valid elements of
    (y_ik - p_k) / n_k; Var(S) = sum of z_i squared; then the Wilson interval of S on the
    effective sample size S(1 - S) / Var(S).
    """
    keys = [k for k in range(len(rows[0])) if any(r[k] is not None for r in rows)]
    valid = {k: sum(1 for r in rows if r[k] is not None) for k in keys}
    p = {k: sum(1 for r in rows if r[k] is not None and r[k] >= 4) / valid[k] for k in keys}
    variance = sum(
        sum((int(r[k] >= 4) - p[k]) / valid[k] for k in keys if r[k] is not None) ** 2
        for r in rows
    ) / len(keys) ** 2
    mean = sum(p.values()) / len(keys)
    n = len(rows) if variance < 1e-12 else min(mean * (1 - mean) / variance,
                                               sum(valid.values()))
    interval = sipas._wilson(mean * n, n)
    return interval


# Tallies -----------------------------------------------------------------------------------


def test_small_scope_figures_to_the_last_digit(app, client, world):
    """Four counted answers, hand-computed; a duplicate and a flagged one change nothing."""
    with app.app_context():
        rows = [  # q1 q2 q3 q4 q5 q6 q7
            ("5", "5", "1", "na", "na", "4", "no"),
            ("4", "5", "2", "na", "na", "4", "no"),
            ("4", "5", "3", "4", "na", "3", "yes"),
            ("2", "5", "4", "5", "na", "3", None),
        ]
        for n, (q1, q2, q3, q4, q5, q6, q7) in enumerate(rows):
            store(world.code_a, local_time(2025, 2, 3 + n), f"small-{n}", q1=q1, q2=q2, q3=q3,
                  q4=q4, q5=q5, q6=q6, q7=q7, dossier="HS-9" if n == 0 else None)  # fmt: skip
        # Same dossier code as the first: stored as a duplicate.
        store(world.code_a, local_time(2025, 2, 10), "small-dup", q1="1", q6="1", dossier="HS-9")
        flag(store(world.code_a, local_time(2025, 2, 11), "small-flag", q1="1", q6="1"))
        db.session.commit()
    status, body = api_get(client, "/tallies", world.token("manager_a"), **Q1)
    assert status == 200
    land = body["scopes"]["LAND"]
    assert land == body["sectors"]["DAT_DAI"]
    assert {**body["scopes"]["all"], "targets": []} == {**land, "targets": []}
    assert land["responses"] == 4
    assert (land["not_counted"], land["flagged"], land["duplicate"]) == (2, 1, 1)
    assert land["by_status"] == {"counted": 4, "duplicate": 1, "flagged": 1}
    q1 = land["elements"]["q1"]
    assert (q1["valid"], q1["satisfied"], q1["share"]) == (4, 3, 75.0)
    # Wilson, z = 1.96, 3 of 4: 30.0636052442636634..., 95.4413937355363773...
    assert q1["ci_low"] == pytest.approx(30.06360524426366345, abs=1e-12)
    assert q1["ci_high"] == pytest.approx(95.44139373553637735, abs=1e-12)
    assert land["elements"]["q2"]["share"] == 100.0
    assert land["elements"]["q3"]["share"] == 25.0
    assert (land["elements"]["q4"]["valid"], land["elements"]["q4"]["share"]) == (2, 100.0)
    assert land["elements"]["q5"] == {
        "valid": 0, "satisfied": 0, "share": None, "ci_low": None, "ci_high": None,
    }  # fmt: skip
    # Mean of the four defined elements: (75 + 100 + 25 + 100) / 4; its interval from the
    # responses themselves (each one's part in S), as the rollups' pair counts give it.
    assert land["sipas_index"] == 75.0
    low, high = index_interval_from_responses(
        [[int(q) if q != "na" else None for q in row[:4]] for row in rows]
    )
    assert land["sipas_ci_low"] == pytest.approx(low, abs=1e-9)
    assert land["sipas_ci_high"] == pytest.approx(high, abs=1e-9)
    # Every stored response, the duplicate and the flagged one too (both answered q1 1, q2 4,
    # q3 5, q4 4, q5 4, q6 1): q1 3/6, q2 6/6, q3 3/6, q4 4/4, q5 2/2.
    assert land["raw"]["responses"] == 6
    assert land["raw"]["sipas_index"] == pytest.approx((50 + 100 + 50 + 100 + 100) / 5)
    assert land["raw"]["overall"]["share"] == pytest.approx(200 / 6)
    # Overall, 2 of 4: [15.0036, 84.9964].
    assert land["overall"]["ci_low"] == pytest.approx(15.00357088201714887, abs=1e-12)
    assert land["overall"]["share"] == 50.0
    integrity = land["integrity"]
    assert (integrity["valid"], integrity["satisfied"]) == (3, 2)
    assert integrity["share"] == pytest.approx(200 / 3, abs=1e-12)
    # Four responses are far below the minimum sample of 30: nothing is concluded. Each
    # indicator has its own target: land 85 for O (question 6) and 85 for S.
    assert land["targets"] == [
        {"metric": "overall", "threshold": 85.0, "status": "insufficient", "uncertain": False,
         "scope": "LAND", "year": 2025},
        {"metric": "sipas_index", "threshold": 85.0, "status": "insufficient",
         "uncertain": False, "scope": "LAND", "year": 2025},
    ]
    assert [(t["metric"], t["threshold"]) for t in body["scopes"]["all"]["targets"]] == [
        ("overall", 90.0), ("sipas_index", 85.0)]
    assert body["scopes"]["CONSTRUCTION"]["responses"] == 0
    assert body["scopes"]["CONSTRUCTION"]["sipas_index"] is None


def test_each_scope_carries_the_targets_of_its_own_indicators(app, client, world):
    """Nghị quyết 76/NQ-CP: O 90 over all sectors and 85 for land, construction, investment
    (each and pooled); S 85 everywhere. A 2026 period borrows 2025's, and says so."""
    status, body = api_get(client, "/tallies", world.token("admin"), **Q1)
    assert status == 200
    thresholds = {
        scope: {(t["metric"], t["threshold"], t["scope"], t["year"]) for t in figures["targets"]}
        for scope, figures in body["scopes"].items()
    }
    assert thresholds["all"] == {("overall", 90.0, "all", 2025),
                                 ("sipas_index", 85.0, "all", 2025)}
    for scope in ("LAND", "CONSTRUCTION", "INVESTMENT", "LAND_CONSTRUCTION_INVESTMENT"):
        assert thresholds[scope] == {("overall", 85.0, scope, 2025),
                                     ("sipas_index", 85.0, scope, 2025)}, scope
    assert (body["target_year"], body["targets_borrowed"]) == (2025, False)
    status, body = api_get(client, "/tallies", world.token("admin"),
                       **{"from": "2026-01-01", "to": "2026-03-31"})
    assert (body["target_year"], body["targets_borrowed"]) == (2025, True)
    assert {t["year"] for t in body["scopes"]["all"]["targets"]} == {2025}
    status, body = api_get(client, "/tallies", world.token("admin"),
                       **{"from": "2024-01-01", "to": "2024-03-31"})
    assert (body["target_year"], body["scopes"]["all"]["targets"]) == (None, [])


def test_a_sector_with_only_uncounted_responses_is_not_listed(app, client, world):
    with app.app_context():
        agency_a = db.session.get(Agency, world.a_id)
        code = create_code(agency_a, "Quầy 1", "XAY_DUNG").code
        flag(store(code, local_time(2025, 1, 5), "only-flagged"))
        store(world.code_a, local_time(2025, 1, 5), "counted")
        db.session.commit()
    status, body = api_get(client, "/tallies", world.token("admin"), **Q1)
    assert status == 200
    assert set(body["sectors"]) == {"DAT_DAI"}
    assert body["scopes"]["CONSTRUCTION"]["flagged"] == 1
    assert body["scopes"]["CONSTRUCTION"]["not_counted"] == 1
    assert body["scopes"]["CONSTRUCTION"]["responses"] == 0
    assert body["scopes"]["all"]["flagged"] == 1


def test_period_edges_follow_the_local_day(app, client, world):
    """23:30 on the last day in Việt Nam counts; 00:30 on the next day does not."""
    with app.app_context():
        store(world.code_a, local_time(2025, 2, 28, 23, 30), "before")
        first = store(world.code_a, local_time(2025, 3, 1, 0, 30), "first").id
        last = store(world.code_a, local_time(2025, 3, 31, 23, 30), "last").id
        store(world.code_a, local_time(2025, 4, 1, 0, 30), "after")
        db.session.commit()
    token = world.token("manager_a")
    march = {"from": "2025-03-01", "to": "2025-03-31"}
    status, body = api_get(client, "/tallies", token, **march)
    assert status == 200 and body["scopes"]["all"]["responses"] == 2
    status, page = api_get(client, "/responses", token, **march)
    assert status == 200
    assert [(i["id"], i["created_at"]) for i in page["items"]] == [
        (first, "2025-03-01T00:30:00+07:00"),
        (last, "2025-03-31T23:30:00+07:00"),
    ]
    status, body = api_get(client, "/tallies", token, **{"from": "2025-03-31", "to": "2025-03-31"})
    assert body["scopes"]["all"]["responses"] == 1


# Responses ---------------------------------------------------------------------------------


def test_a_response_reads_as_it_was_answered(app, client, world):
    form = open_form(client, world.code_a)
    answers = {**VALID_ANSWERS, "comment": "Cán bộ nhiệt tình, hướng dẫn chu đáo."}
    with client.post(f"/s/{world.code_a}", data={**answers, **form}) as sent:
        assert sent.status_code == 303
    today = datetime.now(LOCAL_ZONE).date().isoformat()
    status, page = api_get(client, "/responses", world.token("manager_a"),
                       **{"from": today, "to": today})  # fmt: skip
    assert status == 200
    [item] = page["items"]
    created_at = datetime.fromisoformat(item.pop("created_at"))
    assert created_at.utcoffset() == LOCAL_ZONE.utcoffset(created_at.replace(tzinfo=None))
    assert abs(datetime.now(UTC) - created_at).total_seconds() < 60
    assert item == {
        "id": item["id"], "agency": "XA-A", "counter": "Quầy 1", "sector": "DAT_DAI",
        "code": world.code_a, "source": "counter",
        "q1": 5, "q2": 4, "q3": 5, "q4": None, "q5": 3, "q6": 4,
        "q7": "no", "q8": ["online", "speed"], "comment": "Cán bộ nhiệt tình, hướng dẫn chu đáo.",
        "comment_masked": False, "status": "counted", "reason": None, "language": "vi",
        "questionnaire_version": "sipas-2026-short",
    }  # fmt: skip
    assert page["next"] is None


def test_responses_show_every_status_with_its_reason(app, client, world):
    with app.app_context():
        store(world.code_a, local_time(2025, 1, 5), "one", dossier="HS-7")
        store(world.code_a, local_time(2025, 1, 6), "two", dossier="HS-7")
        flag(store(world.code_a, local_time(2025, 1, 7), "three", q7=None, q8=["speed"]))
        db.session.commit()
    status, page = api_get(client, "/responses", world.token("admin"), **Q1)
    assert status == 200
    assert [(i["status"], i["reason"]) for i in page["items"]] == [
        ("counted", None),
        ("duplicate", "dossier_repeat"),
        ("flagged", "manual:abuse"),
    ]
    assert page["items"][2]["q7"] is None and page["items"][2]["q8"] == ["speed"]


def test_a_full_last_page_has_no_next(app, client, world):
    with app.app_context():
        for n in range(4):
            store(world.code_a, local_time(2025, 1, 2 + n), f"page-{n}")
        db.session.commit()
    token = world.token("admin")
    status, page = api_get(client, "/responses", token, **Q1, limit=4)
    assert len(page["items"]) == 4 and page["next"] is None
    status, page = api_get(client, "/responses", token, **Q1, limit=2)
    assert len(page["items"]) == 2 and page["next"]
    status, rest = api_get(client, "/responses", token, **Q1, limit=2, cursor=page["next"])
    assert len(rest["items"]) == 2 and rest["next"] is None
    assert rest["items"][0]["id"] > page["items"][-1]["id"]
    status, default = api_get(client, "/responses", token, **Q1)
    assert len(default["items"]) == 4


# Errors ------------------------------------------------------------------------------------

FORGED_CURSOR = base64.urlsafe_b64encode(b"5").decode()


@pytest.mark.parametrize("path", ["/tallies", "/responses"])
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"from": "2025-01-01"}, 400),
        ({"from": "2025-01-01", "to": "31/03/2025"}, 400),
        ({"from": "2025-02-30", "to": "2025-03-31"}, 400),
        ({"from": "2025-03-31", "to": "2025-01-01"}, 400),
        ({**Q1, "counter": "quay-1"}, 400),
        ({**Q1, "counter": "-3"}, 400),
        ({**Q1, "agency": "XA-KHONG-CO"}, 404),
        ({**Q1, "sector": "KHONG_CO"}, 404),
        ({**Q1, "counter": "999999"}, 404),
    ],
)
def test_bad_requests_get_a_json_error(app, client, world, path, params, status):
    got, body = api_get(client, path, world.token("admin"), **params)
    assert got == status
    assert body["error"]["status"] == status and body["error"]["message"]


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"limit": "2.5"},
     {"cursor": "not-a-cursor"}, {"cursor": FORGED_CURSOR}],
)  # fmt: skip
def test_bad_paging_parameters_are_refused(app, client, world, params):
    status, body = api_get(client, "/responses", world.token("admin"), **Q1, **params)
    assert status == 400 and body["error"]["status"] == 400


def test_a_counter_of_another_agency_is_not_found(app, client, world):
    token = world.token("admin")
    status, body = api_get(client, "/tallies", token, **Q1, agency="XA-A",
                           counter=world.counter_b_id)
    assert status == 404
    assert body["error"]["message"] == f"counter {world.counter_b_id} is not of agency XA-A"


@pytest.mark.parametrize("path", ["/tallies", "/responses", "/me"])
def test_data_needs_a_token(client, path):
    status, body = api_get(client, path, None, **Q1)
    assert status == 401 and body["error"]["status"] == 401


# The description -----------------------------------------------------------------------------


def test_the_openapi_document_is_public_and_valid(client):
    with client.get("/api/v1/openapi.json") as result:
        assert result.status_code == 200
        served = result.get_json()
    validate_document(served)
    assert served["openapi"].startswith("3.1")
    assert {"/me", "/tallies", "/responses"} <= set(served["paths"])
    assert {"Scope", "Share", "Response", "Error"} <= set(served["components"]["schemas"])
    assert served["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    names = {p["name"] for p in served["paths"]["/responses"]["get"]["parameters"]}
    assert names == {"from", "to", "agency", "counter", "sector", "limit", "cursor"}


def test_me_answers_as_documented(app, client, world):
    status, body = api_get(client, "/me", world.token("manager_a"))
    assert status == 200 and body["agency"] == "XA-A"


def test_a_figure_that_does_not_fit_the_document_is_caught():
    """The schema check itself must be able to fail, or it proves nothing."""
    from jsonschema.exceptions import ValidationError

    bad_share = {"valid": 1, "satisfied": 1, "share": 140.0, "ci_low": None, "ci_high": None}
    schema = {"$ref": "#/components/schemas/Share", "components": API_DOCUMENT["components"]}
    with pytest.raises(ValidationError):
        OAS31Validator(schema).validate(bad_share)
