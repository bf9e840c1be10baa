"""Hostile input never breaks the citizen's form or the managers' API, nor stores a bad value.

Hypothesis posts the form behind a QR code with whatever a broken phone, a bot or an
attacker might send: very long text, NUL and other control characters, invalid UTF-8 and
encoded lone surrogates, numbers where choices belong, repeated and unexpected fields, SQL
and HTML, empty values, with a valid CSRF and submit token pair or without. Whatever comes
in, the answer is a 303 to the thank-you page with exactly one new response whose every
value is one the questionnaire allows, or a 4xx with nothing stored; never a 5xx. The API's
query parameters get the same treatment with a valid manager's token.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_from_bytes, urlencode, urlsplit

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from survey_app.extensions import db
from survey_app.models import (
    INTEGRITY_ANSWERS,
    LANGUAGES,
    RESPONSE_STATUSES,
    WISH_CODES,
    Response,
)
from survey_app.questionnaire import COMMENT_MAX_LENGTH, CURRENT
from tests.factories import (
    BAD_REQUEST,
    CODE_WITHDRAWN,
    NO_SUCH_CODE,
    NOT_FOUND,
    TOO_MANY,
    VALID_ANSWERS,
    World,
    check_against_document,
    heading_of,
    hidden_value,
    open_form,
    responses,
)

FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FORM_FIELDS = (*(q.key for q in CURRENT.questions), "comment", "dossier")
TOKEN_FIELDS = ("csrf_token", "submit_token")
UNEXPECTED_FIELDS = ("q9", "id", "status", "status_reason", "agency_id", "submit_nonce",
                     "created_at", "language", "questionnaire_version", "website", "q1[]", "",
                     "%ff")
CHOICES = tuple(sorted({value for q in CURRENT.questions for value in q.values}))
REFUSALS = (400, 413, 422, 429)

HOSTILE = (
    "'; DROP TABLE responses; --", "' OR '1'='1", "1 UNION SELECT password_hash FROM users",
    "5; SELECT pg_sleep(5)", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}", "%s%n", "../../etc/passwd", "\x00", "5\x00", "\u202e5", "\ufeff5", "5 ",
    " 5", "05", "+5", "5.0", "-1", "0", "6", "１", "٥", "𝟓", "1e309", "9" * 400, "NaN",
    "Infinity", "None", "null", "true", "[]", "{}", "NA", "Na", "na ", "Yes", "NO",
    "speed,online", "speed online", "e\u0301", "Cán bộ", "Ca\u0301n bô\u0323",
)  # fmt: skip

# Pieces that NFC, control stripping and trimming interact on.
PIECES = ("e", "E", "\u0301", "\u0323", "\u0302", "ệ", "\x00", "\x07", "\x1b", "\x7f",
          "\x85", "\r", "\n", "\t", " ", "\u00a0", "\u200b", "\ud7ff", "😀", "%", "&", "=", "+")


def text_values(longest: int = 70_000) -> st.SearchStrategy[str]:
    """Text a person, a broken phone or an attacker might type or paste."""
    lengths = [COMMENT_MAX_LENGTH - 1, COMMENT_MAX_LENGTH, COMMENT_MAX_LENGTH + 1, 5000, 70_000]
    return st.one_of(
        st.sampled_from(CHOICES),
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.lists(st.sampled_from(PIECES), max_size=30).map("".join),
        st.integers().map(str),
        st.floats().map(str),
        st.tuples(
            st.sampled_from(["a", "ệ", "\x00", "e\u0301", "😀", " "]),
            st.sampled_from([length for length in lengths if length <= longest]),
        ).map(lambda piece: piece[0] * piece[1]),
    )


def encoded_values() -> st.SearchStrategy[bytes]:
    """A value as it travels in an urlencoded body, well-formed or not."""
    return st.one_of(
        text_values().map(lambda text: quote(text, safe="").encode("ascii")),
        # Invalid UTF-8 and encoded lone surrogates, percent-encoded ...
        st.sampled_from([b"%ff%fe", b"%ed%a0%80", b"%c0%af", b"%80", b"%", b"%zz", b"%00"]),
        st.binary(max_size=12).map(lambda raw: quote_from_bytes(raw).encode("ascii")),
        # ... and raw, as no browser sends them.
        st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc3", b"5\xff"]),
        st.binary(max_size=8),
    )


def body_of(pairs: list[tuple[str, bytes]]) -> bytes:
    return b"&".join(quote(name, safe="").encode("ascii") + b"=" + value for name, value in pairs)


def valid_pairs() -> list[tuple[str, bytes]]:
    pairs = []
    for name, value in VALID_ANSWERS.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name, quote(one, safe="").encode("ascii")))
    return pairs


# What a stored response may hold -------------------------------------------------------------


def is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" and char not in "\n\t"


def assert_storable(response: Response, sent_controls: bool) -> None:
    """Fail unless every value of a stored response is one the questionnaire allows."""
    for question in CURRENT.questions:
        if question.kind == "scale":
            value = getattr(response, question.key)
            if value is None:
                assert question.na_choice is not None, f"{question.key} left empty"
            else:
                assert type(value) is int and 1 <= value <= 5, (question.key, value)
    assert response.q7 in (None, *INTEGRITY_ANSWERS)
    wishes = [wish.wish for wish in response.wishes]
    assert len(wishes) <= CURRENT.question("q8").max_choices
    assert len(set(wishes)) == len(wishes) and set(wishes) <= set(WISH_CODES)
    comment = response.comment
    if comment is not None:
        assert 0 < len(comment) <= COMMENT_MAX_LENGTH
        assert comment == comment.strip()
        assert not any(is_control(char) for char in comment), repr(comment)
        # Even where a removed control stood between a letter and its accent.
        assert unicodedata.is_normalized("NFC", comment), repr(comment)
    assert response.status in RESPONSE_STATUSES
    assert response.language in LANGUAGES
    assert response.questionnaire_version == CURRENT.version


def stored_after(app: Flask, last_id: int) -> list[Response]:
    return [response for response in responses(app) if response.id > last_id]


def last_response_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(Response.id), 0))) or 0


def as_the_server_reads(body: bytes) -> dict[str, list[str]] | None:
    """Return the fields of a well-formed urlencoded body, in order; None when it is not UTF-8."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        fields.setdefault(name, []).append(value)
    return fields


def assert_outcome(app: Flask, code: str, last_id: int, result: TestResponse, body: bytes) -> None:
    """Fail unless the answer is one new valid response behind a 303, or a 4xx storing nothing."""
    status = result.status_code
    event(f"form {status}")
    assert status < 500, f"{status} for {body[:300]!r}"
    new = stored_after(app, last_id)
    if status == 303:
        assert result.headers["Location"].endswith(f"/s/{code}/thanks")
        assert len(new) == 1, f"{len(new)} responses stored for one submit"
        fields = as_the_server_reads(body) or {}
        sent_controls = any(is_control(char) for char in "".join(fields.get("comment", [])))
        assert_storable(new[0], sent_controls or not fields)
        if fields:
            # The first of repeated values is the one taken, and it is stored as chosen.
            for question in CURRENT.questions[:6]:
                chosen = fields[question.key][0]
                expected = None if chosen == "na" else int(chosen)
                assert getattr(new[0], question.key) == expected, question.key
            assert new[0].q7 == ((fields.get("q7") or [""])[0] or None)
            assert sorted(w.wish for w in new[0].wishes) == sorted(fields.get("q8", []))
    else:
        assert status in REFUSALS, f"{status} for {body[:300]!r}"
        assert new == [], f"{status} but {len(new)} responses stored"


# The form ------------------------------------------------------------------------------------


@pytest.fixture
def post_form(app: Flask, survey_code: str) -> Callable[..., tuple[TestResponse, bytes]]:
    """Return a function posting a body to the form as a new visitor; with tokens if asked."""

    def post(pairs: list[tuple[str, bytes]], tokens: str = "valid", tail: bytes = b"",
             query: str = "") -> tuple[TestResponse, bytes]:
        # A new client each time: each example is another citizen's phone (cookies, device).
        client = app.test_client()
        if tokens != "none":
            issued = open_form(client, survey_code)
            if tokens == "forged":
                issued = {name: value[:-2] + "xy" for name, value in issued.items()}
            pairs = [(name, quote(value, safe="").encode("ascii"))
                     for name, value in issued.items()] + pairs
        body = body_of(pairs) + tail
        result = client.post(f"/s/{survey_code}{query}", data=body,
                             content_type="application/x-www-form-urlencoded")
        return result, body

    return post


@settings(FUZZ, max_examples=150)
@given(
    changes=st.dictionaries(
        st.sampled_from(FORM_FIELDS + TOKEN_FIELDS + UNEXPECTED_FIELDS),
        st.lists(encoded_values(), max_size=3),
        max_size=4,
    ),
    tokens=st.sampled_from(["valid"] * 4 + ["none", "forged"]),
    tail=st.one_of(st.just(b""), encoded_values().map(lambda value: b"&" + value)),
    query=st.sampled_from(["", "?lang=en", "?lang=xx", "?lang=%ff", "?q1=5"]),
)
@example(changes={"q1": [b"1", b"9"]}, tokens="valid", tail=b"", query="")
@example(changes={"q1": [b"9", b"1"]}, tokens="valid", tail=b"", query="")
@example(changes={"comment": [b"%ff%fe"]}, tokens="valid", tail=b"", query="")
@example(changes={}, tokens="valid", tail=b"&q1=\xff", query="")
@example(changes={"q1": [b"\xff"]}, tokens="valid", tail=b"", query="")
@example(changes={"comment": [b"%ed%a0%80"]}, tokens="valid", tail=b"", query="")
@example(changes={"comment": [b"a%00b%07c"]}, tokens="valid", tail=b"", query="")
@example(changes={"comment": [b"x" * 70_000]}, tokens="valid", tail=b"", query="")
@example(changes={"comment": [b"%E1%BB%87" * 1000]}, tokens="valid", tail=b"", query="")
@example(changes={"q8": [b"speed", b"speed"]}, tokens="valid", tail=b"", query="")
@example(changes={"q8": [b"speed", b"online", b"attitude"]}, tokens="valid", tail=b"", query="")
@example(changes={"q7": [b""], "q4": [b"na"], "comment": [b""]}, tokens="valid", tail=b"",
         query="")
@example(changes={"q1": [b"5%27%3B%20DROP%20TABLE%20responses%3B--"]}, tokens="valid", tail=b"",
         query="")
@example(changes={"status": [b"counted"], "id": [b"1"]}, tokens="valid", tail=b"", query="")
@example(changes={}, tokens="none", tail=b"", query="")
def test_any_submit_is_stored_valid_or_refused_whole(
    app: Flask, survey_code: str, post_form: Callable[..., tuple[TestResponse, bytes]],
    changes: dict[str, list[bytes]], tokens: str, tail: bytes, query: str,
) -> None:
    pairs = [(name, value) for name, value in valid_pairs() if name not in changes]
    pairs += [(name, value) for name, values in changes.items() for value in values]
    last_id = last_response_id(app)

    result, body = post_form(pairs, tokens, tail, query)

    assert_outcome(app, survey_code, last_id, result, body)


@settings(FUZZ, max_examples=40)
@given(
    fields=st.dictionaries(
        st.sampled_from(FORM_FIELDS + UNEXPECTED_FIELDS),
        # Kept small enough for the test client to build the body in memory.
        st.lists(st.one_of(text_values(longest=5000).map(lambda text: text.encode()),
                           st.sampled_from([b"\xff", b"\xed\xa0\x80", b"5\xc3", b"\x00"])),
                 min_size=1, max_size=3),
        max_size=4,
    ),
    files=st.lists(st.sampled_from(FORM_FIELDS + TOKEN_FIELDS), max_size=2, unique=True),
    content=st.binary(max_size=64),
)
def test_a_multipart_submit_with_files_is_stored_valid_or_refused_whole(
    app: Flask, survey_code: str, fields: dict[str, list[bytes]], files: list[str], content: bytes
) -> None:
    """The form takes no files; a file in place of an answer must not become a valid one."""
    client = app.test_client()
    data: MultiDict[str, Any] = MultiDict(open_form(client, survey_code))
    for name, value in VALID_ANSWERS.items():
        if name not in fields and name not in files:
            for one in value if isinstance(value, list) else [value]:
                data.add(name, one)
    for name, values in fields.items():
        for value in values:
            data.add(name, value)
    for name in files:
        data.pop(name, None)
        data.add(name, (BytesIO(content), "answer.txt"))
    last_id = last_response_id(app)

    result = client.post(f"/s/{survey_code}", data=data, content_type="multipart/form-data")

    event(f"multipart {result.status_code}")
    assert result.status_code < 500
    new = stored_after(app, last_id)
    if result.status_code == 303:
        assert len(new) == 1
        assert_storable(new[0], sent_controls=True)
    else:
        assert result.status_code in REFUSALS and new == []


def test_a_file_sent_as_the_comment_is_not_stored_as_one(app: Flask, survey_code: str) -> None:
    client = app.test_client()
    data = {**VALID_ANSWERS, **open_form(client, survey_code),
            "comment": (BytesIO("Cán bộ nhiệt tình.".encode()), "comment.txt")}
    last_id = last_response_id(app)

    result = client.post(f"/s/{survey_code}", data=data, content_type="multipart/form-data")

    stored = stored_after(app, last_id)
    assert result.status_code == 422 and stored == [], [r.comment for r in stored]


def test_a_comment_is_stored_in_nfc_even_around_a_removed_control(
    app: Flask, survey_code: str, post_form: Callable[..., tuple[TestResponse, bytes]]
) -> None:
    pairs = [(n, v) for n, v in valid_pairs() if n != "comment"] + [("comment", b"e%00%CC%81")]
    last_id = last_response_id(app)

    result, _ = post_form(pairs)

    assert result.status_code == 303
    (response,) = stored_after(app, last_id)
    assert response.comment == "\u00e9"


@pytest.mark.parametrize("path", ["/s/{code}", "/api/v1/tallies", "/", "/dashboard/"])
def test_a_raw_byte_in_the_query_string_is_a_bad_request(
    app: Flask, survey_code: str, path: str
) -> None:
    # PEP 3333 servers hand the raw bytes of the address over as latin-1; "%ff" is fine.
    client = app.test_client()

    result = client.get(path.format(code=survey_code),
                        environ_overrides={"QUERY_STRING": "from=\xff&lang=\xed\xa0\x80"})

    assert result.status_code == 400
    # Refused before any page reads the address: a short line in both languages.
    assert result.mimetype == "text/plain"
    assert result.get_data(as_text=True) == "Yêu cầu không hợp lệ. / Bad request.\n"


@settings(FUZZ, max_examples=60)
@given(code=st.one_of(st.text(min_size=1, max_size=20), st.sampled_from(HOSTILE)),
       via_search=st.booleans())
def test_any_code_in_the_address_gets_a_calm_answer(
    app: Flask, survey_code: str, code: str, via_search: bool
) -> None:
    client = app.test_client()
    if via_search:
        result = client.get("/s?" + urlencode({"code": code}))
    else:
        result = client.get("/s/" + quote(code, safe=""))
    status = result.status_code
    assert status in (200, 302, 303, 308, 400, 404, 410, 429), status
    if status in (302, 303, 308):
        # On to a page of this site, never to another host.
        assert urlsplit(result.headers["Location"]).netloc in ("", "localhost"), code
    else:
        # The form of the code, or a page that says why there is none.
        expected = {200: ("Phiếu đánh giá mức độ hài lòng",), 400: (BAD_REQUEST,),
                    404: (NO_SUCH_CODE, NOT_FOUND), 410: (CODE_WITHDRAWN,), 429: (TOO_MANY,)}
        assert heading_of(result) in expected[status], (status, code)


# The API -------------------------------------------------------------------------------------

API_PARAMETERS = ("from", "to", "agency", "counter", "sector", "limit", "cursor")


def api_values() -> st.SearchStrategy[bytes]:
    dates = st.dates().map(lambda day: day.isoformat())
    near = st.sampled_from(["2025-01-01", "2025-03-31", "2025-12-31", "2024-02-29",
                            "2025-02-29", "2025-13-01", "20250101", "2025-W01-1", "2025-1-1",
                            "0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", " 2025-01-01",
                            "2025-01-01T00:00", "２０２５-01-01", "XA-A", "TINH", "DAT_DAI",
                            "1", "0", "-1", "1000", "1001", "2147483647", "2147483648",
                            "99999999999999999999", "1e3", "0x10", "١"])
    return st.one_of(
        dates.map(lambda text: quote(text).encode("ascii")),
        near.map(lambda text: quote(text).encode("ascii")),
        text_values().map(lambda text: quote(text, safe="").encode("ascii")),
        st.sampled_from([b"%ff%fe", b"%ed%a0%80", b"%00", b"", b"%", b"%zz", b"%2"]),
        # Raw bytes that are not UTF-8: see test_a_raw_byte_in_the_query_string_is_a_bad_request.
        st.binary(max_size=8).map(lambda raw: quote_from_bytes(raw).encode("ascii")),
    )


