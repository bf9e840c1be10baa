"""Read-aloud: the «Nghe» buttons on the form, each question's clip, and the admin page
that replaces a clip with an upload (checked by its bytes, limited in size, audit-logged)
and goes back to the built one."""

from __future__ import annotations

import gc
import gzip
import io
import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.extensions import db
from survey_app.questionnaire import CURRENT
from survey_app.readaloud import spoken_text
from survey_app.services import voice
from tests.factories import (
    REFUSED,
    audit_events,
    create_code,
    csrf_token,
    make_user,
    sign_in,
    text_of,
    words_of,
)

ADMIN = "quantri@tinh.gov.vn"
MANAGER = "lanhdao@tinh.gov.vn"
# The form's own weight without a tap: its HTML, its style sheet and its script.
FORM_BUDGET_BYTES = 30 * 1024
OGG = b"OggS\x00\x02" + b"\x00" * 200 + b"recorded by the agency"
MP3 = b"ID3\x04\x00\x00" + b"\x00" * 200
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 200


def a_form(app: Flask) -> str:
    with app.app_context():
        code = create_code().code
        db.session.commit()
        return code


def clip_url(key: str, version: str = CURRENT.version) -> str:
    return f"/nghe/{version}/{key}"


def admin(app: Flask) -> FlaskClient:
    make_user(app, ADMIN, "admin")
    return sign_in(app.test_client(), ADMIN)


def send(client: FlaskClient, key: str, data: bytes | None, name: str = "cau.ogg",
         content_type: str = "audio/ogg", token: str | None = None) -> Any:
    form: dict[str, Any] = {"csrf_token": token or csrf_token(client, "/admin/voice")}
    if data is not None:
        form["clip"] = (io.BytesIO(data), name, content_type)
    return client.post(f"/admin/voice/{key}", data=form, content_type="multipart/form-data")


def listen_buttons(html: str) -> list[str]:
    return re.findall(r"<button[^>]*\sdata-listen(?:\s[^>]*)?>", html)


def attribute(tag: str, name: str) -> str:
    match = re.search(rf'\s{name}="([^"]*)"', tag)
    assert match, f"no {name} in {tag}"
    return unescape(match.group(1))


# The buttons on the form ------------------------------------------------------------------


def test_each_question_has_a_named_hidden_listen_button_with_its_words_and_clip(app):
    html = text_of(app.test_client().get(f"/s/{a_form(app)}"))
    buttons = listen_buttons(html)
    assert len(buttons) == len(CURRENT.questions)
    for question, tag in zip(CURRENT.questions, buttons, strict=True):
        assert 'type="button"' in tag
        # Hidden until the script can speak: without it no button shows and fails.
        assert re.search(r"\shidden[\s>]", tag)
        assert attribute(tag, "aria-label") == f"Nghe câu {question.number}"
        assert attribute(tag, "data-clip") == clip_url(question.key)
        assert attribute(tag, "data-text") == spoken_text(question)
    whole = re.findall(r"<button[^>]*data-listen-all[^>]*>.*?</button>", html, re.S)
    assert len(whole) == 1 and "Nghe cả phiếu" in words_of(whole[0])
    assert re.search(r"\shidden[\s>]", whole[0])
    # Nothing is fetched before a tap: no audio element, no preloaded clip.
    assert "<audio" not in html and "/nghe/" not in html.replace('data-clip="/nghe/', "")


def test_the_words_read_are_vietnamese_on_the_english_form_too(app):
    html = text_of(app.test_client().get(f"/s/{a_form(app)}?lang=en"))
    assert "Very satisfied" in html
    tag = listen_buttons(html)[0]
    assert "Rất hài lòng" in attribute(tag, "data-text")
    assert attribute(tag, "data-text") == spoken_text(CURRENT.questions[0])


def test_the_form_weighs_under_30_kb_before_any_tap(app):
    client = app.test_client()
    page = client.get(f"/s/{a_form(app)}")
    html = page.get_data()
    assets = re.findall(rb'(?:href|src)="(/static/[^"?]+)(?:\?v=[0-9a-f]+)?"', html)
    assert {a.rsplit(b"/", 1)[-1] for a in assets} == {b"public.css", b"survey.js"}
    parts = [html]
    for asset in assets:
        with client.get(asset.decode()) as answer:
            parts.append(answer.get_data())
    plain = sum(len(p) for p in parts)
    zipped = sum(len(gzip.compress(p, 9)) for p in parts)
    assert plain < FORM_BUDGET_BYTES, f"{plain} bytes"
    assert zipped < plain // 2


# The clips --------------------------------------------------------------------------------


def test_every_question_has_a_clip_that_answers_ogg_audio(app):
    client = app.test_client()
    for question in CURRENT.questions:
        result = client.get(clip_url(question.key))
        assert result.status_code == 200, question.key
        assert result.mimetype == "audio/ogg"
        assert result.data.startswith(b"OggS") and b"OpusHead" in result.data[:100]
        assert 2_000 < len(result.data) < 60_000
        assert result.headers["X-Content-Type-Options"] == "nosniff"


