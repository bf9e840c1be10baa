"""What the tests share: records made through the app's own services, people signed in,
pages read as a person reads them, and what the database and the audit log hold.

The builders without an `app` argument (create_agency, create_code, record) run inside the
caller's app context and only flush; the functions that take the app open their own
context and commit, so that a test reads as a story. No test module imports another: what
two of them need lives here (or, for fixtures, in a conftest.py).
"""

from __future__ import annotations

import copy
import io
import random
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from PIL import Image
from sqlalchemy import Connection, Select, func, select

from survey_app import create_app
from survey_app.api import openapi
from survey_app.extensions import db
from survey_app.models import (
    Agency,
    Alert,
    AuditEvent,
    Counter,
    Response,
    Sector,
    SurveyCode,
    User,
    tally_days,
    tally_months,
    tally_years,
)
from survey_app.questionnaire import CURRENT, Questionnaire
from survey_app.services import periods, rollups, second_factor, tallies
from survey_app.services.accounts import create_token, create_user
from survey_app.services.codes import create_survey_code
from survey_app.services.migrate import upgrade
from survey_app.services.recording import record_response
from survey_app.services.seed import seed_sectors, seed_targets

# The project's folder: gunicorn.conf.py, babel.cfg, survey_app/...
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The deployment's zone (TIMEZONE of the testing settings): local dates and periods.
LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# The password of every account the tests make, unless a test chooses another.
PASSWORD = "mat-khau-dung-1"
# Everyone at an office, behind one NAT.
OFFICE_ADDRESS = "203.0.113.7"

VALID_ANSWERS: dict[str, Any] = {
    "q1": "5", "q2": "4", "q3": "5", "q4": "na", "q5": "3", "q6": "4",
    "q7": "no", "q8": ["speed", "online"], "comment": "Cán bộ nhiệt tình.", "dossier": "",
}


# Databases and servers ------------------------------------------------------------------


def seeded_app(url: str) -> Flask:
    """Migrate the database at `url`, commit the reference data (sectors and targets) in it,
    and return an app on it."""
    upgrade(url)
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        seed_sectors(db.session)
        seed_targets(db.session)
        db.session.commit()
    return app


@contextmanager
def rolled_back_connection(app: Flask) -> Iterator[Connection]:
    """Bind the app to a connection in a transaction that is rolled back at the end."""
    connection = db.engine_for(app).connect()
    transaction = connection.begin()
    db.bind_app_to(app, connection)
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()
        db.bind_app_to(app, db.engine_for(app))


def free_port() -> int:
    """Return a port on the loopback that nothing listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Records ---------------------------------------------------------------------------------


def create_agency(code: str = "TTHCC", name: str = "Trung tâm Phục vụ hành chính công tỉnh",
                  level: str = "province", parent: Agency | None = None) -> Agency:
    agency = Agency(code=code, name=name, level=level, parent=parent)
    db.session.add(agency)
    db.session.flush()
    return agency


def create_code(agency: Agency | None = None, counter_name: str = "Quầy 3",
                sector_code: str = "DAT_DAI") -> SurveyCode:
    """Issue a code at a counter of the agency (made if missing) for one sector."""
    agency = agency or create_agency()
    counter = db.session.scalar(
        select(Counter).where(Counter.agency_id == agency.id, Counter.name == counter_name)
    ) or Counter(agency=agency, name=counter_name)
    db.session.add(counter)
    sector = db.session.scalar(select(Sector).where(Sector.code == sector_code))
    assert sector is not None
    return create_survey_code(db.session, agency, counter, sector)


def add_code(app: Flask, agency_id: int, counter_name: str,
             sector_code: str = "HO_TICH") -> SurveyCode:
    """Issue a code at a counter of an agency, committed; return it, detached."""
    with app.app_context():
        agency = db.session.get(Agency, agency_id)
        code = create_code(agency, counter_name, sector_code)
        db.session.commit()
        db.session.refresh(code)
        db.session.expunge(code)
        return code


def flag(response: Response, reason: str = "manual:abuse") -> None:
    """Flag a stored response as a manager would (the rollups follow)."""
    rollups.change_status(db.session, response, "flagged", reason)


def a_moment_later() -> datetime:
    """Return a time clearly after whatever the test just did.

    A submit token keeps when its form was served rounded to the millisecond, so a form
    served half a millisecond before "now" may read as served after it.
    """
    time.sleep(0.01)
    return datetime.now(UTC)


def local_time(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    """Return a moment given in the deployment's local time, in UTC as it is stored."""
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_ZONE).astimezone(UTC)


