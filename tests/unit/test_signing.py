"""The cheap signer writes the values itsdangerous writes, and they are read back alike."""

from __future__ import annotations

import secrets

import pytest
from itsdangerous import BadSignature, URLSafeSerializer

from survey_app.services.signing import url_safe_signer


def test_a_device_id_is_signed_exactly_as_itsdangerous_signs_it():
    for _ in range(50):
        device = secrets.token_urlsafe(16)
        assert url_safe_signer("key", "survey-device").dumps(device) == URLSafeSerializer(
            "key", salt="survey-device"
        ).dumps(device)


def test_a_submit_token_reads_back_under_its_key_and_salt_only():
    payload = {"n": secrets.token_urlsafe(18), "c": "HCM-Q1-0001", "d": "ab" * 32,
               "t": 1733450000.123}
    token = url_safe_signer("key", "survey-submit").dumps(payload)
    assert URLSafeSerializer("key", salt="survey-submit").loads(token) == payload
    for key, salt in (("other", "survey-submit"), ("key", "survey-device")):
        with pytest.raises(BadSignature):
            URLSafeSerializer(key, salt=salt).loads(token)
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(BadSignature):
        URLSafeSerializer("key", salt="survey-submit").loads(forged)
