"""Dossier volumes: a load is checked whole, refused with every problem's line, or written whole.

`flask volumes import FILE.csv` and PUT /api/v1/volumes go through the same checks; each
load is recorded in the audit log, and loading the same agency, sector and day replaces it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openapi_schema_validator import OAS31Validator
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Agency, AuditEvent, DossierVolume, Sector
from survey_app.services import volumes
from tests.factories import API_DOCUMENT as DOCUMENT
from tests.factories import token_for_user

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HEADER = "agency,sector,date,received"


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "hoso.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def stored(app) -> dict[tuple[str, str, date], int]:
    """Return every stored volume as {(agency code, sector code, day): received}."""
    with app.app_context():
        rows = db.session.execute(
            select(Agency.code, Sector.code, DossierVolume.day, DossierVolume.received)
            .join(Agency, Agency.id == DossierVolume.agency_id)
            .join(Sector, Sector.id == DossierVolume.sector_id)
        )
        return {(a, s, day): n for a, s, day, n in rows}


def audit_events(app) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "volumes.imported")
            .order_by(AuditEvent.id)
        ))
        db.session.expunge_all()
        return events


def import_file(runner, path: Path) -> Any:
    return runner.invoke(args=["volumes", "import", str(path)])


# The command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "encoding"), [
    (f"{HEADER}\nXA-A,DAT_DAI,2025-01-02,12\nxa-b , ho_tich ,2025-01-02, 7\n\n"
     "XA-A,DAT_DAI,2025-02,310\n", "utf-8"),
    # Excel's «CSV UTF-8» with Vietnamese regional settings: a BOM, «;», CRLF, any order.
    ("\ufeffreceived;Date;agency;sector\r\n12;2025-01-02;XA-A;DAT_DAI\r\n"
     "7;2025-01-02;XA-B;HO_TICH\r\n310;2025-02;XA-A;DAT_DAI\r\n", "utf-8"),
])
def test_a_file_loads_whole_and_says_what_it_loaded(app, runner, world, tmp_path, text,
                                                    encoding):
    result = import_file(runner, write(tmp_path, text, encoding))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "loaded 3 rows of hoso.csv (2025-01-02 to 2025-02-28): 3 new, 0 replaced; "
        "329 dossiers received"
    )
    assert stored(app) == {
        ("XA-A", "DAT_DAI", date(2025, 1, 2)): 12,
        ("XA-B", "HO_TICH", date(2025, 1, 2)): 7,
        # A month's total is stored on the month's first day.
        ("XA-A", "DAT_DAI", date(2025, 2, 1)): 310,
    }
    [event] = audit_events(app)
    assert event.actor_id is None
    assert event.details == {"file": "hoso.csv", "rows": 3, "created": 3,
                             "updated": 0, "cleared": 0, "received": 329,
                             "from": "2025-01-02", "to": "2025-02-28"}


TOMORROW = (datetime.now(VN).date() + timedelta(days=1)).isoformat()
NEXT_MONTH = (datetime.now(VN).date().replace(day=28) + timedelta(days=5)).strftime("%Y-%m")

# Each kind of wrong row, and what the refusal says about it (the line is that of the row).
WRONG_ROWS = {
    "unknown agency": ("XA-Z,DAT_DAI,2025-01-02,3", "unknown agency 'XA-Z'"),
    "missing agency": (",DAT_DAI,2025-01-02,3", "missing agency"),
    "unknown sector": ("XA-A,DAT,2025-01-02,3", "unknown sector 'DAT'"),
    "day and month swapped": ("XA-A,DAT_DAI,02/01/2025,3",
                              "date '02/01/2025' must be written YYYY-MM-DD"),
    "no such day": ("XA-A,DAT_DAI,2025-02-30,3", "date '2025-02-30' does not exist"),
    "no such month": ("XA-A,DAT_DAI,2025-13,3", "date '2025-13' does not exist"),
    "a day to come": (f"XA-A,DAT_DAI,{TOMORROW},3", f"date '{TOMORROW}' is in the future"),
    "a month to come": (f"XA-A,DAT_DAI,{NEXT_MONTH},3", f"date '{NEXT_MONTH}' is in the future"),
    "long ago": ("XA-A,DAT_DAI,1999-12-31,3",
                 "date '1999-12-31' must fall in the years 2000 to 2100"),
    "negative": ("XA-A,DAT_DAI,2025-01-02,-3", "received -3 must be 0 or more"),
    "a word": ("XA-A,DAT_DAI,2025-01-02,mười", "received 'mười' must be a whole number"),
    "a decimal": ("XA-A,DAT_DAI,2025-01-02,3.5", "received '3.5' must be a whole number"),
    "thousands": ('XA-A,DAT_DAI,2025-01-02,"1,200"', "received '1,200' must be a whole number"),
    "missing number": ("XA-A,DAT_DAI,2025-01-02,", "missing received"),
    "a typo": ("XA-A,DAT_DAI,2025-01-02,120000000", "received 120000000 is more than"),
    "a field too many": ("XA-A,DAT_DAI,2025-01-02,3,4", "5 fields where the header has 4"),
    "a field too few": ("XA-A,DAT_DAI,2025-01-02", "missing received"),
    "the same day twice": ("XA-A,DAT_DAI,2025-01-01,4",
                           "XA-A · DAT_DAI · 2025-01-01 repeats line 2"),
    "a month's total beside its first day": (
        "XA-A,DAT_DAI,2025-01,4",
        "XA-A · DAT_DAI · 2025-01 repeats line 2 (a month's total is stored on its first day)"),
    "a month's total beside one of its days": (
        "XA-B,HO_TICH,2025-01,40",
        "XA-B · HO_TICH: line 3 gives a day of that month and this row the total"),
}


@pytest.mark.parametrize("kind", sorted(WRONG_ROWS))
def test_a_wrong_row_refuses_the_whole_file_by_its_line(app, runner, world, tmp_path, kind):
    row, problem = WRONG_ROWS[kind]
    text = f"{HEADER}\nXA-A,DAT_DAI,2025-01-01,5\nXA-B,HO_TICH,2025-01-02,6\n{row}\n"
    result = import_file(runner, write(tmp_path, text))
    assert result.exit_code == 1
    assert f"line 4: {problem}" in result.output, result.output
    # Only the wrong row is named (the rows it clashes with, as such).
    assert "line 2:" not in result.output and "line 3:" not in result.output
    assert "hoso.csv: 1 row is wrong; nothing was loaded" in result.output
    assert stored(app) == {} and audit_events(app) == []


def test_every_wrong_line_is_named_at_once(app, runner, world, tmp_path):
    text = (f"{HEADER}\nXA-Z,DAT_DAI,2025-01-02,3\nXA-A,DAT_DAI,2025-01-02,3\n"
            "XA-A,KHONG,2025-01-32,-1\n\n\"XA-B\",HO_TICH,2025-01-02,x\n")
    result = import_file(runner, write(tmp_path, text))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("line ")]
    assert lines == [
        "line 2: unknown agency 'XA-Z'",
        "line 4: unknown sector 'KHONG'; date '2025-01-32' does not exist; "
        "received -1 must be 0 or more",
        # Line 5 is blank: skipped, yet counted, so the numbers are those of the file.
        "line 6: received 'x' must be a whole number of dossiers, 0 or more",
    ]
    assert "3 rows are wrong; nothing was loaded" in result.output
    assert stored(app) == {}


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty: line 1 must be the header agency,sector,date,received"),
    ("\n\n", "the file is empty"),
    (f"{HEADER}\n", "the file holds no rows after its header"),
    ("agency,sector,date\nXA-A,DAT_DAI,2025-01-02\n", "missing received"),
    ("agency,sector,ngay,received\n", "missing date; unknown 'ngay'"),
    (f"{HEADER},note\nXA-A,DAT_DAI,2025-01-02,3,x\n", "unknown 'note'"),
    ("agency,agency,sector,date,received\n", "a column is named twice"),
])
def test_a_wrong_file_is_refused_as_a_whole(app, runner, world, tmp_path, text, message):
    result = import_file(runner, write(tmp_path, text))
    assert result.exit_code == 1
    assert message in result.output
    assert stored(app) == {}


def test_a_file_in_another_encoding_is_refused(app, runner, world, tmp_path):
    text = f"{HEADER}\nXA-A,DAT_DAI,2025-01-02,3\nĐ,DAT_DAI,2025-01-02,3\n"
    result = import_file(runner, write(tmp_path, text, "cp1258"))
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.output and "save it as CSV UTF-8" in result.output
    assert stored(app) == {}


def test_a_file_too_large_is_refused(app, runner, world, tmp_path, monkeypatch):
    monkeypatch.setattr(volumes, "MAX_FILE_BYTES", 1024 * 1024)
    big = HEADER + "\n" + "XA-A,DAT_DAI,2025-01-02,3\n" * 50_000
    result = import_file(runner, write(tmp_path, big))
    assert result.exit_code == 1
    assert "larger than 1 MB" in result.output
    assert stored(app) == {}


def test_loading_again_replaces_the_same_agency_sector_and_day(app, runner, world, tmp_path):
    first = f"{HEADER}\nXA-A,DAT_DAI,2025-01-02,12\nXA-A,DAT_DAI,2025-01-03,9\n"
    assert import_file(runner, write(tmp_path, first, name="a.csv")).exit_code == 0
    again = f"{HEADER}\nXA-A,DAT_DAI,2025-01-03,11\nXA-B,HO_TICH,2025-01-03,4\n"
    result = import_file(runner, write(tmp_path, again, name="b.csv"))
    assert result.exit_code == 0, result.output
    assert "2 rows of b.csv (2025-01-03 to 2025-01-03): 1 new, 1 replaced" in result.output
    assert stored(app) == {
        ("XA-A", "DAT_DAI", date(2025, 1, 2)): 12,
        ("XA-A", "DAT_DAI", date(2025, 1, 3)): 11,
        ("XA-B", "HO_TICH", date(2025, 1, 3)): 4,
    }
    assert [e.details["updated"] for e in audit_events(app)] == [0, 1]


def test_a_months_total_replaces_the_days_of_that_month(app, runner, world, tmp_path):
    days = (f"{HEADER}\nXA-A,DAT_DAI,2025-01-01,3\nXA-A,DAT_DAI,2025-01-20,4\n"
            "XA-A,DAT_DAI,2025-02-03,5\nXA-A,HO_TICH,2025-01-20,6\n")
    assert import_file(runner, write(tmp_path, days, name="days.csv")).exit_code == 0
    month = f"{HEADER}\nXA-A,DAT_DAI,2025-01,80\n"
    result = import_file(runner, write(tmp_path, month, name="month.csv"))
    assert result.exit_code == 0, result.output
    assert "0 new, 1 replaced, 1 days replaced by their month's total" in result.output
    assert stored(app) == {
        ("XA-A", "DAT_DAI", date(2025, 1, 1)): 80,
        # Another month, and another sector, are left alone.
        ("XA-A", "DAT_DAI", date(2025, 2, 3)): 5,
        ("XA-A", "HO_TICH", date(2025, 1, 20)): 6,
    }


# The API -------------------------------------------------------------------------------------


def put(client, token: str | None, body: Any = None, **options: Any) -> tuple[int, Any]:
    """PUT /api/v1/volumes; check the answer against the OpenAPI document."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        options["json"] = body
    with client.put("/api/v1/volumes", headers=headers, **options) as result:
        status, answer = result.status_code, result.get_json()
        assert result.mimetype == "application/json"
    operation = DOCUMENT["paths"]["/volumes"]["put"]
    assert str(status) in operation["responses"], f"{status} is not documented"
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": DOCUMENT["components"]}).validate(answer)
    return status, answer


def rows(*items: tuple[str, str, str, Any]) -> dict[str, Any]:
    return {"volumes": [dict(zip(("agency", "sector", "date", "received"), item, strict=True))
                        for item in items]}


def test_a_manager_loads_the_volumes_of_their_province(app, client, world):
    token = token_for_user(app, world.user_ids["manager_province"])
    status, body = put(client, token, rows(("TINH", "XAY_DUNG", "2025-03", 120),
                                           ("xa-a", "DAT_DAI", "2025-03-04", 8),
                                           ("XA-B", "HO_TICH", "2025-03-04", 0)))
    assert status == 200, body
    assert body == {"rows": 3, "created": 3, "updated": 0, "cleared": 0, "received": 128,
                    "from": "2025-03-01", "to": "2025-03-31"}
    assert stored(app)[("XA-A", "DAT_DAI", date(2025, 3, 4))] == 8
    [event] = audit_events(app)
    assert event.actor_email == world.emails["manager_province"]
    assert "file" not in event.details and event.details["rows"] == 3

    status, body = put(client, token, rows(("XA-A", "DAT_DAI", "2025-03-04", 9)))
    assert (status, body["created"], body["updated"]) == (200, 0, 1)
    assert stored(app)[("XA-A", "DAT_DAI", date(2025, 3, 4))] == 9


