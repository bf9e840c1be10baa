"""Dossier codes written in several ways count once, through the service and the form."""

from __future__ import annotations

from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Response, SurveyCode
from survey_app.questionnaire import CURRENT
from survey_app.services.recording import dossier_hash, record_response
from tests.factories import VALID_ANSWERS, open_form


def test_one_dossier_written_three_ways_is_counted_once(app, survey_code):
    with app.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == survey_code))
        assert code is not None
        statuses = []
        for n, dossier in enumerate(("HS-2026-0002", "HS2026-0002", "HS/2026/0002")):
            answers = {**VALID_ANSWERS, "q8": [], "comment": None, "dossier": dossier}
            response, _ = record_response(db.session, code, CURRENT, answers, f"n{n}", "vi")
            statuses.append(response.status)
        db.session.commit()
        assert statuses == ["counted", "duplicate", "duplicate"]
        assert dossier_hash("HS-2026-0002") == dossier_hash("hs 2026 0002")


def test_a_full_width_dossier_code_sent_through_the_form_is_a_repeat(app, survey_code):
    for dossier in ("HS-2026-0002", "ＨＳ２０２６／０００２"):
        client = app.test_client()
        data = {**VALID_ANSWERS, **open_form(client, survey_code), "dossier": dossier}
        result = client.post(f"/s/{survey_code}", data=data)
        assert result.status_code == 303, result.get_data(as_text=True)[:500]
    with app.app_context():
        statuses = list(db.session.scalars(select(Response.status).order_by(Response.id)))
    assert statuses == ["counted", "duplicate"]
