"""Where the app's rate-limit counts live, how a request is counted, and when to come back.

The limits themselves belong to the feature they guard (the survey form's are in
survey/limits.py): it hands over the request's hits in the order they are checked, and
this module counts them in one pass, stopping at the first limit a hit goes over.

The counts are kept as the `limits` library keeps them (the library Flask-Limiter is built
on, with the keys Flask-Limiter wrote), so counts carry over from one to the other and a
tool that reads them still understands them. With Redis and fixed windows, the whole pass
is one script run by the server: one round trip per request however many limits apply.
When the storage cannot be reached, the counts go on in this process's memory until it
answers again: a citizen's request never fails because the counter went away.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from flask import Flask, current_app, g
from limits import RateLimitItem
from limits.storage import (
    MemoryStorage,
    RedisClusterStorage,
    RedisStorage,
    Storage,
    storage_from_string,
)
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

EXTENSION_KEY = "survey_app.limiter"
# When the storage cannot say how long a window lasts (it went away), ask for a minute.
DEFAULT_RETRY_AFTER = 60
# While the storage is away, ask it again after 1, 2, 4 ... seconds, and then every this many.
LONGEST_WAIT_FOR_STORAGE = 32
# Windows in memory that no request has read since they ended are dropped this often.
SWEEP_SECONDS = 60
_REFUSAL = "_rate_limit_refusal"

# Each key as `limits`' fixed window counts it (incr_expire.lua: the first hit of a window
# sets its expiry), in the order given; at the first count over its amount, stop and return
# that limit's place (from 1) and the seconds its window has left. 0: none was over.
_HIT_IN_ORDER = """
for i, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, 1)
    if current == 1 then
        redis.call("expire", key, ARGV[2 * i - 1])
    end
    if current > tonumber(ARGV[2 * i]) then
        return {i, redis.call("ttl", key)}
    end
