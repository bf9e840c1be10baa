"""Every string a person reads is translated, in both catalogs."""

from __future__ import annotations

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.factories import PROJECT_ROOT

ROOT = PROJECT_ROOT
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def extracted_ids() -> set[str]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords={**KEYWORDS}
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.fixture(scope="module")
def source_ids() -> set[str]:
    ids = extracted_ids()
    assert len(ids) > 50, "extraction found too few strings: is babel.cfg right?"
    return ids


@pytest.mark.parametrize("language", ["vi", "en"])
def test_catalog_translates_every_extracted_string(source_ids, language):
    with open(ROOT / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and m.string and (isinstance(m.string, str) or all(m.string)) and not m.fuzzy
    }
    missing = sorted(source_ids - translated)
    assert not missing, (
        f"{language} catalog lacks {len(missing)} translation(s); run `make translations` "
        f"and translate: {missing[:10]}"
    )


def test_vietnamese_catalog_mirrors_the_source_text():
    with open(ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    differing = [
        m.id for m in catalog
        if m.id and m.string != ((m.id[0],) if isinstance(m.id, tuple) else m.id)
    ]
    assert differing == [], "the Vietnamese text lives in the code: run `make translations`"


def test_english_catalog_is_not_a_copy_of_the_vietnamese(source_ids):
    with open(ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    untranslated = [m.id for m in catalog if m.id and m.string == m.id and len(m.id) > 12]
    assert untranslated == []
