"""Fingerprinted links to the static files: /static/survey.js?v=<hash of its content>.

In production nginx serves /static/ itself (deploy/nginx.conf): a link carrying a
fingerprint names one version of the file for ever, so phones may keep it a year, and a new
version of the file gets a new link. The fingerprint is the first characters of the file's
SHA-256, read once per process (a deploy restarts the workers).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask
from werkzeug.security import safe_join

FINGERPRINT_LENGTH = 12


def init_app(app: Flask) -> None:
    fingerprints: dict[str, str | None] = {}
    folder = app.static_folder or ""

    def fingerprint(filename: str) -> str | None:
        if filename not in fingerprints:
            path = safe_join(folder, filename)
            try:
                if path is None:
                    raise FileNotFoundError(filename)
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()[:FINGERPRINT_LENGTH]
            except OSError:  # no such file: the link stays as it was, and answers 404
                digest = None
            fingerprints[filename] = digest
        return fingerprints[filename]

    @app.url_defaults
    def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and "filename" in values:
            found = fingerprint(str(values["filename"]))
            if found:
                values["v"] = found
