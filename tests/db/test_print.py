"""The printable QR pages: an A4 poster, A4 sheets of cut-out cards, and a table tent."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Sector, SurveyCode
from survey_app.services.codes import survey_url
from survey_app.services.counters import revoke_code
from tests.factories import (
    CODE_WITHDRAWN,
    NOT_FOUND,
    REFUSED,
    World,
    add_code,
    heading_of,
)

# One world (factories.World) for the module, built once; each test runs in a savepoint.
pytestmark = pytest.mark.rows_per_module("module_world")

CALL_TO_ACTION = "Quét mã QR để đánh giá mức độ hài lòng"
ANONYMOUS = "Phiếu không ghi tên, không cần đăng nhập, mất khoảng 1 phút."
PAGES = ("poster", "sheet", "tent")


def page_url(world: World, page: str, code: str | None = None) -> str:
    code = code or world.code_a
    if page == "sheet":
        return f"/agencies/{world.a_id}/codes/sheet"
    return f"/codes/{code}/{page}"


def html_of(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def url_of(app: Flask, code: str) -> str:
    with app.app_context():
        return survey_url(code)


def printed_codes(html: str) -> list[str]:
    """Return the codes whose QR image a page shows, in order."""
    return re.findall(r'<img class="qr[^"]*" src="/s/([A-Z0-9]+)/qr\.svg"', html)


def revoke(app: Flask, code: str) -> None:
    with app.app_context():
        survey_code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
        assert survey_code is not None
        revoke_code(db.session, survey_code)
        db.session.commit()


# Who may open them ----------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("persona", ["staff_a", "manager_a", "manager_province", "admin"])
def test_people_who_see_the_agency_open_its_print_pages(client, world, persona, page):
    world.login(client, persona)
    html = html_of(client, page_url(world, page))
    assert world.code_a in printed_codes(html)


@pytest.mark.parametrize("page", PAGES)
def test_staff_of_another_commune_are_refused(client, world, page):
    world.login(client, "staff_b")
    html = html_of(client, page_url(world, page), 403)
    assert heading_of(html) == REFUSED
    assert printed_codes(html) == []  # no QR image of the code


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, world, page):
    response = client.get(page_url(world, page))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("page", ["poster", "tent"])
def test_an_unknown_code_is_not_found(client, world, page):
    world.login(client, "admin")
    assert heading_of(html_of(client, f"/codes/ZZZZ2345/{page}", 404)) == NOT_FOUND


def test_an_unknown_agency_has_no_sheet(client, world):
    world.login(client, "admin")
    html = html_of(client, "/agencies/999999/codes/sheet", 404)
    assert heading_of(html) == NOT_FOUND and printed_codes(html) == []


# The poster -------------------------------------------------------------------------------


def test_poster_says_where_the_code_belongs_and_how_to_use_it(app, client, world):
    world.login(client, "staff_a")
    html = html_of(client, page_url(world, "poster"))
    with app.app_context():
        sector = db.session.scalar(select(Sector).where(Sector.code == "DAT_DAI"))
        assert sector is not None
        sector_vi = sector.label_vi
    assert "Xã A" in html
    assert f"Quầy 1 · {sector_vi}" in html
    assert CALL_TO_ACTION in html
    assert ANONYMOUS in html
    assert url_of(app, world.code_a) in html
    assert re.search(rf'class="code-text poster-code">{world.code_a}<', html)
    assert printed_codes(html) == [world.code_a]


def test_print_pages_are_standalone_documents_styled_for_print(client, world):
    world.login(client, "admin")
    for page in PAGES:
        html = html_of(client, page_url(world, page))
        assert html.startswith('<!doctype html>\n<html lang="vi">')
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"?]+)\?v=\w+"', html)
        assert stylesheets == ["/static/print.css"]
        # No navigation chrome of the staff pages, and nothing inline for the CSP to block.
        assert "masthead" not in html and "Đăng xuất" not in html
        assert "<style" not in html and " style=" not in html
        scripts = re.findall(r"<script[^>]*>", html)
        unversioned = [re.sub(r"\?v=\w+", "", s) for s in scripts]
        assert unversioned == ['<script src="/static/print.js" defer>']
        # The toolbar tells how to print; print.css hides it on paper.
        assert "Ctrl+P" in html


def test_print_pages_follow_the_chosen_language(app, client, world):
    world.login(client, "staff_a")
    html = html_of(client, page_url(world, "poster") + "?lang=en")
    with app.app_context():
        sector = db.session.scalar(select(Sector).where(Sector.code == "DAT_DAI"))
        assert sector is not None
        sector_en = sector.label_en
    assert '<html lang="en">' in html
    assert f"Quầy 1 · {sector_en}" in html


def test_a_code_typed_in_lower_case_prints_the_same_poster(client, world):
    world.login(client, "staff_a")
    html = html_of(client, f"/codes/{world.code_a.lower()}/poster")
    assert printed_codes(html) == [world.code_a]


# The table tent ---------------------------------------------------------------------------


def test_tent_shows_the_code_on_both_halves_around_a_fold_line(app, client, world):
    world.login(client, "staff_a")
    html = html_of(client, page_url(world, "tent"))
    assert printed_codes(html) == [world.code_a, world.code_a]
    assert html.count(CALL_TO_ACTION) == 2
    assert html.count('class="tent-face tent-back"') == 1
    assert 'class="tent-fold"' in html
    assert "Xã A" in html and "Quầy 1" in html


# Revoked codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["poster", "tent"])
def test_a_revoked_code_is_gone(app, client, world, page):
    revoke(app, world.code_a)
    world.login(client, "staff_a")
    html = html_of(client, page_url(world, page), 410)
    assert heading_of(html) == CODE_WITHDRAWN and printed_codes(html) == []


def test_a_revoked_code_of_another_commune_is_still_refused_not_gone(app, client, world):
    revoke(app, world.code_a)
    world.login(client, "staff_b")
    assert heading_of(html_of(client, page_url(world, "poster"), 403)) == REFUSED


def test_the_sheet_leaves_revoked_codes_out(app, client, world):
    other = add_code(app, world.a_id, "Quầy 2")
    revoke(app, world.code_a)
    world.login(client, "staff_a")
    assert printed_codes(html_of(client, page_url(world, "sheet"))) == [other.code]


def test_an_agency_without_active_codes_gets_one_sentence(app, client, world):
    revoke(app, world.code_a)
    world.login(client, "staff_a")
    html = html_of(client, page_url(world, "sheet"))
    assert printed_codes(html) == []
    assert "Đơn vị này chưa có mã QR nào đang dùng." in html


# Choosing what the sheet prints ---------------------------------------------------------


def test_the_sheet_prints_every_active_code_of_the_agency_and_no_other(app, client, world):
    other = add_code(app, world.a_id, "Quầy 2")
    world.login(client, "admin")
    html = html_of(client, page_url(world, "sheet"))
    assert sorted(printed_codes(html)) == sorted([world.code_a, other.code])
    assert world.code_b not in html


def test_the_sheet_can_print_one_counter(app, client, world):
    other = add_code(app, world.a_id, "Quầy 2")
    world.login(client, "staff_a")
    url = page_url(world, "sheet")
    assert printed_codes(html_of(client, f"{url}?counter={world.counter_a_id}")) == [world.code_a]
    assert printed_codes(html_of(client, f"{url}?counter={other.counter_id}")) == [other.code]


def test_a_counter_without_active_codes_gets_one_sentence(app, client, world):
    revoke(app, world.code_a)
    world.login(client, "staff_a")
    html = html_of(client, f"{page_url(world, 'sheet')}?counter={world.counter_a_id}")
    assert printed_codes(html) == []
    assert "Quầy này chưa có mã QR nào đang dùng." in html


@pytest.mark.parametrize("counter", ["b", "999999", "99999999999999999999999", "abc", "²", ""])
def test_a_counter_that_is_not_the_agencys_is_not_found(client, world, counter):
    counter_arg = str(world.counter_b_id) if counter == "b" else counter
    world.login(client, "admin")
    html = html_of(client, f"{page_url(world, 'sheet')}?counter={counter_arg}", 404)
    assert heading_of(html) == NOT_FOUND and printed_codes(html) == []


def test_the_sheet_prints_an_explicit_selection_in_the_order_given(app, client, world):
    second = add_code(app, world.a_id, "Quầy 2")
    add_code(app, world.a_id, "Quầy 3")
    world.login(client, "staff_a")
    html = html_of(
        client, f"{page_url(world, 'sheet')}?code={second.code}&code={world.code_a.lower()}"
    )
    assert printed_codes(html) == [second.code, world.code_a]
    assert 'role="status"' not in html  # nothing was left out


def test_a_selection_leaves_out_revoked_codes_and_says_how_many(app, client, world):
    second = add_code(app, world.a_id, "Quầy 2")
    third = add_code(app, world.a_id, "Quầy 3")
    revoke(app, second.code)
    revoke(app, third.code)
    world.login(client, "staff_a")
    query = f"code={world.code_a}&code={second.code}&code={third.code}"
    html = html_of(client, f"{page_url(world, 'sheet')}?{query}")
    assert printed_codes(html) == [world.code_a]
    assert "2 mã đã thu hồi nên không được in." in html


def test_a_selection_never_prints_another_agencys_code(app, client, world):
    world.login(client, "admin")
    query = f"code={world.code_a}&code={world.code_b}&code=ZZZZ2345"
    html = html_of(client, f"{page_url(world, 'sheet')}?{query}")
    assert printed_codes(html) == [world.code_a]
    assert world.code_b not in html.replace(f"code={world.code_b}", "")
    assert "2 mã không thuộc đơn vị này hoặc không tồn tại nên không được in." in html


def test_a_selection_within_a_counter_leaves_out_the_other_counters(app, client, world):
    other = add_code(app, world.a_id, "Quầy 2")
    world.login(client, "staff_a")
    query = f"counter={world.counter_a_id}&code={world.code_a}&code={other.code}"
    html = html_of(client, f"{page_url(world, 'sheet')}?{query}")
    assert printed_codes(html) == [world.code_a]
    assert "1 mã không thuộc quầy này hoặc không tồn tại nên không được in." in html


def test_an_empty_selection_prints_the_whole_agency(app, client, world):
    world.login(client, "staff_a")
    html = html_of(client, f"{page_url(world, 'sheet')}?code=&code=%20")
    assert printed_codes(html) == [world.code_a]


def test_a_selection_with_nothing_printable_gets_one_sentence(app, client, world):
    revoke(app, world.code_a)
    world.login(client, "staff_a")
    html = html_of(client, f"{page_url(world, 'sheet')}?code={world.code_a}")
    assert printed_codes(html) == []
    assert "Không có mã nào trong lựa chọn còn đang dùng để in." in html
    assert "1 mã đã thu hồi nên không được in." in html


def test_the_language_switch_keeps_the_whole_selection(app, client, world):
    second = add_code(app, world.a_id, "Quầy 2")
    world.login(client, "staff_a")
    html = html_of(client, f"{page_url(world, 'sheet')}?code={world.code_a}&code={second.code}")
    query = f"code={world.code_a}&amp;code={second.code}&amp;lang=en"
    assert f'href="/agencies/{world.a_id}/codes/sheet?{query}"' in html


def test_six_cards_fill_a_sheet_and_the_seventh_starts_the_next(app, client, world):
    for n in range(2, 8):
        add_code(app, world.a_id, f"Quầy {n}")
    world.login(client, "staff_a")
    html = html_of(client, page_url(world, "sheet"))
    sheets = html.split('<section class="sheet cards-sheet"')[1:]
    assert [len(printed_codes(sheet)) for sheet in sheets] == [6, 1]
    assert "Tờ 1/2" in sheets[0] and "Tờ 2/2" in sheets[1]
