"""Abuse resistance of the citizen's form: limits that spare a shared office address, and
suspicious responses stored, flagged and left out of the counted tallies, never dropped."""

from __future__ import annotations

import math
import random
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict

from survey_app.extensions import db
from survey_app.models import SurveyCode
from survey_app.questionnaire import CURRENT
from survey_app.services import devices, recording
from survey_app.services.hashing import keyed_hash
from survey_app.services.recording import Sender, record_response
from tests.factories import (
    LOCAL_REDIS,
    NO_SUCH_CODE,
    OFFICE_ADDRESS,
    VALID_ANSWERS,
    create_agency,
    create_code,
    heading_of,
    hidden_value,
    is_thanks,
    make_app,
    open_form,
    phone,
    redis_reachable,
    responses,
    submit,
    tally_of_today,
    text_of,
)


def cookie_device_id(client: FlaskClient, app: Flask) -> str:
    cookie = client.get_cookie(devices.COOKIE_NAME, path=devices.COOKIE_PATH)
    assert cookie is not None, "no device cookie"
    value = URLSafeSerializer(app.config["SECRET_KEY"], salt="survey-device").loads(cookie.value)
    assert isinstance(value, str)
    return value


def device_cookie_attributes(page: Any) -> dict[str, str]:
    """Return the attributes of the device cookie the page sets (names in lower case)."""
    [header] = [h for h in page.headers.getlist("Set-Cookie") if h.startswith("sid_dev=")]
    pairs = (part.strip().partition("=") for part in header.split(";")[1:])
    return {name.lower(): value for name, _, value in pairs}


def assert_flagged_and_not_counted(app: Flask, code: str, reason: str, counted: int = 0) -> None:
    flagged = [r for r in responses(app) if r.status == "flagged"]
    assert [(r.status, r.status_reason) for r in flagged] == [("flagged", reason)]
    by_status, counted_responses = tally_of_today(app, code)
    assert by_status.get("flagged") == 1
    assert by_status.get("counted", 0) == counted == counted_responses


# Flags: stored, set aside, and the citizen sees the usual thanks ---------------------------


def test_form_has_a_honeypot_that_people_neither_see_nor_reach(client, survey_code):
    html = text_of(client.get(f"/s/{survey_code}"))
    block = re.search(r'<div class="visually-hidden" aria-hidden="true">(.*?)</div>', html, re.S)
    assert block, "no hidden honeypot block"
    assert '<label for="website">Vui lòng để trống ô này.</label>' in block.group(1)
    assert re.search(
        r'<input id="website" name="website" type="text" value="" tabindex="-1" '
        r'autocomplete="off">', block.group(1)
    )


def test_filled_honeypot_is_stored_flagged_and_thanked_like_any_other(app, client, survey_code):
    result = submit(client, survey_code, VALID_ANSWERS, website="http://spam.example")

    assert is_thanks(result, survey_code)
    assert "Cảm ơn Ông/Bà đã đánh giá" in text_of(client.get(result.headers["Location"]))
    [stored] = responses(app)
    assert stored.q1 == 5 and stored.comment == "Cán bộ nhiệt tình."
    assert_flagged_and_not_counted(app, survey_code, "honeypot")


def test_submit_sooner_than_a_person_can_answer_is_flagged_too_fast(app, client, survey_code):
    app.config["MIN_SECONDS_TO_ANSWER"] = 8
    result = submit(client, survey_code, VALID_ANSWERS)

    assert is_thanks(result, survey_code)
    assert_flagged_and_not_counted(app, survey_code, "too_fast")


def test_citizen_who_takes_their_time_is_counted(app, client, survey_code, monkeypatch):
    app.config["MIN_SECONDS_TO_ANSWER"] = 8
    tokens = open_form(client, survey_code)
    later = datetime.now(UTC) + timedelta(seconds=10)
    monkeypatch.setattr(recording, "utcnow", lambda: later)

    assert is_thanks(submit(client, survey_code, VALID_ANSWERS, tokens), survey_code)
    [stored] = responses(app)
    assert (stored.status, stored.status_reason) == ("counted", None)


