"""The data model: agencies, sectors, counters, survey codes and responses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from survey_app.questionnaire import (
    INTEGRITY_ANSWERS,
    INTEGRITY_KEY,
    RATING_KEYS,
    SCALE_VALUES,
    WISH_CODES,
)
from survey_app.sipas import ELEMENT_PAIRS, Indicator

# Stable constraint names, so Alembic migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

AGENCY_LEVELS = ("province", "commune")
# Agency codes are typed in forms and CSV files: upper-case letters, digits, - and _.
AGENCY_CODE_PATTERN = r"^[A-Z0-9_-]+$"
AGENCY_CODE_MAX_LENGTH = 40
AGENCY_NAME_MAX_LENGTH = 200
# An agency's complaint hotline as people dial it (text.clean_hotline), and a short note.
HOTLINE_MAX_LENGTH = 20
HOTLINE_NOTE_MAX_LENGTH = 120
RESPONSE_STATUSES = ("counted", "duplicate", "flagged")
LANGUAGES = ("vi", "en")
ROLES = ("admin", "manager", "staff")
# Where a response came from: the QR code at the counter, or the link on a dossier's receipt.
SOURCES = ("counter", "receipt", "kiosk")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware.

    SQLite keeps no zone, PostgreSQL keeps one; this gives both the same behaviour.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Agency(Base):
    """A public office: the provincial centre, a department, or a commune."""

    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint(_in("level", AGENCY_LEVELS), name="level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(AGENCY_CODE_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(AGENCY_NAME_MAX_LENGTH))
    level: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Where a citizen can lodge a formal complaint by phone: named on the thank-you page of
    # a response that answered q7 «Có», for this agency and those below it without one.
    hotline: Mapped[str | None] = mapped_column(String(HOTLINE_MAX_LENGTH))
    hotline_note: Mapped[str | None] = mapped_column(String(HOTLINE_NOTE_MAX_LENGTH))

    parent: Mapped[Agency | None] = relationship(remote_side=[id])
    counters: Mapped[list[Counter]] = relationship(back_populates="agency", order_by="Counter.name")

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"


class Sector(Base):
    """A field of administrative procedures (lĩnh vực), such as land or civil status."""

    __tablename__ = "sectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label_vi: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_vi

    def __repr__(self) -> str:
        return f"<Sector {self.code}>"


class Counter(Base):
    """A service counter (quầy) of an agency."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="counters")

    def __repr__(self) -> str:
        return f"<Counter {self.agency_id}:{self.name}>"


