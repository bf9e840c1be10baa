"""Settings of survey_app, read from the environment.

Every setting has a sane default for a developer's laptop (SQLite in the instance folder);
a production deployment sets ``APP_ENV=production``, ``SECRET_KEY``, ``HASH_KEY``,
``DATABASE_URL``, ``RATELIMIT_STORAGE_URI``, ``PUBLIC_BASE_URL`` and ``TRUSTED_PROXIES``,
and the app refuses to start in production while any of them is unsafe
(`production_problems`, docs/deployment.md, «Settings»).
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


# The data controller named on the privacy notice: until set, each says so in its text,
# and a production start warns.
NOT_SET_MARK = "[Chưa thiết lập"
DATA_CONTROLLER_SETTINGS = ("DATA_CONTROLLER_NAME", "DATA_CONTROLLER_ADDRESS",
                            "DATA_CONTROLLER_CONTACT")


class Config:
    """Settings shared by every environment."""

    APP_ENV = "development"

    # None means "generate one and keep it in the instance folder" (development only).
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    # Key of the keyed hashes (dossier codes, devices, addresses), kept apart from SECRET_KEY
    # so that either can change alone. None means "generate one and keep it in the instance
    # folder" (development only); production refuses to start without it.
    HASH_KEY = os.environ.get("HASH_KEY") or None

    # None means SQLite in the instance folder; PostgreSQL through postgresql://...
    # In production, the runtime role: it reads and writes rows and owns nothing.
    DATABASE_URL = os.environ.get("DATABASE_URL") or None
    # The role that owns the tables and runs the migrations (`flask db upgrade`, which then
    # grants the runtime role of DATABASE_URL what it needs). Unset, the migrations run as
    # DATABASE_URL's role, as on a developer's laptop (docs/deployment.md, «Database roles»).
    DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL") or None
    # A streaming replica of that PostgreSQL database: dashboards, exports, the API's reads
    # and the public pages read from it (docs/deployment.md). Unset, everything reads the
    # primary. A replica that refuses connections is left alone for REPLICA_RETRY_SECONDS.
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL") or None
    REPLICA_RETRY_SECONDS = _env_int("REPLICA_RETRY_SECONDS", 30)

    # Local dates and periods are reckoned in this zone; timestamps are stored in UTC.
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Ho_Chi_Minh")

    # The address printed on QR codes and shown by the CLI; the app usually sits behind a
    # reverse proxy with its own domain, so it cannot guess this from a request. Unset, it is
    # the development server's, on the port `flask run` takes (`make run PORT=5001`).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or (
        f"http://127.0.0.1:{os.environ.get('FLASK_RUN_PORT') or 5000}"
    )

    # Alerts by e-mail (docs/alerts.md): smtp://[user:password@]host[:port] or smtps://…;
    # unset, alerts reach the in-app inbox only. MAIL_FROM is the sender's address.
    SMTP_URL = os.environ.get("SMTP_URL") or None
    MAIL_FROM = os.environ.get("MAIL_FROM") or "canhbao@localhost"

    LANGUAGES = ("vi", "en")
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_TRANSLATION_DIRECTORIES = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "translations"
    )

    # A citizen may leave the form open while waiting at the counter: be generous.
    WTF_CSRF_TIME_LIMIT = _env_int("WTF_CSRF_TIME_LIMIT", 12 * 3600)
    SUBMIT_TOKEN_MAX_AGE = _env_int("SUBMIT_TOKEN_MAX_AGE", 24 * 3600)

    # The survey form posts well under 4 KB; anything far larger is not a citizen.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 64 * 1024)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False

    SEND_FILE_MAX_AGE_DEFAULT = 7 * 24 * 3600

    # Password guessing: so many failures within the window lock sign-in for a while.
    LOGIN_MAX_FAILURES_PER_ACCOUNT = _env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
    LOGIN_MAX_FAILURES_PER_ADDRESS = _env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
    LOGIN_FAILURE_WINDOW = _env_int("LOGIN_FAILURE_WINDOW", 15 * 60)
    # Signed-in sessions end after this many minutes without a request, and this many hours
    # after signing in whatever happens (checked on the server, docs/security.md).
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 30)
    SESSION_MAX_HOURS = _env_int("SESSION_MAX_HOURS", 12)
    # Administrators must sign in with a second factor (a TOTP app): not a setting of the
    # environment, so no deployment turns it off by mistake.
    SECOND_FACTOR_FOR_ADMINS = True
    # Rate limits, in the `limits` library's notation ("20 per hour"). Everyone at an office
    # shares one public address, so limits go per QR code and per device; the per-address
    # ceiling only stops floods.
    # Storage: memory for one process; redis://127.0.0.1:6379 when several workers serve.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Keys in that storage start with this: apps sharing one Redis keep their counts apart.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "survey_app")
    RATELIMIT_PER_DEVICE = os.environ.get("RATELIMIT_PER_DEVICE", "20 per hour")
    RATELIMIT_PER_CODE = os.environ.get("RATELIMIT_PER_CODE", "600 per hour")
    RATELIMIT_PER_ADDRESS = os.environ.get("RATELIMIT_PER_ADDRESS", "3000 per hour")
    # Posts refused before they are answers (no valid CSRF or submit token): per address.
    # They never use a code's or a device's allowance, so junk cannot close a code.
    RATELIMIT_JUNK_PER_ADDRESS = os.environ.get("RATELIMIT_JUNK_PER_ADDRESS", "60 per hour")
    # A second response from one device to one code within this many seconds is flagged.
    DEVICE_REPEAT_WINDOW = _env_int("DEVICE_REPEAT_WINDOW", 6 * 3600)
    # A submit sooner than this many seconds after the form was rendered is flagged.
    MIN_SECONDS_TO_ANSWER = _env_int("MIN_SECONDS_TO_ANSWER", 8)
    # Kiosk tablets (docs/security.md): an answer sent sooner than this many seconds after
    # its first choice is flagged (five more required statements to read and tap, a second
    # apiece at least); this many identical answers within the window at one kiosk flag the
    # last of them (a counter serves one citizen every four to five minutes).
    KIOSK_MIN_SECONDS_TO_ANSWER = _env_int("KIOSK_MIN_SECONDS_TO_ANSWER", 5)
    KIOSK_IDENTICAL_ANSWERS = _env_int("KIOSK_IDENTICAL_ANSWERS", 4)
    KIOSK_IDENTICAL_WINDOW = _env_int("KIOSK_IDENTICAL_WINDOW", 10 * 60)
    # Pairing codes: minutes valid; guesses allowed per address and in all.
    KIOSK_PAIRING_MINUTES = _env_int("KIOSK_PAIRING_MINUTES", 5)
    RATELIMIT_KIOSK_PAIR_PER_ADDRESS = os.environ.get(
        "RATELIMIT_KIOSK_PAIR_PER_ADDRESS", "10 per hour")
    RATELIMIT_KIOSK_PAIR_ALL = os.environ.get("RATELIMIT_KIOSK_PAIR_ALL", "200 per hour")
    # Answers one kiosk credential may send: a day's queue empties in a few hours at most.
    RATELIMIT_PER_KIOSK = os.environ.get("RATELIMIT_PER_KIOSK", "120 per hour")
    # Seconds each worker may show the form of a code without asking the database again:
    # another worker's revocation shows within this time (sending answers checks at once).
    FORM_CODE_CACHE_SECONDS = _env_int("FORM_CODE_CACHE_SECONDS", 10)
    # More responses than this at one code within ten minutes are flagged as a burst.
    BURST_PER_CODE_10_MIN = _env_int("BURST_PER_CODE_10_MIN", 40)
    # Counted responses from one address at one code: beyond this many within ten minutes,
    # or within an hour, the next ones are flagged. A busy counter serves one citizen every
    # four to five minutes, so its whole crowd stays under both (docs/security.md).
    ADDRESS_PER_CODE_10_MIN = _env_int("ADDRESS_PER_CODE_10_MIN", 5)
    ADDRESS_PER_CODE_HOUR = _env_int("ADDRESS_PER_CODE_HOUR", 20)

    # A receipt link (docs/receipts.md) opens the form for this many days after its issue
    # date, long enough to answer once the result is returned.
    RECEIPT_VALID_DAYS = _env_int("RECEIPT_VALID_DAYS", 90)

    # Privacy: comments, dossier and device hashes older than this are purged
    # (`flask purge`); every tally stays the same.
    RETENTION_DAYS = _env_int("RETENTION_DAYS", 730)
    # The keyed hash of a dossier code and its receipt digests serve only to count each
    # dossier once: a receipt link opens the form for RECEIPT_VALID_DAYS, and a dossier is
    # settled within weeks. Older ones are cleared by the same purge (docs/privacy.md).
    DOSSIER_HASH_RETENTION_DAYS = _env_int("DOSSIER_HASH_RETENTION_DAYS", 120)
    # The data controller named on the privacy notice (/quyen-rieng-tu) and in
    # docs/privacy.md: the agency that runs the service, its address, and how to reach its
    # data-protection contact (an e-mail address or a phone number).
    DATA_CONTROLLER_NAME = os.environ.get("DATA_CONTROLLER_NAME") or (
        "[Chưa thiết lập: tên cơ quan vận hành — DATA_CONTROLLER_NAME]")
    DATA_CONTROLLER_ADDRESS = os.environ.get("DATA_CONTROLLER_ADDRESS") or (
        "[Chưa thiết lập: địa chỉ — DATA_CONTROLLER_ADDRESS]")
    DATA_CONTROLLER_CONTACT = os.environ.get("DATA_CONTROLLER_CONTACT") or (
        "[Chưa thiết lập: email hoặc số điện thoại — DATA_CONTROLLER_CONTACT]")
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)

    # Origins allowed to show the public board (/cong-khai) in a frame, such as the
    # province's portal: a space-separated list of https://host[:port]. Every other page
    # refuses every frame.
    BOARD_FRAME_ANCESTORS = os.environ.get("BOARD_FRAME_ANCESTORS", "")

    # /healthz answers 503 when the instance folder's file system has less free space than
    # this, in megabytes: a full disk stops the logs and SQLite before anyone notices.
    HEALTHZ_MIN_FREE_MB = _env_int("HEALTHZ_MIN_FREE_MB", 500)

    # Werkzeug's scrypt defaults (N=2**15, r=8, p=1).
    PASSWORD_HASH_METHOD = "scrypt"


class ProductionConfig(Config):
    """Settings for a real deployment: the app refuses to start on unsafe ones."""

    APP_ENV = "production"
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class TestingConfig(Config):
    """Settings for the test suite."""

    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    HASH_KEY = "testing-hash-key-not-for-production"
    PUBLIC_BASE_URL = "http://survey.test"
    # The suite submits forms at machine speed from one address; tests of the "too fast"
    # flag and of the address rule turn them on.
    MIN_SECONDS_TO_ANSWER = 0
    KIOSK_MIN_SECONDS_TO_ANSWER = 0
    ADDRESS_PER_CODE_10_MIN = 0
    ADDRESS_PER_CODE_HOUR = 0
    # Every tablet of the browser tests pairs from the same address; the test of the
    # pairing limit sets its own.
    RATELIMIT_KIOSK_PAIR_PER_ADDRESS = "100 per hour"
    # Tests change codes behind the app's back; tests of the cache turn it on.
    FORM_CODE_CACHE_SECONDS = 0
    # The suite signs admins in everywhere with a password alone; the tests of the second
    # factor turn the requirement back on (tests/db/test_second_factor.py).
    SECOND_FACTOR_FOR_ADMINS = False
    # Still scrypt, with a smaller work factor, so the suite does not spend its time hashing.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"


CONFIGS: dict[str, type[Config]] = {
    "development": Config,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def config_for(env: str | None) -> type[Config]:
    """Return the settings class for an APP_ENV value."""
    name = (env or "development").strip().lower()
    if name not in CONFIGS:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]


# What production refuses ------------------------------------------------------------------
# `create_app` calls these with APP_ENV=production, for the web server and every `flask`
# command alike: the app does not start, naming every unsafe setting at once.

MIN_KEY_LENGTH = 32
# Keys that must never reach production: copied from an example or from the tests.
KNOWN_WEAK_SECRETS = frozenset({
    "dev",
    "secret",
    "changeme",
    "change-me",
    "testing-secret-key-not-for-production",
    "testing-hash-key-not-for-production",
})
# A key containing one of these was copied from an example, not generated.
PLACEHOLDER_MARKERS = (
    "changeme", "change-me", "change_me", "not-for-production", "not_for_production",
    "example", "placeholder", "replace-me", "replace_me", "insecure", "dummy",
    "random hex",
)
# Limits a random key never comes near: 32 hex characters (secrets.token_hex(16)) show at
# least 8 distinct characters, none of them in half the key, and fewer than 70 % of
# neighbours one apart, in more than a million draws; these catch a letter repeated, a
# short pattern repeated, or a keyboard run.
MIN_DISTINCT_CHARACTERS = 8
MAX_SHARE_OF_ONE_CHARACTER = 0.5
MAX_SHARE_OF_CLOSE_NEIGHBOURS = 0.7
# The key's length times the entropy of its characters' frequencies; 32 random hex
# characters give about 117 bits, never under 85 in a million draws.
MIN_ESTIMATED_BITS = 64

# Host names that are never a public address (RFC 2606, RFC 6761, RFC 8375, mDNS).
PRIVATE_SUFFIXES = (
    "localhost", "local", "test", "example", "invalid", "internal", "lan", "localdomain",
    "home.arpa", "example.com", "example.net", "example.org",
)


class UnsafeProductionSettings(RuntimeError):
    """The production settings the app will not start with, each one named."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        count = "this problem is" if len(self.problems) == 1 else (
            f"each of these {len(self.problems)} problems is")
        super().__init__(
            f"the app will not start with APP_ENV=production until {count} fixed "
            f"(docs/deployment.md, «Settings»):\n{listed}"
        )


