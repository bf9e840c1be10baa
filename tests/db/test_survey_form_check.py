"""A post checked by hand is taken only when the WTForms form would take it, with its data.

certain_form_data reads a whole, valid post without building the form. For every body,
valid or nearly so (a key sent twice, an unknown value, NUL, tabs, an overlong comment, a
file, a missing answer, an unknown key, too many wishes), it must either leave the post to
the form or give exactly the form's `data`, of a form that validates; and it must take the
bodies a citizen's phone sends, or it would be a path that never runs.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from survey_app.questionnaire import COMMENT_MAX_LENGTH, CURRENT, DOSSIER_MAX_LENGTH
from survey_app.survey import form_csrf, views
from survey_app.survey import posted as posted_tokens
from survey_app.survey.forms import HONEYPOT_FIELD, certain_form_data, survey_form_class
from tests.factories import VALID_ANSWERS, is_thanks, open_form, phone, responses, submit

CHECKS = settings(max_examples=300, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])

FORM_PATH = "/s/ABCD2345"
FORM_COOKIE = "Q" * 22  # the shape of a form cookie (form_csrf._COOKIE_SHAPE)
FILE = object()  # stands for an uploaded file in a body

CHOICE_KEYS = tuple(q.key for q in CURRENT.questions)
TEXT_KEYS = ("comment", "dossier")
OTHER_KEYS = ("submit_token", HONEYPOT_FIELD, "csrf_token", "q9", "q1[]", "", "answer_id")
ALL_VALUES = tuple(sorted({value for q in CURRENT.questions for value in q.values}))

# Values that are nearly right, or right after the form's filters.
ODD = (
    "", " ", "\t", "\x00", "5\x00", "5 ", " 5", "05", "6", "0", "NA", "na ", "Yes", "１",
    "\u200b", "\ufeff5", "\r\n", "a\tb", "e\u0301", "hs-2026/01", "ＨＳ２０２６", "HS 2026",
    "---", " - ", "HS\x00-1", "\x85", "\u2000", "HS_1", "Ａ" * DOSSIER_MAX_LENGTH,
    "A" * DOSSIER_MAX_LENGTH, "A" * (DOSSIER_MAX_LENGTH + 1), " A ", "ă",
    "a" * COMMENT_MAX_LENGTH, "a" * (COMMENT_MAX_LENGTH + 1), " " + "a" * COMMENT_MAX_LENGTH,
    "\x00" * (COMMENT_MAX_LENGTH + 5), "e\u0301" * COMMENT_MAX_LENGTH,
    "ệ" * (COMMENT_MAX_LENGTH + 1),
)  # fmt: skip


def valid_bodies(with_dossier: bool) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """Bodies a citizen's phone sends: every answer allowed, the blank text fields too."""

    def question(q: Any) -> st.SearchStrategy[list[tuple[str, Any]]]:
        if q.kind == "multi":
            wishes = st.lists(st.sampled_from(q.values), max_size=q.max_choices, unique=True)
            return wishes.map(lambda chosen: [(q.key, value) for value in chosen])
        one = st.sampled_from(q.values).map(lambda value: [(q.key, value)])
        return one if q.required else st.one_of(st.just([]), one)

    dossier = st.one_of(
        st.just(""),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9./-]{0,20}", fullmatch=True),
    )
    parts = [question(q) for q in CURRENT.questions] + [
        st.text(max_size=200).map(lambda text: [("comment", text)]),
        dossier.map(lambda code: [("dossier", code)] if with_dossier else []),
        st.just([("submit_token", "token")]),
        st.sampled_from(["", "http://spam.example"]).map(lambda text: [(HONEYPOT_FIELD, text)]),
    ]
    return st.tuples(*parts).map(lambda lists: [pair for part in lists for pair in part])


@st.composite
def near_valid_bodies(draw: st.DrawFn, with_dossier: bool) -> list[tuple[str, Any]]:
    """A valid body, then a few of the changes a broken phone, a script or a bot makes."""
    body = draw(valid_bodies(with_dossier))
    keys = CHOICE_KEYS + TEXT_KEYS + OTHER_KEYS
    values = st.one_of(st.sampled_from(ALL_VALUES), st.sampled_from(ODD), st.text(max_size=12),
                       st.just(FILE))
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(["add", "replace", "drop"]))
        if change == "add" or not body:  # a repeated or unknown key, or a wish too many
            body.insert(draw(st.integers(0, len(body))), (draw(st.sampled_from(keys)),
                                                          draw(values)))
        else:
            at = draw(st.integers(0, len(body) - 1))
            if change == "replace":
                body[at] = (body[at][0], draw(values))
            else:
                del body[at]
    return body