def test_an_agency_outside_the_scope_refuses_the_whole_load(app, client, world):
    token = token_for_user(app, world.user_ids["manager_a"])
    status, body = put(client, token, rows(("XA-A", "DAT_DAI", "2025-03-04", 8),
                                           ("XA-B", "HO_TICH", "2025-03-04", 3),
                                           ("TINH", "HO_TICH", "2025-03-04", 3)))
    assert status == 403
    assert body["error"]["message"] == (
        "2 rows name an agency outside your scope; nothing was loaded")
    assert body["error"]["problems"] == [
        "volumes[1]: agency XA-B is outside your scope",
        "volumes[2]: agency TINH is outside your scope",
    ]
    assert body["error"]["problem_count"] == 2
    assert stored(app) == {} and audit_events(app) == []


@pytest.mark.parametrize(("body", "problem"), [
    ({"volumes": []}, '"volumes" must be a list of at least one row'),
    ({"volumes": "XA-A"}, '"volumes" must be a list of at least one row'),
    ({"rows": []}, 'send a JSON object {"volumes"'),
    ({**rows(("XA-A", "DAT_DAI", "2025-03-04", 8)), "note": "x"}, "unknown field 'note'"),
    ([1, 2], 'send a JSON object {"volumes"'),
    (rows(("XA-A", "DAT_DAI", "2025-03-04", "8")),
     "volumes[0]: received '8' must be a JSON integer, not text"),
    (rows(("XA-A", "DAT_DAI", "2025-03-04", -8)), "volumes[0]: received -8 must be 0 or more"),
    (rows(("XA-A", "DAT_DAI", "2025-03-04", 8.5)), "volumes[0]: received 8.5 must be a whole"),
    (rows(("XA-A", "DAT_DAI", "2025-03-04", True)), "volumes[0]: received True must be a whole"),
    (rows(("XA-A", "DAT_DAI", " 2025-03-04", 8)), "volumes[0]: date ' 2025-03-04' has blanks"),
    (rows(("XA-A", "DAT_DAI", 20250304, 8)), "volumes[0]: date must be text"),
    (rows(("XA-A", 7, "2025-03-04", 8)), "volumes[0]: sector must be a code written as text"),
    ({"volumes": [{"agency": "XA-A", "sector": "DAT_DAI", "date": "2025-03-04",
                   "received": 1, "counter": 2}]}, "volumes[0]: unknown field 'counter'"),
    ({"volumes": ["XA-A,DAT_DAI,2025-03-04,1"]}, "volumes[0]: a row must be an object"),
    (rows(("XA-A", "DAT_DAI", "2025-03-04", 8), ("XA-A", "DAT_DAI", "2025-03-04", 9)),
     "volumes[1]: XA-A · DAT_DAI · 2025-03-04 repeats volumes[0]"),
])
def test_a_wrong_body_is_refused_with_its_problems(app, client, world, body, problem):
    status, answer = put(client, token_for_user(app, world.user_ids["admin"]), body)
    assert status == 400
    assert problem in " | ".join([answer["error"]["message"],
                                  *answer["error"].get("problems", [])])
    assert stored(app) == {}