def test_time_to_answer_counts_from_the_first_rendering_after_a_lost_session(
    app, client, survey_code
):
    tokens = open_form(client, survey_code)
    lost = submit(client, survey_code, VALID_ANSWERS, {**tokens, "csrf_token": ""})
    assert lost.status_code == 400
    assert hidden_value(text_of(lost), "submit_token") == tokens["submit_token"]


def test_second_response_from_one_phone_at_one_code_is_a_device_repeat(app, survey_code):
    citizen = phone(app)
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)

    first, second = responses(app)
    assert (first.status, second.status) == ("counted", "flagged")
    assert first.device_hash == second.device_hash is not None
    assert_flagged_and_not_counted(app, survey_code, "device_repeat", counted=1)


def test_same_phone_at_another_code_or_another_phone_is_counted(app, survey_code):
    with app.app_context():
        other = create_code(create_agency("XA", "Xã A", "commune"), "Quầy 1", "HO_TICH").code
        db.session.commit()
    citizen, neighbour = phone(app), phone(app)
    for client, code in ((citizen, survey_code), (citizen, other), (neighbour, survey_code)):
        assert is_thanks(submit(client, code, VALID_ANSWERS), code)
    assert [r.status for r in responses(app)] == ["counted"] * 3


def test_more_than_the_burst_at_one_code_within_ten_minutes_is_flagged(app, survey_code):
    app.config["BURST_PER_CODE_10_MIN"] = 3
    for _ in range(4):
        assert is_thanks(submit(phone(app), survey_code, VALID_ANSWERS), survey_code)

    assert [r.status for r in responses(app)] == ["counted"] * 3 + ["flagged"]
    assert_flagged_and_not_counted(app, survey_code, "burst", counted=3)


def _record(app: Flask, code: str, nonce: str, sender: Sender, now: datetime,
            dossier: str = "") -> tuple[str, str | None]:
    with app.app_context():
        survey_code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
        answers = {**VALID_ANSWERS, "dossier": dossier}
        response, _ = record_response(
            db.session, survey_code, CURRENT, answers, nonce, "vi", now=now, sender=sender
        )
        db.session.commit()
        return response.status, response.status_reason


@pytest.mark.parametrize(
    ("is_honeypot_filled", "seconds_to_answer", "is_device_bound", "device", "reason"),
    [
        (True, 2, False, "phone-1", "honeypot"),
        (False, 2, False, "phone-1", "too_fast"),
        (False, 60, False, "phone-1", "device_mismatch"),
        (False, 60, True, "phone-1", "device_repeat"),
        (False, 60, True, "phone-2", "address_burst"),
    ],
)
def test_the_strongest_sign_of_a_machine_names_the_flag(
    app, survey_code, is_honeypot_filled, seconds_to_answer, is_device_bound, device, reason
):
    """Each case shows its sign and every weaker one: honeypot > too fast > device
    mismatch > repeat > address > burst."""
    app.config.update(MIN_SECONDS_TO_ANSWER=8, BURST_PER_CODE_10_MIN=1,
                      ADDRESS_PER_CODE_10_MIN=1)
    now = datetime.now(UTC)
    earlier = Sender("phone-1", OFFICE_ADDRESS, now - timedelta(minutes=5))
    assert _record(app, survey_code, "earlier", earlier, now - timedelta(minutes=4)) == (
        "counted", None)

    sender = Sender(device, OFFICE_ADDRESS, now - timedelta(seconds=seconds_to_answer),
                    is_honeypot_filled, is_device_bound)
    assert _record(app, survey_code, "now", sender, now) == ("flagged", reason)


