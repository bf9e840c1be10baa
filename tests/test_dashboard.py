"""What a manager sees on the dashboard and the quarterly report, from real responses.

Responses are stored through the survey's own service, so the rollup tables are kept the
way they are in production; every expected figure below is worked out by hand.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from survey_app.dashboard import charts
from survey_app.dashboard.services import last_complete_quarter, local_today, trend_period
from survey_app.extensions import db
from survey_app.models import SurveyCode
from survey_app.questionnaire import CURRENT
from survey_app.survey.services import record_response
from survey_app.tallies import Period
from tests.conftest import World, create_code

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
Q1_2025 = "from=2025-01-01&to=2025-03-31"
FEBRUARY = datetime(2025, 2, 10, 9, 30, tzinfo=HANOI)


# Building responses ---------------------------------------------------------------------


def answers(q1_to_q5: Any, q6: Any = None, q7: str | None = None,
            q8: tuple[str, ...] = (), dossier: str = "") -> dict[str, Any]:
    """Return form answers: one value for every element, or a tuple of five."""
    values = q1_to_q5 if isinstance(q1_to_q5, tuple) else (q1_to_q5,) * 5
    result = {f"q{k}": _form_value(v) for k, v in enumerate(values, start=1)}
    result["q6"] = _form_value(q6 if q6 is not None else values[0])
    result.update(q7=q7, q8=list(q8), comment="", dossier=dossier)
    return result


def _form_value(value: int | None) -> str:
    return "na" if value is None else str(value)


def record(app, code: str, many: list[dict[str, Any]], at: datetime = FEBRUARY) -> None:
    """Store responses through the survey service, as the citizen's form does."""
    with app.app_context():
        survey_code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
        for one in many:
            record_response(db.session, survey_code, CURRENT, one, secrets.token_hex(12), "vi",
                            now=at)
        db.session.commit()


def satisfied_and_not(satisfied: int, total: int) -> list[dict[str, Any]]:
    """Return `total` responses, `satisfied` of them «Hài lòng» on every question."""
    return [answers(4)] * satisfied + [answers(2)] * (total - satisfied)


def new_code(app, agency_id: int, counter: str, sector: str) -> str:
    from survey_app.models import Agency

    with app.app_context():
        code = create_code(db.session.get(Agency, agency_id), counter, sector).code
        db.session.commit()
    return code


# Reading pages ------------------------------------------------------------------------


def text_of(fragment: str) -> str:
    """Return the words of an HTML fragment, tags removed and spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def card(html: str, key: str) -> str:
    match = re.search(rf'<article class="card card-{key}\b.*?</article>', html, re.S)
    assert match, f"no card {key!r} on the page"
    return text_of(match.group(0))


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    assert match, f"no section {section_id!r} on the page"
    return match.group(0)


def table_rows(fragment: str) -> list[str]:
    """Return each body row of the first table in a fragment, as words."""
    body = re.search(r"<tbody>(.*?)</tbody>", fragment, re.S)
    assert body, "no table body"
    return [text_of(row) for row in re.findall(r"<tr.*?</tr>", body.group(1), re.S)]


def get(client, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def province(app, world: World):
    """The province's manager, signed in."""
    return world.login(app.test_client(), "manager_province")


# Who may open it ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/report", "/dashboard/method"])
@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 302), ("staff_a", 403), ("manager_a", 200), ("manager_province", 200),
     ("admin", 200)],
)
def test_only_managers_and_admins_open_the_dashboard(app, world, path, persona, expected):
    response = world.login(app.test_client(), persona).get(path)
    assert response.status_code == expected
    if expected == 302:
        assert response.headers["Location"].startswith("/login")


# The headline cards ---------------------------------------------------------------------


def test_land_with_40_responses_at_85_percent_meets_its_target(app, world, province):
    record(app, world.code_a, satisfied_and_not(34, 40))  # Xã A · Đất đai
    status, html = get(province, f"/dashboard/?{Q1_2025}")
    assert status == 200
    land = card(html, "land")
    assert "85,0%" in land and "40 phiếu" in land and "Chỉ tiêu ≥ 85%" in land
    # 34 of 40: Wilson 70.9–92.9 contains 85, so the verdict is not yet certain.
    assert "Đạt (chưa chắc chắn)" in land and "Chưa đạt" not in land
    assert "Khoảng tin cậy 95%: 70,9% – 92,9%" in land
    # The same responses are all the sectors there are, judged against 90.
    everything = card(html, "all")
    assert "85,0%" in everything and "Chưa đạt (chưa chắc chắn)" in everything
    assert "Chỉ tiêu ≥ 90%" in everything
    assert "Chỉ tiêu năm 2025" in html
    assert "status-met" in section(html, "headline") and "status-below" in html