def test_more_rows_than_a_call_takes_are_refused(app, client, world):
    many = rows(*[("XA-A", "DAT_DAI", (date(2000, 1, 1) + timedelta(days=n)).isoformat(), 1)
                  for n in range(volumes.MAX_API_ROWS + 1)])
    status, answer = put(client, token_for_user(app, world.user_ids["admin"]), many)
    assert status == 400 and "send at most 10000 a call" in answer["error"]["message"]


def test_a_body_that_is_not_json_is_refused(app, client, world):
    token = token_for_user(app, world.user_ids["admin"])
    status, answer = put(client, token, data="XA-A,DAT_DAI,2025-03-04,1",
                         content_type="text/csv")
    assert status == 400 and "send a JSON object" in answer["error"]["message"]
    status, answer = put(client, token, data="{not json", content_type="application/json")
    assert status == 400
    status, answer = put(client, token, data=b"x" * (3 * 1024 * 1024),
                         content_type="application/json")
    assert status == 413


def test_volumes_need_a_token_of_a_reader(app, client, world):
    assert put(client, None, rows(("XA-A", "DAT_DAI", "2025-03-04", 8)))[0] == 401
    # Staff hold no API token of any use: the token itself is refused.
    assert put(client, "not-a-token", rows(("XA-A", "DAT_DAI", "2025-03-04", 8)))[0] == 401
    assert stored(app) == {}


def test_the_audit_log_names_a_load_in_words(app, runner, world, tmp_path):
    text = f"{HEADER}\nXA-A,DAT_DAI,2025-01-02,12\n"
    assert import_file(runner, write(tmp_path, text)).exit_code == 0
    client = world.login(app.test_client(), "admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Nhập số hồ sơ tiếp nhận" in page
    assert "Số hồ sơ tiếp nhận: 12" in page and "Tệp: hoso.csv" in page
