"""The QR renderer alone: whole symbols, the same bytes for the same address, exact scales."""

from __future__ import annotations

import pytest

from survey_app.services import qr
from tests.factories import png_image

BASE_URL = "http://survey.test"  # PUBLIC_BASE_URL of the testing config


# The renderer alone -------------------------------------------------------------------


def test_the_matrix_is_a_whole_qr_symbol():
    matrix = qr.qr_matrix(f"{BASE_URL}/s/ABCDEFGH")
    size = len(matrix)
    assert all(len(row) == size for row in matrix)
    assert (size - 17) % 4 == 0 and size >= 21, "a QR symbol is 17 + 4 × version modules"
    # The top-left finder pattern starts the first row: seven dark modules, one light.
    assert matrix[0][:8] == (True,) * 7 + (False,)


def test_the_same_url_renders_the_same_bytes():
    url = f"{BASE_URL}/s/ABCDEFGH"
    # Uncached renderings, so that the renderer itself is shown to be deterministic.
    assert qr.qr_png.__wrapped__(url) == qr.qr_png.__wrapped__(url)
    assert qr.qr_svg.__wrapped__(url) == qr.qr_svg.__wrapped__(url)
    assert qr.qr_png.__wrapped__(url) != qr.qr_png.__wrapped__(url + "2")


def test_png_module_size_is_an_integer_scale():
    url = f"{BASE_URL}/s/ABCDEFGH"
    modules = len(qr.qr_matrix(url)) + 2 * qr.QUIET_ZONE
    assert png_image(qr.qr_png(url, module_px=10)).size == (modules * 10, modules * 10)
    with pytest.raises(ValueError):
        qr.qr_png(url, module_px=0)