def test_twenty_responses_are_not_enough_to_judge(app, world, province):
    record(app, world.code_a, satisfied_and_not(20, 20))
    html = get(province, f"/dashboard/?{Q1_2025}")[1]
    land = card(html, "land")
    assert "100,0%" in land and "20 phiếu" in land
    assert "Chưa đủ mẫu" in land
    assert "Đạt" not in land.replace("Chưa đạt", "")
    assert "chưa chắc chắn" not in land
    assert "Chưa đủ mẫu" in card(html, "construction")  # no response at all: nothing to judge


def test_clear_result_is_not_marked_uncertain(app, world, province):
    record(app, world.code_a, satisfied_and_not(60, 60))
    land = card(get(province, f"/dashboard/?{Q1_2025}")[1], "land")
    # 60 of 60: the interval 94.0–100 lies above 85.
    assert "Đạt" in land and "chưa chắc chắn" not in land


def test_land_construction_investment_are_pooled_not_averaged(app, world, province):
    construction = new_code(app, world.a_id, "Quầy 2", "XAY_DUNG")
    record(app, world.code_a, [answers(5)] * 10)  # land: 100%
    record(app, construction, [answers(4)] * 20 + [answers(3)] * 20)  # construction: 50%
    html = get(province, f"/dashboard/?{Q1_2025}")[1]
    assert "100,0%" in card(html, "land")
    assert "50,0%" in card(html, "construction")
    pooled = card(html, "land_construction_investment")
    # 30 satisfied of 50 on each element: 60%, not the 75% an average of 100 and 50 gives.
    assert "60,0%" in pooled and "50 phiếu" in pooled and "75,0%" not in pooled
    assert "Chưa đạt" in pooled


def test_overall_share_is_shown_beside_the_index(app, world, province):
    record(app, world.code_a, [answers(4, q6=5)] * 30 + [answers(4, q6=1)] * 10)
    overall = card(get(province, f"/dashboard/?{Q1_2025}")[1], "overall")
    assert "75,0%" in overall and "40 câu trả lời" in overall
    assert "Đạt" not in overall  # no target of its own


# The worked example of the methodology, to the last digit -------------------------------


def worked_example() -> list[dict[str, Any]]:
    """The 40 responses of docs/methodology.md §8 (a commune, land, one month)."""

    def column(*counts_5_to_1: int, na: int = 0) -> list[int | None]:
        values: list[int | None] = []
        for value, count in zip((5, 4, 3, 2, 1), counts_5_to_1, strict=True):
            values += [value] * count
        return values + [None] * na

    q = {
        "q1": column(20, 16, 3, 1, 0),
        "q2": column(18, 17, 4, 0, 1),
        "q3": column(25, 13, 2, 0, 0),
        "q4": column(15, 12, 2, 1, 0, na=10),
        "q5": column(3, 3, 1, 1, 0, na=32),
        "q6": column(22, 15, 2, 1, 0),
    }
    q7 = ["no"] * 30 + ["yes"] + ["decline"] * 4 + [None] * 5
    codes = (["speed"] * 12 + ["online"] * 9 + ["facilities"] * 6 + ["attitude"] * 3
             + ["guidance"] * 2 + ["transparency", "feedback"])
    # 25 people answered q8: each takes one code, and the first nine a second one.
    wishes = [[codes[i]] + ([codes[25 + i]] if i < 9 else []) for i in range(25)]
    wishes += [[] for _ in range(15)]
    return [
        answers(tuple(q[f"q{k}"][i] for k in range(1, 6)), q6=q["q6"][i], q7=q7[i],
                q8=tuple(wishes[i]))
        for i in range(40)
    ]


