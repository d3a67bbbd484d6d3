"""Database connections: pool and timeouts, per-dialect tuning, the dead-connection check."""

import os
import select
import sqlite3

from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from backend.store.deadline import BoundedConnection

# Bounds on how long the database may hold a caller's request: Vapi waits for our answer, and
# a request runs two or three statements, so each gets half a second
# ($DATABASE_STATEMENT_TIMEOUT_MS). Purge and erase lift it for their transaction
# (dialects.PostgreSQL.durable_transaction).
STATEMENT_TIMEOUT_MS = 500
# The whole of a request's database work, from its first statement: the client's own bound,
# which holds when the server cannot answer at all (backend/store/deadline.py). Under a second
# with room for the rest of the request.
REQUEST_BUDGET_MS = 600
# How long a statement waits for a lock another connection holds: SQLite's busy timeout (a write
# waits for another process's write lock), PostgreSQL's lock_timeout (a row another transaction
# writes, a table a migration alters). A call-path write holds its locks for well under a
# millisecond; far longer means something else holds them (backend/store/deadline.py then fails
# the process's statements at once for as long). Under the statement timeout, so that a lock
# wait ends as such.
BUSY_TIMEOUT_MS = 300
CONNECT_TIMEOUT_S = 2  # psycopg's minimum, for commands: a request's connect ends at its budget
POOL_TIMEOUT_S = 1
# A database host that vanishes from the network (sent data never acknowledged) is given up
# after this; a server process that hangs while its host still answers is not bounded by it.
TCP_USER_TIMEOUT_MS = 3000
# An idle pooled connection whose host vanished is found dead by the kernel's keepalive probes
# (about 5 + 3 x 1 s), before a request picks it, rather than at that request's budget.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 1,
    "keepalives_count": 3,
}
# A 200 means stored: on PostgreSQL a call-flow commit waits for the disk, as the server does by
# default, so a crash of the database server loses nothing the app acknowledged (SQLite's WAL
# with synchronous=NORMAL writes each commit to the file before it returns: only the machine's
# power failing can lose it). $DATABASE_SYNCHRONOUS_COMMIT=off trades the last few hundred
# milliseconds of acknowledged writes, on such a crash, for throughput; operator commands (purge,
# erase) wait in any case, see dialects.PostgreSQL.durable_transaction.
SYNCHRONOUS_COMMIT = "on"
SYNCHRONOUS_COMMIT_VALUES = ("off", "local", "remote_write", "on", "remote_apply")


def sqlalchemy_url(database_url):
    """`database_url` with `postgres://` and `postgresql://` spelled `postgresql+psycopg://`.

    Hosting platforms hand out the bare schemes; SQLAlchemy reads `postgres://` not at all, and
    `postgresql://` as psycopg2 before 2.1, which is not installed. Other URLs stay as given.
    """
    scheme, separator, rest = database_url.partition("://")
    if separator and scheme.lower() in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return database_url


def engine_options(url):
    """Pool and timeout settings for the database in `url`."""
    # Every statement commits by itself: each write the app makes is one atomic statement, so a
    # request never pays for BEGIN and COMMIT, nor holds a transaction (or an SQLite snapshot)
    # between its statements.
    # An error's message never shows the statement's values: they hold callers' numbers.
    if url.startswith("sqlite"):
        # busy timeout: writers from several workers wait for each other instead of failing,
        # for a bounded time (PRAGMA busy_timeout on each connection, from the settings).
        return {
            "isolation_level": "AUTOCOMMIT",
            "hide_parameters": True,
            "connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000},
        }
    return {
        "isolation_level": "AUTOCOMMIT",
        "hide_parameters": True,
        "pool_size": 5,
        "max_overflow": 5,
        "pool_timeout": POOL_TIMEOUT_S,
        "connect_args": {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
            **KEEPALIVES,
        },
    }


def _sqlite_tuner(busy_timeout_ms):
    def tune(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
        cursor.close()

    return tune


SQLITE_FILE_GONE = (
    "file removed or replaced while the app served it: put it back, or restart the app to serve "
    "the file at its path now"
)


class _SqliteFile:
    """The file an SQLite engine serves: the one its first connection opened, by identity.

    Deleted or replaced (a backup restored with mv) while the app serves, the pooled connections
    would go on writing to the old file, where nothing reads (each 200 a lie), and a new one
    would make a new file beside the old one's write-ahead log, which SQLite would apply to it.
    Every connection fails instead, as in an outage (503, not ready), until the file is back or
    the app restarts and opens the file the path names then. One stat a checkout: ~2 µs.
    """

    def __init__(self, path):
        self.path, self.identity, self.away = path, None, False

    def _identity_now(self):
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return found.st_dev, found.st_ino

    def check(self, *_event_args):
        """Before a connection opens and each time one is taken from the pool."""
        if self.identity is None:
            return
        away = self._identity_now() != self.identity
        if away != self.away:  # one line when the file goes, one when it is back
            # Imported here: config imports this module, and backend.logs tunes the logging
            # module for the app's lines, not for a process that stops on a bad setting.
            from backend.logs import log_event

            self.away = away
            if away:
                log_event("DATABASE_FILE_REPLACED", level=40, hint=SQLITE_FILE_GONE)
            else:
                log_event("DATABASE_FILE_BACK")
        if away:
            raise sqlite3.OperationalError(SQLITE_FILE_GONE)

    def opened(self, _dbapi_connection, _record):
        if self.identity is None:
            self.identity = self._identity_now()


def _bounded_connect(_dialect, _record, cargs, cparams):
    """psycopg's connect, ending at the request's deadline (deadline.BoundedConnection)."""
    return BoundedConnection.connect(*cargs, **cparams)


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


def _postgresql_tuner(statement_timeout_ms, lock_timeout_ms, synchronous_commit):
    def tune(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET statement_timeout = {statement_timeout_ms:d}")
        # 0 means no limit to PostgreSQL, and "do not wait" to SQLite: the same here.
        cursor.execute(f"SET lock_timeout = {max(lock_timeout_ms, 1):d}")
        cursor.execute(f"SET synchronous_commit = {synchronous_commit}")  # one of a fixed list
        cursor.close()
        dbapi_connection.commit()  # in case the driver opened a transaction for the SET

    return tune


def tune_engine(engine):
    """Tune every connection `engine` opens, per dialect, from the app's settings.

    backend/config.py checked them at start, whatever the database.
    """
    timeout_ms = current_app.config["DATABASE_STATEMENT_TIMEOUT_MS"]
    lock_wait_ms = current_app.config["DATABASE_BUSY_TIMEOUT_MS"]
    synchronous_commit = current_app.config["DATABASE_SYNCHRONOUS_COMMIT"]
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_tuner(lock_wait_ms))
        if engine.url.database and engine.url.database != ":memory:":
            served = _SqliteFile(engine.url.database)
            event.listen(engine, "do_connect", served.check)
            event.listen(engine, "connect", served.opened)
            event.listen(engine, "checkout", served.check)
        return
    event.listen(engine, "do_connect", _bounded_connect)
    event.listen(engine, "connect", _postgresql_tuner(timeout_ms, lock_wait_ms, synchronous_commit))
    event.listen(engine, "checkout", _replace_closed_connection)
