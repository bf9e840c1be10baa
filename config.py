"""Settings of survey_app, read from the environment.

Every setting has a sane default for a developer's laptop (SQLite in the instance folder);
a production deployment sets ``APP_ENV=production``, ``SECRET_KEY``, ``HASH_KEY`` and
``DATABASE_URL``.
"""

from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


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
    DATABASE_URL = os.environ.get("DATABASE_URL") or None
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
    # Rate limits (Flask-Limiter syntax). Everyone at an office shares one public address,
    # so limits go per QR code and per device; the per-address ceiling only stops floods.
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
    """Settings for a real deployment: a real secret key is required."""

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