def production_problems(settings: Mapping[str, Any]) -> list[str]:
    """Return what makes these settings unsafe for production, one line per problem."""
    problems = [
        *_database_problems(settings),
        *_rate_limit_problems(settings),
        *_key_problems(settings),
    ]
    url_problem = public_base_url_problem(settings.get("PUBLIC_BASE_URL"))
    if url_problem:
        problems.append(url_problem)
    return problems


def production_warnings(settings: Mapping[str, Any]) -> list[str]:
    """Return what is probably wrong in production, but may be meant: logged at start."""
    warnings = []
    if not settings.get("TRUSTED_PROXIES"):
        warnings.append(
            "TRUSTED_PROXIES=0: no X-Forwarded-For or X-Forwarded-Proto header is believed. "
            "Behind nginx it must be 1 (the number of proxies in front of the app), or every "
            "citizen seems to come from nginx's address, sharing one per-address rate limit "
            "and one address in the abuse flags, and requests seem to arrive over plain http. "
            "Leave it at 0 only if clients reach gunicorn directly."
        )
    unset = [name for name in DATA_CONTROLLER_SETTINGS
             if not settings.get(name) or str(settings[name]).startswith(NOT_SET_MARK)]
    if unset:
        warnings.append(
            f"{', '.join(unset)} not set: the privacy notice (/quyen-rieng-tu) names no data "
            "controller and says «Chưa thiết lập», which a citizen may not read as an answer. "
            "Set the agency that runs the service, its address and its data-protection "
            "contact (docs/deployment.md, «Settings»)."
        )
    return warnings


