"""The extension objects, bound to an app in create_app()."""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from threading import Lock
from typing import Any, TypeVar

from flask import Flask, current_app, g
from flask_babel import Babel
from flask_wtf import CSRFProtect
from sqlalchemy import CompoundSelect, Connection, Engine, Select, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class Database:
    """One engine per database URL and one session per app context.

    The session's lifetime belongs to the request (or the CLI command): service functions
    only flush, the caller commits once, and the teardown closes whatever was left open,
    which rolls back anything not committed.
    """

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        # Per app: what sessions bind to (the engine, or a test's open connection).
        self._binds: dict[int, Engine | Connection] = {}
        # Per app with DATABASE_REPLICA_URL: the read replica (docs/deployment.md).
        self._replicas: dict[int, Replica] = {}

    def init_app(self, app: Flask) -> None:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if url not in self._engines:
            self._engines[url] = make_engine(url)
        self._binds[id(app)] = self._engines[url]
        replica_url = app.config.get("SQLALCHEMY_REPLICA_URI")
        if replica_url:
            self._replicas[id(app)] = Replica(
                make_replica_engine(replica_url), app.config["REPLICA_RETRY_SECONDS"]
            )
        app.extensions["database"] = self
        app.teardown_appcontext(self._close_session)

    def replica_for(self, app: Flask) -> Replica | None:
        """Return the app's read replica, or None when DATABASE_REPLICA_URL is not set."""
        return self._replicas.get(id(app))

    def engine_for(self, app: Flask) -> Engine:
        return self._engines[app.config["SQLALCHEMY_DATABASE_URI"]]

    @property
    def engine(self) -> Engine:
        return self.engine_for(current_app._get_current_object())  # type: ignore[attr-defined]

    def bind_app_to(self, app: Flask, bind: Engine | Connection) -> None:
        """Make the app's sessions use this bind (tests: a connection rolled back after)."""
        self._binds[id(app)] = bind

    @property
    def session(self) -> Session:
        session: Session | None = g.get("_db_session")
        if session is None:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            bind = self._binds[id(app)]
            replica = self._replicas.get(id(app))
            # Joined to a test's outer transaction, a commit only releases a savepoint.
            if isinstance(bind, Connection):
                session = Session(bind=bind, join_transaction_mode="create_savepoint")
            elif replica is not None:
                session = RoutingSession(bind=bind, replica=replica)
                session.reads_from_replica = bool(g.get("_db_reads_from_replica"))
            else:
                session = Session(bind=bind)
            g._db_session = session
        return session

    def read_from_replica(self) -> None:
        """Let the rest of this request read from the replica (see `reads_from_replica`)."""
        if g.get("_db_primary_only"):
            return
        g._db_reads_from_replica = True
        session = g.get("_db_session")
        if isinstance(session, RoutingSession):
            session.reads_from_replica = True

    def read_primary_only(self) -> None:
        """Let this request read nothing from the replica, even in a view that would."""
        g._db_primary_only = True

    def committed_a_write(self) -> bool:
        """Say whether this request has committed a write (known with a replica only)."""
        session = g.get("_db_session")
        return isinstance(session, RoutingSession) and session.committed_a_write

    @contextmanager
    def reading_primary(self) -> Iterator[Session]:
        """Read from the primary within this block, even in a view that reads the replica."""
        session = self.session
        if not isinstance(session, RoutingSession):
            yield session
            return
        before, session.reads_from_replica = session.reads_from_replica, False
        try:
            yield session
        finally:
            session.reads_from_replica = before

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("_db_session", None)
        if session is not None:
            session.close()