def test_worked_example_of_the_methodology(app, world, province):
    record(app, world.code_a, worked_example())
    html = get(province, f"/dashboard/?{Q1_2025}")[1]

    land = card(html, "land")
    assert "87,5%" in land and "40 phiếu" in land and "69,9% – 95,7%" in land
    assert "Đạt (chưa chắc chắn)" in land
    assert "Chưa đạt (chưa chắc chắn)" in card(html, "all")
    assert "92,5%" in card(html, "overall")

    elements = table_rows(section(html, "elements"))
    assert elements == [
        "Tiếp cận dịch vụ 36 / 40 90,0% 76,9% – 96,0%",
        "Thủ tục hành chính 35 / 40 87,5% 73,9% – 94,5%",
        "Công chức trực tiếp giải quyết công việc 38 / 40 95,0% 83,5% – 98,6%",
        "Kết quả giải quyết 27 / 30 90,0% 74,4% – 96,5%",
        "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị thấp nhất 6 / 8 75,0% "
        "40,9% – 92,9%",
    ]
    integrity = text_of(section(html, "integrity"))
    assert "96,8%" in integrity and "31 người trả lời" in integrity
    assert "1 người cho biết có gặp phiền hà" in integrity
    wishes = table_rows(section(html, "wishes"))
    assert wishes == [
        "Rút ngắn thời gian giải quyết 12 48,0%",
        "Dịch vụ công trực tuyến 9 36,0%",
        "Cơ sở vật chất, trang thiết bị 6 24,0%",
        "Thái độ phục vụ 3 12,0%",
        "Năng lực hướng dẫn của công chức 2 8,0%",
        "Công khai, minh bạch thông tin 1 4,0%",
        "Tiếp nhận, xử lý phản ánh, kiến nghị 1 4,0%",
    ]


def test_elements_chart_draws_five_bars_and_the_target(app, world, province):
    record(app, world.code_a, worked_example())
    chart = section(get(province, f"/dashboard/?{Q1_2025}")[1], "elements")
    svg = re.search(r"<svg.*?</svg>", chart, re.S)
    assert svg
    assert svg.group(0).count("<rect") == 5
    assert "stroke-dasharray" in svg.group(0)  # the target line
    assert "Chỉ tiêu ≥ 90%" in svg.group(0)
    assert "(thấp nhất)" in svg.group(0)


# Periods in local time ----------------------------------------------------------------


def test_period_ends_at_midnight_in_vietnam(app, world, province):
    record(app, world.code_a, [answers(5)], at=datetime(2025, 3, 31, 23, 30, tzinfo=HANOI))
    record(app, world.code_a, [answers(1)] * 2, at=datetime(2025, 4, 1, 0, 30, tzinfo=HANOI))
    march = card(get(province, "/dashboard/?from=2025-03-01&to=2025-03-31")[1], "all")
    assert "1 phiếu" in march and "100,0%" in march
    april = card(get(province, "/dashboard/?from=2025-04-01&to=2025-04-30")[1], "all")
    assert "2 phiếu" in april and "0,0%" in april


def test_dates_are_written_as_people_write_them(app, world, province):
    record(app, world.code_a, [answers(5)], at=datetime(2025, 3, 31, 23, 30, tzinfo=HANOI))
    status, html = get(province, "/dashboard/?from=01/03/2025&to=31/03/2025")
    assert status == 200
    assert "01/03/2025 – 31/03/2025" in text_of(html) and "1 phiếu" in card(html, "all")
    assert 'value="custom" selected' in html or 'selected value="custom"' in html


def test_monthly_trend_lists_twelve_months_to_the_period_end(app, world, province):
    record(app, world.code_a, satisfied_and_not(27, 30))
    html = get(province, f"/dashboard/?{Q1_2025}")[1]
    rows = table_rows(section(html, "trend"))
    assert [row.split()[0] for row in rows] == [
        "04/2024", "05/2024", "06/2024", "07/2024", "08/2024", "09/2024", "10/2024",
        "11/2024", "12/2024", "01/2025", "02/2025", "03/2025",
    ]
    assert rows[10] == "02/2025 30 90,0% 90,0% ✓ Đạt (chưa chắc chắn)"
    assert rows[0] == "04/2024 0 — — … Chưa đủ mẫu"
    assert "<polyline" not in section(html, "trend")  # one month alone draws a point
    assert "<circle" in section(html, "trend")


