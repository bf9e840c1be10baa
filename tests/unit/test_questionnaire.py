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


def _shape(version: questionnaire.Questionnaire) -> dict:
    """Return what scoring and the tables read of a version: keys, elements, values."""
    return {
        q.key: (q.number, q.kind, q.required, q.element, sorted(q.values), q.max_choices)
        for q in version.questions
    }


def test_the_2026_wording_keeps_every_key_element_and_value_of_2025():
    old = questionnaire.QUESTIONNAIRES["sipas-2025-short"]
    new = questionnaire.QUESTIONNAIRES["sipas-2026-short"]
    assert questionnaire.CURRENT is new
    assert _shape(new) == _shape(old)
    assert [q.element_label for q in new.questions] == [q.element_label for q in old.questions]
    # Only the words change, and q7's order: «Có» first.
    assert [c.value for c in new.question("q7").choices] == ["yes", "no", "decline"]
    assert [str(c.label) for c in new.question("q7").choices] == [
        "Có", "Không", "Không muốn trả lời"]
    assert [c.value for c in old.question("q7").choices] == ["no", "yes", "decline"]
    wishes = {c.value: str(c.label) for c in new.question("q8").choices}
    assert wishes["guidance"] == "Cách hướng dẫn của công chức"
    assert wishes["speed"] == "Thời gian giải quyết"
    assert wishes["feedback"] == "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị"
    assert str(new.question("q5").na_choice.label) == "Chưa góp ý, phản ánh"
    assert str(old.question("q5").na_choice.label) == "Chưa sử dụng"
    assert str(new.intro) % {"agency": "UBND xã Cửa Việt"} == (
        "Xin Ông/Bà cho biết mức độ hài lòng khi đến làm thủ tục tại UBND xã Cửa Việt hôm "
        "nay. Với mỗi nội dung dưới đây, xin chọn một mức.")
    changed = [q.key for q in new.questions if q.text != old.question(q.key).text]
    assert changed == ["q1", "q2", "q3", "q4", "q5", "q7", "q8"]


def test_the_tables_follow_the_first_version_whatever_order_a_later_one_shows():
    first = questionnaire.FIRST
    assert first.question("q7").values == questionnaire.INTEGRITY_ANSWERS
    assert first.question("q8").values == questionnaire.WISH_CODES
    for version in questionnaire.QUESTIONNAIRES.values():
        assert sorted(version.question("q7").values) == sorted(questionnaire.INTEGRITY_ANSWERS)
    assert questionnaire.questionnaire_of("sipas-2025-short").version == "sipas-2025-short"
    assert questionnaire.questionnaire_of("sipas-1999") is questionnaire.CURRENT
