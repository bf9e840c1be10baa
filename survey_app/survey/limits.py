"""Rate limits on the citizen's form: per device, per QR code, and per address as a ceiling.

Everyone at an office shares one public address (the office Wi-Fi, a carrier's NAT), so a
plain per-address limit would turn honest citizens away. The limits that bite are per
device (the one the form was served to, named by its submit token) and per QR code; the
per-address one is far above what an office sends and only stops floods.

A post is first sorted: one with a valid CSRF token and a valid submit token for its code
is a submission; anything else is junk. Junk uses only its address's junk allowance (and
the flood ceiling), never a code's or a device's: a script posting rubbish cannot close a
code to the citizens behind it. A submission uses its device's allowance, a share of its
code's allowance for its address (one address alone never uses up a code), and then its
code's.

A receipt link's form (POST /r/<token>) is limited alike, its token standing for the code:
one dossier's link shares no allowance with any other's.

Only sending the form (POST /s/<code>, /r/<token>) is limited. Reading it stores nothing and costs a
worker about a millisecond (the blank form is rendered once per worker, see
services/caches.py); a flood of reads is cut by the reverse proxy's per-address limit in
front of the app (docs/deployment.md). Every other request, the form's reads included,
leaves the limiter at its first check, so the limits cost nothing where they do not apply.
Counts live in `RATELIMIT_STORAGE_URI`: memory for one process, Redis when several
workers must share them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_wtf.csrf import ValidationError, validate_csrf
from limits import parse
from werkzeug.exceptions import HTTPException

from survey_app.services import devices
from survey_app.services.recording import read_submit_token
from survey_app.survey import bp as survey_bp
from survey_app.survey.receipt_views import receipt_submit_code
from survey_app.text import clean_survey_code
from survey_app.web.ratelimit import EXTENSION_KEY

LIMITED_ENDPOINTS = ("survey.show", "survey.receipt")
# One address may use at most this fraction of a code's allowance: an office's whole crowd
# at one counter is far below it (150 an hour against some 15), and it takes several
# addresses to use up a code.
ADDRESS_SHARE_OF_A_CODE = 4


# What a post is ---------------------------------------------------------------------------


def submitting_device() -> str | None:
    """Return the tag of the device whose form this post sends, or None for junk.

    A post is a submission when its CSRF token and its submit token are both valid for
    the code in the address; the submit token names the device the form was served to.
    Sorted once per request.
    """
    if "_submitting_device" not in g:
        g._submitting_device = _read_submission()
    device: str | None = g._submitting_device
    return device


def _read_submission() -> str | None:
    try:
        form = request.form
    except HTTPException:  # the body itself is refused (too large); the view says so
        return None
    try:
        validate_csrf(form.get("csrf_token"))
    except ValidationError:
        return None
    code = _submit_code()
    token = read_submit_token(form.get("submit_token"), code) if code else None
    return token.device_tag if token is not None else None


def _submit_code() -> str | None:
    """Return what the submit tokens of the address's form are bound to (None: no form)."""
    args = request.view_args or {}
    if request.endpoint == "survey.receipt":
        return receipt_submit_code(args.get("token"))
    return clean_survey_code(args.get("code"))


def _is_junk() -> bool:
    return submitting_device() is None


def _is_submission() -> bool:
    return submitting_device() is not None


# Who is counted ---------------------------------------------------------------------------


def device_key() -> str:
    """Return the bucket of the device the posted form was served to."""
    return "device:" + (submitting_device() or "-")


def code_key() -> str:
    """Return the bucket of the QR code (or the receipt link) in the address, canonical."""
    return "code:" + (_submit_code() or "-")


def address_key() -> str:
    """Return the bucket of the client's address (behind ProxyFix: the real client's)."""
    return "address:" + _hashed_address()


def address_at_code_key() -> str:
    """Return the bucket of the client's address at the QR code in the address."""
    return address_key() + ":" + code_key()


def _hashed_address() -> str:
    return devices.address_hash(request.remote_addr or "unknown", datetime.now(UTC))


# What is allowed --------------------------------------------------------------------------


def _setting(name: str) -> Callable[[], str]:
    """Return a provider of the limit in a setting, read at each request."""

    def provide() -> str:
        value: str = current_app.config[name]
        return value

    return provide


def _share_of_the_code_limit() -> str:
    """Return one address's share of a code's allowance (at least one)."""
    item = parse(current_app.config["RATELIMIT_PER_CODE"])
    share = max(1, item.amount // ADDRESS_SHARE_OF_A_CODE)
    return f"{share} per {item.multiples} {item.GRANULARITY.name}"


def _is_not_a_submission() -> bool:
    return request.method != "POST" or request.endpoint not in LIMITED_ENDPOINTS


# (scope, bucket, limit, when it does not apply: to submissions, to junk, or never)
Rule = tuple[str, Callable[[], str], Callable[[], str], Callable[[], bool] | None]

# Flask-Limiter checks the limits with the shortest window first, and within one window in
# this order, and stops at the first refusal: junk refused by its own limit uses up nothing
# of its address's ceiling, and a device refused by its own limit nothing of its code's.
LIMITS: tuple[Rule, ...] = (
    ("junk", address_key, _setting("RATELIMIT_JUNK_PER_ADDRESS"), _is_submission),
    ("device", device_key, _setting("RATELIMIT_PER_DEVICE"), _is_junk),
    ("address-code", address_at_code_key, _share_of_the_code_limit, _is_junk),
    ("code", code_key, _setting("RATELIMIT_PER_CODE"), _is_junk),
    ("address", address_key, _setting("RATELIMIT_PER_ADDRESS"), None),
)


def init_app(app: Flask) -> None:
    """Give the app its own limiter, with the limits of the survey form."""
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
    for scope, key_func, limit, is_exempt in LIMITS:
        limiter.limit(
            limit,
            key_func=key_func,
            scope=scope,
            methods=["POST"],
            exempt_when=is_exempt,
        )(survey_bp)
    # Checked before any limit is resolved: everything but a submission leaves at once.
    limiter.request_filter(_is_not_a_submission)
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter
