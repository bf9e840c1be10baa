"""API v1: tallies equal a recount, responses page through everything once, scope is enforced.

Every answer of every test here is checked against the OpenAPI document the API serves.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_document
from sqlalchemy import select

from survey_app import sipas
from survey_app.api import openapi
from survey_app.extensions import db
from survey_app.models import Agency, Response, Sector, SurveyCode, User
from survey_app.questionnaire import CURRENT
from survey_app.services import rollups
from survey_app.services.accounts import create_token
from survey_app.services.periods import Period
from survey_app.services.recording import record_response
from survey_app.services.tallies import TallyFilter
from tests import oracle
from tests.conftest import VALID_ANSWERS, create_code, open_form

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DOCUMENT = openapi.document()
Q1 = {"from": "2025-01-01", "to": "2025-03-31"}


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN).astimezone(UTC)


ANSWERS: dict[str, Any] = {
    "q1": "5", "q2": "4", "q3": "5", "q4": "4", "q5": "4", "q6": "5",
    "q7": "no", "q8": [], "comment": None, "dossier": None,
}  # fmt: skip


def store(code: str, when: datetime, nonce: str, **answers: Any) -> Response:
    """Store one response through the service the form uses (rollups kept exact)."""
    survey_code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
    assert survey_code is not None
    response, _ = record_response(
        db.session, survey_code, CURRENT, {**ANSWERS, **answers}, nonce, "vi", now=when
    )
    return response


def flag(response: Response) -> None:
    rollups.change_status(db.session, response, "flagged", "manual:abuse")


def token_for(app, world, persona: str) -> str:
    with app.app_context():
        user = db.session.get(User, world.user_ids[persona])
        _token, secret = create_token(db.session, user)
        db.session.commit()
    return secret


def check_against_document(path: str, status: int, body: Any) -> None:
    """Fail unless the status is documented for the path and the body fits its schema."""
    operation = DOCUMENT["paths"][path]["get"]
    assert str(status) in operation["responses"], f"{status} is not documented for {path}"
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    OAS31Validator(
        {**schema, "components": DOCUMENT["components"]},
        format_checker=OAS31Validator.FORMAT_CHECKER,
    ).validate(body)


def api(client, path: str, token: str | None, **params: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with client.get(f"/api/v1{path}", query_string=params, headers=headers) as result:
        body = result.get_json()
        assert result.mimetype == "application/json"
    check_against_document(path, result.status_code, body)
    return result.status_code, body


def walk(client, token: str, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` from the first page to the last; return every item in order."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _page in range(1000):
        paging = {"cursor": cursor} if cursor else {}
        status, body = api(client, "/responses", token, **params, **paging)
        assert status == 200, body
        items += body["items"]
        cursor = body["next"]
        if cursor is None:
            return items
    raise AssertionError("pagination never ended")


# Data --------------------------------------------------------------------------------------


@pytest.fixture
def spread(app, world):
    """About 80 responses over Q1 2025 and its edges, in A, B and the province, committed.

    A few are duplicates (a repeated dossier code) and a few are flagged.
    """
    rng = random.Random(11)

    def pick() -> str:
        return rng.choice(["1", "2", "3", "4", "4", "5", "5"])

    with app.app_context():
        province = db.session.get(Agency, world.province_id)
        b = db.session.get(Agency, world.b_id)
        codes = [
            world.code_a,
            world.code_b,
            create_code(b, "Quầy 2", "DAU_TU").code,
            create_code(province, "Quầy 5", "XAY_DUNG").code,
            create_code(province, "Quầy 5", "DAT_DAI").code,
        ]
        for n in range(80):
            when = local(2024, 12, 20) + (local(2025, 4, 10) - local(2024, 12, 20)) * rng.random()
            response = store(
                rng.choice(codes), when, f"spread-{n}",
                q1=pick(), q2=pick(), q3=pick(), q4=rng.choice(["na", pick()]),
                q5=rng.choice(["na", "na", pick()]), q6=pick(),
                q7=rng.choice([None, "no", "no", "yes", "decline"]),
                q8=rng.sample(["speed", "online", "attitude"], rng.choice([0, 1, 2])),
                dossier=rng.choice([None, None, None, "HS-1", "HS-2"]),
            )  # fmt: skip
            if n % 13 == 5 and response.status == "counted":
                flag(response)
        db.session.commit()
    return codes


def counts_of(flt: TallyFilter) -> tuple[sipas.AnswerCounts, sipas.AnswerCounts]:
    """Return the counted answers and every stored one, straight from the responses."""
    counted = oracle.naive_recount(db.session, flt)
    everything = TallyFilter(flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids, None)
    return counted, oracle.naive_recount(db.session, everything)


def _share(s: sipas.Share) -> dict[str, Any]:
    return {"valid": s.valid, "satisfied": s.satisfied, "share": s.share,
            "ci_low": s.ci_low, "ci_high": s.ci_high}  # fmt: skip


def expected_scope(counts: sipas.AnswerCounts, everything: sipas.AnswerCounts) -> dict[str, Any]:
    scores, raw = sipas.score(counts), sipas.score(everything)
    return {
        "responses": counts.responses,
        "not_counted": everything.responses - counts.responses,
        "sipas_index": scores.sipas_index,
        "sipas_ci_low": scores.sipas_low,
        "sipas_ci_high": scores.sipas_high,
        "elements": {k: _share(v) for k, v in scores.elements.items()},
        "overall": _share(scores.overall),
        "integrity": _share(scores.integrity),
        "raw": {
            "responses": everything.responses,
            "sipas_index": raw.sipas_index,
            "sipas_ci_low": raw.sipas_low,
            "sipas_ci_high": raw.sipas_high,
            "overall": _share(raw.overall),
        },
    }


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


def sector_ids(*codes: str) -> frozenset[int]:
    return frozenset(db.session.scalars(select(Sector.id).where(Sector.code.in_(codes))))


GROUP_SECTORS = {
    "all": None,
    "LAND": ("DAT_DAI",),
    "CONSTRUCTION": ("XAY_DUNG", "QH_KT"),
    "INVESTMENT": ("DAU_TU",),
    "LAND_CONSTRUCTION_INVESTMENT": ("DAT_DAI", "XAY_DUNG", "QH_KT", "DAU_TU"),
}


# Tallies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "params", "agencies"),
    [
        ("admin", {}, None),
        ("admin", {"agency": "XA-A"}, {"a"}),
        ("admin", {"agency": "tinh"}, {"province", "a", "b"}),
        ("admin", {"sector": "DAT_DAI"}, None),
        ("admin", {"counter": "counter_b"}, None),
        ("admin", {"from": "2025-01-17", "to": "2025-03-02"}, None),
        ("manager_province", {"agency": "XA-B"}, {"b"}),
        ("manager_a", {}, {"a"}),
    ],
)
def test_tallies_equal_a_naive_recount(app, client, world, spread, persona, params, agencies):
    token = token_for(app, world, persona)
    params = {**Q1, **params}
    if params.get("counter") == "counter_b":
        params["counter"] = str(world.counter_b_id)
    status, body = api(client, "/tallies", token, **params)
    assert status == 200, body
    ids = {"province": world.province_id, "a": world.a_id, "b": world.b_id}
    with app.app_context():
        period = Period(date.fromisoformat(params["from"]), date.fromisoformat(params["to"]))
        agency_ids = None if agencies is None else frozenset(ids[a] for a in agencies)
        counter_id = int(params["counter"]) if "counter" in params else None
        chosen = sector_ids(params["sector"]) if "sector" in params else None

        def expected(sectors: frozenset[int] | None) -> dict[str, Any]:
            if chosen is not None:
                sectors = chosen if sectors is None else sectors & chosen
            return expected_scope(*counts_of(TallyFilter(period, agency_ids, counter_id, sectors)))

        assert set(body["scopes"]) == set(GROUP_SECTORS)
        empty = expected_scope(sipas.AnswerCounts(), sipas.AnswerCounts())
        for scope, codes in GROUP_SECTORS.items():
            got = {k: body["scopes"][scope][k] for k in empty}
            assert got == expected(None if codes is None else sector_ids(*codes)), scope
        counted_sectors = set()
        for code in ("DAT_DAI", "HO_TICH", "DAU_TU", "XAY_DUNG"):
            want = expected(sector_ids(code))
            if want["responses"]:
                counted_sectors.add(code)
                got = {k: body["sectors"][code][k] for k in want}
                assert got == want, code
        assert set(body["sectors"]) == counted_sectors
    assert body["from"] == params["from"] and body["to"] == params["to"]
    assert body["target_year"] == 2025 and body["min_sample"] == 30
    assert body["scopes"]["all"]["responses"] > 0


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
            store(world.code_a, local(2025, 2, 3 + n), f"small-{n}", q1=q1, q2=q2, q3=q3,
                  q4=q4, q5=q5, q6=q6, q7=q7, dossier="HS-9" if n == 0 else None)  # fmt: skip
        # Same dossier code as the first: stored as a duplicate.
        store(world.code_a, local(2025, 2, 10), "small-dup", q1="1", q6="1", dossier="HS-9")
        flag(store(world.code_a, local(2025, 2, 11), "small-flag", q1="1", q6="1"))
        db.session.commit()
    status, body = api(client, "/tallies", token_for(app, world, "manager_a"), **Q1)
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
    status, body = api(client, "/tallies", token_for(app, world, "admin"), **Q1)
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
    status, body = api(client, "/tallies", token_for(app, world, "admin"),
                       **{"from": "2026-01-01", "to": "2026-03-31"})
    assert (body["target_year"], body["targets_borrowed"]) == (2025, True)
    assert {t["year"] for t in body["scopes"]["all"]["targets"]} == {2025}
    status, body = api(client, "/tallies", token_for(app, world, "admin"),
                       **{"from": "2024-01-01", "to": "2024-03-31"})
    assert (body["target_year"], body["scopes"]["all"]["targets"]) == (None, [])


def test_a_sector_with_only_uncounted_responses_is_not_listed(app, client, world):
    with app.app_context():
        agency_a = db.session.get(Agency, world.a_id)
        code = create_code(agency_a, "Quầy 1", "XAY_DUNG").code
        flag(store(code, local(2025, 1, 5), "only-flagged"))
        store(world.code_a, local(2025, 1, 5), "counted")
        db.session.commit()
    status, body = api(client, "/tallies", token_for(app, world, "admin"), **Q1)
    assert status == 200
    assert set(body["sectors"]) == {"DAT_DAI"}
    assert body["scopes"]["CONSTRUCTION"]["flagged"] == 1
    assert body["scopes"]["CONSTRUCTION"]["not_counted"] == 1
    assert body["scopes"]["CONSTRUCTION"]["responses"] == 0
    assert body["scopes"]["all"]["flagged"] == 1


def test_period_edges_follow_the_local_day(app, client, world):
    """23:30 on the last day in Việt Nam counts; 00:30 on the next day does not."""
    with app.app_context():
        store(world.code_a, local(2025, 2, 28, 23, 30), "before")
        first = store(world.code_a, local(2025, 3, 1, 0, 30), "first").id
        last = store(world.code_a, local(2025, 3, 31, 23, 30), "last").id
        store(world.code_a, local(2025, 4, 1, 0, 30), "after")
        db.session.commit()
    token = token_for(app, world, "manager_a")
    march = {"from": "2025-03-01", "to": "2025-03-31"}
    status, body = api(client, "/tallies", token, **march)
    assert status == 200 and body["scopes"]["all"]["responses"] == 2
    status, page = api(client, "/responses", token, **march)
    assert status == 200
    assert [(i["id"], i["created_at"]) for i in page["items"]] == [
        (first, "2025-03-01T00:30:00+07:00"),
        (last, "2025-03-31T23:30:00+07:00"),
    ]
    status, body = api(client, "/tallies", token, **{"from": "2025-03-31", "to": "2025-03-31"})
    assert body["scopes"]["all"]["responses"] == 1


# Responses ---------------------------------------------------------------------------------


def test_a_response_reads_as_it_was_answered(app, client, world):
    form = open_form(client, world.code_a)
    answers = {**VALID_ANSWERS, "comment": "Cán bộ nhiệt tình, hướng dẫn chu đáo."}
    with client.post(f"/s/{world.code_a}", data={**answers, **form}) as sent:
        assert sent.status_code == 303
    today = datetime.now(VN).date().isoformat()
    status, page = api(client, "/responses", token_for(app, world, "manager_a"),
                       **{"from": today, "to": today})  # fmt: skip
    assert status == 200
    [item] = page["items"]
    created_at = datetime.fromisoformat(item.pop("created_at"))
    assert created_at.utcoffset() == VN.utcoffset(created_at.replace(tzinfo=None))
    assert abs(datetime.now(UTC) - created_at).total_seconds() < 60
    assert item == {
        "id": item["id"], "agency": "XA-A", "counter": "Quầy 1", "sector": "DAT_DAI",
        "code": world.code_a, "source": "counter",
        "q1": 5, "q2": 4, "q3": 5, "q4": None, "q5": 3, "q6": 4,
        "q7": "no", "q8": ["online", "speed"], "comment": "Cán bộ nhiệt tình, hướng dẫn chu đáo.",
        "status": "counted", "reason": None, "language": "vi",
        "questionnaire_version": "sipas-2025-short",
    }  # fmt: skip
    assert page["next"] is None


def test_responses_show_every_status_with_its_reason(app, client, world):
    with app.app_context():
        store(world.code_a, local(2025, 1, 5), "one", dossier="HS-7")
        store(world.code_a, local(2025, 1, 6), "two", dossier="HS-7")
        flag(store(world.code_a, local(2025, 1, 7), "three", q7=None, q8=["speed"]))
        db.session.commit()
    status, page = api(client, "/responses", token_for(app, world, "admin"), **Q1)
    assert status == 200
    assert [(i["status"], i["reason"]) for i in page["items"]] == [
        ("counted", None),
        ("duplicate", "dossier_repeat"),
        ("flagged", "manual:abuse"),
    ]
    assert page["items"][2]["q7"] is None and page["items"][2]["q8"] == ["speed"]


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_pagination_walks_every_response_exactly_once(app, client, world, spread, limit):
    token = token_for(app, world, "admin")
    items = walk(client, token, **Q1, limit=limit)
    ids = [item["id"] for item in items]
    with app.app_context():
        start, end = local(2025, 1, 1, 0, 0), local(2025, 4, 1, 0, 0)
        stored = list(db.session.scalars(
            select(Response.id)
            .where(Response.created_at >= start, Response.created_at < end)
            .order_by(Response.id)
        ))  # fmt: skip
    assert ids == stored  # oldest first, none twice, none missing
    assert {item["status"] for item in items} == {"counted", "duplicate", "flagged"}


def test_a_full_last_page_has_no_next(app, client, world):
    with app.app_context():
        for n in range(4):
            store(world.code_a, local(2025, 1, 2 + n), f"page-{n}")
        db.session.commit()
    token = token_for(app, world, "admin")
    status, page = api(client, "/responses", token, **Q1, limit=4)
    assert len(page["items"]) == 4 and page["next"] is None
    status, page = api(client, "/responses", token, **Q1, limit=2)
    assert len(page["items"]) == 2 and page["next"]
    status, rest = api(client, "/responses", token, **Q1, limit=2, cursor=page["next"])
    assert len(rest["items"]) == 2 and rest["next"] is None
    assert rest["items"][0]["id"] > page["items"][-1]["id"]
    status, default = api(client, "/responses", token, **Q1)
    assert len(default["items"]) == 4


def test_filters_narrow_the_responses(app, client, world, spread):
    token = token_for(app, world, "admin")
    for params, check in [
        ({"agency": "XA-B"}, lambda i: i["agency"] == "XA-B"),
        ({"agency": "TINH"}, lambda i: i["agency"] in ("TINH", "XA-A", "XA-B")),
        ({"sector": "DAT_DAI"}, lambda i: i["sector"] == "DAT_DAI"),
        ({"counter": world.counter_b_id},
         lambda i: (i["agency"], i["counter"]) == ("XA-B", "Quầy 1")),
    ]:  # fmt: skip
        items = walk(client, token, **Q1, **params, limit=1000)
        assert items and all(check(i) for i in items), params
    everything = walk(client, token, **Q1, limit=1000)
    land = walk(client, token, **Q1, sector="DAT_DAI", limit=1000)
    assert len(land) == sum(i["sector"] == "DAT_DAI" for i in everything)


# Scope -------------------------------------------------------------------------------------


def test_a_commune_manager_reads_only_their_commune(app, client, world, spread):
    token = token_for(app, world, "manager_a")
    for path in ("/tallies", "/responses"):
        for params in ({"agency": "XA-B"}, {"agency": "TINH"}, {"counter": world.counter_b_id}):
            status, body = api(client, path, token, **Q1, **params)
            assert status == 403, (path, params)
            assert "scope" in body["error"]["message"]
    items = walk(client, token, **Q1, limit=1000)
    assert items and {i["agency"] for i in items} == {"XA-A"}
    status, mine = api(client, "/tallies", token, **Q1)
    status, admin_view = api(client, "/tallies", token_for(app, world, "admin"), **Q1,
                             agency="XA-A")  # fmt: skip
    assert mine["scopes"] == admin_view["scopes"]
    assert mine["scopes"]["all"]["responses"] == sum(i["status"] == "counted" for i in items)


def test_the_province_manager_reads_every_commune_below(app, client, world, spread):
    token = token_for(app, world, "manager_province")
    agencies = {i["agency"] for i in walk(client, token, **Q1, limit=1000)}
    assert agencies == {"TINH", "XA-A", "XA-B"}
    assert api(client, "/tallies", token, **Q1, agency="XA-B")[0] == 200


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
    got, body = api(client, path, token_for(app, world, "admin"), **params)
    assert got == status
    assert body["error"]["status"] == status and body["error"]["message"]


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"limit": "2.5"},
     {"cursor": "not-a-cursor"}, {"cursor": FORGED_CURSOR}],
)  # fmt: skip
def test_bad_paging_parameters_are_refused(app, client, world, params):
    status, body = api(client, "/responses", token_for(app, world, "admin"), **Q1, **params)
    assert status == 400 and body["error"]["status"] == 400


def test_a_counter_of_another_agency_is_not_found(app, client, world):
    token = token_for(app, world, "admin")
    status, _ = api(client, "/tallies", token, **Q1, agency="XA-A", counter=world.counter_b_id)
    assert status == 404


@pytest.mark.parametrize("path", ["/tallies", "/responses", "/me"])
def test_data_needs_a_token(client, path):
    status, body = api(client, path, None, **Q1)
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
    status, body = api(client, "/me", token_for(app, world, "manager_a"))
    assert status == 200 and body["agency"] == "XA-A"


def test_a_figure_that_does_not_fit_the_document_is_caught():
    """The schema check itself must be able to fail, or it proves nothing."""
    from jsonschema.exceptions import ValidationError

    bad_share = {"valid": 1, "satisfied": 1, "share": 140.0, "ci_low": None, "ci_high": None}
    schema = {"$ref": "#/components/schemas/Share", "components": DOCUMENT["components"]}
    with pytest.raises(ValidationError):
        OAS31Validator(schema).validate(bad_share)