def test_a_burst_from_many_addresses_is_flagged_as_a_burst(app, survey_code):
    app.config.update(BURST_PER_CODE_10_MIN=1, ADDRESS_PER_CODE_10_MIN=1)
    now = datetime.now(UTC)
    assert _record(app, survey_code, "a", Sender("phone-1", OFFICE_ADDRESS), now) == (
        "counted", None)
    assert _record(app, survey_code, "b", Sender("phone-2", "198.51.100.20"), now) == (
        "flagged", "burst")


def test_a_flag_outranks_a_dossier_duplicate(app, survey_code):
    now = datetime.now(UTC)
    assert _record(app, survey_code, "a", Sender("phone-1"), now, "HS-1") == ("counted", None)
    assert _record(app, survey_code, "b", Sender("phone-2"), now, "HS-1") == (
        "duplicate", "dossier_repeat")
    assert _record(app, survey_code, "c", Sender("phone-1"), now, "HS-1") == (
        "flagged", "device_repeat")


def test_repeat_window_and_burst_window_end(app, survey_code):
    app.config.update(DEVICE_REPEAT_WINDOW=3600, BURST_PER_CODE_10_MIN=1)
    start = datetime.now(UTC) - timedelta(hours=3)
    assert _record(app, survey_code, "a", Sender("phone-1"), start) == ("counted", None)
    after = start + timedelta(seconds=3601)
    assert _record(app, survey_code, "b", Sender("phone-1"), after) == ("counted", None)


def test_zero_turns_each_check_off(app, survey_code):
    app.config.update(MIN_SECONDS_TO_ANSWER=0, DEVICE_REPEAT_WINDOW=0, BURST_PER_CODE_10_MIN=0,
                      ADDRESS_PER_CODE_10_MIN=0, ADDRESS_PER_CODE_HOUR=0)
    now = datetime.now(UTC)
    for nonce in ("a", "b"):
        sender = Sender("phone-1", OFFICE_ADDRESS, now)
        assert _record(app, survey_code, nonce, sender, now) == ("counted", None)


# One address at one code: a counter's crowd is counted, a script beyond it is not ----------

SHIPPED_ADDRESS_RULE = {"ADDRESS_PER_CODE_10_MIN": 5, "ADDRESS_PER_CODE_HOUR": 20}


def test_the_address_rule_is_on_by_default():
    from config import Config

    assert {name: getattr(Config, name) for name in SHIPPED_ADDRESS_RULE} == SHIPPED_ADDRESS_RULE


def test_a_script_with_a_fresh_cookie_jar_per_form_gets_five_counted(app, survey_code,
                                                                     monkeypatch):
    """Thirty forms, each in its own cookie jar, nine seconds' wait, all sent in a minute."""
    app.config.update(MIN_SECONDS_TO_ANSWER=8, **SHIPPED_ADDRESS_RULE)
    jars = [phone(app) for _ in range(30)]
    forms = [open_form(jar, survey_code) for jar in jars]
    start = datetime.now(UTC)
    results = []
    for n, (jar, tokens) in enumerate(zip(jars, forms, strict=True)):
        monkeypatch.setattr(recording, "utcnow", lambda n=n: start + timedelta(seconds=9 + 2 * n))
        results.append(submit(jar, survey_code, VALID_ANSWERS, tokens))

    assert all(is_thanks(r, survey_code) for r in results)  # nothing tells it apart
    stored = responses(app)
    assert [r.status for r in stored] == ["counted"] * 5 + ["flagged"] * 25
    assert {r.status_reason for r in stored[5:]} == {"address_burst"}
    assert len({r.device_hash for r in stored}) == 30
    # The same code still counts a citizen elsewhere.
    elsewhere = phone(app, "198.51.100.20")
    tokens = open_form(elsewhere, survey_code)
    monkeypatch.setattr(recording, "utcnow", lambda: start + timedelta(seconds=90))
    assert is_thanks(submit(elsewhere, survey_code, VALID_ANSWERS, tokens), survey_code)
    assert responses(app)[-1].status == "counted"


