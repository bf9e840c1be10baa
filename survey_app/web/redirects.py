"""Where a person is sent back to: only ever a path of this site."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

# Longer than any address of ours; a longer `next` is not one we wrote.
MAX_LENGTH = 2000
# Percent-encoding nested deeper than this is not something a browser or we produce.
MAX_DECODINGS = 3


def _has_unsafe_character(text: str) -> bool:
    # Browsers drop tabs and newlines from addresses ("/\t/evil" becomes "//evil"), a
    # newline in a header is refused by the server, and invisible characters hide a host.
    return any(
        char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Zs")
        for char in text
    )


def _is_site_path(path: str) -> bool:
    # Browsers read a backslash as a slash, so "/\evil" is "//evil": another host.
    path = path.replace("\\", "/")
    if not path.startswith("/") or path.startswith("//"):
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc


def safe_next_url(target: str | None, default: str) -> str:
    """Return the target if it is a path of this site, otherwise the default.

    The path, decoded as often as it is percent-encoded, must begin with exactly one slash
    and hold no control, space or invisible character, so that neither a browser nor a
    proxy that decodes it can read another host or a scheme into it.
    """
    if not target or len(target) > MAX_LENGTH or _has_unsafe_character(target):
        return default
    if not _is_site_path(target):
        return default
    path = target.split("?", 1)[0].split("#", 1)[0]
    for _ in range(MAX_DECODINGS):
        decoded = unquote(path)
        if decoded == path:
            return target
        if _has_unsafe_character(decoded) or not _is_site_path(decoded):
            return default
        path = decoded
    return default