def posted(app: Flask, body: list[tuple[str, Any]], token: str | None = "good",
           multipart: bool = False) -> Any:
    """Return a request context posting `body` to a form, with the CSRF token asked for."""
    with app.test_request_context(FORM_PATH):
        issued = form_csrf.token_for(FORM_COOKIE, FORM_PATH)
    pairs = list(body)
    if token is not None:
        pairs.append(("csrf_token", issued if token == "good" else token))
    has_file = any(value is FILE for _name, value in pairs)
    data = MultiDict([
        (name, (BytesIO(b"%PDF-1.4"), "a.pdf") if value is FILE else value)
        for name, value in pairs
    ])
    return app.test_request_context(
        FORM_PATH, method="POST", data=data,
        content_type="multipart/form-data" if multipart or has_file else None,
        headers={"Cookie": f"{form_csrf.COOKIE_NAME}={FORM_COOKIE}"},
    )


def hand_and_form(app: Flask, body: list[tuple[str, Any]], with_dossier: bool,
                  **post: Any) -> tuple[dict[str, Any] | None, bool, dict[str, Any]]:
    """Return the hand check's data, and whether the form validates and its data."""
    with posted(app, body, **post):
        hand = certain_form_data(CURRENT, with_dossier)  # first, as take_answers does
        form = survey_form_class(CURRENT, with_dossier)()
        return hand, form.validate(), form.data


def assert_agrees(hand: dict[str, Any] | None, is_valid: bool, data: dict[str, Any]) -> None:
    if hand is not None:
        assert is_valid, "taken by hand, refused by the form"
        assert hand == data
        assert list(hand) == list(data)
        assert [type(value) for value in hand.values()] == [type(v) for v in data.values()]


# The check reads a request, never the database: one sweep, on SQLite, is enough.
@pytest.mark.sqlite_only
@pytest.mark.parametrize("with_dossier", [True, False])
@CHECKS
@given(data=st.data())
def test_the_hand_check_takes_a_post_only_as_the_form_would(app, with_dossier, data):
    body = data.draw(near_valid_bodies(with_dossier))
    token = data.draw(st.sampled_from(["good", "good", "good", "1.forged", None]))
    multipart = data.draw(st.booleans())
    hand, is_valid, form_data = hand_and_form(app, body, with_dossier, token=token,
                                              multipart=multipart)
    event("taken by hand" if hand is not None else "left to the form")
    assert_agrees(hand, is_valid, form_data)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("with_dossier", [True, False])
@CHECKS
@given(data=st.data())
def test_the_hand_check_takes_every_ordinary_valid_post(app, with_dossier, data):
    body = data.draw(valid_bodies(with_dossier))
    hand, is_valid, form_data = hand_and_form(app, body, with_dossier)
    assert is_valid
    assert hand is not None, body
    assert_agrees(hand, is_valid, form_data)


BENCH_BODY = [(key, value) for key, values in VALID_ANSWERS.items()
              for value in (values if isinstance(values, list) else [values])]


@pytest.mark.parametrize("change", [
    [("q1", "5")],  # q1 sent twice
    [("q8", "speed")],  # a wish twice
    [("q8", "facilities")],  # three wishes
    [("q9", "1")],  # an unknown key: the form does not read it
    [("comment", "again")],
    [("dossier", "HS-1")],
    [("comment", FILE)],
    [("upload", FILE)],  # a file under a name the form does not read
    [("submit_token", "another")],
    [(HONEYPOT_FIELD, "x"), (HONEYPOT_FIELD, "y")],
])
def test_near_valid_posts_are_left_to_the_form_or_read_as_it_reads_them(app, change):
    for with_dossier in (True, False):
        assert_agrees(*hand_and_form(app, BENCH_BODY + change, with_dossier))