def test_trend_period_covers_a_long_period_whole():
    assert trend_period(Period(datetime(2023, 5, 17).date(), datetime(2025, 2, 3).date())) == \
        Period(datetime(2023, 5, 1).date(), datetime(2025, 2, 3).date())
    assert trend_period(Period(datetime(2025, 3, 1).date(), datetime(2025, 3, 31).date())) == \
        Period(datetime(2024, 4, 1).date(), datetime(2025, 3, 31).date())


# Scope ----------------------------------------------------------------------------------


def test_commune_manager_cannot_read_another_commune(app, world):
    record(app, world.code_a, satisfied_and_not(30, 31))
    record(app, world.code_b, satisfied_and_not(10, 37))
    client = world.login(app.test_client(), "manager_a")
    status, html = get(client, f"/dashboard/?{Q1_2025}&agency=XA-B")
    assert status == 403
    assert "không thuộc phạm vi" in html
    assert "37 phiếu" not in html and "Xã B" not in html and "27,0%" not in html
    # Without an agency, the commune manager sees their own commune only.
    status, html = get(client, f"/dashboard/?{Q1_2025}")
    assert status == 200
    agencies = table_rows(section(html, "by-agency"))
    assert len(agencies) == 1 and agencies[0].startswith("Xã A XA-A 31")
    assert "31 phiếu" in card(html, "all")
    assert "Xã B" not in html
    assert "Hộ tịch" not in section(html, "by-sector")


def test_counter_of_another_commune_is_refused(app, world):
    client = world.login(app.test_client(), "manager_a")
    status, html = get(client, f"/dashboard/?{Q1_2025}&counter={world.counter_b_id}")
    assert status == 403 and "không thuộc phạm vi" in html


def test_province_manager_sees_both_communes(app, world, province):
    record(app, world.code_a, satisfied_and_not(30, 31))
    record(app, world.code_b, satisfied_and_not(10, 37))
    html = get(province, f"/dashboard/?{Q1_2025}")[1]
    agencies = table_rows(section(html, "by-agency"))
    assert any(row.startswith("Xã A XA-A 31 ") for row in agencies)
    assert any(row.startswith("Xã B XA-B 37 ") for row in agencies)
    # The province's centre has no response yet: listed, and not judged.
    assert any(row.startswith("Trung tâm Phục vụ hành chính công tỉnh TINH 0 — —")
               for row in agencies)
    assert "68 phiếu" in card(html, "all")
    # Commune B alone, by its code.
    one = card(get(province, f"/dashboard/?{Q1_2025}&agency=XA-B")[1], "all")
    assert "37 phiếu" in one


def test_filter_by_agency_counter_and_sector(app, world, province):
    other_counter = new_code(app, world.a_id, "Quầy 2", "DAT_DAI")
    record(app, world.code_a, [answers(5)] * 3)
    record(app, other_counter, [answers(1)] * 5)
    html = get(province, f"/dashboard/?{Q1_2025}&agency=XA-A&counter={world.counter_a_id}")[1]
    assert "3 phiếu" in card(html, "all")
    counters = table_rows(section(html, "by-counter"))
    assert len(counters) == 1 and counters[0].startswith("Quầy 1 Xã A 3")
    # The counter list offers the chosen agency's counters only.
    counter_list = re.search(r'<select[^>]*name="counter".*?</select>', html, re.S)
    assert counter_list
    assert f'value="{world.counter_a_id}"' in counter_list.group(0)
    assert f'value="{world.counter_b_id}"' not in counter_list.group(0)

    html = get(province, f"/dashboard/?{Q1_2025}&sector=DAT_DAI")[1]
    assert "8 phiếu" in card(html, "all")
    html = get(province, f"/dashboard/?{Q1_2025}&sector=HO_TICH")[1]
    assert "0 phiếu" in card(html, "all")


def test_counter_of_another_agency_says_so(app, world, province):
    status, html = get(province, f"/dashboard/?{Q1_2025}&agency=XA-A&counter={world.counter_b_id}")
    assert status == 400
    assert "Quầy đã chọn không thuộc đơn vị đã chọn" in html


# Sorting ------------------------------------------------------------------------------


