"""The clip of each question (public, fetched only when «Nghe» is tapped and the device has
no Vietnamese voice), and the admin page where a clip is replaced by an upload or reverted."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from survey_app.extensions import csrf, db
from survey_app.questionnaire import CURRENT
from survey_app.services import voice
from survey_app.voice import bp
from survey_app.web.access import permission_required

# A clip can change (an admin uploads one): caches ask again, and get 304 when it did not.
CLIP_CACHE = "public, max-age=0, must-revalidate"
# Room for the form's other fields around the file itself.
FORM_OVERHEAD_BYTES = 16 * 1024


@bp.get("/nghe/<version>/<key>")
def clip(version: str, key: str) -> Response:
    """Play one question's clip: the uploaded one if any, else the one built with the form."""
    found = voice.clip_for(db.session, version, key)
    if found is None:
        abort(404)
    data = found.data if found.data is not None else found.path.read_bytes()  # type: ignore[union-attr]
    response = Response(data, mimetype=found.mimetype)
    response.headers["Cache-Control"] = CLIP_CACHE
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(found.etag)
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))


@bp.get("/admin/voice")
@permission_required("voice.manage")
def manage() -> str:
    """List the questions with the clip each one plays, and a form to replace it."""
    uploads = voice.uploads_by_key(db.session, CURRENT.version)
    rows = [
        (question, uploads.get(question.key),
         voice.built_clip(CURRENT, question) is not None)
        for question in CURRENT.questions
    ]
    return render_template(
        "voice/manage.html", questionnaire=CURRENT, rows=rows,
        max_mb=voice.MAX_UPLOAD_BYTES // (1024 * 1024),
    )


def _question_or_404(key: str) -> None:
    if voice.find_question(CURRENT.version, key) is None:
        abort(404)


@bp.post("/admin/voice/<key>")
@csrf.exempt  # checked below, once the body may be as large as a clip (not before)
@permission_required("voice.manage")
def upload(key: str) -> Response:
    """Replace one question's clip with an uploaded recording."""
    _question_or_404(key)
    request.max_content_length = voice.MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
    too_large = _("Tệp quá lớn: tối đa %(n)s MB.", n=voice.MAX_UPLOAD_BYTES // (1024 * 1024))
    try:
        csrf.protect()
        file = request.files.get("clip")
    except RequestEntityTooLarge:
        flash(too_large, "error")
        return _back(key)
    if file is None or not file.filename:
        flash(_("Vui lòng chọn một tệp âm thanh."), "error")
        return _back(key)
    data = file.stream.read(voice.MAX_UPLOAD_BYTES + 1)
    try:
        voice.upload(db.session, CURRENT.version, key, data, current_user,
                     filename=file.filename or "")
    except voice.ClipError as error:
        db.session.rollback()
        reason = str(error)
        if reason == "too large":
            flash(too_large, "error")
        elif reason == "empty":
            flash(_("Tệp trống."), "error")
        else:
            flash(_("Tệp này không phải âm thanh OGG, MP3, WAV hay WEBM."), "error")
        return _back(key)
    db.session.commit()
    flash(_("Đã thay đoạn ghi âm của câu %(n)s.",
            n=CURRENT.question(key).number), "success")
    return _back(key)


@bp.post("/admin/voice/<key>/revert")
@permission_required("voice.manage")
def revert(key: str) -> Response:
    """Go back to the clip built from the questionnaire."""
    _question_or_404(key)
    if voice.revert(db.session, CURRENT.version, key, current_user):
        db.session.commit()
        flash(_("Câu %(n)s dùng lại đoạn ghi âm tự tạo.",
                n=CURRENT.question(key).number), "success")
    return _back(key)


def _back(key: str) -> Response:
    return redirect(url_for("voice.manage") + f"#voice-{key}", 303)
