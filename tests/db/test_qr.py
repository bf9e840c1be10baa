"""QR images of survey codes: what a phone reads from them, and how they are cached."""

from __future__ import annotations

import base64
import os
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import SurveyCode, utcnow
from survey_app.services import qr
from tests.browser.support import CHROMIUM
from tests.factories import (
    NO_SUCH_CODE,
    heading_of,
    png_image,
)

BASE_URL = "http://survey.test"  # PUBLIC_BASE_URL of the testing config
SVG_NS = "{http://www.w3.org/2000/svg}"
FORMATS = ("png", "svg")


def decode(image: Image.Image) -> zxingcpp.Barcode:
    """Return the one QR code a scanner finds in the image."""
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"expected one QR code in the image, found {len(found)}"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0]


def fetch(client, path, **kwargs):
    with client.get(path, **kwargs) as response:
        response.get_data()
        return response


# The PNG ------------------------------------------------------------------------------


def test_png_reads_as_the_survey_address(client, survey_code):
    response = fetch(client, f"/s/{survey_code}/qr.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == f'inline; filename="qr-{survey_code}.png"'

    image = png_image(response.data)
    assert image.mode in ("1", "L"), "a bilevel or grayscale PNG"
    assert image.width == image.height >= 1000, "sharp on an A4 poster (about 1400 px)"

    found = decode(image)
    assert found.text == f"{BASE_URL}/s/{survey_code}"
    assert found.ec_level in ("M", "Q", "H"), f"error correction {found.ec_level} is below M"


def test_png_is_sharp_with_a_quiet_zone_of_four_modules(client, survey_code):
    image = png_image(fetch(client, f"/s/{survey_code}/qr.png").data).convert("L")
    # Only pure black and pure white: no interpolation has blurred the module edges.
    assert {value for _count, value in image.getcolors() or []} == {0, 255}

    # The bounding box of the dark pixels is the symbol, the rest is the quiet zone.
    left, top, right, bottom = image.point(lambda v: 255 - v).getbbox() or (0, 0, 0, 0)
    # The finder pattern's top edge is seven dark modules: that gives the module size.
    run = 0
    while image.getpixel((left + run, top)) == 0:
        run += 1
    assert run % 7 == 0, "modules are whole pixels wide"
    module = run // 7
    assert (right - left) % module == 0 and (bottom - top) % module == 0
    margins = {"left": left, "top": top,
               "right": image.width - right, "bottom": image.height - bottom}
    for side, pixels in margins.items():
        assert pixels / module >= 4, f"the {side} quiet zone is {pixels / module} modules"


# The SVG ------------------------------------------------------------------------------


def test_svg_is_a_compact_scalable_image(client, survey_code):
    response = fetch(client, f"/s/{survey_code}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"] == f'inline; filename="qr-{survey_code}.svg"'

    root = ET.fromstring(response.data)
    assert root.tag == f"{SVG_NS}svg"
    min_x, min_y, width, height = (int(v) for v in root.attrib["viewBox"].split())
    assert (min_x, min_y) == (0, 0) and width == height
    assert (root.attrib["width"], root.attrib["height"]) == (str(width), str(height))
    assert root.attrib["shape-rendering"] == "crispEdges"
    assert root.findtext(f"{SVG_NS}title") == f"{BASE_URL}/s/{survey_code}"
    background = root.find(f"{SVG_NS}rect")
    assert background is not None and background.attrib["fill"] == "#fff"
    assert len(root.findall(f"{SVG_NS}path")) == 1, "one path, not a rect per module"
    assert len(response.data) < 10_000


@pytest.mark.browser
@pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"Chromium not found at {CHROMIUM}: install Debian's chromium package to check "
    "the SVG as a browser draws it",
)
def test_svg_drawn_by_a_browser_reads_as_the_survey_address(client, survey_code, browser):
    # `browser` is the run's one Chromium (tests/conftest.py); it skips without Playwright.
    svg = fetch(client, f"/s/{survey_code}/qr.svg").data
    source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    page = browser.new_page(viewport={"width": 800, "height": 800})
    try:
        page.set_content(
            f'<body style="margin:0;background:#fff">'
            f'<img alt="QR" src="{source}" width="600" height="600"></body>'
        )
        page.wait_for_function("document.images[0].complete")
        shot = page.locator("img").screenshot()
    finally:
        page.close()
    image = png_image(shot)
    assert image.size == (600, 600)
    assert decode(image).text == f"{BASE_URL}/s/{survey_code}"


