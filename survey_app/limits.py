"""Rate limits on the citizen's form, per device, per QR code, and per address as a ceiling.

Everyone at an office shares one public address (the office Wi-Fi, a carrier's NAT), so a
plain per-address limit would turn honest citizens away. The limits that bite are per
device (the anonymous cookie of survey_app.devices) and per QR code; the per-address one
is far above what an office sends and only stops floods.

Only sending the form (POST /s/<code>) is limited. Reading it stores nothing and costs a
worker about a millisecond (the blank form is rendered once per worker, see
survey/page_cache.py); a flood of reads is cut by the reverse proxy's per-address limit in
front of the app (docs/deployment.md). Every other request, the form's reads included,
leaves the limiter at its first check, so the limits cost nothing where they do not apply.
Counts live in `RATELIMIT_STORAGE_URI`: memory for one process, Redis when several
workers must share them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, current_app, request
from flask_limiter import Limiter

from survey_app import devices
from survey_app.text import clean_code

LIMITED_ENDPOINT = "survey.show"
EXTENSION_KEY = "survey_app.limiter"
# When the storage cannot say how long a window lasts (it went away), ask for a minute.
DEFAULT_RETRY_AFTER = 60


# Who is counted ---------------------------------------------------------------------------


def device_key() -> str:
    """Return the bucket of the device making this request."""
    known = devices.known_device_id()
    if known is not None:
        return "device:" + devices.device_hash(known)
    if request.method == "POST":
        # A real browser posts with the cookie it got with the form. Posts without one
        # share a bucket per address, so dropping the cookie does not reset the count.
        return "no-device:" + _hashed_address()
    # A first visit: the id this phone is given with the page.
    return "device:" + devices.device_hash(devices.device_id())


def code_key() -> str:
    """Return the bucket of the QR code in the address, in its canonical spelling."""
    return "code:" + (clean_code((request.view_args or {}).get("code")) or "-")


def address_key() -> str:
    """Return the bucket of the client's address (behind ProxyFix: the real client's)."""
    return "address:" + _hashed_address()


def _hashed_address() -> str:
    return devices.address_hash(request.remote_addr or "unknown", datetime.now(UTC))


# What is allowed --------------------------------------------------------------------------


def _setting(name: str) -> Callable[[], str]:
    """Return a provider of the limit in a setting, read at each request."""

    def provide() -> str:
        value: str = current_app.config[name]
        return value

    return provide


def _is_not_a_submission() -> bool:
    return request.method != "POST" or request.endpoint != LIMITED_ENDPOINT


# Flask-Limiter checks the limits with the shortest window first, and within one window in
# this order, and stops at the first refusal: a device refused by its own limit uses up
# nothing of its code's or its address's.
LIMITS = (
    ("device", device_key, "RATELIMIT_PER_DEVICE"),
    ("code", code_key, "RATELIMIT_PER_CODE"),
    ("address", address_key, "RATELIMIT_PER_ADDRESS"),
)


def init_app(app: Flask) -> None:
    """Give the app its own limiter, with the limits of the survey form."""
    from survey_app.survey import bp as survey_bp

    # One limiter per app, not one per module: Flask-Limiter keeps the storage on the
    # limiter object, so apps sharing one (as tests do) would share or swap their counts.
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "survey_app")
    limiter = Limiter(
        key_func=device_key,
        # If Redis goes away, count in this process's memory until it is back, and never
        # fail a citizen's request because the counter could not be reached.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    for scope, key_func, setting in LIMITS:
        limiter.limit(
            _setting(setting),
            key_func=key_func,
            scope=scope,
            methods=["POST"],
        )(survey_bp)
    # Checked before any limit is resolved: everything but a submission leaves at once.
    limiter.request_filter(_is_not_a_submission)
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter


def retry_after() -> int:
    """Return in how many seconds the limit refused in this request lets the client in again."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION_KEY)
    refused = limiter.current_limit if limiter is not None else None
    if refused is None:
        return DEFAULT_RETRY_AFTER
    try:
        resets_at = refused.window[0]
    except Exception:  # the storage went away between the refusal and now
        return DEFAULT_RETRY_AFTER
    return max(1, math.ceil(resets_at - time.time()))