@pytest.mark.parametrize("bearer", ["manager_a", "admin"], indirect=True)
@FUZZ
@pytest.mark.usefixtures("answered")
@given(
    path=st.sampled_from(["/tallies", "/responses"]),
    params=st.lists(st.tuples(st.sampled_from(API_PARAMETERS + ("lang", "from[]", "")),
                              api_values()), max_size=8),
    period=st.booleans(),
)
@example(path="/responses", params=[(n, b"9999-12-31") for n in ("from", "to")], period=False)
@example(path="/responses", params=[(n, b"0001-01-01") for n in ("from", "to")], period=False)
@example(path="/tallies", params=[(n, b"9999-12-31") for n in ("from", "to")], period=False)
@example(path="/responses", params=[("counter", b"99999999999")], period=True)
@example(path="/tallies", params=[("counter", b"2147483648")], period=True)
@example(path="/tallies", params=[("from", b"2025W011"), ("to", b"2025-01-31")], period=False)
@example(path="/responses", params=[("cursor", b"%00"), ("limit", b"%EF%BC%91")], period=True)
@example(path="/tallies", params=[("agency", b"a%00b"), ("sector", b"%ff")], period=True)
def test_any_query_gets_figures_or_a_json_error(
    app: Flask, world: World, bearer: dict[str, str], path: str,
    params: list[tuple[str, bytes]], period: bool,
) -> None:
    if period:
        # Most filters are only read once the period is understood; this one holds responses.
        params = [("from", b"2025-01-01"), ("to", b"2025-12-31"), *params]
    query = b"&".join(quote(name).encode("ascii") + b"=" + value for name, value in params)
    client = app.test_client()

    with client.get(f"/api/v1{path}", headers=bearer,
                    environ_overrides={"QUERY_STRING": query.decode("latin-1")}) as result:
        status, body = result.status_code, result.get_json(silent=True)

    event(f"{path} {status}")
    assert status < 500, f"{status} for {query!r}"
    assert result.mimetype == "application/json", f"{result.mimetype} for {query!r}"
    assert body is not None, f"no JSON for {query!r}"
    if status >= 400:
        assert status in (400, 403, 404), f"{status} for {query!r}"
        assert set(body) == {"error"} and body["error"]["status"] == status, body
        assert body["error"]["message"]
    check_against_document(path, status, body)


# Every page, signed in ---------------------------------------------------------------------

# What a broken client or an attacker puts in an address or a field, as it travels
# percent-encoded: NUL, a line break, a tab, a bidi override, 10 kB, invalid UTF-8.
HOSTILE_ESCAPES = {
    "nul": "%00",
    "crlf": "%0D%0A",
    "tab": "%09",
    "bidi": "%E2%80%AE",
    "long": "x" * 10_240,
    "bad utf-8": "%ff%fe",
    "lone surrogate": "%ed%a0%80",
    "nul in a code": "ABCD%002345",
}
# A form of the app never sends more than this in one field; larger bodies are refused whole.
LONG_IN_A_FORM = 2000
FIELD_NAME = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')


def query_parameter_names() -> set[str]:
    """Return the names every view and filter form reads from the query string."""
    names = set(API_PARAMETERS) | {"lang", "next"}
    for source in Path("survey_app").rglob("*.py"):
        names |= set(re.findall(r'request\.args\.(?:get|getlist)\("([a-z_]+)"', source.read_text()))
    return names


def path_arguments(app: Flask, world: World) -> dict[str, str]:
    """Return a real value for each argument of the routes: ids of the world's records."""
    from survey_app.models import TargetScope

    response_id = world.add_response_a(app)
    alert_id = world.add_alert_a(app)
    with app.app_context():
        scope_id = db.session.scalar(select(func.min(TargetScope.id)))
    return {"agency_id": str(world.a_id), "counter_id": str(world.counter_a_id),
            "sector_id": str(world.sector_id), "user_id": str(world.user_ids["staff_a"]),
            "response_id": str(response_id), "scope_id": str(scope_id), "year": "2025",
            "fmt": "csv", "code": world.code_a, "token": "x" * 43,
            "alert_id": str(alert_id), "day": "2025-03-04", "kiosk_id": "1",
            "version": CURRENT.version, "key": "q3"}


def fill(rule: str, values: dict[str, str]) -> str:
    """Return the address of a route with each <converter:argument> replaced by its value."""
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: values[m.group(1)], rule)