# Which codes have an image ------------------------------------------------------------


@pytest.mark.parametrize("kind", FORMATS)
def test_a_code_typed_in_lower_case_gives_the_canonical_address(client, survey_code, kind):
    response = fetch(client, f"/s/{survey_code.lower()}/qr.{kind}")
    assert response.status_code == 200
    assert f'filename="qr-{survey_code}.{kind}"' in response.headers["Content-Disposition"]
    canonical = fetch(client, f"/s/{survey_code}/qr.{kind}")
    assert response.data == canonical.data
    assert response.headers["ETag"] == canonical.headers["ETag"]


@pytest.mark.parametrize("kind", FORMATS)
def test_an_unknown_code_has_no_image(client, kind):
    response = fetch(client, f"/s/ZZZZZZZZ/qr.{kind}")
    assert response.status_code == 404
    # A page that says so, not an image of nothing.
    assert response.mimetype == "text/html" and heading_of(response) == NO_SUCH_CODE


@pytest.mark.parametrize("kind", FORMATS)
def test_a_revoked_code_has_no_image_even_for_a_cached_copy(app, client, survey_code, kind):
    etag = fetch(client, f"/s/{survey_code}/qr.{kind}").headers["ETag"]
    with app.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == survey_code))
        assert code is not None
        code.revoked_at = utcnow()
        db.session.commit()
    assert fetch(client, f"/s/{survey_code}/qr.{kind}").status_code == 410
    revalidated = fetch(client, f"/s/{survey_code}/qr.{kind}", headers={"If-None-Match": etag})
    assert revalidated.status_code == 410


# Caching ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FORMATS)
def test_a_current_copy_is_revalidated_without_rendering(client, survey_code, kind,
                                                         monkeypatch):
    first = fetch(client, f"/s/{survey_code}/qr.{kind}")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/"), "a strong ETag"
    cache_control = first.headers["Cache-Control"]
    assert "max-age=" in cache_control and "immutable" not in cache_control

    def must_not_render(*args, **kwargs):
        raise AssertionError("a 304 must not render the image")

    monkeypatch.setattr(qr, f"qr_{kind}", must_not_render)
    for sent in (etag, f"W/{etag}", f'"other", {etag}'):
        again = fetch(client, f"/s/{survey_code}/qr.{kind}", headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == cache_control


@pytest.mark.parametrize("kind", FORMATS)
def test_a_stale_copy_gets_the_image(client, survey_code, kind):
    response = fetch(client, f"/s/{survey_code}/qr.{kind}", headers={"If-None-Match": '"old"'})
    assert response.status_code == 200
    assert response.data


def test_a_new_public_address_changes_the_image_and_its_etag(app, client, survey_code):
    before = {kind: fetch(client, f"/s/{survey_code}/qr.{kind}") for kind in FORMATS}
    app.config["PUBLIC_BASE_URL"] = "https://danhgia.tinh.gov.vn/"
    after = {kind: fetch(client, f"/s/{survey_code}/qr.{kind}") for kind in FORMATS}

    new_url = f"https://danhgia.tinh.gov.vn/s/{survey_code}"
    assert decode(png_image(after["png"].data)).text == new_url
    assert ET.fromstring(after["svg"].data).findtext(f"{SVG_NS}title") == new_url
    for kind in FORMATS:
        assert after[kind].headers["ETag"] != before[kind].headers["ETag"]
        stale = fetch(client, f"/s/{survey_code}/qr.{kind}",
                      headers={"If-None-Match": before[kind].headers["ETag"]})
        assert stale.status_code == 200, "an image of the old address is not current"


def test_an_image_is_the_same_every_time(client, survey_code):
    for kind in FORMATS:
        first = fetch(client, f"/s/{survey_code}/qr.{kind}")
        second = fetch(client, f"/s/{survey_code}/qr.{kind}")
        assert first.data == second.data
        assert first.headers["ETag"] == second.headers["ETag"]


@pytest.mark.parametrize("kind", FORMATS)
def test_images_carry_the_security_headers(client, survey_code, kind):
    response = fetch(client, f"/s/{survey_code}/qr.{kind}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers
