"""The blank form is rendered once per worker and reused; what must never be reused is not."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

from sqlalchemy import select, update

from survey_app.extensions import db
from survey_app.models import Agency, SurveyCode
from survey_app.services.counters import revoke_code
from tests.factories import (
    CODE_WITHDRAWN,
    VALID_ANSWERS,
    a_moment_later,
    heading_of,
    hidden_value,
    is_thanks,
    make_app,
    phone,
    responses,
    submit,
    text_of,
)


def test_each_reading_of_a_cached_form_carries_its_own_tokens(app, survey_code):
    first, second = phone(app), phone(app)
    pages = [text_of(first.get(f"/s/{survey_code}")), text_of(second.get(f"/s/{survey_code}")),
             text_of(first.get(f"/s/{survey_code}"))]

    submit_tokens = {hidden_value(page, "submit_token") for page in pages}
    assert len(submit_tokens) == 3
    # The CSRF token belongs to the phone's session: new for another phone.
    assert hidden_value(pages[0], "csrf_token") != hidden_value(pages[1], "csrf_token")
    # Apart from the two tokens, the pages are the same page.
    def without_tokens(page: str) -> str:
        for name in ("csrf_token", "submit_token"):
            page = page.replace(hidden_value(page, name), "")
        return page
    assert without_tokens(pages[0]) == without_tokens(pages[1]) == without_tokens(pages[2])


def test_forms_read_from_the_cache_are_each_stored_once(app, survey_code):
    phones = [phone(app, f"10.0.0.{n}") for n in range(1, 4)]
    for citizen in phones:
        assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS), survey_code)
    assert len(responses(app)) == 3


def test_english_form_and_renamed_agency_are_rendered_anew(app, survey_code):
    citizen = phone(app)
    assert "Phiếu đánh giá" in text_of(citizen.get(f"/s/{survey_code}"))
    assert "Satisfaction survey" in text_of(citizen.get(f"/s/{survey_code}?lang=en"))
    with app.app_context():
        db.session.execute(update(Agency).values(name="Trung tâm mới đổi tên"))
        db.session.commit()
    assert "Trung tâm mới đổi tên" in text_of(phone(app).get(f"/s/{survey_code}"))


def test_head_answers_like_get(app, survey_code):
    answer = phone(app).head(f"/s/{survey_code}")
    assert answer.status_code == 200
    assert answer.get_data() == b""


def test_a_code_revoked_here_answers_410_at_once_with_the_code_cache_on(app, survey_code):
    cached = make_app(app, FORM_CODE_CACHE_SECONDS=60)
    citizen = phone(cached)
    form = citizen.get(f"/s/{survey_code}")
    assert form.status_code == 200 and "<form" in text_of(form)
    with cached.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == survey_code))
        revoke_code(db.session, code)
        db.session.commit()
    gone = citizen.get(f"/s/{survey_code}")
    assert gone.status_code == 410
    assert heading_of(gone) == CODE_WITHDRAWN and "<form" not in text_of(gone)


def test_a_code_revoked_by_another_worker_keeps_the_answer_uncounted_while_its_form_shows(
    app, survey_code
):
    cached = make_app(app, FORM_CODE_CACHE_SECONDS=60)
    citizen = phone(cached)
    tokens = {name: hidden_value(text_of(citizen.get(f"/s/{survey_code}")), name)
              for name in ("csrf_token", "submit_token")}
    with app.app_context():  # another process: this app's cache does not hear of it
        db.session.execute(update(SurveyCode).values(revoked_at=a_moment_later()))
        db.session.commit()

    # Within the cache's seconds the form may still show. A form served before the
    # revocation is taken, but flagged and not counted: the citizen loses nothing.
    assert citizen.get(f"/s/{survey_code}").status_code == 200
    taken = submit(citizen, survey_code, VALID_ANSWERS, tokens)
    assert taken.status_code == 303
    [stored] = responses(app)
    assert (stored.status, stored.status_reason) == ("flagged", "code_revoked")


# A new phone's first reading, answered in front of Flask (survey/first_visit.py) ----------


def _cookie_flags(answer) -> dict[str, list[str]]:
    """Return each cookie the answer sets, by name, with its attributes but not its value
    nor its expiry date (which moves with the clock)."""
    flags = {}
    for header in answer.headers.getlist("Set-Cookie"):
        name_value, *attributes = header.split("; ")
        flags[name_value.split("=", 1)[0]] = sorted(
            a for a in attributes if not a.startswith("Expires=")
        )
    return flags


def _flask_requests(cached) -> list[str]:
    """Record the paths of the requests that reach Flask's own handling."""
    seen: list[str] = []

    @cached.before_request
    def note() -> None:
        from flask import request

        seen.append(request.path)

    return seen