def test_forty_citizens_at_a_busy_counter_behind_one_address_are_all_counted(app, survey_code):
    """One every four to five minutes for three hours, each answering in one to four."""
    app.config.update(MIN_SECONDS_TO_ANSWER=8, **SHIPPED_ADDRESS_RULE)
    rng = random.Random(7)
    served_at = datetime.now(UTC) - timedelta(hours=4)
    for n in range(40):
        served_at += timedelta(seconds=rng.uniform(240, 300))
        sender = Sender(f"phone-{n}", OFFICE_ADDRESS, served_at)
        sent_at = served_at + timedelta(seconds=rng.uniform(60, 240))
        assert _record(app, survey_code, f"n{n}", sender, sent_at) == ("counted", None)


def test_a_patient_script_gets_twenty_an_hour_at_most(app, survey_code):
    """One form every three minutes: never five in ten minutes, but the 21st in an hour."""
    app.config.update(**SHIPPED_ADDRESS_RULE)
    start = datetime.now(UTC) - timedelta(hours=3)
    statuses = []
    for n in range(40):
        at = start + timedelta(minutes=3 * n)
        statuses.append(_record(app, survey_code, f"n{n}", Sender(f"phone-{n}", OFFICE_ADDRESS,
                                                                  at), at))
    counted = [3 * n for n, (status, _reason) in enumerate(statuses) if status == "counted"]
    # Twenty in the first hour, then one each time the oldest of the hour leaves it.
    assert counted[:20] == list(range(0, 60, 3))
    assert statuses[20] == ("flagged", "address_burst")
    assert max(sum(t - 60 <= m <= t for m in counted) for t in counted) == 20
    assert len(counted) < 40


def test_only_counted_responses_use_an_addresss_allowance(app, survey_code):
    """What was flagged for another reason does not hold back the next citizen."""
    app.config.update(ADDRESS_PER_CODE_10_MIN=1)
    now = datetime.now(UTC)
    honeypot = Sender("phone-1", OFFICE_ADDRESS, is_honeypot_filled=True)
    assert _record(app, survey_code, "a", honeypot, now) == ("flagged", "honeypot")
    assert _record(app, survey_code, "b", Sender("phone-2", OFFICE_ADDRESS), now) == (
        "counted", None)
    assert _record(app, survey_code, "c", Sender("phone-3", OFFICE_ADDRESS), now) == (
        "flagged", "address_burst")
    # Another code, another address: each has its own allowance.
    with app.app_context():
        other = create_code(create_agency("XA", "Xã A", "commune"), "Quầy 1", "HO_TICH").code
        db.session.commit()
    assert _record(app, other, "d", Sender("phone-4", OFFICE_ADDRESS), now) == ("counted", None)
    assert _record(app, survey_code, "e", Sender("phone-5", "198.51.100.20"), now) == (
        "counted", None)


# Privacy of what is stored ---------------------------------------------------------------


def test_neither_the_address_nor_the_device_id_is_stored_in_clear(app, survey_code):
    citizen = phone(app, OFFICE_ADDRESS)
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    device_id = cookie_device_id(citizen, app)

    with app.app_context():
        [row] = db.session.execute(text("SELECT * FROM responses")).mappings().all()
        [stored] = responses(app)
        assert stored.device_hash == keyed_hash("device", device_id)
        assert stored.address_hash == devices.address_hash(OFFICE_ADDRESS, stored.created_at)
    for column, value in row.items():
        assert OFFICE_ADDRESS not in str(value), column
        assert device_id not in str(value), column


def test_address_hash_changes_every_month(app):
    with app.app_context():
        january = devices.address_hash(OFFICE_ADDRESS, datetime(2026, 1, 31, tzinfo=UTC))
        also_january = devices.address_hash(OFFICE_ADDRESS, datetime(2026, 1, 1, tzinfo=UTC))
        february = devices.address_hash(OFFICE_ADDRESS, datetime(2026, 2, 1, tzinfo=UTC))
    assert january == also_january != february


