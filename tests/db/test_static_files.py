"""Links to static files carry their content's fingerprint, so nginx may let phones keep them."""

from __future__ import annotations

import hashlib
import re

from flask import url_for

from tests.factories import PROJECT_ROOT, text_of

STATIC = PROJECT_ROOT / "survey_app" / "static"


def test_every_static_link_on_the_form_names_its_files_content(client, survey_code):
    html = text_of(client.get(f"/s/{survey_code}"))
    links = re.findall(r'(?:href|src)="/static/([^"?]+)\?v=([0-9a-f]+)"', html)
    assert {name for name, _ in links} == {"public.css", "survey.js"}
    assert not re.search(r'(?:href|src)="/static/[^"?]+"', html)  # none without one
    for name, fingerprint in links:
        assert fingerprint == hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
        with client.get(f"/static/{name}?v={fingerprint}") as response:
            assert response.status_code == 200
            assert response.data == (STATIC / name).read_bytes()


def test_a_missing_or_escaping_file_gets_no_fingerprint(app):
    with app.test_request_context():
        assert url_for("static", filename="no-such-file.css") == "/static/no-such-file.css"
        assert "v=" not in url_for("static", filename="../../config.py")
        # A fingerprint given by the caller is kept.
        assert url_for("static", filename="survey.js", v="x") == "/static/survey.js?v=x"
