"""Keep the translation catalogs whole.

Vietnamese is the source language: message ids are the Vietnamese text, written in the code
and templates, and the Vietnamese catalog mirrors each one as its own translation.

    python -m survey_app.web.i18n_catalogs fill-source translations/vi/LC_MESSAGES/messages.po
"""

from __future__ import annotations

import sys

from babel.messages.pofile import read_po, write_po


def fill_source(path: str) -> int:
    """Make every message of the source-language catalog its own translation."""
    with open(path, "rb") as f:
        catalog = read_po(f)
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        # Vietnamese has one plural form: the singular text serves every count.
        source = (message.id[0],) if isinstance(message.id, tuple) else message.id
        if message.string != source or message.fuzzy:
            message.string = source
            message.flags.discard("fuzzy")
            filled += 1
    with open(path, "wb") as f:
        write_po(f, catalog, sort_output=True, no_location=True, width=100)
    return filled


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "fill-source":
        sys.exit(__doc__)
    print(f"{fill_source(sys.argv[2])} messages filled in {sys.argv[2]}")