# The device cookie -------------------------------------------------------------------------


def test_device_cookie_is_anonymous_signed_and_kept_two_years(app, client, survey_code):
    first = client.get(f"/s/{survey_code}")
    attributes = device_cookie_attributes(first)

    assert attributes["max-age"] == str(2 * 365 * 24 * 3600)
    assert attributes["path"] == "/s"  # the survey's pages only, not the staff's
    assert attributes["samesite"] == "Lax"
    assert "httponly" in attributes
    assert "secure" not in attributes  # plain http in tests; see the next test
    device_id = cookie_device_id(client, app)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", device_id)  # random, nothing about the person

    again = client.get(f"/s/{survey_code}")
    assert not any(h.startswith("sid_dev=") for h in again.headers.getlist("Set-Cookie"))


def test_device_cookie_is_secure_where_the_session_cookie_is(app, survey_code):
    secure = make_app(app, SESSION_COOKIE_SECURE=True)
    page = secure.test_client().get(f"/s/{survey_code}", base_url="https://survey.test")
    assert "secure" in device_cookie_attributes(page)


def test_forged_device_cookie_gets_a_new_id(app, client, survey_code):
    client.set_cookie(devices.COOKIE_NAME, "my-own-id", path=devices.COOKIE_PATH)
    page = client.get(f"/s/{survey_code}")
    assert any(h.startswith("sid_dev=") for h in page.headers.getlist("Set-Cookie"))
    assert cookie_device_id(client, app) != "my-own-id"


def test_a_post_without_the_device_cookie_of_its_form_is_flagged_not_given_a_new_one(
    app, survey_code
):
    bot = phone(app)
    tokens = open_form(bot, survey_code)
    cookie_device_id(bot, app)  # the form came with its device cookie
    bot.delete_cookie(devices.COOKIE_NAME, path=devices.COOKIE_PATH)
    result = submit(bot, survey_code, VALID_ANSWERS, tokens)

    assert is_thanks(result, survey_code)
    assert not any(h.startswith("sid_dev=") for h in result.headers.getlist("Set-Cookie"))
    [stored] = responses(app)
    assert (stored.status, stored.status_reason) == ("flagged", "device_mismatch")
    assert stored.device_hash is None


def test_a_post_with_another_devices_cookie_is_flagged(app, survey_code):
    served, other = phone(app), phone(app)
    tokens = open_form(served, survey_code)
    served_to = cookie_device_id(served, app)
    open_form(other, survey_code)
    other_cookie = other.get_cookie(devices.COOKIE_NAME, path=devices.COOKIE_PATH)
    assert other_cookie is not None
    served.set_cookie(devices.COOKIE_NAME, other_cookie.value, path=devices.COOKIE_PATH)
    result = submit(served, survey_code, VALID_ANSWERS, tokens)

    assert is_thanks(result, survey_code)
    [stored] = responses(app)
    assert (stored.status, stored.status_reason) == ("flagged", "device_mismatch")
    assert stored.device_hash is None
    # The page names the device by a tag that is neither its id nor its stored hash.
    with app.app_context():
        served_hash = devices.device_hash(served_to)
    payload = URLSafeSerializer(app.config["SECRET_KEY"], salt="survey-submit").loads(
        tokens["submit_token"]
    )
    assert served_to not in payload.values() and served_hash not in payload.values()


def test_a_form_given_back_after_a_lost_session_keeps_its_device(app, survey_code):
    citizen = phone(app)
    tokens = open_form(citizen, survey_code)
    lost = submit(citizen, survey_code, VALID_ANSWERS, {**tokens, "csrf_token": ""})
    again = {name: hidden_value(text_of(lost), name) for name in ("csrf_token", "submit_token")}
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS, again), survey_code)
    assert [r.status for r in responses(app)] == ["counted"]