def test_sort_links_reorder_the_tables(app, world, province):
    record(app, world.code_a, satisfied_and_not(20, 40))
    record(app, world.code_b, satisfied_and_not(36, 36))

    def agency_order(query: str) -> list[str]:
        html = get(province, f"/dashboard/?{Q1_2025}{query}")[1]
        return [row.split()[1] for row in table_rows(section(html, "by-agency"))
                if row.startswith("Xã")]

    assert agency_order("&sort=-n") == ["A", "B"]
    assert agency_order("&sort=n") == ["B", "A"]
    assert agency_order("&sort=index") == ["A", "B"]  # weakest first
    assert agency_order("&sort=-index") == ["B", "A"]
    assert agency_order("&sort=status") == ["A", "B"]  # below the target first
    assert agency_order("&sort=nonsense") == ["A", "B"]

    html = get(province, f"/dashboard/?{Q1_2025}")[1]
    headers = section(html, "by-agency")
    link = re.search(r'<a class="sort" href="([^"]+)">Số phiếu', headers)
    assert link and "sort=-n" in unescape(link.group(1)) and "from=2025-01-01" in link.group(1)
    followed = get(province, unescape(link.group(1)).split("#")[0])
    assert followed[0] == 200 and 'aria-sort="descending"' in followed[1]


# Counted and stored -------------------------------------------------------------------


def test_duplicates_are_stored_but_not_counted(app, world, province):
    record(app, world.code_a, [answers(5, dossier="H10-0001")] * 2 + [answers(5)])
    html = get(province, f"/dashboard/?{Q1_2025}")[1]
    assert "2 phiếu" in card(html, "all")
    counts = table_rows(section(html, "counts"))
    assert counts[0] == "Tất cả lĩnh vực 2 1 0 3"
    assert counts[1] == "Đất đai 2 1 0 3"


# Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2025-13-01&to=2025-02-01", "Ngày không hợp lệ"),
        ("from=32/01/2025&to=2025-02-01", "Ngày không hợp lệ"),
        ("from=2025-1-5&to=2025-02-01", "Ngày không hợp lệ"),
        ("from=01/01/1999&to=2025-02-01", "Ngày phải trong các năm từ 2000 đến 2100."),
        ("from=2025-03-01&to=2025-02-01", "Ngày kết thúc phải trùng hoặc sau ngày bắt đầu."),
        ("period=custom&from=2025-03-01", "Vui lòng nhập cả ngày bắt đầu và ngày kết thúc."),
        ("from=2000-01-01&to=2025-01-01", "Khoảng thời gian dài nhất là 10 năm."),
        ("from=2025-03-01", "Vui lòng nhập cả ngày bắt đầu và ngày kết thúc."),
        ("period=forever", "Vui lòng chọn một mục trong danh sách."),
        ("agency=KHONG-CO", "Không có đơn vị nào có mã KHONG-CO."),
        ("sector=KHONG_CO", "Không có lĩnh vực nào có mã KHONG_CO."),
        ("counter=abc", "Vui lòng chọn một mục trong danh sách."),
    ],
)
def test_bad_filters_say_what_is_wrong(app, world, province, query, message):
    status, html = get(province, f"/dashboard/?{query}")
    assert status == 400
    assert message in unescape(html)
    assert 'class="error-summary"' in html
    assert 'id="headline"' not in html  # no figures for a filter that was not understood


@pytest.mark.parametrize(
    "query",
    [
        "", "period=this_month", "period=this_quarter", "period=last_12_months",
        "period=this_year&sort=-status", "period=custom&from=2024-02-29&to=2024-02-29",
        "from=9999-12-31&to=9999-12-31", "from=0001-01-01&to=0001-01-02",
        "counter=99999999999999999999", "counter=-1", "counter=0", "counter=2147483647",
        "agency=%00", "sector=%20", "sort=-", "sort=--n", "lang=en&sort=overall",
        "agency=tinh&counter=2147483648", "from=2025-02-30&to=2025-03-01", "period=",
        "from=%F0%9F%98%80&to=x", "agency=XA-A&agency=XA-B",
    ],
)
@pytest.mark.parametrize("persona", ["admin", "manager_a"])
def test_no_filter_makes_a_server_error(app, world, persona, query):
    client = world.login(app.test_client(), persona)
    assert client.get(f"/dashboard/?{query}").status_code in (200, 400, 403)


@pytest.mark.parametrize(
    "query",
    ["year=2025&quarter=1", "year=1999&quarter=1", "year=abc&quarter=2", "year=2025&quarter=5",
     "year=&quarter=", "year=2025&quarter=4&agency=XA-B&sector=HO_TICH",
     "year=99999999999999999999&quarter=1", "quarter=3", "year=2100&quarter=4"],
)
def test_no_report_makes_a_server_error(app, world, query):
    client = world.login(app.test_client(), "manager_a")
    assert client.get(f"/dashboard/report?{query}").status_code in (200, 400, 403)


