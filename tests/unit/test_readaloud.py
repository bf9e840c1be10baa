"""The words each «Nghe» button says, and the clips built from them: one clip for every
question of every questionnaire version, made from the question's present words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survey_app.questionnaire import CURRENT, QUESTIONNAIRES, Choice, Question
from survey_app.readaloud import MANIFEST_NAME, clip_name, spoken_text, text_hash

CLIPS = Path(__file__).resolve().parents[2] / "survey_app" / "static" / "voice"
REBUILD = "run `make voice-clips` (python -m survey_app.voice_build) and commit the clips"


def manifest() -> dict:
    data: dict = json.loads((CLIPS / MANIFEST_NAME).read_text(encoding="utf-8"))
    return data


def test_the_words_are_the_question_and_every_answer_in_vietnamese():
    q4 = CURRENT.question("q4")
    said = spoken_text(q4)
    assert said.startswith("Câu 4. Kết quả được trả đúng hẹn")
    for label in ("Rất không hài lòng", "Bình thường", "Rất hài lòng", "Chưa nhận kết quả"):
        assert label in said
    q8 = spoken_text(CURRENT.question("q8"))
    assert "Không bắt buộc." in q8 and "Chọn tối đa 2 ý." in q8 and "Dịch vụ công trực tuyến" in q8
    # A slash is not read as a slash.
    assert "/" not in spoken_text(CURRENT.question("q6"))


def test_the_words_change_with_the_question():
    question = Question("q1", 1, "Câu gốc", "single", choices=(Choice("a", "Một"),))
    changed = Question("q1", 1, "Câu đã sửa", "single", choices=(Choice("a", "Một"),))
    assert text_hash(spoken_text(question)) != text_hash(spoken_text(changed))


@pytest.mark.parametrize(
    ("questionnaire", "question"),
    [(version, q) for version in QUESTIONNAIRES.values() for q in version.questions],
    ids=lambda item: getattr(item, "version", None) or getattr(item, "key", None),
)
def test_every_question_has_a_clip_made_from_its_present_words(questionnaire, question):
    entry = manifest().get(questionnaire.version, {}).get(question.key)
    assert entry is not None, f"{questionnaire.version} {question.key} has no clip: {REBUILD}"
    assert entry["file"] == clip_name(questionnaire, question) \
        == f"{questionnaire.version}/{question.key}.ogg"
    assert entry["sha256"] == text_hash(spoken_text(question)), (
        f"the words of {question.key} changed since its clip was made: {REBUILD}"
    )
    clip = CLIPS / entry["file"]
    assert clip.is_file(), f"{clip.name} is missing: {REBUILD}"
    data = clip.read_bytes()
    assert data.startswith(b"OggS") and b"OpusHead" in data[:100]
    assert 2_000 < len(data) < 60_000, f"{clip.name} weighs {len(data)} bytes"


def test_the_manifest_names_only_known_questions():
    for version, entries in manifest().items():
        assert version in QUESTIONNAIRES
        keys = {q.key for q in QUESTIONNAIRES[version].questions}
        assert set(entries) <= keys