end
return {0, 0}
"""

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hit:
    """One count a request makes: a limit, the bucket counted (whose), and its scope (where)."""

    limit: RateLimitItem
    bucket: str
    scope: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """The limit that refused a request, and when (epoch seconds) its window lets it in."""

    hit: Hit
    resets_at: float


class Counters:
    """The counts of the app's limits, in the configured storage or, while it is away, in memory."""

    def __init__(
        self, storage_uri: str, strategy: str = "fixed-window", key_prefix: str = "",
        storage_options: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.storage = cast(Storage, storage_from_string(storage_uri, **(storage_options or {})))
        self.key_prefix = key_prefix
        # What the storage raises when it cannot be reached, and a socket's own errors.
        self._unreachable: tuple[type[Exception], ...] = (
            *_exceptions_of(self.storage), OSError)
        self._counted = _pass_for(self.storage, strategy)
        self._fallback = _pass_for(MemoryStorage(), strategy)
        self._lock = threading.Lock()
        self._is_storage_away = False
        self._failed_checks = 0
        self._next_check_at = 0.0

    def hit_in_order(self, hits: Sequence[Hit]) -> Refusal | None:
        """Count each hit in turn; return the first one over its limit (the rest uncounted)."""
        keys = [self._key_parts(hit) for hit in hits]
        if self._is_storage_away and not self._storage_is_back():
            return self._fallback.hit_in_order(hits, keys)
        try:
            return self._counted.hit_in_order(hits, keys)
        except self._unreachable as error:
            logger.warning("rate-limit storage unreachable (%s): counting in memory",
                           type(error).__name__)
            with self._lock:
                self._is_storage_away = True
                self._failed_checks = 0
                self._next_check_at = self.clock() + 1
            return self._fallback.hit_in_order(hits, keys)

    def reset(self) -> None:
        """Forget every count, in the storage and in memory (a new window for every limit)."""
        try:
            self._counted.reset()
        except NotImplementedError:
            logger.warning("the rate-limit storage cannot forget its counts")
        self._fallback.reset()

    def _key_parts(self, hit: Hit) -> tuple[str, ...]:
        if self.key_prefix:
            return (self.key_prefix, hit.bucket, hit.scope)
        return (hit.bucket, hit.scope)

    def _storage_is_back(self) -> bool:
        """Ask the storage whether it answers again, waiting longer after each failed ask."""
        with self._lock:
            if self.clock() < self._next_check_at:
                return False
            self._failed_checks += 1
            wait = min(2**self._failed_checks, LONGEST_WAIT_FOR_STORAGE)
            self._next_check_at = self.clock() + wait
        if not self.storage.check():
            return False
        logger.info("rate-limit storage answers again: counting there")
        with self._lock:
            self._is_storage_away = False
        return True


class _Pass(Protocol):
    """One way of counting a request's hits in a storage (keys: each hit's key parts)."""

    def hit_in_order(
        self, hits: Sequence[Hit], keys: Sequence[tuple[str, ...]]
    ) -> Refusal | None: ...

    def reset(self) -> None: ...


def _pass_for(storage: Storage, strategy: str) -> _Pass:
    """Return the cheapest pass that counts in the storage as the strategy would."""
    if strategy == "fixed-window" and isinstance(storage, MemoryStorage):
        return _InMemory()
    # A cluster spreads a request's keys over nodes, where one script cannot reach them.
    if (strategy == "fixed-window" and isinstance(storage, RedisStorage)
            and not isinstance(storage, RedisClusterStorage)):
        return _InOneScript(storage)
    return _OneByOne(STRATEGIES[strategy](storage))


class _OneByOne:
    """Any storage and strategy of `limits`: one call, or round trip, per hit."""

    def __init__(self, counter: RateLimiter) -> None:
        self._counter = counter

    def hit_in_order(
        self, hits: Sequence[Hit], keys: Sequence[tuple[str, ...]]
    ) -> Refusal | None:
        for hit, parts in zip(hits, keys, strict=True):
            if not self._counter.hit(hit.limit, *parts):
                stats = self._counter.get_window_stats(hit.limit, *parts)
                return Refusal(hit, stats.reset_time)
        return None

    def reset(self) -> None:
        self._counter.storage.reset()


class _InOneScript:
    """Fixed windows in Redis: every hit of a request in one script, one round trip."""

    def __init__(self, storage: RedisStorage) -> None:
        self._storage = storage
        self._script = storage.get_connection().register_script(_HIT_IN_ORDER.encode())

    def hit_in_order(
        self, hits: Sequence[Hit], keys: Sequence[tuple[str, ...]]
    ) -> Refusal | None:
        names = [self._storage.prefixed_key(hit.limit.key_for(*parts))
                 for hit, parts in zip(hits, keys, strict=True)]
        windows = [value for hit in hits for value in (hit.limit.get_expiry(), hit.limit.amount)]
        place, seconds_left = self._script(keys=names, args=windows)
        if not place:
            return None
        return Refusal(hits[int(place) - 1], time.time() + max(int(seconds_left), 0))

    def reset(self) -> None:
        self._storage.reset()


class _InMemory:
    """Fixed windows in this process's memory, counted as `limits`' fixed window counts them.

    `limits`' memory storage expires its keys from a timer thread that it starts again
    after each hundredth of a second without a hit: a new thread for almost every request.
    These windows end when they are read; the ones no request reads are dropped each minute.
    """

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}  # key: (count, window's end)
        self._lock = threading.Lock()
        self._next_sweep_at = 0.0

    def hit_in_order(
        self, hits: Sequence[Hit], keys: Sequence[tuple[str, ...]]
    ) -> Refusal | None:
        now = time.time()
        with self._lock:
            if now >= self._next_sweep_at:
                self._windows = {key: window for key, window in self._windows.items()
                                 if window[1] > now}
                self._next_sweep_at = now + SWEEP_SECONDS
            for hit, parts in zip(hits, keys, strict=True):
                key = hit.limit.key_for(*parts)
                count, ends_at = self._windows.get(key, (0, now))
                if ends_at <= now:
                    count, ends_at = 0, now + hit.limit.get_expiry()
                self._windows[key] = (count + 1, ends_at)
                if count + 1 > hit.limit.amount:
                    return Refusal(hit, ends_at)
        return None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


def _exceptions_of(storage: Storage) -> tuple[type[Exception], ...]:
    """Return the errors the storage raises when it cannot be reached."""
    errors = storage.base_exceptions
    return errors if isinstance(errors, tuple) else (errors,)


def init_app(app: Flask) -> Counters:
    """Give the app its own counters, in RATELIMIT_STORAGE_URI, and return them."""
    # One per app, not one per module: apps sharing one (as tests do) would share their counts.
    config = app.config
    config.setdefault("RATELIMIT_ENABLED", True)
    config.setdefault("RATELIMIT_KEY_PREFIX", "survey_app")
    counters = Counters(
        config.get("RATELIMIT_STORAGE_URI") or "memory://",
        strategy=config.get("RATELIMIT_STRATEGY") or "fixed-window",
        key_prefix=config["RATELIMIT_KEY_PREFIX"],
        storage_options=config.get("RATELIMIT_STORAGE_OPTIONS"),
    )
    app.extensions[EXTENSION_KEY] = counters
    return counters


def count(hits: Sequence[Hit]) -> None:
    """Count the request's hits in order, and refuse it (429) at the first limit it goes over."""
    counters: Counters = current_app.extensions[EXTENSION_KEY]
    refusal = counters.hit_in_order(hits)
    if refusal is not None:
        logger.info("rate limit %s reached at %s", refusal.hit.limit, refusal.hit.scope)
        setattr(g, _REFUSAL, refusal)
        raise TooManyRequests()


def retry_after() -> int:
    """Return in how many seconds the limit refused in this request lets the client in again."""
    refusal: Refusal | None = g.get(_REFUSAL)
    if refusal is None:
        return DEFAULT_RETRY_AFTER
    return max(1, math.ceil(refusal.resets_at - time.time()))