def assert_readable(result: TestResponse, what: str) -> str | None:
    """Return a failure unless the answer is below 500 and a page a person can read."""
    status = result.status_code
    if status >= 500:
        return f"{status} for {what}"
    if status in (301, 302, 303, 307, 308):
        return None if result.headers.get("Location") else f"{status} without Location: {what}"
    if result.mimetype == "text/html":
        page = result.get_data(as_text=True)
        if "<title>" not in page or "Traceback" in page:
            return f"{status}, unreadable page for {what}"
    if result.mimetype == "application/json" and result.get_json(silent=True) is None:
        return f"{status}, no JSON for {what}"
    return None


# Every persona on SQLite; on PostgreSQL the admin alone, who reaches every route: what the
# database adds (a NUL refused by its text type, a long value in a query) is the same for
# everyone, and the other personas' sweeps are the slowest tests of the suite.
SQLITE_ONLY = pytest.mark.sqlite_only


@pytest.mark.parametrize("persona", ["admin", pytest.param("manager_province", marks=SQLITE_ONLY),
                                     pytest.param("staff_a", marks=SQLITE_ONLY)])
def test_every_route_answers_hostile_text_calmly(app: Flask, world: World, persona: str) -> None:
    """No route answers 5xx to hostile text in its address, query string or form fields."""
    client = world.login(app.test_client(), persona)
    csrf = hidden_value(client.get("/account/password").get_data(as_text=True), "csrf_token")
    real = path_arguments(app, world)
    parameters = query_parameter_names()
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.endpoint not in ("static", "auth.logout")]
    pages: dict[str, list[str]] = {}
    failures: list[str] = []

    def check(result: TestResponse, what: str) -> None:
        failure = assert_readable(result, what)
        # A streamed download keeps its request open until closed, as a server would.
        result.close()
        if failure:
            failures.append(f"{failure[:300]} as {persona}")

    for rule in rules:
        base = fill(rule.rule, real)
        if "GET" in rule.methods:
            page = client.get(base)
            check(page, f"GET {base}")
            if page.mimetype == "text/html":
                pages[rule.endpoint] = FIELD_NAME.findall(page.get_data(as_text=True))
            for label, escaped in HOSTILE_ESCAPES.items():
                query = "&".join(f"{name}={escaped}" for name in sorted(parameters))
                check(client.get(base, environ_overrides={"QUERY_STRING": query}),
                      f"GET {base}?…={label}")
                # Each argument of the address in turn (an id that is no number is a 404).
                for name in rule.arguments:
                    hostile = fill(rule.rule, {**real, name: escaped})
                    check(client.get(hostile), f"GET {rule.rule} with {name}={label}")
    for rule in rules:
        if "POST" not in rule.methods:
            continue
        base = fill(rule.rule, real)
        names = set(pages.get(rule.endpoint) or [n for found in pages.values() for n in found])
        names.discard("csrf_token")
        for label, escaped in HOSTILE_ESCAPES.items():
            value = escaped[:LONG_IN_A_FORM]
            body = "&".join([f"csrf_token={quote(csrf)}",
                             *(f"{quote(name)}={value}" for name in sorted(names))])
            check(client.post(base, data=body.encode("ascii"),
                              content_type="application/x-www-form-urlencoded"),
                  f"POST {base} fields={label}")
    assert failures == [], "\n".join(failures[:20])


@pytest.mark.parametrize("path", ["/codes/{bad}/poster", "/codes/{bad}/tent",
                                  "/codes/{bad}/revoke", "/codes/{bad}/replace",
                                  "/s/{bad}/qr.svg", "/s/{bad}/qr.png", "/s?code={bad}"])
@pytest.mark.parametrize("bad", ["%00", "{code}%00", "ABCD%0D%0A2345", "{code}%09x", "x" * 10_240,
                                 "%E2%80%AE{code}", "{code}-", "%ff%fe"])
def test_text_that_is_no_code_is_not_found(app: Flask, world: World, path: str, bad: str) -> None:
    client = world.login(app.test_client(), "staff_a")

    result = client.get(path.format(bad=bad.format(code=world.code_a)))

    assert result.status_code == 404
    assert "<title>" in result.get_data(as_text=True)


def test_a_sheet_of_chosen_codes_counts_text_that_is_no_code_as_unknown(
    app: Flask, world: World
) -> None:
    client = world.login(app.test_client(), "staff_a")

    result = client.get(f"/agencies/{world.a_id}/codes/sheet?code=%00&code=AB%0ACD"
                        f"&code={world.code_a.lower()}&code=%ff%fe")

    page = result.get_data(as_text=True)
    assert result.status_code == 200
    assert world.code_a in page
    assert "3 mã không thuộc đơn vị này hoặc không tồn tại nên không được in." in page