def is_postgresql_url(url: str | None) -> bool:
    """Return whether a database URL names PostgreSQL."""
    return bool(url) and str(url).startswith(("postgresql://", "postgres://", "postgresql+"))


def _database_problems(settings: Mapping[str, Any]) -> list[str]:
    problems = []
    url = settings.get("DATABASE_URL")
    if not url:
        problems.append(
            "DATABASE_URL is not set, so the data would go to SQLite in the instance folder: "
            "production needs PostgreSQL (DATABASE_URL=postgresql://survey_app:<password>"
            "@127.0.0.1:5432/survey?connect_timeout=5)"
        )
    elif not is_postgresql_url(url):
        kind = "SQLite" if str(url).startswith("sqlite") else "not PostgreSQL"
        problems.append(
            f"DATABASE_URL names {kind}: production needs PostgreSQL "
            "(DATABASE_URL=postgresql://survey_app:<password>@127.0.0.1:5432/survey"
            "?connect_timeout=5); SQLite serves one writer at a time and one host only"
        )
    owner = settings.get("DATABASE_OWNER_URL")
    if owner and not is_postgresql_url(owner):
        problems.append("DATABASE_OWNER_URL must name the same PostgreSQL database as "
                        "DATABASE_URL, as the role that owns its tables")
    return problems