class SurveyCode(Base):
    """The code printed as a QR at a counter: one agency + counter + sector.

    A code of kind "receipt" is never printed: it files the answers that came through the
    receipt links of one agency and sector (services/receipts.py), so that they are counted,
    rolled up and filtered like any other, and its kind is the response's source.
    """

    __tablename__ = "survey_codes"
    __table_args__ = (CheckConstraint(_in("kind", SOURCES), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(10), default="counter", server_default="counter")

    agency: Mapped[Agency] = relationship()
    counter: Mapped[Counter] = relationship()
    sector: Mapped[Sector] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<SurveyCode {self.code}>"


SCALE_CHECK = "{0} IS NULL OR {0} BETWEEN " + f"{SCALE_VALUES[0]} AND {SCALE_VALUES[-1]}"


class Response(Base):
    """One citizen's answers, submitted through one survey code.

    Agency, counter and sector are copied from the code so tallies need no join. There is
    one column per rating question of the questionnaire (1..5, NULL for N/A where the
    questionnaire allows it) and one for the integrity question; q8 lives in ResponseWish.
    A response that is not counted keeps the reason why.
    """

    __tablename__ = "responses"
    __table_args__ = (
        *(CheckConstraint(SCALE_CHECK.format(key), name=f"{key}_scale") for key in RATING_KEYS),
        CheckConstraint(
            f"{INTEGRITY_KEY} IS NULL OR {_in(INTEGRITY_KEY, INTEGRITY_ANSWERS)}",
            name=f"{INTEGRITY_KEY}_answer",
        ),
        CheckConstraint("comment IS NULL OR length(comment) <= 1000", name="comment_length"),
        # Only a comment that is there can have been masked (the purge clears both).
        CheckConstraint("comment IS NOT NULL OR NOT comment_masked", name="comment_masked"),
        CheckConstraint(_in("status", RESPONSE_STATUSES), name="status"),
        CheckConstraint(
            "(status = 'counted' AND status_reason IS NULL)"
            " OR (status <> 'counted' AND status_reason IS NOT NULL)",
            name="status_reason",
        ),
        CheckConstraint(_in("language", LANGUAGES), name="language"),
        # One counted response per agency and dossier code; later ones are duplicates.
        Index(
            "uq_responses_counted_dossier",
            "agency_id",
            "dossier_hash",
            unique=True,
            sqlite_where=text("status = 'counted' AND dossier_hash IS NOT NULL"),
            postgresql_where=text("status = 'counted' AND dossier_hash IS NOT NULL"),
        ),
        Index("ix_responses_agency_created", "agency_id", "created_at"),
        Index("ix_responses_code_created", "survey_code_id", "created_at"),
        # The repeat check: has this device answered at this code lately?
        Index("ix_responses_device_code_created", "device_hash", "survey_code_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_code_id: Mapped[int] = mapped_column(ForeignKey("survey_codes.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"))
    questionnaire_version: Mapped[str] = mapped_column(String(40))
    # The answers: one column per question of the questionnaire (read with getattr).
    for _key in RATING_KEYS:
        vars()[_key] = mapped_column(_key, SmallInteger, nullable=True)
    vars()[INTEGRITY_KEY] = mapped_column(INTEGRITY_KEY, String(10), nullable=True)
    del _key
    # Stored with its personal data masked (survey_app.masking); the flag says it was.
    comment: Mapped[str | None] = mapped_column(Text)
    comment_masked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    dossier_hash: Mapped[str | None] = mapped_column(String(64))
    # Keyed hashes of the device cookie's id and of the client address (key rotated
    # monthly); neither the id nor the address is kept (survey_app.services.devices).
    device_hash: Mapped[str | None] = mapped_column(String(64))
    address_hash: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default="counted")
    status_reason: Mapped[str | None] = mapped_column(String(40))
    # The nonce of the rendered form's submit token: a replay finds the same response.
    submit_nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    survey_code: Mapped[SurveyCode] = relationship()
    wishes: Mapped[list[ResponseWish]] = relationship(
        cascade="all, delete-orphan", order_by="ResponseWish.wish"
    )

    @property
    def is_counted(self) -> bool:
        return self.status == "counted"

    def answer(self, key: str) -> Any:
        """Return the stored answer to a question of the questionnaire (None: N/A or none)."""
        return getattr(self, key)

    @classmethod
    def answer_column(cls, key: str) -> Any:
        """Return the column of a question's answers, for queries."""
        return getattr(cls, key)

    @property
    def wish_codes(self) -> list[str]:
        return [w.wish for w in self.wishes]

    def __repr__(self) -> str:
        return f"<Response {self.id} {self.status}>"


class ResponseWish(Base):
    """One improvement a citizen asked for (q8); a response has at most two."""

    __tablename__ = "response_wishes"
    __table_args__ = (CheckConstraint(_in("wish", WISH_CODES), name="wish"),)

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    wish: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(Base):
    """A staff member, manager or administrator who signs in with email and password."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        # Managers and staff always belong to an agency; their scope derives from it.
        CheckConstraint("role = 'admin' OR agency_id IS NOT NULL", name="agency_for_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Changing it signs the user out everywhere (the session carries it).
    session_version: Mapped[int] = mapped_column(default=1)
    # Set when someone else chose the password (an admin, an operator): the owner must
    # choose their own before any other page opens.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The second factor (docs/security.md): the TOTP secret, sealed under a key derived from
    # HASH_KEY (never stored or logged in clear); it counts once confirmed by a first code.
    totp_secret: Mapped[str | None] = mapped_column(String(200))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last time step whose code was accepted: a code is good once, never replayed.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    agency: Mapped[Agency | None] = relationship()

    # Flask-Login's interface.
    @property
    def is_active(self) -> bool:
        return self.is_enabled

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enabled_at is not None

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(Base):
    """A personal API token; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in lists so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Every token ends: a forgotten one in an old script stops working on its own.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired()

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or utcnow())


class LoginFailure(Base):
    """A failed sign-in, counted to slow down password guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_at", "account_hash", "at"),
        Index("ix_login_failures_address_at", "address_hash", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    account_hash: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """One entry of the append-only audit log: who did what, when, from where."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Copied, so the entry still reads right after the account changes.
    actor_email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address_hash: Mapped[str | None] = mapped_column(String(64))


class TargetYear(Base):
    """A year that has targets of its own, and the minimum sample its figures need.

    A period is judged against the targets of its own year, or of the latest earlier year
    that has targets (survey_app.services.reports.TargetBook).
    """

    __tablename__ = "target_years"
    __table_args__ = (CheckConstraint("min_sample >= 1", name="min_sample"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    min_sample: Mapped[int] = mapped_column(default=30)

    targets: Mapped[list[Target]] = relationship(
        back_populates="target_year", cascade="all, delete-orphan"
    )


target_scope_sectors = Table(
    "target_scope_sectors",
    Base.metadata,
    Column("scope_id", ForeignKey("target_scopes.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sectors.id", ondelete="CASCADE"), primary_key=True),
)


class TargetScope(Base):
    """A named set of sectors that targets are set for: land, the three pooled, health...

    The scope that covers every sector (`covers_all_sectors`) has no member rows, so a sector
    added later belongs to it at once.
    """

    __tablename__ = "target_scopes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label_vi: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    covers_all_sectors: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(SmallInteger, default=0)

    sectors: Mapped[list[Sector]] = relationship(
        secondary=target_scope_sectors, order_by="Sector.position"
    )

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_vi

    def __repr__(self) -> str:
        return f"<TargetScope {self.code}>"


INDICATORS = tuple(indicator.value for indicator in Indicator)


class Target(Base):
    """One target: in a year, an indicator of a scope must reach a threshold (percent)."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("year", "indicator", "scope_id"),
        CheckConstraint(_in("indicator", INDICATORS), name="indicator"),
        CheckConstraint("threshold BETWEEN 0 AND 100", name="threshold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("target_years.year", ondelete="CASCADE"))
    indicator: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[int] = mapped_column(ForeignKey("target_scopes.id", ondelete="CASCADE"),
                                          index=True)
    threshold: Mapped[float] = mapped_column(Float)

    target_year: Mapped[TargetYear] = relationship(back_populates="targets")
    scope: Mapped[TargetScope] = relationship()


# Rollups ---------------------------------------------------------------------------------
# Tallies are read from these tables, never by counting the responses table: one row per
# (local day or month, code, status) holds how many responses gave each answer. They are
# kept exact in the same transaction as every insert and status change
# (services/rollups.py).

RATING_QUESTIONS = RATING_KEYS
# The 'counted' row of a day or month and code also holds how many responses of each other
# status it has (0 on the other rows), so that the usual read (counted answers, and the
# counts by status beside them) touches only the counted rows: at most codes x months
# rows a year, however many responses were flagged or found duplicate.
STATUS_COUNT_COLUMNS: tuple[str, ...] = tuple(
    f"responses_{status}" for status in RESPONSE_STATUSES if status != "counted"
)
# For the interval of the index: for every pair of elements, how many responses answered both
# (1..5), and of those how many were satisfied on the first, on the second and on both.
PAIR_PARTS = ("valid", "first", "second", "both")
PAIR_COUNT_COLUMNS: tuple[str, ...] = tuple(
    f"pair_{first}_{second}_{part}" for first, second in ELEMENT_PAIRS for part in PAIR_PARTS
)
TALLY_COUNT_COLUMNS: tuple[str, ...] = (
    "responses",
    *(f"{q}_{value}" for q in RATING_QUESTIONS for value in SCALE_VALUES),
    *(f"{INTEGRITY_KEY}_{answer}" for answer in INTEGRITY_ANSWERS),
    "wish_respondents",
    *(f"wish_{code}" for code in WISH_CODES),
    *PAIR_COUNT_COLUMNS,
    *STATUS_COUNT_COLUMNS,
)


def _tally_table(name: str, *period_columns: str) -> Table:
    # No foreign keys: rollup rows are derived, written only by survey_app.services.tallies in the
    # transaction that stores or moves a response, and the responses table has the keys.
    return Table(
        name,
        Base.metadata,
        Column(period_columns[0], Date, primary_key=True),
        Column("survey_code_id", Integer, primary_key=True, autoincrement=False),
        Column("status", String(10), primary_key=True),
        *(Column(extra, Date, nullable=False) for extra in period_columns[1:]),
        Column("agency_id", Integer, nullable=False),
        Column("counter_id", Integer, nullable=False),
        Column("sector_id", Integer, nullable=False),
        *(Column(c, Integer, nullable=False, default=0) for c in TALLY_COUNT_COLUMNS),
        Index(f"ix_{name}_agency_{period_columns[0]}", "agency_id", period_columns[0]),
    )


tally_days = _tally_table("tally_days", "day", "month")
tally_months = _tally_table("tally_months", "month")
# Whole calendar years (keyed by their 1 January): SIPAS is reported by year, and a year
# over a province then sums one row per code instead of twelve.
tally_years = _tally_table("tally_years", "year")


class UserSession(Base):
    """A signed-in browser session; signing out deletes it, so no copy of the cookie lives on.

    The cookie holds a random secret; only its SHA-256 hash is kept here.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Moved on by the requests of the session (at most once a minute): a session left idle
    # longer than SESSION_IDLE_MINUTES ends.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecoveryCode(Base):
    """A one-time code that stands in for the second factor when the phone is lost.

    Only a keyed hash is kept; using it sets `used_at`, and it never opens anything again.
    """

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordReset(Base):
    """A one-time link an admin gives a person who forgot their password.

    Only the SHA-256 hash of the link's secret is kept; the link works once, until expires_at.
    """

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


# Receipts and dossier volumes -------------------------------------------------------------


class ReceiptKey(Base):
    """An agency's secret for receipt links; its id travels in every link it signs.

    The one-stop system holds a copy and mints links offline (docs/receipts.md). A retired
    key signs nothing new and its links are refused; keys rotate by creating a new one.
    """

    __tablename__ = "receipt_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    secret: Mapped[str] = mapped_column(String(64))  # 32 random bytes, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agency: Mapped[Agency] = relationship()

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


class DossierDigest(Base):
    """Which dossier a response answers for, as the keyed digest a receipt link carries.

    A receipt answer has one row (the key and digest of its link); a walk-in answer that
    typed its dossier code has one per key of its agency, so a dossier answered both ways is
    found whichever came first.
    """

    __tablename__ = "dossier_digests"
    __table_args__ = (Index("ix_dossier_digests_key_digest", "key_id", "digest"),)

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[int] = mapped_column(ForeignKey("receipt_keys.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(16))  # 8 bytes, hex


class MintedReceipt(Base):
    """A receipt link minted by the API or the command line: what a response rate of
    receipts is measured against (links minted offline are not known until answered)."""

    __tablename__ = "minted_receipts"

    key_id: Mapped[int] = mapped_column(ForeignKey("receipt_keys.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(16), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"))
    issued_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DossierVolume(Base):
    """How many dossiers an agency received in a sector on one local day.

    Loaded from the one-stop system's report (`flask volumes import`, PUT /api/v1/volumes);
    the denominator of the response rates and the weights of the volume-weighted figures.
    """

    __tablename__ = "dossier_volumes"
    __table_args__ = (CheckConstraint("received >= 0", name="received"),)

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# Alerts --------------------------------------------------------------------------------------

# What an alert rule watches (services/alerts.py holds the defaults of each).
ALERT_KINDS = ("integrity", "dissatisfied_run", "below_target", "implausible_rate")
ALERT_STATUSES = ("open", "acknowledged", "closed")
ALERT_EVENTS = ("raised", "acknowledged", "closed")
# How a person wants alerts by e-mail: each alert, one digest a day, or none.
ALERT_DELIVERIES = ("each", "digest", "none")
ALERT_NOTE_MAX_LENGTH = 1000


class AlertRule(Base):
    """One kind of alert an admin may turn off or tune; its parameters have safe defaults."""

    __tablename__ = "alert_rules"
    __table_args__ = (CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), unique=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Alert(Base):
    """A sign a manager should see the same day: what raised it, where, and where it stands.

    The dedupe key names the rule, the scope and the window, so a rule never raises the same
    alert twice. It holds no answer and no comment: it points at the response, if any.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),
        CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
        Index("ix_alerts_status_agency", "status", "agency_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    survey_code_id: Mapped[int | None] = mapped_column(ForeignKey("survey_codes.id"))
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sectors.id"))
    day: Mapped[date] = mapped_column(Date)  # the local day it is about
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("responses.id", ondelete="SET NULL"))
    # What the rule saw: counts, shares, thresholds (numbers only, never a citizen's text).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    agency: Mapped[Agency] = relationship()
    counter: Mapped[Counter | None] = relationship()
    survey_code: Mapped[SurveyCode | None] = relationship()
    sector: Mapped[Sector | None] = relationship()
    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id", cascade="all, delete-orphan")


class AlertEvent(Base):
    """One step in an alert's history: raised, acknowledged (with a note), closed."""

    __tablename__ = "alert_events"
    __table_args__ = (
        CheckConstraint(_in("action", ALERT_EVENTS), name="action"),
        CheckConstraint(f"note IS NULL OR length(note) <= {ALERT_NOTE_MAX_LENGTH}",
                        name="note_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          index=True)
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class AlertPreference(Base):
    """How one person wants alerts by e-mail (no row: each alert)."""

    __tablename__ = "alert_preferences"
    __table_args__ = (CheckConstraint(_in("delivery", ALERT_DELIVERIES), name="delivery"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    delivery: Mapped[str] = mapped_column(String(10), default="each")


class AlertDelivery(Base):
    """The outbox: one alert to be mailed to one person, alone or in their daily digest.

    Written with the alert; a failed send keeps the row unsent, with its error, for the next
    run of `flask alerts send` or `flask alerts digest`.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        CheckConstraint(_in("mode", ALERT_DELIVERIES[:2]), name="mode"),
        Index("ix_alert_deliveries_pending", "mode", "sent_at"),
    )

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    mode: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))

    alert: Mapped[Alert] = relationship()
    user: Mapped[User] = relationship()
# Sealed daily totals -----------------------------------------------------------------------

SEAL_KINDS = ("day", "correction")


class DaySeal(Base):
    """One link of the chain of sealed daily totals (services/seals.py, docs/seals.md).

    The first seal of a local day (kind "day", revision 0) holds the counted totals per
    agency and sector read from the rollups when the day was over; a later flag or restore
    that changes them appends a "correction" (revision 1, 2 ...) with its reason. Rows are
    only ever added: no code path updates or deletes one.
    """

    __tablename__ = "day_seals"
    __table_args__ = (
        UniqueConstraint("day", "revision"),
        CheckConstraint(_in("kind", SEAL_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'day' AND revision = 0 AND reason IS NULL) "
            "OR (kind = 'correction' AND revision > 0 AND reason IS NOT NULL)",
            name="revision",
        ),
        CheckConstraint("sequence > 0", name="sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(200))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # {"<agency id>": {"salt": hex, "sectors": {"<sector id>": {column: count}}}}
    totals: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_digest: Mapped[str] = mapped_column(String(64))
    previous_digest: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
# The public transparency board ------------------------------------------------------------


class BoardPublication(Base):
    """An agency whose figures an admin has put on the public board (/cong-khai).

    One row while it is published; unpublishing deletes the row, and the audit log keeps
    who published and unpublished it, and when.
    """

    __tablename__ = "board_publications"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    agency: Mapped[Agency] = relationship()
    published_by: Mapped[User | None] = relationship()


# Read-aloud clips an admin uploaded ---------------------------------------------------------


class VoiceClip(Base):
    """A recorded clip an admin uploaded to read one question aloud, instead of the one built
    from the questionnaire (survey_app/static/voice). One row per questionnaire version and
    question; reverting to the built clip deletes the row, and the audit log keeps both."""

    __tablename__ = "voice_clips"
    __table_args__ = (UniqueConstraint("version", "question_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40))
    question_key: Mapped[str] = mapped_column(String(20))
    mimetype: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary())
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    uploaded_by: Mapped[User | None] = relationship()
# Kiosk tablets at a counter ----------------------------------------------------------------


class KioskPairing(Base):
    """A short pairing code shown on the staff page of a counter's code, valid for minutes.

    Only its keyed hash is kept; it pairs one tablet once (used_at), then never again.
    """

    __tablename__ = "kiosk_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    survey_code_id: Mapped[int] = mapped_column(ForeignKey("survey_codes.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    survey_code: Mapped[SurveyCode] = relationship()


class Kiosk(Base):
    """A tablet paired with a counter's code: it shows that code's form and files its
    answers under its own hidden code of kind "kiosk" (the answers' source).

    The tablet keeps a random credential; only its keyed hash is stored here.
    """

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The counter's code whose form the tablet shows.
    survey_code_id: Mapped[int] = mapped_column(ForeignKey("survey_codes.id"), index=True)
    # The hidden code its answers are filed under.
    answer_code_id: Mapped[int] = mapped_column(ForeignKey("survey_codes.id"), unique=True)
    paired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    survey_code: Mapped[SurveyCode] = relationship(foreign_keys=[survey_code_id])
    answer_code: Mapped[SurveyCode] = relationship(foreign_keys=[answer_code_id])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
