"""The citizen's form guards against cross-site posts with a signed token, not a session."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from flask import Flask

from survey_app.extensions import db
from survey_app.survey import form_csrf
from tests.factories import (
    VALID_ANSWERS,
    create_agency,
    create_code,
    hidden_value,
    is_thanks,
    open_form,
    phone,
    responses,
    submit,
    text_of,
)

LOST = "Trang đã mở quá lâu nên phiếu chưa gửi được"


def _form_cookie(client) -> str:
    cookie = client.get_cookie(form_csrf.COOKIE_NAME, path=form_csrf.COOKIE_PATH)
    assert cookie is not None
    return str(cookie.value)


def test_reading_the_form_opens_no_session_and_sets_a_form_cookie(app, survey_code):
    citizen = phone(app)
    page = citizen.get(f"/s/{survey_code}")
    cookies = page.headers.getlist("Set-Cookie")
    assert not any(h.startswith("session=") for h in cookies)
    [form_cookie] = [h for h in cookies if h.startswith(f"{form_csrf.COOKIE_NAME}=")]
    assert "HttpOnly" in form_cookie and "SameSite=Lax" in form_cookie
    assert "Path=/s" in form_cookie
    # The token in the page is not the cookie: a page that leaks cannot forge the cookie.
    assert _form_cookie(citizen) not in hidden_value(text_of(page), "csrf_token")
    # The same phone keeps its cookie on its next reading.
    again = citizen.get(f"/s/{survey_code}")
    assert not any(h.startswith(f"{form_csrf.COOKIE_NAME}=")
                   for h in again.headers.getlist("Set-Cookie"))
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)


def test_a_token_posted_from_another_cookie_jar_is_refused(app, survey_code):
    served, attacker = phone(app), phone(app)
    tokens = open_form(served, survey_code)
    own = open_form(attacker, survey_code)  # a jar of its own, with its own form cookie
    for sent in (tokens, {**own, "csrf_token": tokens["csrf_token"]}):
        result = submit(attacker, survey_code, VALID_ANSWERS, sent)
        assert result.status_code == 400
        assert LOST in text_of(result)
    assert responses(app) == []


def test_a_replayed_token_is_refused_with_any_other_cookie(app, survey_code):
    served = phone(app)
    tokens = open_form(served, survey_code)
    served_cookie = _form_cookie(served)
    for cookie in ("A" * 22, served_cookie[:-1] + ("A" if served_cookie[-1] != "A" else "B"),
                   "", "not a cookie\x00", served_cookie + "x"):
        replayer = phone(app)
        replayer.set_cookie(form_csrf.COOKIE_NAME, cookie, path=form_csrf.COOKIE_PATH)
        result = submit(replayer, survey_code, VALID_ANSWERS, tokens)
        assert result.status_code == 400
    assert responses(app) == []
    # The phone it was served to may send it; sent again, it stores nothing more.
    assert is_thanks(submit(served, survey_code, VALID_ANSWERS, tokens), survey_code)
    assert is_thanks(submit(served, survey_code, VALID_ANSWERS, tokens), survey_code)
    assert len(responses(app)) == 1


def test_a_token_from_another_codes_form_is_refused(app, survey_code):
    with app.app_context():
        other = create_code(create_agency("XB", "Xã B", "commune"), "Quầy 1", "HO_TICH").code
        db.session.commit()
    citizen = phone(app)
    foreign = open_form(citizen, other)
    tokens = open_form(citizen, survey_code)
    result = submit(citizen, survey_code, VALID_ANSWERS,
                    {**tokens, "csrf_token": foreign["csrf_token"]})
    assert result.status_code == 400
    assert LOST in text_of(result)
    assert responses(app) == []


@pytest.mark.parametrize("forged", ["", "1.x", "9" * 13 + "." + "A" * 32, "12.34.56",
                                    "1700000000." + "A" * 32, "x" * 5000])
def test_a_forged_token_is_refused(app, survey_code, forged):
    citizen = phone(app)
    tokens = open_form(citizen, survey_code)
    result = submit(citizen, survey_code, VALID_ANSWERS, {**tokens, "csrf_token": forged})
    assert result.status_code in (400, 413)
    assert responses(app) == []


def test_an_expired_token_is_refused_and_the_answers_kept(app: Flask, survey_code,
                                                          monkeypatch):
    citizen = phone(app)
    tokens = open_form(citizen, survey_code)
    later = time.time() + app.config["WTF_CSRF_TIME_LIMIT"] + 5
    monkeypatch.setattr(form_csrf, "time", SimpleNamespace(time=lambda: later))
    result = submit(citizen, survey_code, VALID_ANSWERS, tokens)
    assert result.status_code == 400
    assert LOST in text_of(result)
    assert "checked" in text_of(result)  # the answers are still on the page
    assert responses(app) == []
    # The form given back carries a fresh token, good from now on.
    again = {name: hidden_value(text_of(result), name) for name in ("csrf_token",
                                                                    "submit_token")}
    assert again["csrf_token"] != tokens["csrf_token"]
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS, again), survey_code)
    assert len(responses(app)) == 1


def test_a_token_from_the_future_is_refused(app: Flask, survey_code, monkeypatch):
    citizen = phone(app)
    earlier = time.time() - form_csrf.CLOCK_SKEW - 5
    monkeypatch.setattr(form_csrf, "time", SimpleNamespace(time=lambda: earlier + 0))
    tokens = open_form(citizen, survey_code)  # issued at `earlier`...
    monkeypatch.setattr(form_csrf, "time", SimpleNamespace(time=lambda: earlier - 3600))
    result = submit(citizen, survey_code, VALID_ANSWERS, tokens)  # ...checked an hour before
    assert result.status_code == 400
    assert responses(app) == []


def test_a_cookie_of_another_shape_is_replaced(app, survey_code):
    citizen = phone(app)
    citizen.set_cookie(form_csrf.COOKIE_NAME, "mine", path=form_csrf.COOKIE_PATH)
    page = citizen.get(f"/s/{survey_code}")
    assert any(h.startswith(f"{form_csrf.COOKIE_NAME}=")
               for h in page.headers.getlist("Set-Cookie"))
    assert _form_cookie(citizen) != "mine"
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS, {
        name: hidden_value(text_of(page), name) for name in ("csrf_token", "submit_token")
    }), survey_code)
