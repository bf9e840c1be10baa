"""Personal data a citizen writes into a comment is masked before it is stored, everywhere."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

from survey_app.extensions import db
from survey_app.models import Base, Response, utcnow
from survey_app.services.migrate import alembic_config, upgrade
from survey_app.services.purge import purge
from tests.factories import (
    LOCAL_ZONE,
    VALID_ANSWERS,
    api_get,
    count_rows,
    is_thanks,
    open_form,
    phone,
    record,
    responses,
    submit,
    text_of,
)

PHONE = "0912 345 678"
EMAIL = "an.le@gmail.com"
WITH_DATA = f"Gọi {PHONE} mãi không ai nghe, xin trả lời qua {EMAIL}."
MASKED = "Gọi [SĐT] mãi không ai nghe, xin trả lời qua [email]."
# What must never be stored, in any spelling the citizen might have used.
RAW = ("0912 345 678", "0912345678", "345 678", EMAIL)
LOOK_ALIKES = ("Nộp hồ sơ 000.00.31.H45-261205-0001 ngày 05/12/2026 lúc 8h30, lệ phí "
               "500.000 đồng, thửa đất số 123, tờ bản đồ số 45, quầy 3.")
MARK = "Đã che thông tin cá nhân"
MASKED_COLUMN = "Góp ý đã che thông tin cá nhân"


def send_comment(app: Any, code: str, comment: str, **changes: Any) -> Any:
    citizen = phone(app)
    result = submit(citizen, code, {**VALID_ANSWERS, "comment": comment, **changes})
    assert is_thanks(result, code), text_of(result)[:500]
    return result


def only_response(app: Any) -> Response:
    (response,) = responses(app)
    return response


def today() -> dict[str, str]:
    day = datetime.now(LOCAL_ZONE).date().isoformat()
    return {"from": day, "to": day}


def every_stored_value(app: Any) -> str:
    """Return every value of every row of every table, as one text."""
    values: list[str] = []
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                values.extend(str(value) for value in row)
    return "\n".join(values)


# Storing ------------------------------------------------------------------------------------


def test_a_comment_with_a_phone_number_and_an_email_is_stored_masked_and_flagged(app, world):
    send_comment(app, world.code_a, WITH_DATA)
    response = only_response(app)
    assert response.comment == MASKED
    assert response.comment_masked is True


def test_the_raw_data_is_in_no_stored_row(app, world):
    send_comment(app, world.code_a, WITH_DATA, dossier="000.00.31.H45-261205-0001")
    stored = every_stored_value(app)
    assert "[SĐT]" in stored  # the comment is there, masked
    for raw in RAW:
        assert raw not in stored


def test_a_comment_without_personal_data_is_stored_as_written_and_not_flagged(app, world):
    send_comment(app, world.code_a, LOOK_ALIKES)
    response = only_response(app)
    assert response.comment == LOOK_ALIKES
    assert response.comment_masked is False


def test_no_comment_is_no_mask(app, world):
    send_comment(app, world.code_a, "")
    response = only_response(app)
    assert (response.comment, response.comment_masked) == (None, False)


@pytest.mark.parametrize("spelling", [
    "0\u200b9\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8",  # zero-width spaces
    "０９１２３４５６７８",  # full-width digits
    "0912\u00a0345\u00a0678",  # no-break spaces
    "09\x0012\x00345678",  # NUL between the digits
    "+84 912 345 678",
])
def test_a_number_disguised_by_its_characters_is_masked_too(app, world, spelling):
    send_comment(app, world.code_a, f"Số của tôi {spelling}")
    response = only_response(app)
    assert response.comment == "Số của tôi [SĐT]"
    assert response.comment_masked is True


def test_a_full_comment_of_numbers_still_fits_once_masked(app, world):
    comment = ("0912345678 " * 91)[:1000]
    send_comment(app, world.code_a, comment)
    response = only_response(app)
    assert response.comment is not None and len(response.comment) <= 1000
    assert response.comment.count("[SĐT]") == 91
    assert not any(char.isdigit() for char in response.comment)


def test_a_form_sent_twice_stores_one_masked_response(app, world):
    citizen = phone(app)
    tokens = open_form(citizen, world.code_a)
    answers = {**VALID_ANSWERS, "comment": WITH_DATA}
    assert is_thanks(submit(citizen, world.code_a, answers, tokens), world.code_a)
    assert is_thanks(submit(citizen, world.code_a, answers, tokens), world.code_a)
    assert [r.comment for r in responses(app)] == [MASKED]


def test_a_form_shown_again_gives_the_citizen_their_own_text_and_stores_nothing(app, world):
    """The citizen's own page keeps what they typed, unmasked; nothing reaches the database."""
    citizen = phone(app)
    result = submit(citizen, world.code_a, {**VALID_ANSWERS, "comment": WITH_DATA}, q1="")
    assert result.status_code == 422
    assert PHONE in text_of(result)
    assert count_rows(app, Response) == 0


# Showing -----------------------------------------------------------------------------------


def test_the_review_page_shows_the_masked_text_and_marks_it(app, world):
    send_comment(app, world.code_a, WITH_DATA)
    send_comment(app, world.code_a, LOOK_ALIKES)
    page = world.signed_in("manager_a").get("/review/comments")
    html = text_of(page)
    assert page.status_code == 200
    assert MASKED in html and LOOK_ALIKES in html
    assert html.count(MARK) == 1  # only the masked comment carries the mark
    masked_row = html[html.index(MASKED):]
    assert masked_row.index(MARK) < masked_row.index("</tr>")
    for raw in RAW:
        assert raw not in html