@pytest.mark.parametrize("field, value", [
    ("q1", ""), ("q1", "6"), ("q7", ""), ("q7", " "), ("q8", ""), ("q4", "\x00"),
    ("comment", "a" * (COMMENT_MAX_LENGTH + 1)), ("dossier", "HS 2026"), ("dossier", "---"),
    ("dossier", "\x00"), ("comment", "\t"), ("comment", "x\x00" * COMMENT_MAX_LENGTH),
])
def test_each_odd_value_is_left_to_the_form_or_read_as_it_reads_it(app, field, value):
    body = [(key, v) for key, v in BENCH_BODY if key != field] + [(field, value)]
    assert_agrees(*hand_and_form(app, body, with_dossier=True))


@pytest.mark.parametrize("token", ["1.forged", None])
def test_a_post_without_a_good_csrf_token_is_left_to_the_form(app, token):
    hand, is_valid, _data = hand_and_form(app, BENCH_BODY, True, token=token)
    assert hand is None and not is_valid


def test_a_json_body_is_left_to_the_form(app):
    with app.test_request_context(FORM_PATH, method="POST", json=dict(BENCH_BODY),
                                  headers={"Cookie": f"{form_csrf.COOKIE_NAME}={FORM_COOKIE}"}):
        assert certain_form_data(CURRENT) is None


@example(body=[("dossier", "hs-2026/0001"), ("comment", "  Cán bộ\x00 tận tình\t ")])
@settings(CHECKS, max_examples=1)
@given(body=st.just([]))
def test_filtered_text_is_read_as_the_form_cleans_it(app, body):
    kept = [(key, value) for key, value in BENCH_BODY if key not in ("comment", "dossier")]
    hand, is_valid, data = hand_and_form(app, kept + body, with_dossier=True)
    assert_agrees(hand, is_valid, data)
    if body:
        assert hand is not None
        assert hand["dossier"] == "HS-2026/0001"
        assert hand["comment"] == "Cán bộ tận tình"


def test_a_whole_valid_post_is_recorded_without_building_the_form(app, survey_code, monkeypatch):
    citizen = phone(app)
    tokens = open_form(citizen, survey_code)

    def no_form(*args: object, **kwargs: object) -> None:
        raise AssertionError("the form was built for a valid post")

    monkeypatch.setattr(views, "survey_form_class", no_form)
    result = submit(citizen, survey_code, {**VALID_ANSWERS, "q7": "yes"}, tokens)
    assert is_thanks(result, survey_code)
    # The thanks ask for the complaint box after «Có», as the form's answers said.
    assert result.headers["Set-Cookie"].startswith("sid_pa=1;")
    [stored] = responses(app)
    assert (stored.q1, stored.q4, stored.q7) == (5, None, "yes")
    assert sorted(wish.wish for wish in stored.wishes) == ["online", "speed"]
    assert stored.comment == "Cán bộ nhiệt tình."


@pytest.mark.parametrize("blank", [" ", "  ", "\t", "\r\n"])
def test_a_blank_optional_choice_is_stored_as_no_answer(app, survey_code, blank):
    """A script's «q7= » is no answer, as an omitted one: thanked and stored, never a 500."""
    citizen = phone(app)
    tokens = open_form(citizen, survey_code)
    result = submit(citizen, survey_code, {**VALID_ANSWERS, "q7": blank}, tokens)
    assert is_thanks(result, survey_code)
    [stored] = responses(app)
    assert stored.q7 is None
    assert stored.status == "counted"


def test_a_blank_required_choice_is_asked_for_again(app, survey_code):
    citizen = phone(app)
    tokens = open_form(citizen, survey_code)
    result = submit(citizen, survey_code, {**VALID_ANSWERS, "q1": " "}, tokens)
    assert result.status_code == 422
    assert "Câu trả lời này không có trong danh sách" in result.get_data(as_text=True)
    assert responses(app) == []


def test_a_post_reads_its_submit_token_once(app, survey_code, monkeypatch):
    """The limits sort the post by its submit token and the view records with it: one read."""
    citizen = phone(app)
    tokens = open_form(citizen, survey_code)
    reads: list[str] = []
    read = posted_tokens.read_submit_token

    def counted(token, code):
        reads.append(code)
        return read(token, code)

    monkeypatch.setattr(posted_tokens, "read_submit_token", counted)
    assert is_thanks(submit(citizen, survey_code, VALID_ANSWERS, tokens), survey_code)
    assert reads == [survey_code]
    assert len(responses(app)) == 1
