"""The bare limit of the stack: Flask doing nothing but what the survey's HTTP layer must.

The load benchmark serves this app under the same gunicorn settings as survey_app and
sends it the same requests, so the ratio of the two shows what survey_app itself costs.

- `GET /s/<code>` answers the bytes of a real rendered form, read once from
  `BARE_PAGE_FILE`: no template, no session, no database.
- `POST /s/<code>` parses the same form body and inserts one row of the responses table's
  width (`BARE_TABLE`, a copy of its columns without its indexes and constraints) into
  `DATABASE_URL` with SQLAlchemy Core, commits, and redirects to the thank-you page, as the
  real form does. No validation, no tokens, no rollups, no rate limits.

With `BARE_STATEMENTS=1` the same app is the **floor** of a submission instead: `POST
/s/<code>` sends survey_app's own statements for a counted response, built by survey_app's
own code (the code's lookup with its lock, the check of the device's stored responses, the
insert of the response, its wishes and its day, month and year rollups, the commit), with
values made once and only the nonce, hashes and time new in each request. No validation,
no tokens, no limits, no ORM: what any app keeping the submission's rules on this database
would pay at the least. Its rows carry a nonce starting with `floor-`.

Serve it with `gunicorn -c gunicorn.conf.py bench.bare_app:app`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, redirect, request
from sqlalchemy import MetaData, Table, create_engine, insert, text
from werkzeug.wrappers import Response as WerkzeugResponse

from survey_app import normalise_database_url

BARE_TABLE = "bench_bare_rows"


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def create_bare_app() -> Flask:
    app = Flask(__name__)
    page = Path(os.environ["BARE_PAGE_FILE"]).read_bytes()
    engine = create_engine(
        normalise_database_url(os.environ["DATABASE_URL"]), pool_size=1, max_overflow=0
    )
    app.extensions["bench.engine"] = engine  # for a test to close its connections
    if os.environ.get("BARE_STATEMENTS") == "1":
        app.post("/s/<code>")(_submission_statements(engine))
        app.get("/s/<code>")(lambda code: Response(page, content_type="text/html; charset=utf-8"))
        return app
    table = Table(BARE_TABLE, MetaData(), autoload_with=engine)
    statement = insert(table)

    @app.get("/s/<code>")
    def show(code: str) -> Response:
        return Response(page, content_type="text/html; charset=utf-8")

    @app.post("/s/<code>")
    def take(code: str) -> WerkzeugResponse:
        form = request.form
        row = {
            "survey_code_id": 1,
            "agency_id": 1,
            "counter_id": 1,
            "sector_id": 1,
            "questionnaire_version": "sipas-2026-short",
            **{f"q{n}": _int_or_none(form.get(f"q{n}")) for n in range(1, 7)},
            "q7": form.get("q7") or None,
            "comment": form.get("comment") or None,
            "dossier_hash": None,
            "device_hash": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
            "address_hash": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
            "language": "vi",
            "status": "counted",
            "status_reason": None,
            "submit_nonce": secrets.token_urlsafe(18),
            "created_at": datetime.now(UTC),
        }
        with engine.begin() as connection:
            connection.execute(statement, row)
        return redirect(f"/s/{code}/thanks", code=303)

    return app



def _submission_statements(engine: Any) -> Callable[[str], WerkzeugResponse]:
    """Return a view sending survey_app's statements of a counted submission, and no more."""
    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.models import Response as Answer
    from survey_app.models import ResponseWish
    from survey_app.services import recording, rollups

    survey_app = create_app()
    with survey_app.app_context():
        window = timedelta(seconds=survey_app.config["DEVICE_REPEAT_WINDOW"])
        lookup = recording._code_lookup_in_turn()  # noqa: SLF001 - the very statements
        checks = recording._stored_responses_checks(True, 0, 0)  # noqa: SLF001
        insert_counted = recording._insert_statement(True)  # noqa: SLF001
        answers = {"q1": 5, "q2": 4, "q3": 5, "q4": None, "q5": 4, "q6": 5}
        wishes = ["speed", "online"]
        with engine.connect() as connection:
            codes = {row.code: row for row in connection.execute(text(
                "SELECT id, code, agency_id, counter_id, sector_id FROM survey_codes "
                "WHERE kind = 'counter'"))}
    # Only its code and settings are used: the floor's statements go through `engine`.
    db.engine_for(survey_app).dispose()

    def values(code: Any, now: datetime) -> dict[str, Any]:
        answer = Answer(
            survey_code_id=code.id, agency_id=code.agency_id, counter_id=code.counter_id,
            sector_id=code.sector_id, questionnaire_version="sipas-2026-short", **answers,
            q7="no", comment="Cán bộ hướng dẫn tận tình, thủ tục nhanh.", comment_masked=False,
            dossier_hash=None, device_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
            address_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(), language="vi",
            status="counted", status_reason=None,
            submit_nonce="floor-" + secrets.token_urlsafe(18), created_at=now,
        )
        answer.wishes = [ResponseWish(wish=wish) for wish in wishes]
        with survey_app.app_context():
            counting = rollups.counting_values(answer)
        columns = {key: getattr(answer, key) for key in recording._RESPONSE_COLUMNS}  # noqa: SLF001
        return {**columns, "wishes": wishes, **counting}

    made: dict[str, dict[str, Any]] = {}

    def take(code: str) -> WerkzeugResponse:
        now = datetime.now(UTC)
        if code not in made:
            made[code] = values(codes[code], now)
        parameters = {
            **made[code], "created_at": now, "submit_nonce": "floor-" + secrets.token_urlsafe(18),
            "device_hash": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
            "address_hash": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        }
        with engine.begin() as connection:
            found = connection.execute(lookup, {"code": code}).first()
            connection.execute(checks, {
                "code_id": found.id, "device_hash": parameters["device_hash"],
                "device_since": now - window,
            }).one()
            connection.execute(insert_counted, parameters).scalar()
        return redirect(f"/s/{code}/thanks", code=303)

    return take


app = create_bare_app()