def test_staff_pages_set_no_device_cookie(client):
    for path in ("/", "/login"):
        page = client.get(path)
        assert not any(h.startswith("sid_dev=") for h in page.headers.getlist("Set-Cookie"))


# Rate limits ----------------------------------------------------------------------------


def test_a_hundred_citizens_behind_one_address_are_all_stored(app, survey_code):
    """The shipped limits; a hundred in an hour is no burst, so that check is out of the way."""
    app.config["BURST_PER_CODE_10_MIN"] = 1000
    results = [submit(phone(app), survey_code, VALID_ANSWERS) for _ in range(100)]

    assert [r.status_code for r in results] == [303] * 100
    stored = responses(app)
    assert len(stored) == 100
    assert {r.status for r in stored} == {"counted"}
    assert len({r.device_hash for r in stored}) == 100
    assert len({r.address_hash for r in stored}) == 1


def test_one_phone_is_refused_its_21st_post_within_an_hour_and_keeps_its_answers(
    app, survey_code
):
    citizen = phone(app)
    for _ in range(20):
        assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    refused = submit(citizen, survey_code, {**VALID_ANSWERS, "q1": "2"})
    html = text_of(refused)

    assert refused.status_code == 429
    seconds = int(refused.headers["Retry-After"])
    assert 0 < seconds <= 3600
    assert '<html lang="vi">' in html
    assert "Phiếu của Ông/Bà chưa được gửi" in html
    assert f"lại sau {math.ceil(seconds / 60)} phút" in html
    # The answers are still on the page, ready to be sent again.
    assert re.search(r'id="q1-2" name="q1" value="2" checked', html)
    assert "Cán bộ nhiệt tình." in html
    assert len(responses(app)) == 20


def test_refused_answers_go_through_once_the_window_has_passed(app, survey_code):
    limited = make_app(app, RATELIMIT_PER_DEVICE="1 per hour")
    citizen = phone(limited)
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    refused = submit(citizen, survey_code, {**VALID_ANSWERS, "q1": "1"})
    assert refused.status_code == 429
    page = text_of(refused)
    kept = {name: hidden_value(page, name) for name in ("csrf_token", "submit_token")}

    limited.extensions["survey_app.limiter"].reset()  # as if the hour had passed
    again = submit(citizen, survey_code, {**VALID_ANSWERS, "q1": "1"}, kept)
    assert is_thanks(again, survey_code)
    assert [r.q1 for r in responses(app)] == [5, 1]


def test_one_code_is_refused_beyond_its_limit_and_others_stay_open(app, survey_code):
    limited = make_app(app, RATELIMIT_PER_CODE="5 per hour")
    with limited.app_context():
        other = create_code(create_agency("XA", "Xã A", "commune"), "Quầy 1", "HO_TICH").code
        db.session.commit()
    # Citizens at several offices: one address alone may use a quarter of it.
    for n in range(5):
        citizen = phone(limited, f"198.51.100.{n}")
        assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    refused = submit(phone(limited, "198.51.100.9"), survey_code, VALID_ANSWERS)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "chưa được gửi" in text_of(refused)

    assert is_thanks(submit(phone(limited), other, VALID_ANSWERS), other)
    assert len(responses(app)) == 6


def test_one_address_alone_uses_at_most_a_quarter_of_a_code(app, survey_code):
    limited = make_app(app, RATELIMIT_PER_CODE="8 per hour")
    statuses = [submit(phone(limited), survey_code, VALID_ANSWERS).status_code for _ in range(3)]
    assert statuses == [303, 303, 429]
    assert is_thanks(submit(phone(limited, "198.51.100.20"), survey_code, VALID_ANSWERS),
                     survey_code)


def test_an_address_is_refused_only_beyond_its_ceiling(app, survey_code):
    limited = make_app(app, RATELIMIT_PER_ADDRESS="4 per hour")
    for _ in range(4):
        assert is_thanks(submit(phone(limited), survey_code, VALID_ANSWERS), survey_code)
    assert submit(phone(limited), survey_code, VALID_ANSWERS).status_code == 429

    elsewhere = phone(limited, "198.51.100.20")
    assert is_thanks(submit(elsewhere, survey_code, VALID_ANSWERS), survey_code)


