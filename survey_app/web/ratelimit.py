"""Where the app's limiter lives, and how long a refused client should wait.

The limits themselves belong to the feature they guard (the survey form's are in
survey/limits.py); the error pages only need to say when to come back.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from flask_limiter import Limiter

EXTENSION_KEY = "survey_app.limiter"
# When the storage cannot say how long a window lasts (it went away), ask for a minute.
DEFAULT_RETRY_AFTER = 60


def retry_after() -> int:
    """Return in how many seconds the limit refused in this request lets the client in again."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION_KEY)
    refused = limiter.current_limit if limiter is not None else None
    if refused is None:
        return DEFAULT_RETRY_AFTER
    try:
        resets_at = refused.window[0]
    except Exception:  # the storage went away between the refusal and now
        return DEFAULT_RETRY_AFTER
    return max(1, math.ceil(resets_at - time.time()))