def test_a_search_finds_the_placeholder_and_not_the_raw_number(app, world):
    send_comment(app, world.code_a, WITH_DATA)
    client = world.signed_in("manager_a")
    for search, is_found in (("0912", False), ("[SĐT]", True)):
        html = text_of(client.get("/review/comments", query_string={"q": search}))
        assert (MASKED in html) is is_found, search


def test_the_export_carries_the_masked_text_and_the_flag(app, world):
    send_comment(app, world.code_a, WITH_DATA)
    send_comment(app, world.code_a, LOOK_ALIKES)
    client = world.signed_in("manager_a")
    with client.get("/exports/responses.csv", query_string=today()) as result:
        body = result.get_data().decode("utf-8-sig")
    assert result.status_code == 200
    lines = list(csv.reader(io.StringIO(body, newline=""), delimiter=";"))
    header_at = next(n for n, line in enumerate(lines) if "Góp ý" in line)
    header, rows = lines[header_at], lines[header_at + 1:]
    flags = {row[header.index("Góp ý")]: row[header.index(MASKED_COLUMN)] for row in rows}
    assert flags == {MASKED: "Có", LOOK_ALIKES: "Không"}
    for raw in RAW:
        assert raw not in body


def test_the_api_carries_the_masked_text_and_the_flag(app, client, world):
    send_comment(app, world.code_a, WITH_DATA)
    send_comment(app, world.code_a, LOOK_ALIKES)
    status, page = api_get(client, "/responses", world.token("manager_a"), **today())
    assert status == 200  # and the items fit the published schema (api_get checks)
    flags = {item["comment"]: item["comment_masked"] for item in page["items"]}
    assert flags == {MASKED: True, LOOK_ALIKES: False}


def test_the_api_document_describes_the_flag(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    schema = document["components"]["schemas"]["Response"]
    assert schema["properties"]["comment_masked"] == {
        "type": "boolean", "description": "Whether personal data was masked in the comment."}
    assert "comment_masked" in schema["required"]


def test_the_purge_clears_the_flag_with_the_comment(app, world):
    with app.app_context():
        record(world.code_a, utcnow() - timedelta(days=400), comment=WITH_DATA)
        purge(db.session, 365)
        db.session.commit()
    response = only_response(app)
    assert (response.comment, response.comment_masked) == (None, False)


# The migration ------------------------------------------------------------------------------


def migration_module(database_url: str) -> Any:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    return script.get_revision("0015_masked_comments").module


def test_the_migration_masks_the_comments_already_stored(app, world, database_url):
    comments = [WITH_DATA, LOOK_ALIKES, None, "CCCD 001099012345", "Cảm ơn", "STK 0011004123456"]
    with app.app_context():
        for comment in comments:
            response = record(world.code_a, comment=None)
            response.comment = comment  # as stored before comments were masked
        db.session.flush()
        connection = db.session.connection()
        changed = migration_module(database_url).mask_stored_comments(connection, batch_size=2)
        db.session.expire_all()
        stored = [(r.comment, r.comment_masked) for r in responses(app)]
    assert changed == 3
    assert stored == [
        (MASKED, True), (LOOK_ALIKES, False), (None, False), ("CCCD [CCCD]", True),
        ("Cảm ơn", False), ("STK [STK]", True),
    ]


def test_upgrading_masks_old_comments_and_downgrading_keeps_them_masked(tmp_path):
    url = f"sqlite:///{tmp_path / 'masking.sqlite3'}"
    upgrade(url, "0011_receipts_volumes")
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO agencies (id, code, name, level, created_at) "
                       "VALUES (1, 'A', 'A', 'commune', '2025-01-01 00:00:00')"))
        c.execute(text("INSERT INTO sectors (id, code, label_vi, label_en, position) "
                       "VALUES (1, 'DAT_DAI', 'Đất đai', 'Land', 1)"))
        c.execute(text("INSERT INTO counters (id, agency_id, name, created_at) "
                       "VALUES (1, 1, 'Quầy 1', '2025-01-01 00:00:00')"))
        c.execute(text("INSERT INTO survey_codes (id, code, agency_id, counter_id, sector_id, "
                       "created_at) VALUES (1, 'ABCD2345', 1, 1, 1, '2025-01-01 00:00:00')"))
        for n, comment in enumerate([WITH_DATA, LOOK_ALIKES, None], start=1):
            c.execute(text(
                "INSERT INTO responses (id, survey_code_id, agency_id, counter_id, sector_id, "
                "questionnaire_version, q6, language, status, comment, created_at) VALUES "
                "(:id, 1, 1, 1, 1, 'sipas-2025-short', 4, 'vi', 'counted', :comment, "
                "'2025-03-02 03:00:00')"), {"id": n, "comment": comment})
    upgrade(url)
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT comment, comment_masked FROM responses ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(MASKED, 1), (LOOK_ALIKES, 0), (None, 0)]

    from alembic import command

    command.downgrade(alembic_config(url), "0011_receipts_volumes")
    columns = {column["name"] for column in inspect(engine).get_columns("responses")}
    assert "comment_masked" not in columns
    with engine.connect() as c:
        comments = c.execute(text("SELECT comment FROM responses ORDER BY id")).scalars().all()
    assert comments == [MASKED, LOOK_ALIKES, None]  # what was masked stays masked
    engine.dispose()
