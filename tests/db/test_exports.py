"""Exports: files that open in Excel with Vietnamese intact, formulas defused, streamed, audited."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from functools import partial
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from survey_app.api.serialize import report_dict
from survey_app.exports import views as export_views
from survey_app.extensions import db
from survey_app.models import Agency, Sector
from survey_app.questionnaire import SIPAS_2025_SHORT
from survey_app.services.filters import parse_period
from survey_app.services.reports import build_report
from survey_app.services.tallies import TallyFilter
from tests.factories import (
    PASSWORD,
    audit_events,
    create_agency,
    create_code,
    flag,
    record,
    seeded_app,
    sign_in,
)
from tests.factories import local_time as local

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")

Q1 = {"from": "2025-01-01", "to": "2025-03-31"}
VIETNAMESE = "Cán bộ nhiệt tình, hướng dẫn chu đáo; phòng chờ hơi chật."
FORMULA = "=1+1"
RESPONSE_HEADER = [
    "Số phiếu", "Thời điểm gửi", "Mã đơn vị", "Quầy", "Mã lĩnh vực", "Mã phiếu",
    "Câu 1", "Câu 2", "Câu 3", "Câu 4", "Câu 5", "Câu 6", "Câu 7", "Câu 8",
    "Góp ý", "Góp ý đã che thông tin cá nhân", "Trạng thái", "Lý do (mã)", "Ngôn ngữ",
    "Phiên bản phiếu",
    "Trạng thái (mã)", "Câu 7 (mã)", "Câu 8 (mã)", "Nguồn", "Nguồn (mã)",
]  # fmt: skip
# What each file says it holds, in its first lines (CSV) or on its second sheet (XLSX).
ABOUT_LABELS = ["Khoảng thời gian", "Bộ lọc", "Năm chỉ tiêu", "Thời điểm xuất"]
FILE_NAME = re.compile(r'attachment; filename="(?P<stem>[^"]+)_exported-\d{8}-\d{4}\.(csv|xlsx)"')

ANSWERS: dict[str, Any] = {
    "q1": "5", "q2": "4", "q3": "5", "q4": "na", "q5": "3", "q6": "4",
    "q7": "no", "q8": [], "comment": None, "dossier": None,
}  # fmt: skip


# Store one response through the service the form uses (rollups kept exact).
store = partial(record, answers=ANSWERS)
downloads = partial(audit_events, action="export.downloaded")


@pytest.fixture
def stored(app, world):
    """Responses in A, B and the province in Q1 2025: a duplicate, a flagged one, a formula."""
    with app.app_context():
        province = db.session.get(Agency, world.province_id)
        province_code = create_code(province, "Quầy 5", "XAY_DUNG").code
        # Answered with the 2025 wording; the others with the current one.
        store(world.code_a, local(2025, 1, 2, 8, 15), "a1", comment=VIETNAMESE,
              q8=["speed", "online"], dossier="HS-1", questionnaire=SIPAS_2025_SHORT)  # fmt: skip
        store(world.code_a, local(2025, 1, 3), "a2", dossier="HS-1")  # a duplicate
        store(world.code_a, local(2025, 2, 3), "a3", comment=FORMULA, q1="2")
        store(world.code_a, local(2025, 2, 4), "a4", comment="-2 điểm vì chờ lâu", q7="yes",
              q8=["speed"])
        flag(store(world.code_a, local(2025, 2, 5), "a5"))
        for n in range(3):
            store(world.code_b, local(2025, 3, 1 + n), f"b{n}", q1="3", q6=str(3 + n % 3))
        store(province_code, local(2025, 3, 31, 23, 30), "p1", q2="1")
        store(province_code, local(2025, 4, 1, 0, 30), "p2")  # the next local day: left out
        db.session.commit()


def download(client, path: str, **params: Any) -> tuple[Any, bytes]:
    with client.get(path, query_string=params) as result:
        return result, result.get_data()


def csv_lines(body: bytes) -> list[list[str]]:
    """Read the file as Excel does with Vietnamese regional settings: «;» between cells."""
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


def csv_rows(body: bytes) -> list[list[str]]:
    """Return the header and the rows, after the lines that say what the file holds."""
    lines = csv_lines(body)
    assert [line[0] for line in lines[:4]] == ABOUT_LABELS and lines[4] == []
    return lines[5:]


def csv_number(text: str) -> float:
    return float(text.replace(",", "."))


def file_stem(result: Any) -> str:
    match = FILE_NAME.fullmatch(result.headers["Content-Disposition"])
    assert match, result.headers["Content-Disposition"]
    return match["stem"]


def xlsx_rows(body: bytes) -> list[tuple[Any, ...]]:
    workbook = load_workbook(io.BytesIO(body))
    return [tuple(cell.value for cell in row) for row in workbook.active.iter_rows()]


def xlsx_about(body: bytes) -> dict[str, Any]:
    sheet = load_workbook(io.BytesIO(body))["Thông tin"]
    return {row[0].value: row[1].value for row in sheet.iter_rows()}


# Responses -----------------------------------------------------------------------------------


def test_responses_csv_opens_with_vietnamese_intact(app, world, stored):
    client = world.login(app.test_client(), "manager_province")
    result, body = download(client, "/exports/responses.csv", **Q1)
    assert result.status_code == 200
    assert result.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert file_stem(result) == "responses_2025-01-01_2025-03-31_targets-2025"
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.count(b"\r\n") == body.count(b"\n")
    header, *rows = csv_rows(body)
    assert header == RESPONSE_HEADER
    by_comment = {row[14]: dict(zip(header, row, strict=True)) for row in rows}
    assert len(rows) == 9  # every status, but not 00:30 on 1 April
    first = by_comment[VIETNAMESE]
    assert first["Thời điểm gửi"] == "02/01/2025 08:15:00"
    assert (first["Mã đơn vị"], first["Quầy"], first["Mã lĩnh vực"]) == (
        "XA-A", "Quầy 1", "DAT_DAI")
    assert (first["Câu 4"], first["Câu 7"], first["Trạng thái"]) == ("", "Không", "Được tính")
    # The wishes in the form's order, by the names the citizen read in that version.
    assert first["Câu 8"] == "Rút ngắn thời gian giải quyết; Dịch vụ công trực tuyến"
    assert (first["Trạng thái (mã)"], first["Câu 7 (mã)"], first["Câu 8 (mã)"]) == (
        "counted", "no", "online;speed")
    assert first["Phiên bản phiếu"] == "sipas-2025-short"
    later = by_comment["'-2 điểm vì chờ lâu"]
    assert (later["Câu 7"], later["Câu 8"], later["Phiên bản phiếu"]) == (
        "Có", "Thời gian giải quyết", "sipas-2026-short")
    status, reason = header.index("Trạng thái"), header.index("Lý do (mã)")
    statuses = sorted((row[status], row[reason]) for row in rows)
    assert ("Trùng mã hồ sơ", "dossier_repeat") in statuses
    assert ("Bị đánh dấu", "manual:abuse") in statuses
    assert max(row[0] for row in rows) == next(
        row[0] for row in rows if row[1] == "31/03/2025 23:30:00")


def test_a_formula_in_a_comment_stays_text(app, world, stored):
    client = world.login(app.test_client(), "manager_a")
    _result, body = download(client, "/exports/responses.csv", **Q1)
    comments = [row[14] for row in csv_rows(body)[1:]]
    assert "'" + FORMULA in comments and FORMULA not in comments
    assert "'-2 điểm vì chờ lâu" in comments
    assert VIETNAMESE in comments  # ordinary text is left alone

    _result, body = download(client, "/exports/responses.xlsx", **Q1)
    sheet = load_workbook(io.BytesIO(body)).active
    [cell] = [row[14] for row in sheet.iter_rows(min_row=2) if row[14].value == FORMULA]
    assert cell.data_type == "s"  # a string, as typed: Excel shows it and never runs it
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in xml and "<f " not in xml


def test_responses_xlsx_has_the_same_rows(app, world, stored):
    client = world.login(app.test_client(), "manager_province")
    result, body = download(client, "/exports/responses.xlsx", **Q1, agency="XA-A")
    assert result.status_code == 200
    assert result.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert file_stem(result) == "responses_2025-01-01_2025-03-31_XA-A_targets-2025"
    about = xlsx_about(body)
    assert about["Khoảng thời gian"] == "01/01/2025 – 31/03/2025"
    assert about["Bộ lọc"] == "Đơn vị: Xã A; Tất cả lĩnh vực"
    assert about["Năm chỉ tiêu"] == "2025"
    header, *rows = xlsx_rows(body)
    assert list(header) == RESPONSE_HEADER
    assert len(rows) == 5 and {row[2] for row in rows} == {"XA-A"}
    first = next(row for row in rows if row[14] == VIETNAMESE)
    assert first[1] == datetime(2025, 1, 2, 8, 15)  # local wall-clock time, a real date
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet.cell(row=2, column=2).number_format == "dd/mm/yyyy hh:mm"  # shown as typed here
    wishes = RESPONSE_HEADER.index("Câu 8 (mã)")
    assert (first[3], first[6], first[9], first[wishes]) == ("Quầy 1", 5, None, "online;speed")
    _csv_result, csv_body = download(client, "/exports/responses.csv", **Q1, agency="XA-A")
    assert [row[0] for row in csv_rows(csv_body)[1:]] == [str(row[0]) for row in rows]


def test_responses_are_read_in_batches_and_each_written_once(app, world, stored, monkeypatch):
    monkeypatch.setattr(export_views, "BATCH_SIZE", 2)
    client = world.login(app.test_client(), "admin")
    with client.get("/exports/responses.csv", query_string=Q1) as result:
        assert result.is_streamed
        body = result.get_data()
    ids = [int(row[0]) for row in csv_rows(body)[1:]]
    assert len(ids) == 9 and ids == sorted(set(ids))
    _result, body = download(client, "/exports/responses.xlsx", **Q1)
    assert [row[0] for row in xlsx_rows(body)[1:]] == ids


# Tallies -------------------------------------------------------------------------------------


def expected_report(app, world, agency_ids=None):
    with app.app_context():
        return build_report(db.session, TallyFilter(parse_period(Q1["from"], Q1["to"]),
                                                    agency_ids))  # fmt: skip


SCOPE_CODES = ["all", "LAND", "CONSTRUCTION", "INVESTMENT", "LAND_CONSTRUCTION_INVESTMENT"]
O_NAME, S_NAME = "Hài lòng về giải quyết TTHC", "Chỉ số hài lòng (tính theo phương pháp SIPAS)"


def by_header(header: list[str], row: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(header, row, strict=True))


def test_tallies_csv_has_every_scope_sector_and_agency(app, world, stored):
    client = world.login(app.test_client(), "manager_province")
    result, body = download(client, "/exports/tallies.csv", **Q1)
    assert result.status_code == 200
    assert file_stem(result) == "tallies_2025-01-01_2025-03-31_targets-2025"
    assert body.startswith(b"\xef\xbb\xbf") and body.count(b"\r\n") == body.count(b"\n")
    header, *rows = csv_rows(body)
    assert header[:4] == ["Loại", "Tên", "Phiếu được tính", "Phiếu không được tính"]
    assert header[-1] == "Mã"
    assert all(len(row) == len(header) for row in rows)
    # The province's row covers its communes too (as its own filter does); a second row
    # holds its own counters alone.
    assert [(row[0], row[-1]) for row in rows] == [
        *(("Phạm vi chỉ tiêu", code) for code in SCOPE_CODES),
        ("Lĩnh vực", "DAT_DAI"), ("Lĩnh vực", "XAY_DUNG"), ("Lĩnh vực", "HO_TICH"),
        ("Đơn vị (gồm các đơn vị do đơn vị này theo dõi)", "TINH"),
        ("Đơn vị (riêng quầy của đơn vị)", "TINH"),
        ("Đơn vị", "XA-A"), ("Đơn vị", "XA-B"),
    ]  # fmt: skip
    rows_by = {(row[0], row[-1]): by_header(header, row) for row in rows}
    report = expected_report(app, world)
    everything = report.scopes["all"]
    whole = rows_by[("Phạm vi chỉ tiêu", "all")]
    assert (whole["Tên"], whole["Phiếu được tính"], whole["Phiếu không được tính"]) == (
        "Tất cả lĩnh vực", "7", "2")
    assert (whole["Trong đó: trùng mã hồ sơ"], whole["Trong đó: bị đánh dấu"]) == ("1", "1")
    # Shares to one decimal, with a decimal comma, as the screen shows them.
    assert re.fullmatch(r"\d+,\d", whole[f"{S_NAME} (%)"])
    assert csv_number(whole[f"{S_NAME} (%)"]) == round(everything.scores.sipas_index, 1)
    assert csv_number(whole[f"{S_NAME}: cận dưới 95%"]) == round(everything.scores.sipas_low, 1)
    assert csv_number(whole[f"{O_NAME} (%)"]) == round(everything.scores.overall.share, 1)
    assert csv_number(whole["Yếu tố 1: tỷ lệ hài lòng (%)"]) == round(
        everything.scores.elements["q1"].share, 1)
    assert whole["Yếu tố 4: tỷ lệ hài lòng (%)"] == ""  # everyone answered N/A: no share
    assert whole["Yếu tố 4: số phiếu hợp lệ"] == "0"
    # Each indicator against its own target: O 90, S 85 for all sectors; 7 are too few.
    assert (whole[f"{O_NAME}: chỉ tiêu (%)"], whole[f"{O_NAME}: kết quả so với chỉ tiêu"]) == (
        "90,0", "Chưa đủ mẫu")
    assert (whole[f"{S_NAME}: chỉ tiêu (%)"], whole[f"{S_NAME}: kết quả so với chỉ tiêu"]) == (
        "85,0", "Chưa đủ mẫu")
    # Raw beside counted: every stored response, the duplicate and the flagged one too.
    assert whole["Tất cả phiếu đã lưu"] == "9"
    assert csv_number(whole[f"{S_NAME}, tất cả phiếu đã lưu (%)"]) == round(
        everything.raw_scores.sipas_index, 1)
    pooled = rows_by[("Phạm vi chỉ tiêu", "LAND_CONSTRUCTION_INVESTMENT")]
    assert pooled["Tên"] == "Đất đai, xây dựng, đầu tư (gộp)"
    assert pooled[f"{O_NAME}: chỉ tiêu (%)"] == "85,0"
    land = rows_by[("Lĩnh vực", "DAT_DAI")]
    assert (land["Tên"], land["Phiếu được tính"], land["Phiếu không được tính"]) == (
        "Đất đai", "3", "2")
    assert rows_by[("Lĩnh vực", "HO_TICH")]["Tên"] == "Hộ tịch"
    commune = rows_by[("Đơn vị", "XA-A")]
    assert (commune["Tên"], commune["Phiếu được tính"]) == ("Xã A", "3")
    province = rows_by[("Đơn vị (gồm các đơn vị do đơn vị này theo dõi)", "TINH")]
    assert province["Tên"] == "Trung tâm Phục vụ hành chính công tỉnh"
    assert province["Phiếu được tính"] == whole["Phiếu được tính"] == "7"
    assert rows_by[("Đơn vị (riêng quầy của đơn vị)", "TINH")]["Phiếu được tính"] == "1"


def test_tallies_xlsx_matches_the_csv(app, world, stored):
    client = world.login(app.test_client(), "manager_a")
    result, body = download(client, "/exports/tallies.xlsx", **Q1)
    assert result.status_code == 200
    assert file_stem(result) == "tallies_2025-01-01_2025-03-31_targets-2025"
    header, *rows = xlsx_rows(body)
    assert [row[-1] for row in rows] == [*SCOPE_CODES, "DAT_DAI", "XA-A"]
    report = expected_report(app, world, frozenset({world.a_id}))
    land = by_header(list(header), next(row for row in rows if row[-1] == "LAND"))
    figures = report.scopes["LAND"]
    assert (land["Tên"], land["Phiếu được tính"], land["Phiếu không được tính"]) == (
        "Đất đai", 3, 2)
    assert land[f"{S_NAME} (%)"] == round(figures.scores.sipas_index, 1)
    assert land["Yếu tố 1: tỷ lệ hài lòng (%)"] == round(figures.scores.elements["q1"].share, 1)
    assert (land[f"{O_NAME}: chỉ tiêu (%)"], land[f"{O_NAME}: kết quả so với chỉ tiêu"]) == (
        85.0, "Chưa đủ mẫu")
    sheet = load_workbook(io.BytesIO(body)).active
    column = list(header).index(f"{S_NAME} (%)") + 1
    assert sheet.cell(row=2, column=column).number_format == "0.0"  # shown to one decimal
    _result, csv_body = download(client, "/exports/tallies.csv", **Q1)
    assert [row[-1] for row in csv_rows(csv_body)[1:]] == [row[-1] for row in rows]


def test_a_sector_filter_judges_every_row_by_that_sector_s_targets(app, world):
    """Investment alone: O of 35 in 40 is 87.5%, met against 85 but not surely; one cell."""
    with app.app_context():
        agency_b = db.session.get(Agency, world.b_id)
        investment = create_code(agency_b, "Quầy 2", "DAU_TU").code
        for n in range(40):
            store(investment, local(2025, 2, 1 + n % 20, 9, n), f"inv-{n}",
                  q6="4" if n < 35 else "2")  # fmt: skip
        db.session.commit()
    client = world.login(app.test_client(), "admin")
    result, body = download(client, "/exports/tallies.xlsx", **Q1, sector="DAU_TU")
    assert result.status_code == 200
    header, *rows = xlsx_rows(body)
    verdict, target = f"{O_NAME}: kết quả so với chỉ tiêu", f"{O_NAME}: chỉ tiêu (%)"
    judged = {(row[0], row[-1]): by_header(list(header), row) for row in rows}
    # The sector's row stands for the scopes: no «Tất cả lĩnh vực» row judging the same
    # 40 responses against 90.
    assert set(judged) == {("Lĩnh vực", "DAU_TU"), ("Đơn vị", "XA-B"),
                           ("Đơn vị (gồm các đơn vị do đơn vị này theo dõi)", "TINH"),
                           ("Đơn vị (riêng quầy của đơn vị)", "TINH")}
    for key in (("Lĩnh vực", "DAU_TU"), ("Đơn vị", "XA-B"),
                ("Đơn vị (gồm các đơn vị do đơn vị này theo dõi)", "TINH")):
        assert (judged[key][target], judged[key][verdict]) == (85.0, "Đạt (chưa chắc chắn)"), key
    # The API says the same of the same figure.
    with app.app_context():
        investment_id = db.session.scalar(select(Sector.id).where(Sector.code == "DAU_TU"))
        api = report_dict(build_report(db.session, TallyFilter(
            parse_period(Q1["from"], Q1["to"]), sector_ids=frozenset({investment_id}))))
    overall = next(t for t in api["sectors"]["DAU_TU"]["targets"] if t["metric"] == "overall")
    assert (overall["threshold"], overall["status"], overall["uncertain"]) == (85.0, "met", True)


# Who may download, and the record of it --------------------------------------------------------

PATHS = ["/exports/tallies.csv", "/exports/tallies.xlsx",
         "/exports/responses.csv", "/exports/responses.xlsx"]  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
def test_staff_and_visitors_cannot_download(app, world, stored, path):
    staff = world.login(app.test_client(), "staff_a")
    assert download(staff, path, **Q1)[0].status_code == 403
    result, _body = download(app.test_client(), path, **Q1)
    assert result.status_code == 302 and result.headers["Location"].startswith("/login")
    assert downloads(app) == []


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"period": "next_year"}, 400),
        ({"from": "31/02/2025", "to": "31/03/2025"}, 400),
        ({"from": "2025-03-31", "to": "2025-01-01"}, 400),
        ({**Q1, "counter": "quay-1"}, 400),
        ({**Q1, "agency": "XA-B"}, 403),
        ({**Q1, "agency": "TINH"}, 403),
        ({**Q1, "agency": "KHONG-CO"}, 404),
        ({**Q1, "sector": "KHONG_CO"}, 404),
    ],
)
def test_a_commune_manager_downloads_only_their_commune(app, world, path, params, status):
    client = world.login(app.test_client(), "manager_a")
    assert download(client, path, **params)[0].status_code == status
    assert downloads(app) == []


def test_each_download_is_audited_before_the_file_is_sent(app, world, stored):
    client = world.login(app.test_client(), "manager_a")
    with client.get("/exports/responses.csv", query_string={**Q1, "sector": "DAT_DAI"}) as result:
        # The headers are out and no row has been read yet: the entry is already there.
        [event] = downloads(app)
        body = result.get_data()
    assert event.actor_email == "lanhdao.a@xa.example"
    assert event.details == {
        "kind": "responses.csv",
        "filters": {**Q1, "sector": "DAT_DAI"},
        "rows": len(csv_rows(body)) - 1,
    }
    download(client, "/exports/responses.xlsx", **Q1)
    download(client, "/exports/tallies.csv", **Q1)
    download(client, "/exports/tallies.xlsx", **Q1, agency="XA-A")
    kinds = [(e.details["kind"], e.details["rows"]) for e in downloads(app)[1:]]
    assert kinds == [("responses.xlsx", 5), ("tallies.csv", 7), ("tallies.xlsx", 7)]
    assert downloads(app)[-1].details["filters"] == {**Q1, "agency": "XA-A"}


def test_a_streamed_download_gives_its_database_connection_back(tmp_path, monkeypatch):
    """The rows are read after the view returned: that session must be closed at the end.

    The other tests share one connection; this one runs on a pooled engine of its own.
    """
    from survey_app.services.accounts import create_user

    app = seeded_app(f"sqlite:///{tmp_path / 'pooled.sqlite3'}")
    with app.app_context():
        agency = create_agency("XA-C", "Xã C", "commune")
        code = create_code(agency, "Quầy 1", "DAT_DAI").code
        create_user(db.session, "lanhdao.c@xa.example", PASSWORD, "manager", agency)
        for n in range(5):
            store(code, local(2025, 1, 2 + n), f"pooled-{n}")
        db.session.commit()
    engine = db.engine_for(app)
    try:
        client = sign_in(app.test_client(), "lanhdao.c@xa.example")
        monkeypatch.setattr(export_views, "BATCH_SIZE", 2)
        with client.get("/exports/responses.csv", query_string=Q1) as result:
            assert len(csv_rows(result.get_data())) == 6
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()


# The pages' own filters ----------------------------------------------------------------------


def test_a_download_reads_the_filters_as_the_pages_write_them(app, world, stored):
    client = world.login(app.test_client(), "manager_province")
    typed = {"from": "1/1/2025", "to": "31/03/2025", "agency": "XA-A"}  # as on the dashboard
    quarter = {"year": "2025", "quarter": "1", "agency": "XA-A"}  # as on the quarterly report
    bodies = []
    for params in ({**Q1, "agency": "XA-A"}, typed, quarter):
        result, body = download(client, "/exports/tallies.csv", **params)
        assert result.status_code == 200, params
        assert file_stem(result) == "tallies_2025-01-01_2025-03-31_XA-A_targets-2025"
        about = dict(line[:2] for line in csv_lines(body)[:4])
        assert about["Khoảng thời gian"] == "01/01/2025 – 31/03/2025"
        assert about["Bộ lọc"] == "Đơn vị: Xã A; Tất cả lĩnh vực"
        bodies.append(csv_rows(body))
    assert bodies[0] == bodies[1] == bodies[2]
    result, body = download(client, "/exports/responses.csv", period="this_quarter",
                            agency="XA-A", sector="DAT_DAI")  # fmt: skip
    assert result.status_code == 200
    about = dict(line[:2] for line in csv_lines(body)[:4])
    assert about["Bộ lọc"] == "Đơn vị: Xã A; Lĩnh vực: Đất đai"


def test_each_page_links_its_figures_with_its_filters(app, world, stored):
    client = world.login(app.test_client(), "manager_province")
    page = client.get("/dashboard/", query_string={**typed_q1(), "agency": "XA-A", "sort": "name"})
    html = page.get_data(as_text=True)
    assert "/exports/tallies.xlsx?from=01/01/2025&amp;to=31/03/2025&amp;agency=XA-A" in html
    assert "/exports/tallies.csv?from=01/01/2025&amp;to=31/03/2025&amp;agency=XA-A" in html
    assert "sort=" not in html.split("/exports/tallies.xlsx", 1)[1].split('"', 1)[0]
    report = client.get("/dashboard/report", query_string={"year": "2025", "quarter": "1"})
    assert "/exports/tallies.xlsx?year=2025&amp;quarter=1" in report.get_data(as_text=True)
    # Opened on its default, the last whole quarter, the report names it in the address.
    default = client.get("/dashboard/report").get_data(as_text=True)
    assert re.search(r"/exports/tallies.csv\?year=\d{4}&amp;quarter=[1-4]\"", default)
    comments = client.get("/review/comments", query_string={
        "period": "custom", "from": "2025-01-01", "to": "2025-03-31", "agency": "XA-A"})
    assert ("/exports/responses.csv?from=2025-01-01&amp;to=2025-03-31&amp;agency=XA-A"
            in comments.get_data(as_text=True))


def typed_q1() -> dict[str, str]:
    return {"from": "01/01/2025", "to": "31/03/2025"}


def test_the_english_csv_is_written_for_english_settings(app, world, stored):
    client = world.login(app.test_client(), "manager_a")
    _result, body = download(client, "/exports/tallies.csv", **Q1, lang="en")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert [len(line) for line in lines[:5]] == [2, 2, 2, 2, 0]  # «,» between cells
    header, *rows = lines[5:]
    assert all(len(row) == len(header) for row in rows) and len(header) > 30
    assert "85.0" in rows[0] and "85,0" not in rows[0]  # a decimal point
