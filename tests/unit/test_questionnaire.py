"""The questionnaire is the one source of question keys: everything else follows it."""

from __future__ import annotations

from sqlalchemy import CheckConstraint

from survey_app import questionnaire, sipas
from survey_app.api.openapi import document
from survey_app.models import TALLY_COUNT_COLUMNS, Response, ResponseWish
from survey_app.services.responses import RESPONSE_FIELDS
from survey_app.web.labels import ELEMENT_LABELS


def test_every_question_has_a_column_rollup_counts_and_an_api_field():
    columns = set(Response.__table__.c.keys())
    schema = document()["components"]["schemas"]["Response"]
    for question in questionnaire.CURRENT.questions:
        assert question.key in RESPONSE_FIELDS
        assert question.key in schema["properties"] and question.key in schema["required"]
        if question.kind == "scale":
            assert question.key in columns
            assert {f"{question.key}_{v}" for v in sipas.SCALE} <= set(TALLY_COUNT_COLUMNS)
        elif question.kind == "single":
            assert question.key in columns
            assert {f"{question.key}_{v}" for v in question.values} <= set(TALLY_COUNT_COLUMNS)
        else:
            assert {f"wish_{v}" for v in question.values} <= set(TALLY_COUNT_COLUMNS)
            constraints = ResponseWish.__table__.constraints
            [check] = [c for c in constraints if isinstance(c, CheckConstraint)]
            assert all(f"'{v}'" in str(check.sqltext) for v in question.values)


def test_scoring_reads_its_keys_from_the_questionnaire():
    elements = [q for q in questionnaire.CURRENT.questions if q.element is not None]
    assert tuple(q.key for q in sorted(elements, key=lambda q: q.element)) == sipas.ELEMENT_KEYS
    assert sipas.OVERALL_KEY == "q6"
    assert set(sipas.RATING_KEYS) == {*sipas.ELEMENT_KEYS, sipas.OVERALL_KEY}
    assert len(sipas.ELEMENT_PAIRS) == len(elements) * (len(elements) - 1) // 2
    assert set(ELEMENT_LABELS) == set(sipas.ELEMENT_KEYS)
    assert {f"pair_{a}_{b}_valid" for a, b in sipas.ELEMENT_PAIRS} <= set(TALLY_COUNT_COLUMNS)
