"""A prebuilt statement of the call path run by the database's driver, compiled once.

Around a call-path statement, SQLAlchemy's execution (cache key, context, result) cost about as
much as the database itself: in process, an SQLite capture took 107 µs of CPU by Core and 75 µs
this way; a PostgreSQL statement 150-160 µs by Core and 105-125 µs this way (connection checkout
included). Only for statements without literal values and with types the driver adapts itself.
Errors come out as SQLAlchemy's, parameters hidden; a lost connection is invalidated.

The statements run on the pool's own connection, without SQLAlchemy's Connection around it: the
call path needs no transaction (each statement commits by itself, connections.py) and no result
object. The pool still checks it out, replaces a dead one and takes it back.
"""

from contextlib import contextmanager
from datetime import datetime
from functools import cache
from time import perf_counter
from typing import NamedTuple

from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from backend.metrics.families import observe_database
from backend.store import deadline
from backend.store.statements import CALLS

# sqlite3 takes named parameters: a statement compiled for them takes the params dicts as they are.
SQLITE_NAMED = sqlite.dialect(paramstyle="named")
# How SQLAlchemy stores a datetime in SQLite (text), so rows read the same either way.
_sqlite_text = CALLS.c.created_at.type.dialect_impl(SQLITE_NAMED).bind_processor(SQLITE_NAMED)


class Pooled(NamedTuple):
    """A connection checked out of the pool, and the SQLAlchemy dialect of its database."""

    connection: object  # the pool's own (a _ConnectionFairy): the driver's connection inside
    dialect: object


@contextmanager
def pooled(engine):
    """A Pooled connection to `engine`'s database, given back to the pool after."""
    dialect = engine.dialect
    try:
        connection = engine.raw_connection()
    except dialect.loaded_dbapi.Error as error:  # connecting failed: SQLAlchemy's error too
        raise DBAPIError.instance(
            None, None, error, dialect.loaded_dbapi.Error, hide_parameters=True
        ) from error
    try:
        yield Pooled(connection, dialect)
    finally:
        connection.close()  # back to the pool


def execute(pooled, statement, params, prepare=False):
    """The driver's cursor after running `statement` on a Pooled connection.

    `prepare`: as a server-side prepared statement (PostgreSQL).
    """
    deadline.check()
    connection, dialect = pooled
    if dialect.name == "sqlite":
        sql = _compiled(statement, SQLITE_NAMED)
        params = {k: _sqlite_text(v) if isinstance(v, datetime) else v for k, v in params.items()}
        options = {}
    else:
        sql = _compiled(statement, dialect)
        options = {"prepare": prepare}
    started = perf_counter()
    try:
        return connection.driver_connection.execute(sql, params, **options)
    except dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy_error(dialect, connection, error, sql, params) from error
    finally:
        observe_database(perf_counter() - started)


def first_row(cursor):
    """The cursor's first row, None without one (or for a statement that returns no rows)."""
    return cursor.fetchone() if cursor.description else None


@cache
def _compiled(statement, dialect):
    return str(statement.compile(dialect=dialect))


def _as_sqlalchemy_error(dialect, connection, error, sql, params):
    """The driver's `error` as SQLAlchemy's, parameters hidden; a lost connection is dropped."""
    # Given back to the pool, a lost connection's reset would fail loudly: dropped now.
    lost = dialect.is_disconnect(error, connection.dbapi_connection, None)
    if lost:
        connection.invalidate(error)
    return DBAPIError.instance(
        sql,
        params,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,  # they hold callers' numbers
        connection_invalidated=lost,
    )
