"""A unit's name, inserted into a sentence, reads as written (names after the 2025 reform)."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from tests.factories import PROJECT_ROOT

CATALOG = PROJECT_ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
NAMES = (
    "Trung tâm Phục vụ hành chính công xã Cửa Việt",
    "Trung tâm Phục vụ hành chính công tỉnh Quảng Trị",
    "UBND phường Đông Hà",
)
# The placeholders that carry a unit's name, and the messages that name a unit «%(name)s».
AGENCY_PLACEHOLDERS = ("agency", "parent")
NAMED_UNIT = re.compile(r"(đơn vị|số liệu của) %\(name\)s")
# Words a sentence must not put before a name that already carries its own title.
DOUBLED = ("UBND", "Ủy ban nhân dân", "Trung tâm", "Bộ phận Một cửa", "Bộ phận một cửa")


def sentences_with_a_unit() -> list[tuple[str, str]]:
    with open(CATALOG, "rb") as f:
        catalog = read_po(f)
    found = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        for key in AGENCY_PLACEHOLDERS:
            if f"%({key})s" in message.id:
                found.append((message.id, key))
        if NAMED_UNIT.search(message.id):
            found.append((message.id, "name"))
    return found


SENTENCES = sentences_with_a_unit()


def test_the_sentences_that_name_a_unit_are_found():
    assert len(SENTENCES) >= 6


@pytest.mark.parametrize(("msgid", "key"), SENTENCES, ids=[s[0][:40] for s in SENTENCES])
@pytest.mark.parametrize("name", NAMES)
def test_a_unit_name_reads_as_written(msgid, key, name):
    values: dict[str, object] = {k: (1 if kind == "d" else "x")
                                 for k, kind in re.findall(r"%\((\w+)\)([sd])", msgid)}
    sentence = msgid % {**values, key: name}
    assert name in sentence  # never lower-cased or cut
    before = sentence[: sentence.index(name)].rstrip()
    assert not before.endswith(DOUBLED), f"a title doubled before the name: {sentence}"


def test_no_template_lower_cases_a_name():
    lowered = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for path in sorted((PROJECT_ROOT / "survey_app").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"name\s*\|\s*(lower|capitalize|title)\b", line)
    ]
    assert lowered == []
