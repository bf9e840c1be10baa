"""Rate limits on the citizen's form: per device, per QR code, and per address as a ceiling.

Everyone at an office shares one public address (the office Wi-Fi, a carrier's NAT), so a
plain per-address limit would turn honest citizens away. The limits that bite are per
device (the one the form was served to, named by its submit token) and per QR code; the
per-address one is far above what an office sends and only stops floods.

A post is first sorted: one with a valid CSRF token and a valid submit token for its code
is a submission; anything else is junk. Junk uses only its address's junk allowance (and
the flood ceiling), never a code's or a device's: a script posting rubbish cannot close a
code to the citizens behind it. A submission uses its device's allowance, a share of its
code's allowance for its address (one address alone never uses up a code), and then its
code's.

A receipt link's form (POST /r/<token>) is limited alike, its token standing for the code:
one dossier's link shares no allowance with any other's.

Only sending the form (POST /s/<code>, /r/<token>) is limited. Reading it stores nothing and costs a
worker about a millisecond (the blank form is rendered once per worker, see
services/caches.py); a flood of reads is cut by the reverse proxy's per-address limit in
front of the app (docs/deployment.md). Every other request, the form's reads included,
leaves the limiter at its first check, so the limits cost nothing where they do not apply.
Counts live in `RATELIMIT_STORAGE_URI`: memory for one process, Redis when several
workers must share them. A post's limits are counted together, in one pass (one round trip
to Redis): web/ratelimit.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from flask import Config, Flask, current_app, g, request
from limits import RateLimitItem, parse
from werkzeug.exceptions import HTTPException

from survey_app.services import devices
from survey_app.survey import form_csrf, posted
from survey_app.survey.kiosk_views import current_kiosk
from survey_app.survey.receipt_views import receipt_submit_code
from survey_app.text import clean_survey_code
from survey_app.web import ratelimit

FORM_ENDPOINTS = ("survey.show", "survey.receipt")
KIOSK_ANSWER_ENDPOINTS = ("survey.kiosk_answers", "survey.kiosk_answer")
KIOSK_PAIR_ENDPOINT = "survey.kiosk_pair"
LIMITED_ENDPOINTS = (*FORM_ENDPOINTS, *KIOSK_ANSWER_ENDPOINTS, KIOSK_PAIR_ENDPOINT)
# One address may use at most this fraction of a code's allowance: an office's whole crowd
# at one counter is far below it (150 an hour against some 15), and it takes several
# addresses to use up a code.
ADDRESS_SHARE_OF_A_CODE = 4
# The kinds of post, each counted against limits of its own (LIMITS).
JUNK, SUBMISSION = "junk", "submission"
KIOSK_ANSWER, KIOSK_PAIRING = "kiosk-answer", "kiosk-pairing"
EVERY_POST = frozenset({JUNK, SUBMISSION, KIOSK_ANSWER, KIOSK_PAIRING})


# What a post is ---------------------------------------------------------------------------


def submitting_device() -> str | None:
    """Return the tag of the device whose form this post sends, or None for junk.

    A post is a submission when its CSRF token and its submit token are both valid for
    the code in the address; the submit token names the device the form was served to.
    Sorted once per request.
    """
    if "_submitting_device" not in g:
        g._submitting_device = _read_submission()
    device: str | None = g._submitting_device
    return device


def _read_submission() -> str | None:
    try:
        form = request.form
    except HTTPException:  # the body itself is refused (too large); the view says so
        return None
    if not form_csrf.is_valid_token(form.get("csrf_token")):
        return None
    code = _submit_code()
    token = posted.submit_token(form.get("submit_token"), code) if code else None
    return token.device_tag if token is not None else None


def _submit_code() -> str | None:
    """Return what the submit tokens of the address's form are bound to (None: no form)."""
    args = request.view_args or {}
    if request.endpoint == "survey.receipt":
        return receipt_submit_code(args.get("token"))
    return clean_survey_code(args.get("code"))


def kind_of_post(endpoint: str) -> str:
    """Return which allowances a post to a limited endpoint uses: its kind."""
    if endpoint in KIOSK_ANSWER_ENDPOINTS:
        return KIOSK_ANSWER
    if endpoint == KIOSK_PAIR_ENDPOINT:
        return KIOSK_PAIRING
    return SUBMISSION if submitting_device() is not None else JUNK


# The kiosk tablet's posts ------------------------------------------------------------------
# A kiosk sends every answer of its counter: its allowance is its own, named by its
# credential (a stolen one sends no more than it). Pairing is guessed, if at all, from
# some addresses: each has a small allowance, and all of them together one more.


