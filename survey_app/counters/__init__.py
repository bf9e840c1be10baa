"""Counters and their QR codes: create, replace, revoke, render and print them."""

from flask import Blueprint

bp = Blueprint("counters", __name__, template_folder="templates")

from survey_app.counters import kiosk_views, print_views, qr_views, views  # noqa: E402, F401