def test_a_clip_is_revalidated_and_served_in_ranges(app):
    client = app.test_client()
    first = client.get(clip_url("q1"))
    again = client.get(clip_url("q1"), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    part = client.get(clip_url("q1"), headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == first.data[:100]


def test_an_unknown_question_or_version_has_no_clip(app):
    client = app.test_client()
    for url in ("/nghe/sipas-2025-short/q9", "/nghe/sipas-1999/q1", "/nghe/sipas-2025-short/..",
                "/nghe/..%2F..%2Fconfig/q1", "/nghe/sipas-2025-short/q1%00",
                "/nghe/sipas-2025-short/manifest.json", "/nghe/" + "x" * 500 + "/q1"):
        assert client.get(url).status_code == 404, url


# Replacing a clip -------------------------------------------------------------------------


def test_an_admin_replaces_a_clip_and_the_form_plays_the_upload(app):
    client = admin(app)
    result = send(client, "q3", OGG, name="cau-3.ogg")
    assert result.status_code == 303
    page = client.get(result.headers["Location"])
    assert "Đã thay đoạn ghi âm của câu 3." in words_of(page)
    played = app.test_client().get(clip_url("q3"))
    assert played.status_code == 200 and played.data == OGG and played.mimetype == "audio/ogg"
    # The other questions keep their built clips.
    assert app.test_client().get(clip_url("q2")).data != OGG
    [event] = audit_events(app, "voice.upload")
    assert event.actor_email == ADMIN
    assert event.details["question"] == "q3" and event.details["size"] == len(OGG)
    assert event.details["file"] == "cau-3.ogg"


def test_the_type_is_what_the_bytes_are_not_what_the_name_says(app):
    client = admin(app)
    assert send(client, "q1", MP3, name="cau.ogg", content_type="audio/ogg").status_code == 303
    assert app.test_client().get(clip_url("q1")).mimetype == "audio/mpeg"
    assert send(client, "q2", WAV, name="x.txt", content_type="text/plain").status_code == 303
    assert app.test_client().get(clip_url("q2")).mimetype == "audio/wav"
    for data, name in ((b"<script>alert(1)</script>" * 10, "cau.ogg"),
                       (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "cau.mp3"),
                       (b"MZ" + b"\x00" * 100, "cau.wav"),
                       (b"Ogg" + b"\x00" * 100, "cau.ogg"),
                       (b"RIFF\x00\x00\x00\x00AVI " + b"\x00" * 100, "cau.wav")):
        result = send(client, "q4", data, name=name)
        assert result.status_code == 303
        assert "không phải âm thanh" in words_of(client.get(result.headers["Location"]))
    assert client.get(clip_url("q4")).data.startswith(b"OggS")
    assert len(audit_events(app, "voice.upload")) == 2


# A large body is spooled by the test client to a temporary file it leaves to the collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_empty_a_missing_or_a_too_large_upload_is_refused_in_words(app):
    client = admin(app)
    for data, message in ((b"", "Tệp trống."),
                          (None, "Vui lòng chọn một tệp âm thanh."),
                          (b"OggS" + b"\x00" * voice.MAX_UPLOAD_BYTES, "Tệp quá lớn"),
                          (b"OggS" + b"\x00" * (3 * voice.MAX_UPLOAD_BYTES), "Tệp quá lớn")):
        result = send(client, "q5", data)
        assert result.status_code == 303
        assert message in words_of(client.get(result.headers["Location"]))
    assert audit_events(app, "voice.upload") == []
    del result, client
    gc.collect()


def test_an_upload_needs_the_sessions_csrf_token(app):
    client = admin(app)
    result = send(client, "q1", OGG, token="forged")
    assert result.status_code == 400
    other = admin_of_another_jar(app)
    assert send(other, "q1", OGG, token=csrf_token(client, "/admin/voice")).status_code == 400
    assert app.test_client().get(clip_url("q1")).data != OGG


def admin_of_another_jar(app: Flask) -> FlaskClient:
    return sign_in(app.test_client(), ADMIN)


def test_only_an_admin_replaces_or_reverts_a_clip(app):
    make_user(app, MANAGER, "manager", "TINH", level="province")
    client = sign_in(app.test_client(), MANAGER)
    assert words_of(client.get("/admin/voice")).startswith(REFUSED) or \
        client.get("/admin/voice").status_code == 403
    assert client.post("/admin/voice/q1", data={}).status_code in (400, 403)
    assert "Đọc phiếu" not in words_of(client.get("/manage/"))


def test_an_unknown_question_cannot_be_uploaded(app):
    client = admin(app)
    assert send(client, "q9", OGG).status_code == 404
    assert send(client, "../q1", OGG).status_code == 404
    assert audit_events(app, "voice.upload") == []


def test_revert_goes_back_to_the_built_clip_and_is_logged(app):
    client = admin(app)
    built = app.test_client().get(clip_url("q6")).data
    send(client, "q6", OGG)
    token = csrf_token(client, "/admin/voice")
    page = words_of(client.get("/admin/voice"))
    assert "Đoạn ghi âm tải lên" in page and ADMIN in page
    result = client.post("/admin/voice/q6/revert", data={"csrf_token": token})
    assert result.status_code == 303
    assert "Câu 6 dùng lại đoạn ghi âm tự tạo." in words_of(client.get(result.headers["Location"]))
    assert app.test_client().get(clip_url("q6")).data == built
    [event] = audit_events(app, "voice.revert")
    assert event.details["question"] == "q6" and event.actor_email == ADMIN
    # A second revert changes nothing and logs nothing.
    client.post("/admin/voice/q6/revert", data={"csrf_token": token})
    assert len(audit_events(app, "voice.revert")) == 1


def test_the_admin_page_lists_every_question_and_is_in_the_menu(app):
    client = admin(app)
    html = text_of(client.get("/admin/voice"))
    assert re.search(r'<a href="/admin/voice"[^>]*>Đọc phiếu</a>', html)
    for question in CURRENT.questions:
        assert f'id="voice-{question.key}"' in html
        assert f"Tệp ghi âm mới cho câu {question.number}" in words_of(html)
    assert html.count('preload="none"') == len(CURRENT.questions)
    assert "Nhật ký" in words_of(html)
