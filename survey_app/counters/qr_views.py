"""QR images of survey codes (public: the code is printed on a wall anyway)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, abort, request

from survey_app.counters import bp
from survey_app.extensions import db
from survey_app.services import qr
from survey_app.services.codes import survey_url
from survey_app.services.recording import code_labels
from survey_app.text import clean_survey_code

# The image of a code never changes, but the code can be revoked, and then its image must
# answer 410. So not `immutable`: a day of freshness, then a revalidation that costs one
# indexed lookup and an empty 304. A revoked code's image may linger a day in a cache,
# which is harmless: the form it points to answers 410 at once, and the print pages
# list only active codes.
CACHE_CONTROL = "public, max-age=86400"


def _etag(kind: str, url: str) -> str:
    """Return the strong ETag of one image: same renderer and same URL, same bytes."""
    key = f"{qr.RENDERER_VERSION}\n{kind}\n{url}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


def _qr_response(
    code: str, kind: str, mimetype: str, render: Callable[[str], str | bytes]
) -> Response:
    """Answer with the QR of an active code, or 304 when the client's copy is current."""
    # The same few-seconds memory of the code as the form's: a sheet of 48 images costs
    # 48 lookups otherwise, and a code revoked here is forgotten at once.
    survey_code = code_labels(db.session, clean_survey_code(code) or abort(404))
    if survey_code is None:
        abort(404)
    if not survey_code.is_active:
        abort(410)
    # Looked up in any case, but the image always carries the canonical address.
    url = survey_url(survey_code.code)
    etag = _etag(kind, url)
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "Content-Disposition": f'inline; filename="qr-{survey_code.code}.{kind}"',
    }
    if request.if_none_match.contains_weak(etag):
        # Decided before rendering: a revalidation costs no image at all.
        response = Response(status=304, mimetype=mimetype, headers=headers)
    else:
        response = Response(render(url), mimetype=mimetype, headers=headers)
    response.set_etag(etag)
    return response


@bp.get("/s/<code>/qr.svg")
def qr_svg(code: str) -> Response:
    """Send the QR of a survey code as SVG, for print."""
    return _qr_response(code, "svg", "image/svg+xml", qr.qr_svg)


@bp.get("/s/<code>/qr.png")
def qr_png(code: str) -> Response:
    """Send the QR of a survey code as a PNG sharp enough for an A4 poster."""
    return _qr_response(code, "png", "image/png", qr.qr_png)
