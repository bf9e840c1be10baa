"""API v1 against its own OpenAPI document: generated requests never break it or its promises.

Schemathesis reads `/api/v1/openapi.json` from the app itself and generates requests for
every operation, some within the document (positive) and some that break it (negative).
They are sent in-process, each with the token of a manager or an admin, and every answer
is checked: never a server error, a documented status and content type, a body that fits
the documented schema, a request that breaks the document refused, no data without the
token. Part of the requests ask for the period, agencies, counters and sectors that hold
the stored responses, so the figures and pages that come back are not all empty.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Agency, SurveyCode
from survey_app.questionnaire import CURRENT
from survey_app.services import rollups
from survey_app.services.recording import record_response
from tests.conftest import World, create_code
from tests.test_api import token_for

VN = ZoneInfo("Asia/Ho_Chi_Minh")
FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Periods that hold the stored responses: every first day is before every last day.
FIRST_DAYS = ["2025-01-01", "2025-03-15", "2025-06-01"]
LAST_DAYS = ["2025-06-30", "2025-12-31"]

# Rules across parameters (the end not before the start, at most ten years, a counter of
# the agency asked for, a cursor this API gave) cannot be written in OpenAPI, so a request
# within the document may rightly get a 400: "schema-valid requests are accepted" is the
# one check left out.
CHECKS_LEFT_OUT = [positive_data_acceptance]


def stored_answers(n: int) -> dict[str, Any]:
    """Return the n-th of a varied set of answers: every choice of every question in turn."""
    scale = ["1", "2", "3", "4", "5"]
    return {
        "q1": scale[n % 5], "q2": scale[(n + 1) % 5], "q3": scale[(n + 2) % 5],
        "q4": (scale + ["na"])[n % 6], "q5": (scale + ["na"])[(n + 3) % 6],
        "q6": scale[(n + 4) % 5], "q7": [None, "no", "yes", "decline"][n % 4],
        "q8": [[], ["speed"], ["online", "attitude"], ["feedback"]][n % 4],
        "comment": [None, "Cán bộ nhiệt tình.", "<b>'; DROP TABLE responses; --</b>"][n % 3],
        "dossier": [None, "HS-2025/001", None, "HS-2025/001"][n % 4],
    }  # fmt: skip


@pytest.fixture
def answered(app: Flask, world: World) -> dict[str, list[Any]]:
    """Store responses over 2025 in the province and both communes; return what to ask for.

    A repeated dossier code makes duplicates and one response is flagged, so every status
    appears in the pages and in the figures.
    """
    with app.app_context():
        province = db.session.get(Agency, world.province_id)
        codes = [world.code_a, world.code_b, create_code(province, "Quầy 5", "XAY_DUNG").code]
        survey_codes = list(
            db.session.scalars(select(SurveyCode).where(SurveyCode.code.in_(codes)))
        )
        for n in range(36):
            when = datetime(2025, 1 + n % 12, 1 + n % 28, 8 + n % 9, tzinfo=VN).astimezone(UTC)
            response, _ = record_response(
                db.session, survey_codes[n % len(survey_codes)], CURRENT, stored_answers(n),
                f"schemathesis-{n}", ["vi", "en"][n % 2], now=when,
            )  # fmt: skip
            if n == 7:
                rollups.change_status(db.session, response, "flagged", "manual:abuse")
        db.session.commit()
    return {
        "agencies": ["TINH", "XA-A", "XA-B", "xa-a"],
        "counters": [world.counter_a_id, world.counter_b_id],
        "sectors": ["DAT_DAI", "HO_TICH", "XAY_DUNG"],
    }


@pytest.fixture(params=["manager_a", "manager_province", "admin"])
def bearer(request: pytest.FixtureRequest, app: Flask, world: World) -> dict[str, str]:
    """Return the Authorization header with a new token of one persona."""
    return {"Authorization": f"Bearer {token_for(app, world, request.param)}"}


@pytest.fixture
def api_schema(app: Flask, answered: dict[str, list[Any]]) -> schemathesis.BaseSchema:
    """Return the document the app serves, with the stored data's filters among the values."""
    config = schemathesis.Config.from_dict({
        "dictionaries": {
            "first_days": {"values": FIRST_DAYS},
            "last_days": {"values": LAST_DAYS},
            "agencies": {"values": answered["agencies"]},
            "counters": {"values": answered["counters"]},
            "sectors": {"values": answered["sectors"]},
        },
        "parameters": {
            "query.from": {"dictionary": "first_days", "probability": 0.75},
            "query.to": {"dictionary": "last_days", "probability": 0.75},
            "query.agency": {"dictionary": "agencies", "probability": 0.4},
            "query.counter": {"dictionary": "counters", "probability": 0.3},
            "query.sector": {"dictionary": "sectors", "probability": 0.3},
        },
    })
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


def follow_pages(case: schemathesis.Case, page: dict[str, Any], bearer: dict[str, str]) -> None:
    """Follow `next` to the last page, checking each; every id comes once, in order."""
    ids = [item["id"] for item in page["items"]]
    for _ in range(1000):
        if page["next"] is None:
            assert ids == sorted(set(ids)), "pages repeat or reorder responses"
            return
        following = case.operation.Case(query={**case.query, "cursor": page["next"]},
                                        headers=bearer)
        answer = following.call_and_validate(excluded_checks=CHECKS_LEFT_OUT)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        ids += [item["id"] for item in page["items"]]
    raise AssertionError("pagination never ended")


def what_came_back(path: str, status: int, body: Any) -> str:
    """Say in a few words what an answer held (for Hypothesis' statistics)."""
    if status == 200 and path == "/responses":
        return f"{path} 200, {'a page' if body['items'] else 'no items'}"
    if status == 200 and path == "/tallies":
        return f"{path} 200, {'figures' if body['scopes']['all']['responses'] else 'no figures'}"
    return f"{path} {status}"


# Cases are drawn inside an ordinary Hypothesis test rather than through
# `schemathesis.pytest.from_fixture(...).parametrize()`: that loader reads
# `request.node._nodeid`, which pytest 9.2 no longer has, and the schema must come from a
# fixture here, since the app lives on the test's own database connection.
@FUZZ
@given(data=st.data())
def test_every_answer_keeps_the_document(
    api_schema: schemathesis.BaseSchema, bearer: dict[str, str], data: st.DataObject
) -> None:
    mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    case = data.draw(api_schema.as_strategy(mode, headers=bearer))

    response = case.call_and_validate(excluded_checks=CHECKS_LEFT_OUT)

    body = response.json()
    event(what_came_back(case.path, response.status_code, body))
    if response.status_code >= 400:
        assert set(body) == {"error"} and body["error"]["status"] == response.status_code
    if response.status_code == 200 and case.path == "/responses":
        follow_pages(case, body, bearer)
