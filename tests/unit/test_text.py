"""What people type is kept in one spelling: free text, survey codes and dossier codes."""

from __future__ import annotations

import pytest

from survey_app.models import SurveyCode
from survey_app.services.codes import ALPHABET, new_code
from survey_app.text import (
    SURVEY_CODE_MAX_LENGTH,
    clean_dossier,
    clean_survey_code,
    clean_text,
    fold_dossier,
)

# Free text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "invisible",
    ["\u202e", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069",
     "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"],
)
def test_free_text_drops_bidi_and_other_format_characters(invisible):
    assert clean_text(f"Cán bộ{invisible} nhiệt tình{invisible}") == "Cán bộ nhiệt tình"
    assert clean_text(invisible) is None


def test_a_reversed_comment_reads_as_typed():
    # U+202E would show "tốt" to staff while the text says otherwise.
    assert clean_text("Thái độ \u202eốt không\u202c tốt") == "Thái độ ốt không tốt"


def test_a_letter_and_its_accent_compose_across_a_removed_format_character():
    assert clean_text("e\u200b\u0301") == "\u00e9"


def test_free_text_keeps_line_breaks_tabs_and_vietnamese():
    assert clean_text(" Quầy 3\r\nchờ\tlâu ") == "Quầy 3\nchờ\tlâu"


# Survey codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [("ABCD2345", "ABCD2345"), ("abcd2345", "ABCD2345"), ("  AbCd2345 \n", "ABCD2345"),
     ("ＡＢＣＤ２３４５", "ABCD2345"), ("Z" * SURVEY_CODE_MAX_LENGTH, "Z" * SURVEY_CODE_MAX_LENGTH),
     ],
)
def test_a_survey_code_has_one_spelling(typed, code):
    assert clean_survey_code(typed) == code


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "\x00", "ABCD\x002345", "\x00ABCD2345", "ABCD\r\n2345", "ABCD\t2345",
     "ABCD 2345", "ABCD-2345", "ABCD2345\u202e", "ABC\u200bD2345", "ABCD234O", "ABCD2341",
     "Z" * (SURVEY_CODE_MAX_LENGTH + 1), "Z" * 10_240, "ĐẤT", "../etc", "%00", "'; --", 12345678],
)
def test_text_that_can_never_be_a_survey_code_is_none(text):
    assert clean_survey_code(text) is None


def test_every_issued_code_is_its_own_spelling():
    assert all(clean_survey_code(char * 8) == char * 8 for char in ALPHABET)
    codes = [new_code() for _ in range(200)]
    assert [clean_survey_code(code) for code in codes] == codes


def test_the_longest_survey_code_is_the_column_width():
    assert SurveyCode.__table__.c.code.type.length == SURVEY_CODE_MAX_LENGTH


# Dossier codes -------------------------------------------------------------------------------

SAME_DOSSIER = ("HS-2026-0002", "HS2026-0002", "HS/2026/0002", "hs.2026.0002", "HS 2026 0002",
                "ＨＳ－２０２６－０００２", " HS-2026-0002\u202e")


def test_a_dossier_code_folds_case_width_and_separators():
    assert {fold_dossier(typed) for typed in SAME_DOSSIER} == {"HS20260002"}
    assert fold_dossier("000.00.12.H12-260101-0001") == "0000012H122601010001"
    assert fold_dossier("HS-2026-0003") != fold_dossier("HS-2026-0002")


def test_the_form_takes_a_full_width_dossier_code_and_ignores_one_without_letters_or_digits():
    assert clean_dossier("ｈｓ－２０２６．０００２") == "HS-2026.0002"
    assert clean_dossier(" hs/2026/0002 ") == "HS/2026/0002"
    assert clean_dossier("-./") is None
    assert clean_dossier("") is None