def reads_from_replica(view: F) -> F:
    """Let a view that only reads (and may record that it was used) read from the replica.

    Put it below the door (`permission_required`, `token_required`): who is signed in and
    whether a token still holds are read from the primary, so that a sign-out or a revoked
    token counts at once. Without DATABASE_REPLICA_URL it changes nothing.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        db.read_from_replica()
        return view(*args, **kwargs)

    wrapped.reads_from_replica = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


class Replica:
    """A streaming replica of the primary, and whether it was found refusing connections.

    A replica that refuses a connection is left alone for `retry_seconds`: meanwhile reads
    go to the primary, and one warning says so per interval, not one per request.
    """

    def __init__(self, engine: Engine, retry_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._down_until = 0.0
        self._down = False
        self._lock = Lock()

    def connect(self) -> Connection | None:
        """Return a connection to the replica, or None while it is down."""
        if self.clock() < self._down_until:
            return None
        try:
            connection = self.engine.connect()
        except DBAPIError as error:
            with self._lock:
                if self.clock() >= self._down_until:  # one thread says it per interval
                    self._down_until = self.clock() + self.retry_seconds
                    self._down = True
                    logger.warning(
                        "read replica unreachable, reading from the primary for %ss: %s",
                        self.retry_seconds, str(error.orig or error).strip().splitlines()[0],
                    )
            return None
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    logger.warning("read replica reachable again, reading from it")
        return connection


def _plain_select(clause: Any) -> bool:
    """Say whether a statement only reads: a SELECT that locks no row."""
    return isinstance(clause, (Select, CompoundSelect)) and clause._for_update_arg is None


class RoutingSession(Session):
    """A session on the primary whose plain SELECTs may go to the read replica.

    Only once `reads_from_replica` is set (by the decorator of that name), and only while
    the transaction has written nothing: after a flush or an UPDATE/INSERT/DELETE, reads go
    to the primary until the commit, so the transaction sees its own writes. Everything
    else (writes, SELECT ... FOR UPDATE, raw SQL) goes to the primary. A replica that
    refuses connections sends the reads to the primary (`Replica.connect`).
    """

    def __init__(self, *, bind: Engine, replica: Replica) -> None:
        super().__init__(bind=bind)
        self.replica = replica
        self.reads_from_replica = False
        self.wrote = False
        self.committed_a_write = False
        self._replica_connection: Connection | None = None
        self._replica_refused = False

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any:
        if self.reads_from_replica and not self.wrote and _plain_select(clause):
            connection = self._replica()
            if connection is not None:
                return connection
        return super().get_bind(mapper, clause=clause, **kw)

    def _replica(self) -> Connection | None:
        # One connection for the session's life: asked for once, kept across commits.
        if self._replica_connection is None and not self._replica_refused:
            self._replica_connection = self.replica.connect()
            self._replica_refused = self._replica_connection is None
        return self._replica_connection

    def close(self) -> None:
        super().close()
        if self._replica_connection is not None:
            self._replica_connection.close()
            self._replica_connection = None


@event.listens_for(RoutingSession, "after_flush")
def _wrote_by_flush(session: Session, _flush_context: Any) -> None:
    if isinstance(session, RoutingSession):
        session.wrote = True


@event.listens_for(RoutingSession, "do_orm_execute")
def _wrote_by_statement(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and isinstance(
        state.session, RoutingSession
    ):
        state.session.wrote = True


@event.listens_for(RoutingSession, "after_commit")
def _committed(session: Session) -> None:
    if isinstance(session, RoutingSession) and session.wrote:
        session.committed_a_write = True


@event.listens_for(RoutingSession, "after_transaction_end")
def _written_and_done(session: Session, transaction: SessionTransaction) -> None:
    # Committed (or rolled back): later reads may be a few seconds behind, as the view chose.
    if transaction.parent is None and isinstance(session, RoutingSession):
        session.wrote = False


def make_replica_engine(url: str) -> Engine:
    """An engine on the replica that gives up quickly when the replica does not answer."""
    if "connect_timeout" in make_url(url).query:
        return make_engine(url)
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 3})


def make_engine(url: str) -> Engine:
    """Create an engine with the settings each database needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so
            # savepoints work (the recipe of SQLAlchemy's SQLite documentation).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN")

        return engine
    _cache_long_statements()
    engine = create_engine(url)
    # A pooled connection cut by a restart of PostgreSQL is found dead and replaced when a
    # request takes it, instead of failing that request (tests/load/test_outage.py).
    event.listen(engine, "checkout", _replace_if_dead)
    return engine


def _replace_if_dead(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection that the server closed while it lay in the pool.

    SQLAlchemy's pool_pre_ping sends a query and waits for its answer on every checkout:
    one more round trip in each request. An idle connection, though, is sent nothing
    unless the server is ending it (a restart, a shutdown, an administrator's terminate
    says so and closes the socket; a killed server's socket closes), so a glance at the
    socket tells: nothing to read, nothing to fear. Only when something did arrive is the
    connection asked to answer a query, and a failure makes the pool open a fresh one
    (DisconnectionError, SQLAlchemy's "custom pessimistic ping"). A server gone without a
    word (a cable cut) is found as before, by the request's own statement.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection was closed")
    if not _has_something_to_read(dbapi_connection.fileno()):
        return
    try:  # a notice, or the server saying goodbye: ask
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as error:  # noqa: BLE001 - any failure means: not this connection
        raise DisconnectionError(str(error)) from error


def _has_something_to_read(fileno: int) -> bool:
    """Return whether the socket has data or an end waiting, without waiting for any."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


# The longest statement a submission sends: a counted response's insert, its wishes' and
# its day, month and year rollups' upserts in one data-modifying WITH
# (services/recording.py), some 35,000 characters and 115 parameters.
LONGEST_STATEMENT = 60_000
MOST_PARAMETERS = 192


def _cache_long_statements() -> None:
    """Let psycopg keep its parse of the rollups' statement instead of redoing it each time.

    psycopg turns each statement's %(name)s placeholders into $n once and keeps the result,
    but only for statements of at most 4,096 characters and 50 parameters: the rollups'
    upsert, sent by every submission, was parsed afresh each time (half a millisecond of
    CPU, see docs/performance.md). Raising both bounds keeps it too; the cache holds at
    most 128 statements, so a few megabytes at worst.
    """
    try:
        from psycopg import _queries
    except ImportError:  # another driver: nothing to tune
        return
    for name, least in (("MAX_CACHED_STATEMENT_LENGTH", LONGEST_STATEMENT),
                        ("MAX_CACHED_STATEMENT_PARAMS", MOST_PARAMETERS)):
        if isinstance(getattr(_queries, name, None), int):
            setattr(_queries, name, max(getattr(_queries, name), least))


db = Database()
csrf = CSRFProtect()
babel = Babel()