def _junk(client: FlaskClient, code: str) -> Any:
    """Post what the flood that closed a code posted: one answer, no tokens."""
    return client.post(f"/s/{code}", data={"q1": "1"})


def _junk_from_a_new_device(app: Flask, code: str) -> Any:
    """Read the form in a new cookie jar (a new device cookie comes with it), post junk."""
    jar = phone(app)
    open_form(jar, code)
    return _junk(jar, code)


def test_junk_posts_beyond_a_codes_limit_never_close_it(app, survey_code):
    """Twice the code's limit in junk, from the very office the citizen is at, each post with
    a device cookie of its own, so no device's allowance stops it. (The thousand posts
    against the shipped limits run under gunicorn: tests/load/test_load.py.)"""
    limited = make_app(
        app, RATELIMIT_PER_CODE="20 per hour", RATELIMIT_JUNK_PER_ADDRESS="30 per hour"
    )
    statuses = Counter(
        _junk_from_a_new_device(limited, survey_code).status_code for _ in range(40)
    )
    citizen = phone(limited)
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    assert statuses == {400: 30, 429: 10}  # the junk: refused for its address only
    [stored] = responses(app)
    assert (stored.status, stored.status_reason) == ("counted", None)
    by_status, counted = tally_of_today(app, survey_code)
    assert by_status == {"counted": 1} and counted == 1


def test_junk_uses_neither_the_codes_nor_a_devices_allowance(app, survey_code):
    limited = make_app(app, RATELIMIT_PER_CODE="1 per hour", RATELIMIT_PER_DEVICE="1 per hour")
    bot = phone(limited)
    tokens = open_form(bot, survey_code)
    junk = [
        _junk(bot, survey_code),  # no token at all
        submit(bot, survey_code, VALID_ANSWERS, {**tokens, "submit_token": "forged"}),
        submit(bot, survey_code, VALID_ANSWERS, {**tokens, "csrf_token": "forged"}),
        submit(phone(limited), survey_code, VALID_ANSWERS, tokens),  # another session's
    ]
    assert [r.status_code for r in junk] == [400] * 4
    assert responses(app) == []
    assert is_thanks(submit(bot, survey_code, VALID_ANSWERS), survey_code)


def test_junk_is_refused_per_address_and_a_real_submission_still_goes_through(app, survey_code):
    limited = make_app(app, RATELIMIT_JUNK_PER_ADDRESS="2 per hour")
    office = phone(limited)
    assert [_junk(office, survey_code).status_code for _ in range(3)] == [400, 400, 429]
    assert _junk(phone(limited, "198.51.100.20"), survey_code).status_code == 400

    assert is_thanks(submit(phone(limited), survey_code, VALID_ANSWERS), survey_code)


def test_reading_the_form_is_never_refused_by_the_app(app, survey_code):
    # Reading stores nothing; floods of reads are the reverse proxy's to cut.
    limited = make_app(
        app, RATELIMIT_PER_DEVICE="1 per hour", RATELIMIT_PER_CODE="1 per hour",
        RATELIMIT_PER_ADDRESS="1 per hour",
    )
    citizen = phone(limited)
    pages = [citizen.get(f"/s/{survey_code}") for _ in range(30)]
    assert [p.status_code for p in pages] == [200] * 30

    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    refused = submit(citizen, survey_code, VALID_ANSWERS)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


def test_the_form_static_files_qr_images_and_staff_pages_are_not_limited(app, survey_code):
    limited = make_app(app, RATELIMIT_PER_ADDRESS="1 per hour")
    office = phone(limited)
    assert is_thanks(submit(office, survey_code, VALID_ANSWERS), survey_code)
    assert submit(office, survey_code, VALID_ANSWERS).status_code == 429

    for path in (f"/s/{survey_code}", "/static/public.css", "/static/survey.js",
                 f"/s/{survey_code}/qr.svg",
                 f"/s/{survey_code}/qr.png", "/", "/login", f"/s/{survey_code}/thanks"):
        with office.get(path) as page:
            assert page.status_code == 200, path


