"""Keyed hashes of values we must recognise but must not keep (dossier codes)."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def hash_key() -> bytes:
    """Return the deployment's hashing key."""
    key = current_app.config.get("HASH_KEY") or current_app.config["SECRET_KEY"]
    # Derive, so the raw SECRET_KEY is never used directly as an HMAC key for stored data.
    return hmac.new(str(key).encode(), b"survey_app keyed hash", hashlib.sha256).digest()


def keyed_hash(purpose: str, value: str) -> str:
    """Return a hex HMAC-SHA256 of the value, separated by purpose."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(hash_key(), message, hashlib.sha256).hexdigest()