def test_a_new_phone_gets_the_same_form_headers_and_cookies_without_flask(app, survey_code):
    cached = make_app(app, FORM_CODE_CACHE_SECONDS=60, SESSION_COOKIE_SECURE=True)
    reached_flask = _flask_requests(cached)
    first, second = phone(cached, "10.0.0.1"), phone(cached, "10.0.0.2")
    by_flask = first.get(f"/s/{survey_code}")
    in_front = second.get(f"/s/{survey_code}")

    assert reached_flask == [f"/s/{survey_code}"]  # the second reading never reached it
    assert in_front.status_code == by_flask.status_code == 200
    def own(answer) -> dict[str, str]:
        return {name: value for name, value in answer.headers.items()
                if name not in ("Set-Cookie", "Content-Length")}
    assert own(in_front) == own(by_flask)
    assert in_front.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert in_front.headers["X-Frame-Options"] == "DENY"
    assert _cookie_flags(in_front) == _cookie_flags(by_flask)
    assert set(_cookie_flags(in_front)) == {"sid_dev", "sid_form"}
    assert all({"Secure", "HttpOnly", "SameSite=Lax", "Path=/s"} <= set(flags)
               for flags in _cookie_flags(in_front).values())
    assert int(in_front.headers["Content-Length"]) == len(in_front.get_data())
    def expiry(answer) -> datetime:
        [device] = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith("sid_dev=")]
        [expires] = [a for a in device.split("; ") if a.startswith("Expires=")]
        return parsedate_to_datetime(expires.removeprefix("Expires="))
    assert abs((expiry(in_front) - expiry(by_flask)).total_seconds()) <= 2  # two years ahead

    def without_tokens(page: str) -> str:
        for name in ("csrf_token", "submit_token"):
            page = page.replace(hidden_value(page, name), "")
        return page
    assert without_tokens(text_of(in_front)) == without_tokens(text_of(by_flask))


def test_a_form_read_in_front_of_flask_is_stored_once_and_counted(app, survey_code):
    cached = make_app(app, FORM_CODE_CACHE_SECONDS=60)
    reached_flask = _flask_requests(cached)
    phone(cached, "10.0.0.1").get(f"/s/{survey_code}")
    reached_flask.clear()
    citizen = phone(cached, "10.0.0.2")
    page = text_of(citizen.get(f"/s/{survey_code}"))
    assert reached_flask == []
    tokens = {name: hidden_value(page, name) for name in ("csrf_token", "submit_token")}

    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS, tokens), survey_code)
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS, tokens), survey_code)
    [stored] = responses(app)
    assert (stored.status, stored.status_reason) == ("counted", None)
    assert stored.device_hash is not None  # the post came from the device the form was for


def test_readings_flask_must_answer_still_reach_it_with_the_code_cache_on(app, survey_code):
    cached = make_app(app, FORM_CODE_CACHE_SECONDS=60)
    reached_flask = _flask_requests(cached)
    phone(cached).get(f"/s/{survey_code}")
    reached_flask.clear()
    english = phone(cached).get(f"/s/{survey_code}?lang=en")
    assert "Satisfaction survey" in text_of(english)
    returning = phone(cached)
    returning.get(f"/s/{survey_code}")
    assert returning.get(f"/s/{survey_code}").status_code == 200  # with its cookies
    assert phone(cached).get(f"/s/{survey_code.lower()}").status_code == 308
    assert reached_flask == [f"/s/{survey_code}", f"/s/{survey_code}",
                             f"/s/{survey_code.lower()}"]

    with cached.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == survey_code))
        revoke_code(db.session, code)
        db.session.commit()
    gone = phone(cached).get(f"/s/{survey_code}")  # a new phone, revoked here: at once
    assert gone.status_code == 410 and "<form" not in text_of(gone)
