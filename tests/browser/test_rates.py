"""Response rates in Chromium: what the API says, and a rate to look into marked in words.

The demo province loads a year of dossiers; Khe Sanh's are far too few for its answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from babel.numbers import format_percent

from tests.browser.support import ACCOUNTS, LiveServer, api_token, require, shown_period

PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1366, "height": 768}

sync_api, = require("playwright.sync_api")

pytestmark = pytest.mark.browser

expect = sync_api.expect


def written(value: float) -> str:
    return format_percent(value / 100, "#,##0.0%", locale="vi")


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_rates_read_as_the_api_gives_them_and_a_mark_says_why(
    live_server: LiveServer, new_page: Callable[..., Any], viewport: dict[str, int]
) -> None:
    page = new_page("manager", viewport=viewport, is_mobile=viewport is PHONE)
    page.goto(f"{live_server.url}/dashboard/?period=last_12_months")
    start, end = shown_period(page)
    token = api_token(live_server, ACCOUNTS["manager"])

    def tallies(**query: str) -> dict[str, Any]:
        reply = page.request.get(f"{live_server.url}/api/v1/tallies",
                                 params={"from": start, "to": end, **query},
                                 headers={"Authorization": f"Bearer {token}"})
        assert reply.status == 200, reply.text()
        body: dict[str, Any] = reply.json()
        return body

    everything = tallies()["scopes"]["all"]
    card_rate = page.locator("article.card-all .card-rate")
    expect(card_rate).to_contain_text(f"Tỷ lệ phản hồi: {written(everything['response_rate'])}")

    khe_sanh = tallies(agency="DEMO-X-KHESANH")["scopes"]["all"]
    row = page.locator("#by-agency tbody tr", has_text="Xã Khe Sanh (demo)")
    rate_cell = row.locator("td.rate-cell")
    expect(rate_cell).to_contain_text(written(khe_sanh["response_rate"]))
    mark = rate_cell.locator(".review-tag")
    expect(mark).to_have_text("⚠ Cần xem lại")
    expect(rate_cell.locator(".review-reason")).to_have_text(
        "cao hơn 3 lần trung vị của các đơn vị khác")
    # The mark and its reason sit inside the page: no sideways scrolling to read them.
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # The other communes are not marked.
    dong_ha = page.locator("#by-agency tbody tr", has_text="Phường Đông Hà (demo)")
    expect(dong_ha.locator(".review-tag")).to_have_count(0)
    # Farming is served at Khe Sanh alone: more answers than dossiers.
    farming = page.locator("#by-sector tbody tr", has_text="Nông nghiệp")
    expect(farming.locator(".review-reason")).to_have_text("nhiều phiếu hơn số hồ sơ tiếp nhận")
