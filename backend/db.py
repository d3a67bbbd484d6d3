"""The database: Flask-SQLAlchemy wiring, statement and transaction helpers, `flask init-db`."""

from contextlib import contextmanager
from functools import cache

import click
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase

from .connections import engine_options, tune_engine
from .logs import log_event

# What a database that is down, unreachable, overloaded or locked raises.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)


class Base(DeclarativeBase):
    pass


# Rows stay readable after commit: each request ends its transactions early so SQLite writers
# from other workers are never blocked by a reader, and a later write never meets a stale snapshot.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def init_app(app):
    """Bind the database to the app, tune its connections and register `init-db`."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url))
    db.init_app(app)
    with app.app_context():
        tune_engine(db.engine)
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
    sql = _driver_sql(statement, connection.dialect)
    with _driver_errors(connection, sql, params):
        return connection.connection.driver_connection.execute(sql, params, prepare=True).fetchone()


@contextmanager
def _driver_errors(connection, sql, params):
    try:
        yield
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy_error(connection, error, sql, params) from error


def _as_sqlalchemy_error(connection, error, sql, params):
    """The driver's `error` as SQLAlchemy's, parameters hidden; a lost connection is dropped."""
    dialect = connection.dialect
    # Given back to the pool, a lost connection's reset would fail loudly: dropped now.
    lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
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