def record(code: str | SurveyCode, at: datetime | None = None, nonce: str | None = None, *,
           answers: dict[str, Any] = VALID_ANSWERS, language: str = "vi",
           questionnaire: Questionnaire = CURRENT, **changes: Any) -> Response:
    """Store one response through the service the form uses, so the rollups stay exact.

    The answers are `answers` with `changes` over them; `at` is when it was sent (now if
    None), `questionnaire` the version it was answered with. A module with answers of its
    own binds them: partial(record, answers=...).
    """
    if isinstance(code, str):
        found = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
        assert found is not None, f"no survey code {code}"
        code = found
    response, _ = record_response(
        db.session, code, questionnaire, {**answers, **changes}, nonce or secrets.token_hex(12),
        language, now=at,
    )
    return response


def any_answers(rng: random.Random) -> dict[str, Any]:
    """Return answers drawn at random, satisfied more often than not, as real ones are."""
    pick = lambda: rng.choice(["1", "2", "3", "4", "5", "5", "4"])  # noqa: E731
    return {
        "q1": pick(), "q2": pick(), "q3": pick(),
        "q4": rng.choice(["na", pick()]), "q5": rng.choice(["na", "na", pick()]), "q6": pick(),
        "q7": rng.choice([None, "no", "no", "yes", "decline"]),
        "q8": rng.sample(["speed", "online", "attitude", "facilities"], rng.choice([0, 1, 2])),
        "comment": None, "dossier": None,
    }  # fmt: skip


def varied_answers(n: int) -> dict[str, Any]:
    """Return the n-th of a varied set of answers: every choice of every question in turn."""
    scale = ["1", "2", "3", "4", "5"]
    return {
        "q1": scale[n % 5], "q2": scale[(n + 1) % 5], "q3": scale[(n + 2) % 5],
        "q4": (scale + ["na"])[n % 6], "q5": (scale + ["na"])[(n + 3) % 6],
        "q6": scale[(n + 4) % 5], "q7": [None, "no", "yes", "decline"][n % 4],
        "q8": [[], ["speed"], ["online", "attitude"], ["feedback"]][n % 4],
        "comment": [None, "Cán bộ nhiệt tình.", "<b>'; DROP TABLE responses; --</b>"][n % 3],
        "dossier": [None, "HS-2025/001", None, "HS-2025/001"][n % 4],
    }  # fmt: skip


def make_user(app: Flask, email: str = "canbo@xa.example", role: str = "staff",
              agency_code: str | None = "XA", *, password: str = PASSWORD,
              parent_code: str | None = None, level: str = "commune",
              must_change_password: bool = False, is_enabled: bool = True) -> int:
    """Create an account, committed; return its id.

    An admin belongs to no agency. Anyone else belongs to the agency with `agency_code`,
    made (at `level`, under `parent_code`) when there is none yet; no code, no agency.
    """
    with app.app_context():
        agency = None
        if role != "admin" and agency_code is not None:
            agency = db.session.scalar(select(Agency).where(Agency.code == agency_code))
            if agency is None:
                parent = db.session.scalar(select(Agency).where(Agency.code == parent_code))
                agency = create_agency(agency_code, f"Đơn vị {agency_code}", level, parent)
        user = create_user(db.session, email, password, role, agency,
                           must_change_password=must_change_password)
        user.is_enabled = is_enabled
        db.session.commit()
        return user.id


def enrol_second_factor(app: Flask, user_id: int) -> tuple[str, list[str]]:
    """Turn on an account's second factor, committed; return its TOTP secret and its
    recovery codes. The code that confirmed it is forgotten, so the next one is accepted."""
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        secret = second_factor.pending_secret(db.session, user)
        codes = second_factor.confirm_enrolment(db.session, user, totp_code(secret))
        user.totp_last_step = None
        db.session.commit()
    return secret, codes


