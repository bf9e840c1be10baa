"""Signing in itsdangerous's URL-safe format, cheap enough for every new phone's reading.

Each new phone is given two signed values with its first form: the device cookie and the
form's submit token. `URLSafeSerializer.dumps` builds a signer and derives its key on every
call and tries zlib on the payload; these values are short and random, so zlib never wins
and the key never changes. `URLSafeSigner.dumps` writes exactly what `dumps` writes for a
payload that does not shrink under zlib (the key derived once, the HMAC's keyed state
copied instead of keyed again), and values are read back with `URLSafeSerializer.loads` as
before: same key, same salt, same format, same checks.
"""

from __future__ import annotations

import base64
import hmac
import json
from functools import lru_cache
from typing import Any

from itsdangerous import URLSafeSerializer

# itsdangerous's compact JSON (no spaces, UTF-8 as is), with the encoder made once.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class URLSafeSigner:
    """Writes what `URLSafeSerializer(secret_key, salt=salt).dumps` writes, uncompressed."""

    def __init__(self, secret_key: str | bytes, salt: str) -> None:
        signer = URLSafeSerializer(secret_key, salt=salt).make_signer()
        self._keyed = hmac.new(signer.derive_key(), digestmod=signer.digest_method)
        self._sep = signer.sep

    def dumps(self, value: Any) -> str:
        payload = base64.urlsafe_b64encode(_JSON.encode(value).encode()).rstrip(b"=")
        mac = self._keyed.copy()
        mac.update(payload)
        signature = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=")
        return (payload + self._sep + signature).decode("ascii")


@lru_cache(maxsize=16)
def url_safe_signer(secret_key: str | bytes, salt: str) -> URLSafeSigner:
    """Return the signer of a key and salt, made once."""
    return URLSafeSigner(secret_key, salt)
