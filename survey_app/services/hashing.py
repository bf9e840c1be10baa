"""Keyed hashes of values we must recognise but must not keep (dossier codes, addresses).

Every key comes from HASH_KEY, which is set apart from SECRET_KEY: the secret that signs
sessions can be changed without losing the recognition of repeated dossiers. See
docs/privacy.md for what a holder of HASH_KEY can and cannot learn.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flask import current_app

KEY_LENGTH = hashlib.sha256().digest_size


def hash_key(config: Mapping[str, Any] | None = None) -> bytes:
    """Return the deployment's root hashing key, derived from HASH_KEY.

    `config` is the app's settings, for a caller outside an app context; else the current app's.
    """
    return _root_key(str((current_app.config if config is None else config)["HASH_KEY"]))


@lru_cache(maxsize=8)
def _root_key(key: str) -> bytes:
    # Derived as it always was, so the hashes of dossier codes stored before per-period
    # keys existed are still recognised; HASH_KEY itself never keys stored data directly.
    # Derived once per key, not on every hash.
    return hmac.new(key.encode(), b"survey_app keyed hash", hashlib.sha256).digest()


def hkdf_expand(pseudorandom_key: bytes, info: bytes, length: int = KEY_LENGTH) -> bytes:
    """Return `length` bytes of key material for `info` (HKDF-Expand, RFC 5869, SHA-256)."""
    if length > 255 * KEY_LENGTH:
        raise ValueError("HKDF-SHA256 gives at most 8160 bytes")
    output, block, counter = b"", b"", 1
    while len(output) < length:
        block = hmac.new(pseudorandom_key, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
        counter += 1
    return output[:length]


def derived_key(purpose: str, period: str) -> bytes:
    """Return the key of one purpose for one period, e.g. ("address", "2026-01")."""
    return hkdf_expand(hash_key(), f"survey_app {purpose}:{period}".encode())


def keyed_hash(purpose: str, value: str, config: Mapping[str, Any] | None = None) -> str:
    """Return a hex HMAC-SHA256 of the value under the root key, separated by purpose."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(hash_key(config), message, hashlib.sha256).hexdigest()


def period_hash(purpose: str, period: str, value: str) -> str:
    """Return a hex HMAC-SHA256 of the value under the purpose's own key for the period."""
    return hmac.new(derived_key(purpose, period), value.encode(), hashlib.sha256).hexdigest()
