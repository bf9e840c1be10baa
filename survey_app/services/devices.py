"""Recognise a phone again without knowing whose it is, and a network without keeping it.

A device carries a random id in a signed cookie, set by the survey pages only. The id says
nothing about the person: no name, no number, nothing read from the phone. It lets the
rate limits and the repeat check tell two citizens behind one office address apart.
Responses keep keyed hashes of the device id and of the client address, never either one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from survey_app.services.hashing import keyed_hash, period_hash
from survey_app.services.signing import url_safe_signer

COOKIE_NAME = "sid_dev"
COOKIE_MAX_AGE = 2 * 365 * 24 * 3600
# Sent back only to the survey pages, never to the staff pages.
COOKIE_PATH = "/s"
# ... and the receipt links' pages have one of their own (a cookie has a single path).
RECEIPT_COOKIE_PATH = "/r"
_SALT = "survey-device"


def _serializer() -> URLSafeSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _serializer_for(secret_key: str) -> URLSafeSerializer:
    # Made once per key: building one costs as much as signing with it (it test-serialises).
    return URLSafeSerializer(secret_key, salt=_SALT)


def known_device_id() -> str | None:
    """Return the id carried by this request's device cookie, or None if none or forged."""
    if "_known_device_id" not in g:
        known = None
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie:
            try:
                value = _serializer().loads(cookie)
            except BadSignature:
                value = None
            if isinstance(value, str) and value:
                known = value
        g._known_device_id = known
    return g._known_device_id


def device_id() -> str:
    """Return this device's id; a device without one is given one (and the cookie with it)."""
    known = known_device_id()
    if known is not None:
        return known
    if "_new_device_id" not in g:
        g._new_device_id = secrets.token_urlsafe(16)
    return g._new_device_id


def remember_device(response: Response) -> Response:
    """Set the cookie of a device that was given a new id during this request."""
    new_id = g.get("_new_device_id")
    if new_id is not None:
        response.set_cookie(
            COOKIE_NAME,
            signed_device_id(new_id),
            max_age=COOKIE_MAX_AGE,
            path=RECEIPT_COOKIE_PATH if request.path.startswith("/r/") else COOKIE_PATH,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    return response


def signed_device_id(device: str, config: Mapping[str, Any] | None = None) -> str:
    """Return the value of the device cookie that carries an id (read by `_serializer`).

    `config` is the app's settings, for a caller outside an app context.
    """
    secret_key = (current_app.config if config is None else config)["SECRET_KEY"]
    return url_safe_signer(secret_key, _SALT).dumps(device)


def device_hash(device: str) -> str:
    """Return the keyed hash under which a device id is kept."""
    return keyed_hash("device", device)


def device_tag(device: str, config: Mapping[str, Any] | None = None) -> str:
    """Return what a form's submit token says of the device it was served to.

    A keyed hash of its own, not the stored `device_hash`: a page's source never matches
    a stored value, and the cookie's id never appears in a page.
    """
    return keyed_hash("device-form", device, config)


def address_hash(address: str, at: datetime) -> str:
    """Return the keyed hash of a client address, under a key of its own for each month.

    Within a month, responses from one address can be grouped (a flood shows up). Each
    month's key is derived from HASH_KEY (HKDF): without HASH_KEY, hashes of different
    months cannot be linked nor turned back into an address (see docs/privacy.md).
    """
    return period_hash("address", f"{at:%Y-%m}", address)
