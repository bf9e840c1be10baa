"""API v1 over one spread of responses, built once per database: the tallies equal a naive
recount, the pages walk every response once, the filters and each person's scope narrow
them.

The responses (about 80 over Q1 2025 and its edges) are built once for the module; each
test reads them in a savepoint rolled back after it (`rows_per_module`).
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from survey_app import sipas
from survey_app.extensions import db
from survey_app.models import Agency, Response, Sector
from survey_app.services.periods import Period
from survey_app.services.tallies import TallyFilter
from tests import oracle
from tests.factories import World, api_get, create_code, flag, local_time, record, walk_responses

pytestmark = pytest.mark.rows_per_module("module_world", "spread")

Q1 = {"from": "2025-01-01", "to": "2025-03-31"}
@pytest.fixture(scope="module")
def spread(shared_app: Flask, module_world: World) -> list[str]:
    """About 80 responses over Q1 2025 and its edges, in A, B and the province, built once.

    A few are duplicates (a repeated dossier code) and a few are flagged.
    """
    app, world = shared_app, module_world
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
            start, end = local_time(2024, 12, 20), local_time(2025, 4, 10)
            when = start + (end - start) * rng.random()
            response = record(
                rng.choice(codes), when, f"spread-{n}",
                q1=pick(), q2=pick(), q3=pick(), q4=rng.choice(["na", pick()]),
                q5=rng.choice(["na", "na", pick()]), q6=pick(),
                q7=rng.choice([None, "no", "no", "yes", "decline"]),
                q8=rng.sample(["speed", "online", "attitude"], rng.choice([0, 1, 2])),
                dossier=rng.choice([None, None, None, "HS-1", "HS-2"]), comment=None,
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
    token = world.token(persona)
    params = {**Q1, **params}
    if params.get("counter") == "counter_b":
        params["counter"] = str(world.counter_b_id)
    status, body = api_get(client, "/tallies", token, **params)
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


# Responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_pagination_walks_every_response_exactly_once(app, client, world, spread, limit):
    token = world.token("admin")
    items = walk_responses(client, token, **Q1, limit=limit)
    ids = [item["id"] for item in items]
    with app.app_context():
        start, end = local_time(2025, 1, 1, 0, 0), local_time(2025, 4, 1, 0, 0)
        stored = list(db.session.scalars(
            select(Response.id)
            .where(Response.created_at >= start, Response.created_at < end)
            .order_by(Response.id)
        ))  # fmt: skip
    assert ids == stored  # oldest first, none twice, none missing
    assert {item["status"] for item in items} == {"counted", "duplicate", "flagged"}


def test_filters_narrow_the_responses(app, client, world, spread):
    token = world.token("admin")
    for params, check in [
        ({"agency": "XA-B"}, lambda i: i["agency"] == "XA-B"),
        ({"agency": "TINH"}, lambda i: i["agency"] in ("TINH", "XA-A", "XA-B")),
        ({"sector": "DAT_DAI"}, lambda i: i["sector"] == "DAT_DAI"),
        ({"counter": world.counter_b_id},
         lambda i: (i["agency"], i["counter"]) == ("XA-B", "Quầy 1")),
    ]:  # fmt: skip
        items = walk_responses(client, token, **Q1, **params, limit=1000)
        assert items and all(check(i) for i in items), params
    everything = walk_responses(client, token, **Q1, limit=1000)
    land = walk_responses(client, token, **Q1, sector="DAT_DAI", limit=1000)
    assert len(land) == sum(i["sector"] == "DAT_DAI" for i in everything)


# Scope -------------------------------------------------------------------------------------


def test_a_commune_manager_reads_only_their_commune(app, client, world, spread):
    token = world.token("manager_a")
    for path in ("/tallies", "/responses"):
        for params in ({"agency": "XA-B"}, {"agency": "TINH"}, {"counter": world.counter_b_id}):
            status, body = api_get(client, path, token, **Q1, **params)
            assert status == 403, (path, params)
            assert "scope" in body["error"]["message"]
    items = walk_responses(client, token, **Q1, limit=1000)
    assert items and {i["agency"] for i in items} == {"XA-A"}
    status, mine = api_get(client, "/tallies", token, **Q1)
    status, admin_view = api_get(client, "/tallies", world.token("admin"), **Q1,
                             agency="XA-A")  # fmt: skip
    assert mine["scopes"] == admin_view["scopes"]
    assert mine["scopes"]["all"]["responses"] == sum(i["status"] == "counted" for i in items)


def test_the_province_manager_reads_every_commune_below(app, client, world, spread):
    token = world.token("manager_province")
    agencies = {i["agency"] for i in walk_responses(client, token, **Q1, limit=1000)}
    assert agencies == {"TINH", "XA-A", "XA-B"}
    assert api_get(client, "/tallies", token, **Q1, agency="XA-B")[0] == 200