def _rate_limit_problems(settings: Mapping[str, Any]) -> list[str]:
    problems = []
    if settings.get("RATELIMIT_ENABLED") is False:
        problems.append("RATELIMIT_ENABLED is off: the survey form would take any number of "
                        "posts from one device, code or address")
    storage = str(settings.get("RATELIMIT_STORAGE_URI") or "memory://")
    if storage.startswith("memory://"):
        problems.append(
            f"RATELIMIT_STORAGE_URI is {storage}: each worker would count the rate limits "
            "alone (the real limit becomes the setting times the workers) and forget them at "
            "every restart; production shares them in Redis "
            "(RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0)"
        )
    return problems


def _key_problems(settings: Mapping[str, Any]) -> list[str]:
    problems = []
    purposes = {"SECRET_KEY": "signs sessions, forms and device cookies",
                "HASH_KEY": "keys every stored hash"}
    for name, purpose in purposes.items():
        weakness = key_weakness(settings.get(name))
        if weakness:
            problems.append(
                f"{name} ({purpose}) {weakness}: production needs a random value of at least "
                f"{MIN_KEY_LENGTH} characters, for example from "
                "python3 -c 'import secrets; print(secrets.token_hex(32))'"
            )
    secret, hash_key = settings.get("SECRET_KEY"), settings.get("HASH_KEY")
    if secret and secret == hash_key:
        problems.append(
            "HASH_KEY must differ from SECRET_KEY, so that each can be changed alone "
            "(see docs/privacy.md)"
        )
    return problems


