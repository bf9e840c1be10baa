"""What a manager sees on the dashboard and the quarterly report, from real responses.

Responses are stored through the survey's own service, so the rollup tables are kept the
way they are in production; every expected figure below is worked out by hand.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from survey_app.dashboard import charts
from survey_app.extensions import db
from survey_app.models import Response, Sector, SurveyCode, Target, TargetScope
from survey_app.services.dashboard import last_complete_quarter, local_today, trend_period
from survey_app.services.periods import Period
from survey_app.services.review import flag_response
from tests.factories import (
    LOCAL_ZONE as HANOI,
)
from tests.factories import (
    PROJECT_ROOT,
    World,
    add_code,
    fetch_page,
    heading_of,
    record,
    text_of,
    words_of,
)

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")

Q1_2025 = "from=2025-01-01&to=2025-03-31"
FEBRUARY = datetime(2025, 2, 10, 9, 30, tzinfo=HANOI)
# The 95% interval of S in the worked example, from its response-level counts.
INDEX_INTERVAL = "Khoảng tin cậy 95%: 71,2% – 95,2%"


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


def record_many(app, code: str, many: list[dict[str, Any]], at: datetime = FEBRUARY) -> list[int]:
    """Store responses through the survey service, as the citizen's form does; return ids.

    One a minute, so that no run of them looks like a burst to be flagged.
    """
    with app.app_context():
        survey_code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
        ids = [record(survey_code, at + timedelta(minutes=i), answers=one).id
               for i, one in enumerate(many)]
        db.session.commit()
    return ids


def satisfied_and_not(satisfied: int, total: int) -> list[dict[str, Any]]:
    """Return `total` responses, `satisfied` of them «Hài lòng» on every question."""
    return [answers(4)] * satisfied + [answers(2)] * (total - satisfied)


# Reading pages ------------------------------------------------------------------------


def card(html: str, key: str, words: bool = True) -> str:
    """Return the headline card of a scope, as words (or as markup)."""
    match = re.search(rf'<article class="card card-{key}".*?</article>', html, re.S)
    assert match, f"no card {key!r} on the page"
    return words_of(match.group(0)) if words else match.group(0)


def measure(html: str, key: str, indicator: str) -> str:
    """Return one indicator of a card (overall: O, sipas_index: S), as markup."""
    match = re.search(rf'<div class="measure measure-{indicator}">.*?</div>',
                      card(html, key, words=False), re.S)
    assert match, f"no {indicator} on the card {key!r}"
    return match.group(0)


VERDICT = re.compile(
    r'<span class="status status-(\w+)"><span class="status-symbol" aria-hidden="true">'
    r"(.)</span> ([^<]+)</span>"
)


def verdicts(fragment: str) -> list[tuple[str, str, str]]:
    """Return each verdict in a fragment: its class, its mark and its one label."""
    return [(key, mark, label.strip()) for key, mark, label in VERDICT.findall(fragment)]


def css() -> str:
    return (PROJECT_ROOT / "survey_app/static/dashboard.css").read_text()


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    assert match, f"no section {section_id!r} on the page"
    return match.group(0)


def table_rows(fragment: str) -> list[str]:
    """Return each body row of the first table in a fragment, as words."""
    body = re.search(r"<tbody>(.*?)</tbody>", fragment, re.S)
    assert body, "no table body"
    return [words_of(row) for row in re.findall(r"<tr.*?</tr>", body.group(1), re.S)]


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
    record_many(app, world.code_a, satisfied_and_not(34, 40))  # Xã A · Đất đai
    status, html = fetch_page(province, f"/dashboard/?{Q1_2025}")
    assert status == 200
    # 34 of 40 on every question: O and S are both 85,0%; Wilson 70,9–92,9 contains 85.
    for indicator in ("overall", "sipas_index"):
        land = measure(html, "land", indicator)
        assert "85,0%" in land and "Chỉ tiêu ≥ 85%" in land
        assert "Đạt (chưa chắc chắn)" in land and "Chưa đạt" not in land
        assert "Khoảng tin cậy 95%: 70,9% – 92,9%" in land
    assert "40 câu trả lời" in measure(html, "land", "overall")
    assert "40 phiếu" in measure(html, "land", "sipas_index")
    # The same responses are all the sectors there are: O against 90, S against 85.
    everything_o = measure(html, "all", "overall")
    assert "Chỉ tiêu ≥ 90%" in everything_o and "Chưa đạt (chưa chắc chắn)" in everything_o
    everything_s = measure(html, "all", "sipas_index")
    assert "Chỉ tiêu ≥ 85%" in everything_s and "Đạt (chưa chắc chắn)" in everything_s
    assert "Chỉ tiêu năm 2025" in html
    assert "Tham khảo, không xét đạt" not in html


def overall_and_index_apart() -> list[dict[str, Any]]:
    """400 responses: S = 89,0% (356 satisfied on every element), O = 85,0% (340 on q6)."""
    return ([answers(4, q6=4)] * 340 + [answers(4, q6=2)] * 16 + [answers(2, q6=2)] * 44)


def test_each_indicator_is_judged_against_its_own_target(app, world, province):
    record_many(app, world.code_a, overall_and_index_apart())
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    # All sectors: O 85,0% (81,2–88,1) is certainly below its 90; S 89,0% (85,6–91,8) is
    # certainly above its 85. Judged the other way round, O would pass and S would not.
    overall = measure(html, "all", "overall")
    assert "85,0%" in overall and "Chỉ tiêu ≥ 90%" in overall
    assert verdicts(overall) == [("below", "✗", "Chưa đạt")]
    index = measure(html, "all", "sipas_index")
    assert "89,0%" in index and "Chỉ tiêu ≥ 85%" in index
    assert verdicts(index) == [("met", "✓", "Đạt")]
    # Land: O has the land target, 85, which 85,0% meets, though not certainly.
    assert verdicts(measure(html, "land", "overall")) == [
        ("uncertain", "?", "Đạt (chưa chắc chắn)")]
    assert "Chỉ tiêu ≥ 85%" in measure(html, "land", "overall")


def test_an_uncertain_verdict_is_one_label_with_its_own_mark(app, world, province):
    record_many(app, world.code_a, overall_and_index_apart())
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    uncertain = verdicts(measure(html, "land", "overall"))
    certain = verdicts(measure(html, "land", "sipas_index"))
    assert uncertain == [("uncertain", "?", "Đạt (chưa chắc chắn)")]
    assert certain == [("met", "✓", "Đạt")]
    # Never «Đạt» with «chưa chắc chắn» somewhere else beside it.
    headline = section(html, "headline")
    assert re.search(r"Đạt</span>\s*<[^>]*>\s*\(?chưa chắc chắn", headline) is None
    assert "status-uncertain" in html and ".status-uncertain" in css()
    # The stylesheet gives the uncertain mark a colour of its own.
    rule = re.search(r"\.status-uncertain \{([^}]*)\}", css())
    assert rule and "--uncertain" in rule.group(1)


def test_every_target_scope_has_a_card_in_the_deployment_order(app, world, province):
    with app.app_context():
        health = TargetScope(code="HEALTH", label_vi="Y tế", label_en="Health", position=9)
        health.sectors = [db.session.scalar(select(Sector).where(Sector.code == "Y_TE"))]
        db.session.add(health)
        db.session.add(Target(year=2025, indicator="overall", scope=health, threshold=92.0))
        db.session.commit()
    y_te = add_code(app, world.a_id, "Quầy 5", "Y_TE").code
    record_many(app, y_te, satisfied_and_not(40, 40))
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    keys = re.findall(r'<article class="card card-([a-z0-9_-]+)"', html)
    assert keys == ["all", "land", "construction", "investment",
                    "land_construction_investment", "health"]
    assert "Chỉ tiêu ≥ 92%" in measure(html, "health", "overall")
    assert "Chưa có chỉ tiêu" in measure(html, "health", "sipas_index")
    assert verdicts(measure(html, "health", "sipas_index")) == []


def test_twenty_responses_are_not_enough_to_judge(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(20, 20))
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    land = card(html, "land")
    assert "100,0%" in land and "20 phiếu" in land
    assert verdicts(measure(html, "land", "overall")) == [("insufficient", "…", "Chưa đủ mẫu")]
    assert verdicts(measure(html, "land", "sipas_index")) == [
        ("insufficient", "…", "Chưa đủ mẫu")]
    assert "chưa chắc chắn" not in land
    assert "Chưa đủ mẫu" in card(html, "construction")  # no response at all: nothing to judge


def test_clear_result_is_not_marked_uncertain(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(60, 60))
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    # 60 of 60: the interval 94,0–100 lies above 85 and 90.
    assert verdicts(card(html, "land", words=False)) == [("met", "✓", "Đạt")] * 2
    assert verdicts(card(html, "all", words=False)) == [("met", "✓", "Đạt")] * 2


def test_land_construction_investment_are_pooled_not_averaged(app, world, province):
    construction = add_code(app, world.a_id, "Quầy 2", "XAY_DUNG").code
    record_many(app, world.code_a, [answers(5)] * 10)  # land: 100%
    record_many(app, construction, [answers(4)] * 20 + [answers(3)] * 20)  # construction: 50%
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    assert "100,0%" in card(html, "land")
    assert "50,0%" in card(html, "construction")
    pooled = measure(html, "land_construction_investment", "sipas_index")
    # 30 satisfied of 50 on each element: 60%, not the 75% an average of 100 and 50 gives.
    assert "60,0%" in pooled and "50 phiếu" in pooled and "75,0%" not in pooled
    assert "Chưa đạt" in pooled


# The worked example of the methodology, to the last digit -------------------------------


# The 40 responses listed in docs/methodology.md §8 (a commune, land, one month):
# q1..q6 (None: N/A), q7, q8. The few unhappy people are unhappy on most elements at once.
WORKED_EXAMPLE = [
    (5, 5, 5, 5, 5, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, 5, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, 5, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, None, ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, 4, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 5, None, 5, 'no', ()),
    (5, 5, 5, 4, None, 5, 'no', ('facilities',)),
    (5, 5, 5, 4, 4, 5, 'no', ('speed',)),
    (5, 5, 5, 4, None, 5, 'no', ('guidance',)),
    (5, 4, 5, 4, None, 5, 'no', ('facilities',)),
    (5, 3, 5, 4, None, 5, None, ('transparency', 'attitude')),
    (4, 4, 5, 4, 4, 5, 'no', ('online',)),
    (4, 4, 5, 4, None, 5, 'no', ('speed',)),
    (4, 4, 5, 4, None, 4, 'no', ('facilities',)),
    (4, 4, 5, 4, None, 4, 'no', ('online',)),
    (4, 4, 5, 4, None, 4, None, ('speed',)),
    (4, 4, 4, 4, None, 4, 'no', ('facilities',)),
    (4, 4, 4, 4, None, 4, 'no', ('online',)),
    (4, 4, 4, None, None, 4, 'no', ('speed', 'online')),
    (4, 4, 4, None, None, 4, 'no', ('speed',)),
    (3, 4, 4, None, None, 4, None, ('facilities', 'online')),
    (4, 4, 4, None, None, 4, 'no', ('speed',)),
    (4, 4, 4, None, None, 4, 'no', ('online',)),
    (4, 4, 4, None, None, 4, None, ('speed', 'online')),
    (4, 4, 4, None, None, 4, 'no', ('online',)),
    (4, 4, 4, None, None, 4, 'decline', ('speed',)),
    (4, 4, 4, None, None, 4, 'no', ('speed', 'online')),
    (4, 3, 4, None, None, 4, 'decline', ('speed', 'guidance')),
    (3, 3, 4, 3, None, 3, 'decline', ('speed', 'facilities')),
    (3, 3, 3, 3, 3, 3, 'decline', ('attitude', 'feedback')),
    (2, 1, 3, 2, 2, 2, 'yes', ('attitude', 'speed')),
]  # fmt: skip


def worked_example() -> list[dict[str, Any]]:
    """The 40 responses of docs/methodology.md §8 (a commune, land, one month)."""
    return [
        answers((q1, q2, q3, q4, q5), q6=q6, q7=q7, q8=q8)
        for q1, q2, q3, q4, q5, q6, q7, q8 in WORKED_EXAMPLE
    ]


def test_worked_example_of_the_methodology(app, world, province):
    record_many(app, world.code_a, worked_example())
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]

    index = measure(html, "land", "sipas_index")
    assert "87,5%" in index and "40 phiếu" in index
    # The interval of S from response-level counts (sipas.index_interval).
    assert INDEX_INTERVAL in index
    assert verdicts(index) == [("uncertain", "?", "Đạt (chưa chắc chắn)")]
    overall = measure(html, "land", "overall")
    # O: 37 of 40 on question 6, Wilson 80,1–97,4, which holds both targets.
    assert "92,5%" in overall and "40 câu trả lời" in overall and "80,1% – 97,4%" in overall
    assert verdicts(overall) == [("uncertain", "?", "Đạt (chưa chắc chắn)")]
    assert verdicts(measure(html, "all", "overall")) == [
        ("uncertain", "?", "Đạt (chưa chắc chắn)")]
    assert "Chỉ tiêu ≥ 90%" in measure(html, "all", "overall")

    elements = table_rows(section(html, "elements"))
    assert elements == [
        "Tiếp cận dịch vụ 36 / 40 90,0% 76,9% – 96,0%",
        "Thủ tục hành chính 35 / 40 87,5% 73,9% – 94,5%",
        "Công chức trực tiếp giải quyết công việc 38 / 40 95,0% 83,5% – 98,6%",
        "Kết quả giải quyết 27 / 30 90,0% 74,4% – 96,5%",
        "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị thấp nhất 6 / 8 75,0% "
        "40,9% – 92,9%",
    ]
    integrity = words_of(section(html, "integrity"))
    assert "96,8%" in integrity and "31 người trả lời" in integrity
    assert "1 người cho biết có gặp phiền hà" in integrity
    wishes = table_rows(section(html, "wishes"))
    assert wishes == [
        "Thời gian giải quyết 12 48,0%",
        "Dịch vụ công trực tuyến 9 36,0%",
        "Cơ sở vật chất, trang thiết bị 6 24,0%",
        "Thái độ phục vụ 3 12,0%",
        "Cách hướng dẫn của công chức 2 8,0%",
        "Công khai, minh bạch thông tin 1 4,0%",
        "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị 1 4,0%",
    ]


def test_elements_are_shown_without_a_verdict(app, world, province):
    record_many(app, world.code_a, worked_example())
    elements = section(fetch_page(province, f"/dashboard/?{Q1_2025}")[1], "elements")
    svg = re.search(r"<svg.*?</svg>", elements, re.S)
    assert svg
    assert svg.group(0).count("<rect") == 5
    assert "(thấp nhất)" in svg.group(0)
    # A reference line at S's target, labelled as such; no bar is coloured as below it,
    # though feedback (75,0%) is.
    assert "stroke-dasharray" in svg.group(0)
    assert "Chỉ tiêu của chỉ số kiểu SIPAS ≥ 85% (để tham chiếu)" in svg.group(0)
    assert charts.VERMILLION not in svg.group(0)
    assert verdicts(elements) == [] and "Đạt" not in words_of(elements)
    assert "không có chỉ tiêu riêng" in words_of(elements)


# Which year's targets -------------------------------------------------------------------


def test_a_2026_period_says_it_uses_the_targets_of_2025(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(34, 40),
                at=datetime(2026, 2, 10, 9, tzinfo=HANOI))
    html = fetch_page(province, "/dashboard/?from=2026-01-01&to=2026-03-31")[1]
    words = words_of(section(html, "headline"))
    assert "Chỉ tiêu năm 2025" in words
    assert "Năm 2026 chưa có chỉ tiêu riêng: áp dụng chỉ tiêu năm 2025." in words
    assert "Chỉ tiêu ≥ 90%" in measure(html, "all", "overall")
    assert "Chưa đạt (chưa chắc chắn)" in measure(html, "all", "overall")
    report = words_of(fetch_page(province, "/dashboard/report?year=2026&quarter=1")[1])
    assert "Năm 2026 chưa có chỉ tiêu riêng: áp dụng chỉ tiêu năm 2025." in report
    # 2025 has targets of its own: nothing is borrowed.
    assert "chưa có chỉ tiêu riêng" not in fetch_page(province, f"/dashboard/?{Q1_2025}")[1]


def test_each_scope_card_names_the_sectors_it_pools(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(34, 40))
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    assert "Gồm: Xây dựng; Quy hoạch xây dựng, kiến trúc" in card(html, "construction")
    assert ("Gồm: Đất đai; Xây dựng; Quy hoạch xây dựng, kiến trúc; Đầu tư tại Việt Nam"
            in card(html, "land_construction_investment"))
    assert "Gồm:" not in card(html, "all")  # every sector: the title says so
    english = fetch_page(province, f"/dashboard/?{Q1_2025}&lang=en")[1]
    assert "Construction; Construction planning, architecture" in card(english, "construction")
    # One sector chosen: its card is that sector, and pools nothing.
    sector = fetch_page(province, f"/dashboard/?{Q1_2025}&sector=XAY_DUNG")[1]
    assert "Gồm:" not in words_of(section(sector, "headline"))


def test_a_card_judged_by_an_earlier_year_says_so(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(34, 40),
                at=datetime(2026, 2, 10, 9, tzinfo=HANOI))
    html = fetch_page(province, "/dashboard/?from=2026-01-01&to=2026-03-31")[1]
    for key in ("all", "land", "construction"):
        assert "Chỉ tiêu năm 2025 (năm 2026 chưa có chỉ tiêu riêng)" in card(html, key)
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    assert "chưa có chỉ tiêu riêng" not in card(html, "all")


def test_a_period_before_any_target_says_so_and_judges_nothing(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(40, 40),
                at=datetime(2024, 5, 2, 9, tzinfo=HANOI))
    html = fetch_page(province, "/dashboard/?from=2024-01-01&to=2024-12-31")[1]
    words = words_of(section(html, "headline"))
    assert "Chưa có chỉ tiêu cho năm 2024 hay năm nào trước đó" in words
    assert "100,0%" in measure(html, "all", "overall")
    assert verdicts(section(html, "headline").split('class="marks-legend')[0]) == []


# Periods in local time ----------------------------------------------------------------


def test_period_ends_at_midnight_in_vietnam(app, world, province):
    record_many(app, world.code_a, [answers(5)], at=datetime(2025, 3, 31, 23, 30, tzinfo=HANOI))
    record_many(app, world.code_a, [answers(1)] * 2, at=datetime(2025, 4, 1, 0, 30, tzinfo=HANOI))
    march = card(fetch_page(province, "/dashboard/?from=2025-03-01&to=2025-03-31")[1], "all")
    assert "1 phiếu" in march and "100,0%" in march
    april = card(fetch_page(province, "/dashboard/?from=2025-04-01&to=2025-04-30")[1], "all")
    assert "2 phiếu" in april and "0,0%" in april


def test_dates_are_written_as_people_write_them(app, world, province):
    record_many(app, world.code_a, [answers(5)], at=datetime(2025, 3, 31, 23, 30, tzinfo=HANOI))
    status, html = fetch_page(province, "/dashboard/?from=01/03/2025&to=31/03/2025")
    assert status == 200
    assert "01/03/2025 – 31/03/2025" in words_of(html) and "1 phiếu" in card(html, "all")
    assert 'value="custom" selected' in html or 'selected value="custom"' in html


def test_monthly_trend_lists_twelve_months_to_the_period_end(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(27, 30))
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    rows = table_rows(section(html, "trend"))
    assert [row.split()[0] for row in rows] == [
        "04/2024", "05/2024", "06/2024", "07/2024", "08/2024", "09/2024", "10/2024",
        "11/2024", "12/2024", "01/2025", "02/2025", "03/2025",
    ]
    # Each month by the targets of its own year: O against 90, S against 85 in 2025 ...
    assert rows[10] == ("02/2025 30 90,0% ? Đạt (chưa chắc chắn) Chỉ tiêu ≥ 90% "
                        "90,0% ? Đạt (chưa chắc chắn) Chỉ tiêu ≥ 85%")
    # ... and none in 2024, which has no targets.
    assert rows[0] == "04/2024 0 — Chưa có chỉ tiêu — Chưa có chỉ tiêu"
    assert len(re.findall(r"<svg", section(html, "trend"))) == 2  # O and S
    assert "<polyline" not in section(html, "trend")  # one month alone draws a point
    assert "<circle" in section(html, "trend")


def test_trend_period_covers_a_long_period_whole():
    assert trend_period(Period(datetime(2023, 5, 17).date(), datetime(2025, 2, 3).date())) == \
        Period(datetime(2023, 5, 1).date(), datetime(2025, 2, 3).date())
    assert trend_period(Period(datetime(2025, 3, 1).date(), datetime(2025, 3, 31).date())) == \
        Period(datetime(2024, 4, 1).date(), datetime(2025, 3, 31).date())


# Scope ----------------------------------------------------------------------------------


def test_commune_manager_cannot_read_another_commune(app, world):
    record_many(app, world.code_a, satisfied_and_not(30, 31))
    record_many(app, world.code_b, satisfied_and_not(10, 37))
    client = world.login(app.test_client(), "manager_a")
    status, html = fetch_page(client, f"/dashboard/?{Q1_2025}&agency=XA-B")
    assert status == 403
    assert "không thuộc phạm vi" in html
    assert "37 phiếu" not in html and "Xã B" not in html and "27,0%" not in html
    # Without an agency, the commune manager sees their own commune only.
    status, html = fetch_page(client, f"/dashboard/?{Q1_2025}")
    assert status == 200
    agencies = table_rows(section(html, "by-agency"))
    assert len(agencies) == 1 and agencies[0].startswith("Xã A XA-A 31")
    assert "31 phiếu" in card(html, "all")
    assert "Xã B" not in html
    assert "Hộ tịch" not in section(html, "by-sector")


def test_counter_of_another_commune_is_refused(app, world):
    client = world.login(app.test_client(), "manager_a")
    status, html = fetch_page(client, f"/dashboard/?{Q1_2025}&counter={world.counter_b_id}")
    assert status == 403 and "không thuộc phạm vi" in html


def test_province_manager_sees_both_communes(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(30, 31))
    record_many(app, world.code_b, satisfied_and_not(10, 37))
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    agencies = table_rows(section(html, "by-agency"))
    assert any(row.startswith("Xã A XA-A 31 ") for row in agencies)
    assert any(row.startswith("Xã B XA-B 37 ") for row in agencies)
    # The province's row holds both communes; its own counters have no response yet.
    assert agencies[0].startswith("Trung tâm Phục vụ hành chính công tỉnh TINH 68 ")
    assert agencies[1] == ("Riêng quầy của đơn vị 0 — … Chưa đủ mẫu Chỉ tiêu ≥ 90% "
                           "— … Chưa đủ mẫu Chỉ tiêu ≥ 85%")
    assert "68 phiếu" in card(html, "all")
    # Commune B alone, by its code.
    one = card(fetch_page(province, f"/dashboard/?{Q1_2025}&agency=XA-B")[1], "all")
    assert "37 phiếu" in one


def test_an_agency_row_counts_the_agencies_below_it(app, world, province):
    at_province = add_code(app, world.province_id, "Quầy 1", "DAT_DAI").code
    record_many(app, at_province, satisfied_and_not(5, 5))
    record_many(app, world.code_a, satisfied_and_not(30, 31))
    record_many(app, world.code_b, satisfied_and_not(10, 37))
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    rows = table_rows(section(html, "by-agency"))
    # The province: its own counter and both communes, 5 + 31 + 37 responses, 45 satisfied ...
    assert rows[0].startswith("Trung tâm Phục vụ hành chính công tỉnh TINH 73 61,6% ")
    # ... as many as the page filtered by the province counts,
    filtered = fetch_page(province, f"/dashboard/?{Q1_2025}&agency=TINH")[1]
    assert "73 phiếu" in measure(filtered, "all", "sipas_index")
    # and its own counters alone on the line below, labelled and judged.
    assert rows[1] == ("Riêng quầy của đơn vị 5 100,0% … Chưa đủ mẫu Chỉ tiêu ≥ 90% "
                       "100,0% … Chưa đủ mẫu Chỉ tiêu ≥ 85%")
    # A commune has no agency below it: one line, no own-counter figure.
    assert rows[2].startswith("Xã A XA-A 31 ") and rows[3].startswith("Xã B XA-B 37 ")
    assert len(rows) == 4
    assert "Riêng quầy của đơn vị" not in section(
        fetch_page(province, f"/dashboard/?{Q1_2025}&agency=XA-A")[1], "by-agency")


def test_with_investment_chosen_rows_are_judged_by_its_target(app, world, province):
    investment = add_code(app, world.a_id, "Quầy 4", "DAU_TU").code
    # 35 of 40 satisfied on question 6 (87,5%, Wilson 73,9–94,5), all on every element.
    record_many(app, investment, [answers(4, q6=4)] * 35 + [answers(4, q6=2)] * 5)
    html = fetch_page(province, f"/dashboard/?{Q1_2025}&sector=DAU_TU")[1]
    # Agencies, counters, sectors and months alike: O against investment's 85, as the
    # API and the exports judge the same filter.
    judged_85 = "87,5% ? Đạt (chưa chắc chắn) Chỉ tiêu ≥ 85% 100,0% ✓ Đạt Chỉ tiêu ≥ 85%"
    agencies = table_rows(section(html, "by-agency"))
    assert agencies[0] == f"Trung tâm Phục vụ hành chính công tỉnh TINH 40 {judged_85}"
    assert f"Xã A XA-A 40 {judged_85}" in agencies
    assert table_rows(section(html, "by-counter")) == [f"Quầy 4 Xã A 40 {judged_85}"]
    assert table_rows(section(html, "by-sector")) == [f"Đầu tư tại Việt Nam 40 {judged_85}"]
    assert table_rows(section(html, "trend"))[10] == f"02/2025 40 {judged_85}"
    # One headline card, the sector's, judged by the same target: no «Tất cả lĩnh vực» card
    # judging the same 40 responses against 90.
    assert re.findall(r'<article class="card card-([\w-]+)"', html) == ["dau_tu"]
    headline = card(html, "dau_tu")
    assert headline.startswith("Đầu tư tại Việt Nam")
    assert verdicts(measure(html, "dau_tu", "overall")) == [
        ("uncertain", "?", "Đạt (chưa chắc chắn)")]
    assert "Chỉ tiêu ≥ 85%" in measure(html, "dau_tu", "overall")
    # Without the sector filter, the agency is judged against the all-sector 90.
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    assert ("Xã A XA-A 40 87,5% ? Chưa đạt (chưa chắc chắn) Chỉ tiêu ≥ 90% "
            "100,0% ✓ Đạt Chỉ tiêu ≥ 85%") in table_rows(section(html, "by-agency"))


def test_filter_by_agency_counter_and_sector(app, world, province):
    other_counter = add_code(app, world.a_id, "Quầy 2", "DAT_DAI").code
    record_many(app, world.code_a, [answers(5)] * 3)
    record_many(app, other_counter, [answers(1)] * 5)
    query = f"{Q1_2025}&agency=XA-A&counter={world.counter_a_id}"
    html = fetch_page(province, f"/dashboard/?{query}")[1]
    assert "3 phiếu" in card(html, "all")
    counters = table_rows(section(html, "by-counter"))
    assert len(counters) == 1 and counters[0].startswith("Quầy 1 Xã A 3")
    # The counter list offers the chosen agency's counters only.
    counter_list = re.search(r'<select[^>]*name="counter".*?</select>', html, re.S)
    assert counter_list
    assert f'value="{world.counter_a_id}"' in counter_list.group(0)
    assert f'value="{world.counter_b_id}"' not in counter_list.group(0)

    # A sector chosen: one card, the sector's own.
    html = fetch_page(province, f"/dashboard/?{Q1_2025}&sector=DAT_DAI")[1]
    assert "8 phiếu" in card(html, "dat_dai")
    html = fetch_page(province, f"/dashboard/?{Q1_2025}&sector=HO_TICH")[1]
    assert "0 phiếu" in card(html, "ho_tich")
    assert "Chỉ tiêu ≥ 90%" in measure(html, "ho_tich", "overall")  # as all sectors


def test_counter_of_another_agency_says_so(app, world, province):
    query = f"{Q1_2025}&agency=XA-A&counter={world.counter_b_id}"
    status, html = fetch_page(province, f"/dashboard/?{query}")
    assert status == 400
    assert "Quầy đã chọn không thuộc đơn vị đã chọn" in html


# Sorting ------------------------------------------------------------------------------


def test_sort_links_reorder_the_tables(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(20, 40))
    record_many(app, world.code_b, satisfied_and_not(36, 36))

    def agency_order(query: str) -> list[str]:
        html = fetch_page(province, f"/dashboard/?{Q1_2025}{query}")[1]
        return [row.split()[1] for row in table_rows(section(html, "by-agency"))
                if row.startswith("Xã")]

    assert agency_order("&sort=-n") == ["A", "B"]
    assert agency_order("&sort=n") == ["B", "A"]
    assert agency_order("&sort=index") == ["A", "B"]  # weakest first
    assert agency_order("&sort=-index") == ["B", "A"]
    assert agency_order("&sort=-overall") == ["B", "A"]
    assert agency_order("&sort=status") == ["A", "B"]  # the worst verdict first
    assert agency_order("&sort=overall_status") == ["A", "B"]
    assert agency_order("&sort=-index_status") == ["B", "A"]
    assert agency_order("&sort=nonsense") == ["A", "B"]

    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    headers = section(html, "by-agency")
    link = re.search(r'<a class="sort" href="([^"]+)">Số phiếu', headers)
    assert link and "sort=-n" in unescape(link.group(1)) and "from=2025-01-01" in link.group(1)
    followed = fetch_page(province, unescape(link.group(1)).split("#")[0])
    assert followed[0] == 200 and 'aria-sort="descending"' in followed[1]
    # Each verdict column sorts by its own indicator's verdict, the weakest first.
    verdict_links = re.findall(r'<a class="sort" href="([^"]+)">Đánh giá', headers)
    assert [re.search(r"sort=([\w-]+)", unescape(h)).group(1) for h in verdict_links] == [
        "overall_status", "index_status"]


# Counted and stored -------------------------------------------------------------------


def test_duplicates_are_stored_but_not_counted(app, world, province):
    record_many(app, world.code_a, [answers(5, dossier="H10-0001")] * 2 + [answers(5)])
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    assert "2 phiếu" in card(html, "all")
    counts = table_rows(section(html, "counts"))
    assert counts[0] == "Tất cả lĩnh vực 2 100,0% 100,0% 3 100,0% 100,0% 1 0"
    assert counts[1] == "Đất đai 2 100,0% 100,0% 3 100,0% 100,0% 1 0"


def test_flagged_responses_show_how_much_they_move_each_figure(app, world, province):
    ids = record_many(app, world.code_a, satisfied_and_not(30, 40))
    with app.app_context():
        for response_id in ids[-5:]:  # five of the ten unsatisfied ones
            response = db.session.get(Response, response_id)
            assert response is not None
            flag_response(db.session, response, "abuse")
        db.session.commit()
    html = fetch_page(province, f"/dashboard/?{Q1_2025}")[1]
    # Counted: 30 of 35 satisfied; stored: 30 of 40; the five flagged ones stay out.
    counts = table_rows(section(html, "counts"))
    assert counts[0] == "Tất cả lĩnh vực 35 85,7% 85,7% 40 75,0% 75,0% 0 5"
    assert "85,7%" in measure(html, "all", "overall")
    assert "35 câu trả lời" in measure(html, "all", "overall")
    assert "làm thay đổi số liệu bao nhiêu" in words_of(section(html, "counts"))


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
    status, html = fetch_page(province, f"/dashboard/?{query}")
    assert status == 400
    assert message in unescape(html)
    assert 'class="error-summary"' in html
    assert 'id="headline"' not in html  # no figures for a filter that was not understood


def assert_figures_or_what_to_change(page: Any) -> None:
    """Fail unless the page shows figures (200), or says which filter to change (400, 403).

    A filter the page cannot read, or an agency outside the person's scope, gets the page
    with its error summary naming the field, never a server error or a bare refusal.
    """
    html = text_of(page)
    assert page.status_code in (200, 400, 403), page.status_code
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', html, re.S)
    if page.status_code == 200:
        assert summary is None
        assert heading_of(html).startswith(("Kết quả đánh giá sự hài lòng",
                                            "Satisfaction survey results"))
    else:
        assert summary, f"{page.status_code} without saying which filter to change"
        assert words_of(summary.group(0)).startswith(("Chưa xem được số liệu",
                                                      "The figures could not be shown"))
        # Each message links to the field it is about.
        assert re.search(r'<li><a href="#[\w-]+">[^<]+</a></li>', summary.group(0))


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
    assert_figures_or_what_to_change(client.get(f"/dashboard/?{query}"))


@pytest.mark.parametrize(
    "query",
    ["year=2025&quarter=1", "year=1999&quarter=1", "year=abc&quarter=2", "year=2025&quarter=5",
     "year=&quarter=", "year=2025&quarter=4&agency=XA-B&sector=HO_TICH",
     "year=99999999999999999999&quarter=1", "quarter=3", "year=2100&quarter=4"],
)
def test_no_report_makes_a_server_error(app, world, query):
    client = world.login(app.test_client(), "manager_a")
    assert_figures_or_what_to_change(client.get(f"/dashboard/report?{query}"))


# The printable report -----------------------------------------------------------------


def test_quarterly_report(app, world, province):
    record_many(app, world.code_a, worked_example())
    record_many(app, world.code_b, satisfied_and_not(30, 30))
    status, html = fetch_page(province, "/dashboard/report?year=2025&quarter=1")
    assert status == 200
    words = words_of(html)
    assert "Quý I/2025" in words and "01/01/2025 – 31/03/2025" in words
    assert "Tất cả đơn vị trong phạm vi" in words and "Chỉ tiêu năm 2025" in words
    assert "Phương pháp" in words and 'href="/dashboard/method"' in html
    assert "Ngày lập" in words
    # Two rows a scope, O then S, each with its own target and one verdict label.
    # All sectors, O: 37 + 30 of 70 satisfied on question 6.
    headline = [words_of(row) for row in re.findall(r"<tr>.*?</tr>", section(html, "headline"),
                                                    re.S)[1:]]
    assert headline[0] == ("Tất cả lĩnh vực Hài lòng về giải quyết TTHC 95,7% 88,1% – 98,5% "
                           "70 câu trả lời ≥ 90% ? Đạt (chưa chắc chắn)")
    assert headline[2] == ("Đất đai Hài lòng về giải quyết TTHC 92,5% 80,1% – 97,4% "
                           "40 câu trả lời ≥ 85% ? Đạt (chưa chắc chắn)")
    assert headline[3] == ("Chỉ số hài lòng kiểu SIPAS 87,5% 71,2% – 95,2% 40 phiếu ≥ 85% "
                           "? Đạt (chưa chắc chắn)")
    assert "Tham khảo" not in words
    agencies = table_rows(section(html, "by-agency"))
    assert agencies[0].startswith("Trung tâm Phục vụ hành chính công tỉnh TINH 70 ")
    assert any(row.startswith("Xã A XA-A 40 92,5% ? Đạt (chưa chắc chắn) Chỉ tiêu ≥ 90%")
               for row in agencies)
    assert any(row.startswith("Xã B XA-B 30 ") for row in agencies)
    assert "Hộ tịch" in words_of(section(html, "by-sector"))
    # The second quarter has nothing yet, and says so in its figures.
    html = fetch_page(province, "/dashboard/report?year=2025&quarter=2")[1]
    assert "Quý II/2025" in html and "0 phiếu" in html


def test_report_defaults_to_the_last_whole_quarter(app, world, province):
    with app.app_context():
        year, quarter = last_complete_quarter(local_today())
    html = fetch_page(province, "/dashboard/report")[1]
    assert f"Quý {['I', 'II', 'III', 'IV'][quarter - 1]}/{year}" in html


def test_last_complete_quarter():
    assert last_complete_quarter(datetime(2025, 1, 1).date()) == (2024, 4)
    assert last_complete_quarter(datetime(2025, 5, 20).date()) == (2025, 1)
    assert last_complete_quarter(datetime(2025, 12, 31).date()) == (2025, 3)


def test_report_refuses_an_agency_outside_the_scope(app, world):
    record_many(app, world.code_b, satisfied_and_not(10, 37))
    client = world.login(app.test_client(), "manager_a")
    status, html = fetch_page(client, "/dashboard/report?year=2025&quarter=1&agency=XA-B")
    assert status == 403 and "37 phiếu" not in html


def test_report_with_a_bad_year_says_so(app, world, province):
    status, html = fetch_page(province, "/dashboard/report?year=abc&quarter=1")
    assert status == 400 and "Năm phải là một số từ 2000 đến 2100." in html


# The page itself ----------------------------------------------------------------------


def test_page_needs_no_script_and_no_inline_style(app, world, province):
    record_many(app, world.code_a, worked_example())
    for path in (f"/dashboard/?{Q1_2025}", "/dashboard/report?year=2025&quarter=1"):
        html = fetch_page(province, path)[1]
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "dashboard.css" in html


def test_figures_follow_the_language_of_the_page(app, world, province):
    record_many(app, world.code_a, satisfied_and_not(34, 40))
    html = fetch_page(province, f"/dashboard/?{Q1_2025}&lang=en")[1]
    assert "85.0%" in card(html, "land") and "85,0%" not in html


def test_thousands_are_grouped_the_vietnamese_way(app):
    with app.test_request_context("/"):
        from survey_app.dashboard.wording import percent, responses_text

        assert responses_text(1234) == "1.234 phiếu"
        assert percent(92.44) == "92,4%"
        assert percent(84.96) == "85,0%"


def test_default_period_is_this_year(app, world, province):
    with app.app_context():
        today = local_today()
    html = fetch_page(province, "/dashboard/")[1]
    assert f"01/01/{today.year} – {today:%d/%m/%Y}" in words_of(html)
    assert re.search(r'<option selected value="this_year">|<option value="this_year" selected',
                     html)


def test_charts_escape_their_labels():
    svg = charts.bar_chart([charts.Bar("<b>&", 50.0, "50%")], title="t <x>")
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
    line = charts.line_chart([charts.Point("01/2025", None, "")], title="t", target=90.0,
                             series_text="s", target_text="c", insufficient_text="i")
    assert "<polyline" not in line and "<circle" in line  # only the legend's circle
