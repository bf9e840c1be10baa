"""The submit token a post carries, read once per request.

The rate limits sort a post by it (survey/limits.py) before the view records the answers
with it (survey/views.py): both ask for the same token of the same code, and reading it
checks a signature.
"""

from __future__ import annotations

from flask import g

from survey_app.services.recording import SubmitToken, read_submit_token


def submit_token(token: str | None, code: str) -> SubmitToken | None:
    """Return `read_submit_token(token, code)`, read once per request for each pair."""
    read: dict[tuple[str | None, str], SubmitToken | None] = g.setdefault(
        "_submit_tokens", {}
    )
    key = (token, code)
    if key not in read:
        read[key] = read_submit_token(token, code)
    return read[key]