def totp_code(secret: str) -> str:
    """Return the code the phone's app shows now for this secret."""
    return pyotp.TOTP(secret).now()


def forget_last_code(app: Flask, user_id: int) -> None:
    """Let the present time step's code be accepted again, as if its 30 seconds had passed."""
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        user.totp_last_step = None
        db.session.commit()


def token_for_user(app: Flask, user_id: int) -> str:
    """Create an API token for an account, committed; return its secret."""
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        _token, secret = create_token(db.session, user)
        db.session.commit()
    return secret


def sector_id(app: Flask, code: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(Sector.id).where(Sector.code == code))
        assert found is not None, f"no sector {code}"
        return found


# Reading back ----------------------------------------------------------------------------


def responses(app: Flask) -> list[Response]:
    """Return every stored response, read fresh from the database."""
    with app.app_context():
        rows = list(db.session.scalars(select(Response).order_by(Response.id)))
        for row in rows:
            _ = row.wishes, row.survey_code  # load before the session closes
        db.session.expunge_all()
        return rows


def audit_events(app: Flask, action: str | None = None) -> list[AuditEvent]:
    """Return the audit log's entries (of one action, if given), oldest first."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        events = list(db.session.scalars(query))
        db.session.expunge_all()
        return events


def audit_actions(app: Flask) -> list[str]:
    """Return the action of every audit entry, oldest first."""
    return [event.action for event in audit_events(app)]


def rollup_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the rollup tables, sorted, to compare two ways of building them."""
    return {
        table.name: sorted(tuple(row) for row in db.session.execute(select(table)).all())
        for table in (tally_days, tally_months, tally_years)
    }


def count_rows(app: Flask, what: Any) -> int:
    """Return how many rows a model (or a table, or a select) holds."""
    with app.app_context():
        source = what.subquery() if isinstance(what, Select) else what
        return db.session.scalar(select(func.count()).select_from(source)) or 0


def tally_of_today(app: Flask, code: str) -> tuple[dict[str, int], int]:
    """Return today's responses by status and the counted tally's responses, at a code."""
    with app.app_context():
        survey_code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
        assert survey_code is not None
        today = periods.local_date(datetime.now(UTC))
        flt = tallies.TallyFilter(
            periods.Period(today, today), agency_ids=frozenset({survey_code.agency_id})
        )
        by_status = tallies.count_by_status(db.session, flt).get(None, {})
        counted = tallies.count_answers(db.session, flt)[None].responses
    return by_status, counted


# Pages -----------------------------------------------------------------------------------


def text_of(response: Any) -> str:
    """Return the body of a test client's answer as text."""
    text: str = response.get_data(as_text=True)
    return text


