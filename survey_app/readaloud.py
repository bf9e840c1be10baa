"""What the form's «Nghe» buttons say: each question and its answers, in Vietnamese.

The same words are spoken by the device's own Vietnamese voice and recorded in the clips
built from the questionnaire (survey_app.voice_build), so both read alike. The manifest of
the clips keeps a hash of these words: a question whose words changed without a new clip is
caught by the tests. This module needs neither Flask nor a database.
"""

from __future__ import annotations

import hashlib

from survey_app.questionnaire import Question, Questionnaire

# Where the generated clips and their manifest live, under the package's static folder.
CLIPS_FOLDER = "voice"
MANIFEST_NAME = "manifest.json"
CLIP_SUFFIX = ".ogg"
CLIP_TYPE = "audio/ogg"


def _message(text: object) -> str:
    """Return the Vietnamese source of a questionnaire text (never its translation), as it
    is read: "Ông/Bà" is said "Ông, Bà", not with a slash."""
    return str(getattr(text, "message", text)).replace("/", ", ")


def spoken_text(question: Question) -> str:
    """Return what is said for one question: its number, its words, then its answers."""
    parts = [f"Câu {question.number}.", _message(question.text).strip()]
    if not question.required:
        parts.append("Không bắt buộc.")
    if question.hint:
        parts.append(_message(question.hint).strip())
    choices = list(question.choices)
    if question.na_choice is not None:
        choices.append(question.na_choice)
    if choices:
        lead = "Có thể chọn:" if question.kind == "multi" else "Chọn một trong các ý:"
        parts.append(lead + " " + "; ".join(_message(c.label) for c in choices) + ".")
    return " ".join(parts)


def text_hash(text: str) -> str:
    """Return the hash the manifest keeps of a clip's words."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clip_name(questionnaire: Questionnaire, question: Question) -> str:
    """Return the clip's path under the clips folder: by questionnaire version and key."""
    return f"{questionnaire.version}/{question.key}{CLIP_SUFFIX}"