def key_weakness(key: object) -> str | None:
    """Return why a key is not fit for production, or None if it looks random enough."""
    if not key:
        return "is not set"
    if not isinstance(key, str):
        return "is not a string of characters"
    if len(key) < MIN_KEY_LENGTH:
        return f"has {len(key)} characters, fewer than {MIN_KEY_LENGTH}"
    lowered = key.lower()
    if lowered in KNOWN_WEAK_SECRETS or any(m in lowered for m in PLACEHOLDER_MARKERS):
        return "is a placeholder from an example or from the tests"
    counts = Counter(key)
    if len(counts) == 1:
        return "is one character repeated"
    if max(counts.values()) > MAX_SHARE_OF_ONE_CHARACTER * len(key):
        return "is mostly one character repeated"
    if len(counts) < MIN_DISTINCT_CHARACTERS:
        return (f"uses only {len(counts)} different characters "
                f"(a random key uses at least {MIN_DISTINCT_CHARACTERS})")
    if any(key == key[:period] * (len(key) // period)
           for period in range(1, len(key) // 2 + 1) if len(key) % period == 0):
        return "is a short pattern repeated"
    close = sum(abs(ord(a) - ord(b)) <= 1 for a, b in zip(key, key[1:], strict=False))
    if close > MAX_SHARE_OF_CLOSE_NEIGHBOURS * (len(key) - 1):
        return "is a run of neighbouring characters (abcdef…, 123456…), not a random value"
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    if bits < MIN_ESTIMATED_BITS:
        return f"holds about {bits:.0f} bits of randomness, fewer than {MIN_ESTIMATED_BITS}"
    return None


def public_base_url_problem(url: object) -> str | None:
    """Return why PUBLIC_BASE_URL cannot be printed on QR codes, or None if it can."""
    example = "(for example PUBLIC_BASE_URL=https://danhgia.tinh.gov.vn)"
    if not url or not isinstance(url, str):
        return ("PUBLIC_BASE_URL is not set: it is the address printed on every QR code, "
                f"and must be the service's public https address {example}")
    parts = urlsplit(url)
    reasons = []
    if parts.scheme != "https":
        reasons.append("it is not https")
    try:
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        host = ""
    if not host:
        reasons.append("it names no host")
    elif _is_ip_literal(host):
        reasons.append(f"its host {host} is an IP address, not a public name")
    elif host == "localhost" or "." not in host:
        reasons.append(f"its host {host} is not a public name (a single label)")
    else:
        suffix = next((s for s in PRIVATE_SUFFIXES if host == s or host.endswith("." + s)),
                      None)
        if suffix:
            reasons.append(f"its host {host} ends in .{suffix}, a name reserved for "
                           "local networks, tests and examples")
    if not reasons:
        return None
    return (f"PUBLIC_BASE_URL={url} is printed on every QR code, so every poster would "
            f"point at it, but {' and '.join(reasons)}: use the service's public https "
            f"address {example}")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # 127.1, 10.1.2 and the like: numbers a resolver still reads as an address.
        return host.rsplit(".", 1)[-1].isdigit()
    return True
