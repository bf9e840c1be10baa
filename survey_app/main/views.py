"""The home page: where a citizen without a camera types the code from the poster."""

from __future__ import annotations

from flask import render_template

from survey_app.main import bp


@bp.get("/")
def index() -> str:
    """Explain the service and offer a box to type a survey code."""
    return render_template("main/index.html")