# The printable report -----------------------------------------------------------------


def test_quarterly_report(app, world, province):
    record(app, world.code_a, worked_example())
    record(app, world.code_b, satisfied_and_not(30, 30))
    status, html = get(province, "/dashboard/report?year=2025&quarter=1")
    assert status == 200
    words = text_of(html)
    assert "Quý I/2025" in words and "01/01/2025 – 31/03/2025" in words
    assert "Tất cả đơn vị trong phạm vi" in words and "Chỉ tiêu năm 2025" in words
    assert "Phương pháp" in words and 'href="/dashboard/method"' in html
    assert "Ngày lập" in words
    headline = table_rows(section(html, "headline"))
    assert headline[1].startswith("Đất đai 87,5% 69,9% – 95,7% 40 phiếu Chỉ tiêu ≥ 85%")
    assert headline[1].endswith("Đạt (chưa chắc chắn)")
    agencies = text_of(section(html, "by-agency"))
    assert "Xã A XA-A 40" in agencies and "Xã B XA-B 30" in agencies
    assert "Hộ tịch" in text_of(section(html, "by-sector"))
    # The second quarter has nothing yet, and says so in its figures.
    html = get(province, "/dashboard/report?year=2025&quarter=2")[1]
    assert "Quý II/2025" in html and "0 phiếu" in html


def test_report_defaults_to_the_last_whole_quarter(app, world, province):
    with app.app_context():
        year, quarter = last_complete_quarter(local_today())
    html = get(province, "/dashboard/report")[1]
    assert f"Quý {['I', 'II', 'III', 'IV'][quarter - 1]}/{year}" in html


def test_last_complete_quarter():
    assert last_complete_quarter(datetime(2025, 1, 1).date()) == (2024, 4)
    assert last_complete_quarter(datetime(2025, 5, 20).date()) == (2025, 1)
    assert last_complete_quarter(datetime(2025, 12, 31).date()) == (2025, 3)


def test_report_refuses_an_agency_outside_the_scope(app, world):
    record(app, world.code_b, satisfied_and_not(10, 37))
    client = world.login(app.test_client(), "manager_a")
    status, html = get(client, "/dashboard/report?year=2025&quarter=1&agency=XA-B")
    assert status == 403 and "37 phiếu" not in html


def test_report_with_a_bad_year_says_so(app, world, province):
    status, html = get(province, "/dashboard/report?year=abc&quarter=1")
    assert status == 400 and "Năm phải là một số từ 2000 đến 2100." in html


# The page itself ----------------------------------------------------------------------


def test_page_needs_no_script_and_no_inline_style(app, world, province):
    record(app, world.code_a, worked_example())
    for path in (f"/dashboard/?{Q1_2025}", "/dashboard/report?year=2025&quarter=1"):
        html = get(province, path)[1]
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "dashboard.css" in html


def test_figures_follow_the_language_of_the_page(app, world, province):
    record(app, world.code_a, satisfied_and_not(34, 40))
    html = get(province, f"/dashboard/?{Q1_2025}&lang=en")[1]
    assert "85.0%" in card(html, "land") and "85,0%" not in html


def test_thousands_are_grouped_the_vietnamese_way(app):
    with app.test_request_context("/"):
        from survey_app.dashboard.display import percent, responses_text

        assert responses_text(1234) == "1.234 phiếu"
        assert percent(92.44) == "92,4%"
        assert percent(84.96) == "85,0%"


def test_default_period_is_this_year(app, world, province):
    with app.app_context():
        today = local_today()
    html = get(province, "/dashboard/")[1]
    assert f"01/01/{today.year} – {today:%d/%m/%Y}" in text_of(html)
    assert re.search(r'<option selected value="this_year">|<option value="this_year" selected',
                     html)


def test_charts_escape_their_labels():
    svg = charts.bar_chart([charts.Bar("<b>&", 50.0, "50%")], title="t <x>")
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
    line = charts.line_chart([charts.Point("01/2025", None, "")], title="t", target=90.0,
                             series_text="s", target_text="c", insufficient_text="i")
    assert "<polyline" not in line and "<circle" in line  # only the legend's circle
