"""The bare limit of the stack: Flask doing nothing but what the survey's HTTP layer must.

The load benchmark serves this app under the same gunicorn settings as survey_app and
sends it the same requests, so the ratio of the two shows what survey_app itself costs.

- `GET /s/<code>` answers the bytes of a real rendered form, read once from
  `BARE_PAGE_FILE`: no template, no session, no database.
- `POST /s/<code>` parses the same form body and inserts one row of the responses table's
  width (`BARE_TABLE`, a copy of its columns without its indexes and constraints) into
  `DATABASE_URL` with SQLAlchemy Core, commits, and redirects to the thank-you page, as the
  real form does. No validation, no tokens, no rollups, no rate limits.

Serve it with `gunicorn -c gunicorn.conf.py bench.bare_app:app`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, redirect, request
from sqlalchemy import MetaData, Table, create_engine, insert
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


app = create_bare_app()
