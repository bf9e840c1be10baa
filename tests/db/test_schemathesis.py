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

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.factories import World, answers_over_2025

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

# The responses over 2025 are built once for the module; each test reads them in a
# savepoint rolled back after it.
pytestmark = pytest.mark.rows_per_module("module_world", "answered")


@pytest.fixture(scope="module")
def answered(shared_app: Flask, module_world: World) -> dict[str, list[Any]]:
    """The responses over 2025 (factories.answers_over_2025), built once for the module."""
    return answers_over_2025(shared_app, module_world)


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
@pytest.mark.parametrize("bearer", ["manager_a", "manager_province", "admin"], indirect=True)
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