def words_of(html: Any) -> str:
    """Return what a person reads in a page or a fragment: tags gone, spaces collapsed."""
    if not isinstance(html, str):
        html = text_of(html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def heading_of(page: Any) -> str:
    """Return the words of the page's main heading (its first <h1>)."""
    html = page if isinstance(page, str) else text_of(page)
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, "no <h1> on the page"
    return words_of(match.group(1))


# The headings of the pages that refuse a request (web/errors.py).
BAD_REQUEST = "Chưa thực hiện được yêu cầu"  # 400 and 405
REFUSED = "Không có quyền truy cập"  # 403
NOT_FOUND = "Không tìm thấy trang"  # 404
NO_SUCH_CODE = "Không tìm thấy mã đánh giá"  # 404 under /s/
CODE_WITHDRAWN = "Mã QR này đã ngừng sử dụng"  # 410
TOO_MANY = "Quá nhiều yêu cầu"  # 429


def hidden_value(html: str, name: str) -> str:
    """Return the value of a hidden input in a rendered page."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no hidden input {name!r} in the page"
    return unescape(match.group(1))


def fetch_page(client: FlaskClient, path: str) -> tuple[int, str]:
    """Return the status and the HTML of a page."""
    response = client.get(path)
    return response.status_code, text_of(response)


def csrf_token(client: FlaskClient, path: str = "/manage/") -> str:
    """Return the session's CSRF token, read from a page with a form (the sign-out form)."""
    return hidden_value(text_of(client.get(path)), "csrf_token")


def png_image(data: bytes) -> Image.Image:
    """Return the image in a PNG answer, read whole."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


# The citizen's form ----------------------------------------------------------------------


def open_form(client: FlaskClient, code: str, query: str = "") -> dict[str, str]:
    """Load the form as a browser would; return its CSRF and submit tokens."""
    page = client.get(f"/s/{code}{query}")
    assert page.status_code == 200, page.status_code
    html = text_of(page)
    return {"csrf_token": hidden_value(html, "csrf_token"),
            "submit_token": hidden_value(html, "submit_token")}


def submit(client: FlaskClient, code: str, answers: dict[str, Any],
           tokens: dict[str, str] | None = None, **overrides: object) -> Any:
    """Send answers with the tokens of a form just opened (or of the form given)."""
    data = dict(answers)
    data.update(tokens if tokens is not None else open_form(client, code))
    data.update(overrides)
    return client.post(f"/s/{code}", data=data)


def is_thanks(result: Any, code: str) -> bool:
    """Return whether the answer sends the citizen to the code's thank-you page."""
    location: str = result.headers.get("Location", "")
    return result.status_code == 303 and location.endswith(f"/s/{code}/thanks")


def phone(app: Flask, address: str = OFFICE_ADDRESS) -> FlaskClient:
    """Return a new phone (its own cookies) on the given network address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


LOCAL_REDIS = "redis://127.0.0.1:6379"


def redis_reachable() -> bool:
    """Say whether a Redis server answers PING at 127.0.0.1:6379 (CI starts one)."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def make_app(app: Flask, **settings: Any) -> Flask:
    """Return another app on the same test database connection, with other settings."""
    with app.app_context():
        connection = db.session.get_bind()
    other = create_app({"DATABASE_URL": app.config["DATABASE_URL"], **settings})
    db.bind_app_to(other, connection)
    return other


# The API -------------------------------------------------------------------------------

API_DOCUMENT = openapi.document()


def check_against_document(path: str, status: int, body: Any) -> None:
    """Fail unless the status is documented for the API path and the body fits its schema."""
    operation = API_DOCUMENT["paths"][path]["get"]
    assert str(status) in operation["responses"], f"{status} is not documented for {path}"
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    OAS31Validator(
        {**schema, "components": API_DOCUMENT["components"]},
        format_checker=OAS31Validator.FORMAT_CHECKER,
    ).validate(body)


def api_get(client: FlaskClient, path: str, token: str | None,
            **params: Any) -> tuple[int, Any]:
    """GET an API path with a bearer token; check the answer against the document."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with client.get(f"/api/v1{path}", query_string=params, headers=headers) as result:
        body = result.get_json()
        assert result.mimetype == "application/json"
    check_against_document(path, result.status_code, body)
    return result.status_code, body


def walk_responses(client: FlaskClient, token: str, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` from the first page of /responses to the last; return every item."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _page in range(1000):
        paging = {"cursor": cursor} if cursor else {}
        status, body = api_get(client, "/responses", token, **params, **paging)
        assert status == 200, body
        items += body["items"]
        cursor = body["next"]
        if cursor is None:
            return items
    raise AssertionError("pagination never ended")


# Signing in ------------------------------------------------------------------------------


def login(client: FlaskClient, email: str, password: str = PASSWORD,
          next_url: str | None = None, address: str | None = None) -> Any:
    """Send the sign-in form (from a given client address); return the answer."""
    where = {"REMOTE_ADDR": address} if address else {}
    token = hidden_value(text_of(client.get("/login", environ_base=where)), "csrf_token")
    path = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(path, data={"email": email, "password": password, "csrf_token": token},
                       environ_base=where)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
    """Sign the client in through the form; fail unless it worked."""
    result = login(client, email, password)
    assert result.status_code == 302, f"{email} could not sign in: {text_of(result)[:500]}"
    return client


# People and places for access tests ------------------------------------------------------


class World:
    """A province with two communes, a code in each, and one account per persona."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            province = create_agency("TINH", "Trung tâm Phục vụ hành chính công tỉnh")
            commune_a = create_agency("XA-A", "Xã A", "commune", province)
            commune_b = create_agency("XA-B", "Xã B", "commune", province)
            code_a = create_code(commune_a, "Quầy 1", "DAT_DAI")
            code_b = create_code(commune_b, "Quầy 1", "HO_TICH")
            self.province_id, self.a_id, self.b_id = province.id, commune_a.id, commune_b.id
            self.code_a, self.code_b = code_a.code, code_b.code
            self.counter_a_id, self.counter_b_id = code_a.counter_id, code_b.counter_id
            self.sector_id = code_a.sector_id
            self.emails = {
                "staff_a": "canbo.a@xa.example",
                "staff_b": "canbo.b@xa.example",
                "manager_a": "lanhdao.a@xa.example",
                "manager_province": "lanhdao@tinh.example",
                "admin": "quantri@tinh.example",
            }
            agencies = {"staff_a": commune_a, "staff_b": commune_b, "manager_a": commune_a,
                        "manager_province": province, "admin": None}
            self.user_ids = {}
            for persona, email in self.emails.items():
                role = persona.split("_")[0]
                user = create_user(db.session, email, PASSWORD, role, agencies[persona])
                self.user_ids[persona] = user.id
            db.session.commit()

    def for_one_test(self) -> World:
        """Return a copy for one test: what the test sets on it stays with that test."""
        copied = copy.copy(self)
        copied.emails, copied.user_ids = dict(self.emails), dict(self.user_ids)
        return copied

    def add_response_a(self, app: Flask) -> int:
        """Store one response with a comment through commune A's code; return its id."""
        with app.app_context():
            response = record(
                self.code_a, nonce="world-a",
                answers={"q1": "5", "q2": "4", "q3": "5", "q4": "na", "q5": "na", "q6": "4",
                         "comment": "Phiếu mẫu của xã A"},
            )
            db.session.commit()
            self.response_a = response.id
            return response.id

    def add_alert_a(self, app: Flask) -> int:
        """Store a response answering «Có» to the integrity question through commune A's
        code, which raises an alert there; return the alert's id."""
        with app.app_context():
            response = record(self.code_a, nonce="world-a-alert", q7="yes")
            db.session.commit()
            alert_id = db.session.scalar(select(Alert.id).where(Alert.response_id == response.id))
            assert alert_id is not None, "the integrity answer raised no alert"
            self.alert_a = alert_id
            return alert_id

    def login(self, client: FlaskClient, persona: str) -> FlaskClient:
        """Sign the client in as a persona (the anonymous one stays as it is)."""
        if persona == "anonymous":
            return client
        return sign_in(client, self.emails[persona])

    def signed_in(self, persona: str) -> FlaskClient:
        """Return a new client signed in as a persona."""
        return self.login(self.app.test_client(), persona)

    def token(self, persona: str) -> str:
        """Return the secret of a new API token of a persona."""
        return token_for_user(self.app, self.user_ids[persona])

    def bearer(self, persona: str) -> dict[str, str]:
        """Return the Authorization header with a new API token of a persona."""
        return {"Authorization": f"Bearer {self.token(persona)}"}


def answers_over_2025(app: Flask, world: World) -> dict[str, list[Any]]:
    """Store responses over 2025 in the world's province and both communes, committed;
    return the filters that find them (agencies, counters, sectors).

    A repeated dossier code makes duplicates and one response is flagged, so every status
    appears in the pages and in the figures.
    """
    with app.app_context():
        province = db.session.get(Agency, world.province_id)
        codes = [world.code_a, world.code_b, create_code(province, "Quầy 5", "XAY_DUNG").code]
        survey_codes = list(
            db.session.scalars(select(SurveyCode).where(SurveyCode.code.in_(codes)))
        )
        for n in range(36):
            when = datetime(2025, 1 + n % 12, 1 + n % 28, 8 + n % 9, tzinfo=LOCAL_ZONE)
            response = record(survey_codes[n % len(survey_codes)], when.astimezone(UTC),
                              f"schemathesis-{n}", answers=varied_answers(n),
                              language=["vi", "en"][n % 2])
            if n == 7:
                flag(response)
        db.session.commit()
    return {
        "agencies": ["TINH", "XA-A", "XA-B", "xa-a"],
        "counters": [world.counter_a_id, world.counter_b_id],
        "sectors": ["DAT_DAI", "HO_TICH", "XAY_DUNG"],
    }
