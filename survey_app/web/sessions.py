"""Flask's signed-cookie session, with its signer made once per set of keys.

Flask builds a new signer for every request that opens a session, and every request does,
a signed-in one or not; building one costs about as much as signing with it (itsdangerous
test-serialises on construction). The signer depends only on the keys, so it is kept.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class KeptSignerSessionInterface(SecureCookieSessionInterface):
    """Flask's own session interface, with its signing serializer kept per key set."""

    def __init__(self) -> None:
        self._signers: dict[tuple[str | bytes, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        signer = self._signers.get(keys)
        if signer is None:
            signer = super().get_signing_serializer(app)
            if signer is None:
                return None
            if len(self._signers) > 16:  # keys changed many times (tests): start again
                self._signers.clear()
            self._signers[keys] = signer
        return signer
