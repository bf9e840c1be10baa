"""The survey form's limits as the app applies them: read from the settings at each post,
off when RATELIMIT_ENABLED is off, and counted in Redis under the keys the limiter always
wrote, one per limit a post uses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from tests.factories import (
    LOCAL_REDIS,
    VALID_ANSWERS,
    is_thanks,
    make_app,
    phone,
    redis_reachable,
    responses,
    submit,
)


def test_the_limits_are_off_when_rate_limiting_is_disabled(app, survey_code):
    unlimited = make_app(app, RATELIMIT_ENABLED=False, RATELIMIT_PER_DEVICE="1 per hour",
                         RATELIMIT_PER_ADDRESS="1 per hour")
    citizen = phone(unlimited)
    for _ in range(3):
        assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    assert len(responses(app)) == 3


def test_a_changed_limit_holds_from_the_next_post_on(app, survey_code):
    limited = make_app(app, RATELIMIT_PER_DEVICE="5 per hour")
    citizen = phone(limited)
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    limited.config["RATELIMIT_PER_DEVICE"] = "1 per hour"
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)  # a new limit
    refused = submit(citizen, survey_code, VALID_ANSWERS)
    assert refused.status_code == 429
    assert 3500 < int(refused.headers["Retry-After"]) <= 3600
    assert len(responses(app)) == 2


@pytest.fixture
def redis_counted(app: Flask) -> Iterator[tuple[Flask, str]]:
    """An app counting in the local Redis under a prefix of its own, removed afterwards."""
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    prefix = f"survey_app-test-{uuid.uuid4().hex}"
    yield make_app(app, RATELIMIT_STORAGE_URI=LOCAL_REDIS, RATELIMIT_KEY_PREFIX=prefix), prefix
    connection = redis.Redis.from_url(LOCAL_REDIS)
    keys = list(connection.scan_iter(f"LIMITS:LIMITER/{prefix}/*"))
    if keys:
        connection.delete(*keys)


def _counts(prefix: str) -> dict[tuple[str, str], int]:
    """Return each count in Redis by (scope, limit), e.g. ("survey.show:code", "600/1/hour")."""
    connection = redis.Redis.from_url(LOCAL_REDIS, decode_responses=True)
    counts = {}
    for key in connection.scan_iter(f"LIMITS:LIMITER/{prefix}/*"):
        _, _, _bucket, scope, amount, multiples, granularity = key.split("/")
        counts[scope, f"{amount}/{multiples}/{granularity}"] = int(connection.get(key))
    return counts


def test_a_submission_counts_once_against_each_of_its_limits_in_redis(redis_counted, survey_code):
    shared, prefix = redis_counted
    assert is_thanks(submit(phone(shared), survey_code, VALID_ANSWERS), survey_code)
    assert _counts(prefix) == {
        ("survey.show:device", "20/1/hour"): 1,
        ("survey.show:address-code", "150/1/hour"): 1,
        ("survey.show:code", "600/1/hour"): 1,
        ("survey.show:address", "3000/1/hour"): 1,
    }


def test_junk_counts_against_its_address_alone_in_redis(redis_counted, survey_code):
    shared, prefix = redis_counted
    assert phone(shared).post(f"/s/{survey_code}", data={"q1": "1"}).status_code == 400
    assert _counts(prefix) == {
        ("survey.show:junk", "60/1/hour"): 1,
        ("survey.show:address", "3000/1/hour"): 1,
    }
