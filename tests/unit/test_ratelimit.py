"""The rate-limit counters: a request's hits counted in order, stopping at the first refusal,
in memory or in Redis (one round trip, the keys and counts of `limits`), and in memory while
Redis is away."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from survey_app.web.ratelimit import Counters, Hit
from tests.factories import LOCAL_REDIS, redis_reachable

NOBODY_LISTENS = "redis://127.0.0.1:1"


def hits(*limits: str) -> list[Hit]:
    return [Hit(parse(limit), f"bucket-{n}", f"survey.show:scope-{n}")
            for n, limit in enumerate(limits)]


@pytest.fixture
def shared() -> Iterator[Counters]:
    """Counters in the local Redis, under a prefix of their own, removed afterwards."""
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    counters = Counters(LOCAL_REDIS, key_prefix=f"survey_app-test-{uuid.uuid4().hex}")
    yield counters
    connection = redis.Redis.from_url(LOCAL_REDIS)
    keys = list(connection.scan_iter(f"LIMITS:LIMITER/{counters.key_prefix}/*"))
    if keys:
        connection.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest) -> Counters:
    if request.param == "memory":
        return Counters("memory://", key_prefix="survey_app")
    shared: Counters = request.getfixturevalue("shared")
    return shared


def test_every_hit_is_counted_until_a_limit_is_reached(counters):
    request = hits("3 per hour", "2 per hour")
    assert [counters.hit_in_order(request) for _ in range(2)] == [None, None]
    refusal = counters.hit_in_order(request)
    assert refusal is not None and refusal.hit == request[1]
    assert 3590 <= refusal.resets_at - time.time() <= 3600


def test_the_hits_after_a_refusal_are_not_counted(counters):
    first, second = hits("1 per hour", "1 per hour")
    assert counters.hit_in_order([first, second]) is None
    refusal = counters.hit_in_order([first, second])
    assert refusal is not None and refusal.hit == first
    # The second limit was not counted again: a request counted against it alone goes on.
    assert counters.hit_in_order([Hit(parse("2 per hour"), "other", "survey.show:other"),
                                  second]) is not None
    counters.reset()
    assert counters.hit_in_order([second]) is None


def test_a_window_ends_and_its_count_with_it(counters):
    [short] = hits("1 per 1 second")
    assert counters.hit_in_order([short]) is None
    assert counters.hit_in_order([short]) is not None
    time.sleep(1.2)
    assert counters.hit_in_order([short]) is None


def test_redis_counts_are_the_keys_and_counts_of_limits_fixed_window(shared):
    """One script for every hit, with the keys Flask-Limiter and `limits` write: counts made
    by either are seen by the other, and expire alike."""
    request = hits("5 per hour", "10 per minute")
    assert shared.hit_in_order(request) is None
    counter = FixedWindowRateLimiter(shared.storage)
    for hit in request:
        parts = (shared.key_prefix, hit.bucket, hit.scope)
        assert counter.get_window_stats(hit.limit, *parts).remaining == hit.limit.amount - 1
        assert counter.hit(hit.limit, *parts)  # as an older worker counts: now 2 each
    connection = redis.Redis.from_url(LOCAL_REDIS)
    key = f"LIMITS:LIMITER/{shared.key_prefix}/bucket-1/survey.show:scope-1/10/1/minute"
    assert int(connection.get(key) or 0) == 2
    assert 55 <= connection.ttl(key) <= 60
    for _ in range(3):
        assert shared.hit_in_order(request) is None
    refusal = shared.hit_in_order(request)
    assert refusal is not None and refusal.hit == request[0]  # the sixth of five an hour


def test_unreachable_redis_counts_in_memory_and_is_asked_again_later(caplog):
    now = [1000.0]
    counters = Counters(NOBODY_LISTENS, key_prefix="survey_app", clock=lambda: now[0])
    request = hits("2 per hour")
    assert counters.hit_in_order(request) is None
    assert "rate-limit storage unreachable (ConnectionError): counting in memory" in caplog.text
    assert counters.hit_in_order(request) is None
    assert counters.hit_in_order(request) is not None  # the memory's count holds meanwhile

    asked = []
    counters.storage.check = lambda: asked.append(now[0]) or False  # type: ignore[method-assign]
    now[0] += 0.5
    counters.hit_in_order(request)
    assert asked == []  # not within a second of the failure
    for _ in range(4):
        now[0] += 40
        counters.hit_in_order(request)
    assert len(asked) == 4  # then at growing intervals, at most LONGEST_WAIT_FOR_STORAGE


def test_counting_goes_back_to_redis_once_it_answers(shared, caplog):
    caplog.set_level(logging.INFO, logger="survey_app.web.ratelimit")
    now = [1000.0]
    counters = Counters(LOCAL_REDIS, key_prefix=shared.key_prefix, clock=lambda: now[0])
    connection = counters.storage.get_connection()
    evalsha = connection.evalsha

    def refused(*args: object, **kwargs: object) -> None:
        raise redis.ConnectionError("gone")

    connection.evalsha = refused  # type: ignore[method-assign]
    request = hits("5 per hour")
    assert counters.hit_in_order(request) is None
    assert "counting in memory" in caplog.text
    connection.evalsha = evalsha  # type: ignore[method-assign]
    now[0] += 2
    assert counters.hit_in_order(request) is None
    assert "rate-limit storage answers again" in caplog.text
    key = f"LIMITS:LIMITER/{shared.key_prefix}/bucket-0/survey.show:scope-0/5/1/hour"
    assert int(redis.Redis.from_url(LOCAL_REDIS).get(key) or 0) == 1


def test_no_prefix_leaves_it_out_of_the_key(shared):
    bare = Counters(LOCAL_REDIS)
    [hit] = [Hit(parse("5 per hour"), f"{shared.key_prefix}-bucket", "survey.show:scope")]
    assert bare.hit_in_order([hit]) is None
    key = f"LIMITS:LIMITER/{shared.key_prefix}-bucket/survey.show:scope/5/1/hour"
    connection = redis.Redis.from_url(LOCAL_REDIS)
    assert int(connection.get(key) or 0) == 1
    connection.delete(key)