def kiosk_key() -> str:
    """Return the bucket of the kiosk sending (its id), or of the address for no kiosk."""
    if "_kiosk_bucket" not in g:
        kiosk = current_kiosk()
        g._kiosk_bucket = (
            f"kiosk:{kiosk.id}" if kiosk is not None else "kiosk-unknown:" + _hashed_address()
        )
    bucket: str = g._kiosk_bucket
    return bucket


def all_pairings_key() -> str:
    return "kiosk-pairing"


# Who is counted ---------------------------------------------------------------------------


def device_key() -> str:
    """Return the bucket of the device the posted form was served to."""
    return "device:" + (submitting_device() or "-")


def code_key() -> str:
    """Return the bucket of the QR code (or the receipt link) in the address, canonical."""
    return "code:" + (_submit_code() or "-")


def address_key() -> str:
    """Return the bucket of the client's address (behind ProxyFix: the real client's)."""
    return "address:" + _hashed_address()


def address_at_code_key() -> str:
    """Return the bucket of the client's address at the QR code in the address."""
    return address_key() + ":" + code_key()


def _hashed_address() -> str:
    """Return the client's keyed address hash, computed once per request (up to 3 uses)."""
    if "_hashed_address" not in g:
        g._hashed_address = devices.address_hash(request.remote_addr or "unknown",
                                                 datetime.now(UTC))
    hashed: str = g._hashed_address
    return hashed


# What is allowed --------------------------------------------------------------------------


def _setting(name: str) -> Callable[[Config], str]:
    """Return a reader of the limit in a setting, read at each request."""

    def provide(config: Config) -> str:
        value: str = config[name]
        return value

    return provide


@lru_cache(maxsize=64)
def parsed(limit: str) -> RateLimitItem:
    """Return the limit a setting's string says, parsed once per process and string."""
    return parse(limit)


def _share_of_the_code_limit(config: Config) -> str:
    """Return one address's share of a code's allowance (at least one)."""
    item = parsed(config["RATELIMIT_PER_CODE"])
    share = max(1, item.amount // ADDRESS_SHARE_OF_A_CODE)
    return f"{share} per {item.multiples} {item.GRANULARITY.name}"


# (scope, bucket, limit, the kinds of post it counts)
Rule = tuple[str, Callable[[], str], Callable[[Config], str], frozenset[str]]

# The limits are checked with the shortest window first, and within one window in this
# order, and the check stops at the first refusal: junk refused by its own limit uses up
# nothing of its address's ceiling, and a device refused by its own limit nothing of its
# code's.
LIMITS: tuple[Rule, ...] = (
    ("junk", address_key, _setting("RATELIMIT_JUNK_PER_ADDRESS"), frozenset({JUNK})),
    ("device", device_key, _setting("RATELIMIT_PER_DEVICE"), frozenset({SUBMISSION})),
    ("address-code", address_at_code_key, _share_of_the_code_limit, frozenset({SUBMISSION})),
    ("code", code_key, _setting("RATELIMIT_PER_CODE"), frozenset({SUBMISSION})),
    ("address", address_key, _setting("RATELIMIT_PER_ADDRESS"), EVERY_POST),
    ("kiosk", kiosk_key, _setting("RATELIMIT_PER_KIOSK"), frozenset({KIOSK_ANSWER})),
    ("kiosk-pair", address_key, _setting("RATELIMIT_KIOSK_PAIR_PER_ADDRESS"),
     frozenset({KIOSK_PAIRING})),
    ("kiosk-pair-all", all_pairings_key, _setting("RATELIMIT_KIOSK_PAIR_ALL"),
     frozenset({KIOSK_PAIRING})),
)


def request_hits(endpoint: str, config: Config) -> list[ratelimit.Hit]:
    """Return the counts a post to a limited endpoint makes, in the order they are checked."""
    kind = kind_of_post(endpoint)
    applying = [(parsed(limit(config)), scope, bucket)
                for scope, bucket, limit, kinds in LIMITS if kind in kinds]
    # Shortest window first, as Flask-Limiter ordered them (by the window's unit); stable, so
    # limits of one window keep the table's order.
    applying.sort(key=lambda applies: applies[0].GRANULARITY.seconds)
    # The scope names the endpoint, as in Flask-Limiter's keys: a receipt link's counts and
    # a QR code's stay apart.
    return [ratelimit.Hit(item, bucket(), f"{endpoint}:{scope}")
            for item, scope, bucket in applying]


def check_limits() -> None:
    """Count a post to the form against its limits, and refuse it at the first one reached."""
    endpoint = request.endpoint
    if endpoint not in LIMITED_ENDPOINTS or request.method != "POST":
        return  # everything but a post to the form leaves at once
    config = current_app.config
    if config["RATELIMIT_ENABLED"]:
        ratelimit.count(request_hits(endpoint, config))


def init_app(app: Flask) -> None:
    """Give the app its own counters, and check the survey form's limits before its posts."""
    ratelimit.init_app(app)
    app.before_request(check_limits)