def test_unknown_code_still_gets_its_404_under_the_limits(app):
    result = phone(app).post("/s/ZZZZ2222")
    assert result.status_code == 404
    assert heading_of(result) == NO_SUCH_CODE
    assert responses(app) == []


def test_two_app_instances_share_their_counts_in_redis(app, survey_code):
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379: sharing cannot be tested")
    settings = {
        "RATELIMIT_STORAGE_URI": LOCAL_REDIS,
        # A prefix of its own, so no other run shares these counters; they expire in a minute.
        "RATELIMIT_KEY_PREFIX": f"survey_app-test-{uuid.uuid4().hex}",
        "RATELIMIT_PER_DEVICE": "20 per minute",
        "RATELIMIT_PER_CODE": "3 per minute",
        "RATELIMIT_PER_ADDRESS": "100 per minute",
    }
    first, second = make_app(app, **settings), make_app(app, **settings)
    for n, worker in enumerate((first, second, first)):
        citizen = phone(worker, f"198.51.100.{n}")
        assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)

    assert submit(phone(second, "198.51.100.9"), survey_code, VALID_ANSWERS).status_code == 429
    assert len(responses(app)) == 3


def test_two_app_instances_count_apart_in_memory(app, survey_code):
    """The control for the Redis test: without a shared storage, each counts alone."""
    first, second = (make_app(app, RATELIMIT_PER_CODE="3 per minute") for _ in range(2))
    for n, worker in enumerate((first, second, first, second)):
        citizen = phone(worker, f"198.51.100.{n}")
        assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)


def test_an_unreachable_limit_storage_never_costs_an_answer(app, survey_code):
    broken = make_app(app, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")
    assert is_thanks(submit(phone(broken), survey_code, VALID_ANSWERS), survey_code)
    assert len(responses(app)) == 1


# Bodies and fields ------------------------------------------------------------------------


def _post_pairs(client: FlaskClient, code: str, pairs: list[tuple[str, str]]) -> Any:
    data = MultiDict(open_form(client, code))
    for key, value in VALID_ANSWERS.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(key, item)
    for key, value in pairs:
        data.add(key, value)
    return client.post(f"/s/{code}", data=data)


@pytest.mark.parametrize(
    ("field", "anchor", "message"),
    [
        ("q1", "q1-1", "Câu trả lời này không có trong danh sách, vui lòng chọn lại."),
        ("comment", "comment", "Ô này chỉ nhận một nội dung, vui lòng nhập lại."),
        ("dossier", "dossier", "Ô này chỉ nhận một nội dung, vui lòng nhập lại."),
    ],
)
def test_a_field_sent_twice_is_a_clear_422(app, client, survey_code, field, anchor, message):
    result = _post_pairs(client, survey_code, [(field, "1")])
    html = text_of(result)

    assert result.status_code == 422
    assert f'<a href="#{anchor}">' in html and message in html
    assert responses(app) == []


def test_unexpected_fields_are_ignored(app, client, survey_code):
    result = _post_pairs(client, survey_code, [("status", "counted"), ("agency_id", "999"),
                                               ("device_hash", "x"), ("q99", "5")])
    assert is_thanks(result, survey_code)
    [stored] = responses(app)
    assert (stored.status, stored.agency_id) == ("counted", stored.survey_code.agency_id)
    assert stored.device_hash != "x"


def test_oversized_body_is_still_a_413_under_the_limits(app, survey_code):
    result = submit(phone(app), survey_code, VALID_ANSWERS, comment="x" * 200_000)
    assert result.status_code == 413
    assert responses(app) == []
