"""The database: Flask-SQLAlchemy wiring, SQLite tuning, and `flask init-db`."""

import os
import select
from functools import cache

import click
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase

from .logs import log_event

# Bounds on how long the database may hold a caller's request: Vapi waits for our answer, and
# a request runs two or three statements, so each gets half a second.
# $DATABASE_STATEMENT_TIMEOUT_MS overrides it, e.g. 0 (none) for a long `flask purge`.
STATEMENT_TIMEOUT_MS = 500
CONNECT_TIMEOUT_S = 2  # psycopg's minimum
POOL_TIMEOUT_S = 1
# A database host that vanishes from the network (sent data never acknowledged) is given up
# after this; a server process that hangs while its host still answers is not bounded by it.
TCP_USER_TIMEOUT_MS = 3000
# Call-flow writes on PostgreSQL do not wait for their commit to reach the disk, as SQLite's WAL
# with synchronous=NORMAL already does: a crash of the database server (never of the app) may
# lose the last few hundred milliseconds of them, without corruption, and Vapi sends the caller's
# number again with each later message of the call. Waiting for the flush cost about 15 % of
# the throughput (benchmarks/load.py). Operator commands (purge, erase) always wait, see
# durable_transaction(); $DATABASE_SYNCHRONOUS_COMMIT=on makes every write wait.
SYNCHRONOUS_COMMIT = "off"
SYNCHRONOUS_COMMIT_VALUES = ("off", "local", "remote_write", "on", "remote_apply")
# What a database that is down, unreachable, overloaded or locked raises.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)


class Base(DeclarativeBase):
    pass


# Rows stay readable after commit: each request ends its transactions early so SQLite writers
# from other workers are never blocked by a reader, and a later write never meets a stale snapshot.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def engine_options(url):
    """Pool and timeout settings for the database in `url`."""
    # Every statement commits by itself: each write the app makes is one atomic statement, so a
    # request never pays for BEGIN and COMMIT, nor holds a transaction (or an SQLite snapshot)
    # between its statements.
    if url.startswith("sqlite"):
        # busy timeout: writers from several workers wait for each other instead of failing.
        return {"isolation_level": "AUTOCOMMIT", "connect_args": {"timeout": 5}}
    return {
        "isolation_level": "AUTOCOMMIT",
        "pool_size": 5,
        "max_overflow": 5,
        "pool_timeout": POOL_TIMEOUT_S,
        "connect_args": {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        },
    }


def _tune_sqlite(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _replace_closed_connection(dbapi_connection, _record, _proxy):
    """Make the pool replace a PostgreSQL connection whose server has hung up, before use.

    So service resumes by itself after a restart or an outage. An idle, healthy connection has
    nothing to read; one the server ended has its goodbye message or end-of-file waiting: a
    zero-timeout poll tells them apart without the round trip of `pool_pre_ping` on every request
    (urllib3 checks idle HTTP connections the same way). A server that vanished without a word
    is caught by the timeouts, and the error invalidates the pool.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    readable = select.poll()
    readable.register(dbapi_connection.fileno(), select.POLLIN)
    if readable.poll(0):
        raise DisconnectionError("the server ended the connection")


def _postgresql_tuner(statement_timeout_ms, synchronous_commit):
    def tune(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET statement_timeout = {statement_timeout_ms:d}")
        cursor.execute(f"SET synchronous_commit = {synchronous_commit}")  # one of a fixed list
        cursor.close()
        dbapi_connection.commit()  # in case the driver opened a transaction for the SET

    return tune


def init_app(app):
    """Bind the database to the app, tune its connections and register `init-db`."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url))
    db.init_app(app)
    timeout_ms = int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", STATEMENT_TIMEOUT_MS))
    synchronous_commit = os.environ.get("DATABASE_SYNCHRONOUS_COMMIT", SYNCHRONOUS_COMMIT)
    if synchronous_commit not in SYNCHRONOUS_COMMIT_VALUES:
        raise ValueError(
            "DATABASE_SYNCHRONOUS_COMMIT must be one of " + ", ".join(SYNCHRONOUS_COMMIT_VALUES)
        )
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _tune_sqlite)
        else:
            event.listen(db.engine, "connect", _postgresql_tuner(timeout_ms, synchronous_commit))
            event.listen(db.engine, "checkout", _replace_closed_connection)
    for error in DATABASE_UNAVAILABLE_ERRORS:
        app.register_error_handler(error, database_unavailable)
    app.cli.add_command(init_db_command)


@cache
def _driver_sql(statement, dialect):
    return str(statement.compile(dialect=dialect))


def first_row_by_driver(connection, statement, params):
    """The first row of a prebuilt statement, run by the driver as a server-side prepared one.

    For the capture every message makes on PostgreSQL: SQLAlchemy's execution (cache key,
    context, result) cost more than the statement itself, 60 µs a request. Only for statements
    without literal values and with types the driver adapts itself (strings, datetimes).
    Errors come out as SQLAlchemy's, and a lost connection is invalidated, as with execute().
    """
    dialect = connection.dialect
    sql = _driver_sql(statement, dialect)
    try:
        cursor = connection.connection.driver_connection.execute(sql, params, prepare=True)
        return cursor.fetchone()
    except dialect.loaded_dbapi.Error as error:
        # A lost connection is dropped now: given back to the pool, its reset would fail loudly.
        lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql,
            params,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,  # they hold the caller's number
            connection_invalidated=lost,
        ) from error


def read_in_one_snapshot():
    """Make the session's next statements one transaction, until commit, for a streamed export.

    PostgreSQL needs a transaction for a server-side cursor, and every row then comes from the
    same moment. On SQLite a single SELECT already reads one snapshot while it streams.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def durable_transaction():
    """Make the session's next statements one transaction whose commit waits for the disk.

    For operator commands (purge, erase): an erasure must survive a crash of the database
    server. On SQLite, erase's checkpoint syncs the file (retention._wipe_freed_space).
    """
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "READ COMMITTED"})
        db.session.execute(text("SET LOCAL synchronous_commit = on"))


def database_failed(error, **fields):
    """End the session's failed transaction and log DATABASE_UNAVAILABLE with the error's type."""
    db.session.rollback()
    log_event("DATABASE_UNAVAILABLE", level=40, exception=type(error).__name__, **fields)


def database_unavailable(error):
    """503 with Retry-After, not a 500: Vapi may retry once the database is back."""
    database_failed(error, status=503)
    return {"error": "database unavailable"}, 503, {"Retry-After": "1"}


# Indexes that earlier versions created and that now do harm (see models.Call.tenant_id).
RETIRED_INDEXES = ("ix_calls_tenant_id",)


def init_db():
    """Create the tables that do not exist yet and drop retired indexes (safe to run twice)."""
    from . import models  # noqa: F401  (registers the tables)

    db.create_all()
    for index in RETIRED_INDEXES:
        db.session.execute(text(f"DROP INDEX IF EXISTS {index}"))
    db.session.commit()


@click.command("init-db")
def init_db_command():
    """Create the database schema; running it again changes nothing."""
    init_db()
    click.echo("Database ready.")
