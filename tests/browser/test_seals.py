"""The sealed daily totals in Chromium: the page fits a phone and a laptop, long digests wrap
inside it, and the digest shown is the one the JSON gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.support import LiveServer, assert_no_axe_violations, require

sync_api, = require("playwright.sync_api")

pytestmark = pytest.mark.browser

expect = sync_api.expect

SCREENS = {"phone": {"width": 360, "height": 740}, "laptop": {"width": 1366, "height": 768}}


@pytest.fixture(scope="module")
def sealed(live_server: LiveServer) -> dict[str, Any]:
    """Seal the demo's days up to yesterday, then flag one response of a sealed day."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import Response
    from survey_app.services import seals
    from survey_app.services.periods import local_date
    from survey_app.services.review import flag_response

    app = live_server.app
    with app.app_context():
        today = local_date(datetime.now(UTC))
        seals.close(db.session, today)
        response = next(
            r for r in db.session.scalars(
                select(Response).where(Response.status == "counted")
                .order_by(Response.id.desc()).limit(500))
            if local_date(r.created_at) < today
        )
        flag_response(db.session, response, "test")
        db.session.commit()
        latest = seals.latest_seal(db.session)
        assert latest is not None and latest.kind == "correction"
        return {"digest": latest.digest, "response": response.id}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_the_seals_page_fits_the_screen_and_shows_the_latest_digest(
    live_server: LiveServer, new_page: Callable[..., Any], sealed: dict[str, Any], screen: str
) -> None:
    page = new_page(viewport=SCREENS[screen], is_mobile=screen == "phone")
    answer = page.goto(f"{live_server.url}/cong-khai/niem-phong")
    assert answer is not None and answer.status == 200
    latest = page.locator("[data-digest]")
    expect(latest).to_have_text(sealed["digest"])
    expect(page.get_by_text(f"gắn cờ phản hồi #{sealed['response']}").first).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls {overflow} px sideways at {screen}"
    # Every digest wraps inside its own box, on the screen.
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('code.digest')]"
        ".map(c => c.getBoundingClientRect().right))"
    )
    assert widest <= SCREENS[screen]["width"]
    chain = page.request.get(f"{live_server.url}/cong-khai/niem-phong.json").json()
    assert chain["seals"][-1]["digest"] == sealed["digest"]
    assert_no_axe_violations(page)
