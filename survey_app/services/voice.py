"""The clips that read each question of the form aloud: the one built from the
questionnaire (survey_app.voice_build, under static/voice), or the one an admin uploaded
in its place (models.VoiceClip), which wins until it is reverted.

An upload is checked by what its bytes are (their first bytes), never by its name or the
type the browser claims, and by its size. Only flushes; the view commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import User, VoiceClip
from survey_app.questionnaire import QUESTIONNAIRES, Question, Questionnaire
from survey_app.readaloud import CLIP_TYPE, CLIPS_FOLDER, MANIFEST_NAME, clip_name
from survey_app.services import audit

BUILT_ROOT = Path(__file__).resolve().parent.parent / "static" / CLIPS_FOLDER
# An uploaded clip: a short recording of one question, well under a minute.
MAX_UPLOAD_BYTES = 1024 * 1024


class ClipError(ValueError):
    """An upload that is not taken; its message is said to the admin."""


def sniff_audio(data: bytes) -> str | None:
    """Return the audio type the bytes begin like, or None (what the name says is ignored)."""
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0
                                   and data[1] & 0x06 != 0):
        return "audio/mpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    return None


def find_question(version: str, key: str) -> tuple[Questionnaire, Question] | None:
    questionnaire = QUESTIONNAIRES.get(version)
    if questionnaire is None:
        return None
    question = next((q for q in questionnaire.questions if q.key == key), None)
    return (questionnaire, question) if question is not None else None


@lru_cache(maxsize=1)
def _manifest() -> dict[str, Any]:
    path = BUILT_ROOT / MANIFEST_NAME
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return data


def built_clip(questionnaire: Questionnaire, question: Question) -> Path | None:
    """Return the built clip's file, or None when none was built."""
    path = BUILT_ROOT / clip_name(questionnaire, question)
    return path if path.is_file() else None


def built_entry(questionnaire: Questionnaire, question: Question) -> dict[str, Any] | None:
    """Return what the manifest records of the built clip (its words and their hash)."""
    entry: dict[str, Any] | None = _manifest().get(questionnaire.version, {}).get(question.key)
    return entry


@dataclass(frozen=True)
class Clip:
    """What is played for one question: uploaded bytes, or the built file."""

    mimetype: str
    etag: str
    data: bytes | None = None
    path: Path | None = None


def uploaded(session: Session, version: str, key: str) -> VoiceClip | None:
    return session.scalars(
        select(VoiceClip).where(VoiceClip.version == version, VoiceClip.question_key == key)
    ).first()


def uploads_by_key(session: Session, version: str) -> dict[str, VoiceClip]:
    return {c.question_key: c for c in session.scalars(
        select(VoiceClip).where(VoiceClip.version == version))}


def clip_for(session: Session, version: str, key: str) -> Clip | None:
    """Return the clip to play for a question, or None for an unknown question or no clip."""
    found = find_question(version, key)
    if found is None:
        return None
    row = uploaded(session, version, key)
    if row is not None:
        return Clip(mimetype=row.mimetype, etag=row.sha256, data=row.data)
    path = built_clip(*found)
    if path is None:
        return None
    entry = built_entry(*found) or {}
    return Clip(mimetype=CLIP_TYPE, etag=str(entry.get("sha256") or path.stat().st_size),
                path=path)


def upload(session: Session, version: str, key: str, data: bytes, actor: User | None,
           filename: str = "") -> VoiceClip:
    """Put an uploaded clip in place of a question's built one; audit-logged."""
    if find_question(version, key) is None:
        raise ClipError("unknown question")
    if not data:
        raise ClipError("empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ClipError("too large")
    mimetype = sniff_audio(data)
    if mimetype is None:
        raise ClipError("not audio")
    row = uploaded(session, version, key)
    if row is None:
        row = VoiceClip(version=version, question_key=key)
        session.add(row)
    row.data = data
    row.size = len(data)
    row.mimetype = mimetype
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.uploaded_by_id = actor.id if actor is not None else None
    session.flush()
    shown_name = "".join(ch for ch in filename if ch.isprintable())[:100]
    audit.record(session, "voice.upload", actor=actor, target=row, version=version,
                 question=key, size=len(data), type=mimetype, file=shown_name)
    return row


def revert(session: Session, version: str, key: str, actor: User | None) -> bool:
    """Go back to the built clip; return whether an uploaded one was removed."""
    row = uploaded(session, version, key)
    if row is None:
        return False
    audit.record(session, "voice.revert", actor=actor, target=row, version=version,
                 question=key, digest=row.sha256)
    session.delete(row)
    session.flush()
    return True
