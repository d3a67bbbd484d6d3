"""The database: Flask-SQLAlchemy wiring, migrations, statement and transaction helpers."""

import sqlite3
from contextlib import contextmanager
from functools import cache

import click
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase

from backend import PROJECT_ROOT
from backend.edge.errors import internal_error
from backend.logs import log_event
from backend.store.connections import engine_options, tune_engine

# Alembic's scripts (Flask-Migrate's layout), found from the code, whatever the working directory.
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
UPGRADE_HINT = "run `flask db upgrade`"

# What a database that is down, unreachable, overloaded or locked raises.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)
# PostgreSQL's undefined_table and undefined_column; SQLite says it in words.
SCHEMA_MISSING_SQLSTATES = ("42P01", "42703")
SQLITE_SCHEMA_MISSING = ("no such table", "no such column", "has no column named")


class Base(DeclarativeBase):
    pass


# Rows stay readable after commit: each request ends its transactions early so SQLite writers
# from other workers are never blocked by a reader, and a later write never meets a stale snapshot.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


class SchemaMissing(Exception):
    """The database lacks a table or column this code uses: `flask db upgrade` was not run."""


def init_app(app):
    """Bind the database and its migrations to the app, tune its connections, handle its errors."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url))
    db.init_app(app)
    # Batch mode: SQLite alters a table by copying it, which plain ALTER statements cannot do.
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    app.extensions["schema_heads"] = migration_scripts(MIGRATIONS_DIR).get_heads()
    with app.app_context():
        tune_engine(db.engine)
    for error in (*DATABASE_UNAVAILABLE_ERRORS, ProgrammingError):
        app.register_error_handler(error, database_error)
    app.register_error_handler(SchemaMissing, schema_missing_answer)
    app.cli.add_command(init_db_command)


@cache
def migration_scripts(directory):
    """The migration scripts in `directory`, read once a process; heads: the schema needed."""
    try:
        return ScriptDirectory(str(directory))
    except CommandError as error:
        raise RuntimeError(f"no migration scripts in {directory}: {error}") from error


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


def is_schema_missing(error):
    """True when a database error says a table or column does not exist."""
    cause = getattr(error, "orig", None)
    if getattr(cause, "sqlstate", None) in SCHEMA_MISSING_SQLSTATES:
        return True
    return isinstance(cause, sqlite3.OperationalError) and any(
        words in str(cause) for words in SQLITE_SCHEMA_MISSING
    )


def log_schema_missing(error, **fields):
    """One line for operators: the database lacks this code's schema, and what to run."""
    log_event(
        "DATABASE_SCHEMA_MISSING",
        level=40,
        reason=f"the database lacks a table or column this code uses: {UPGRADE_HINT}",
        exception=type(error).__name__,
        **fields,
    )


def database_failed(error, **fields):
    """End the session's failed transaction and log DATABASE_UNAVAILABLE with the error's type.

    A missing schema is no outage to ride out: it raises SchemaMissing, a 503 for the request.
    """
    db.session.rollback()
    if is_schema_missing(error):
        log_schema_missing(error, **fields)
        raise SchemaMissing from error
    log_event("DATABASE_UNAVAILABLE", level=40, exception=type(error).__name__, **fields)


def database_unavailable(error):
    """503 with Retry-After, not a 500: Vapi may retry once the database is back."""
    database_failed(error, status=503)
    return {"error": "database unavailable"}, 503, {"Retry-After": "1"}


def schema_missing_answer(_error=None):
    """503: this instance cannot serve until the schema is upgraded (logged where it was seen)."""
    return {"error": f"database schema missing: {UPGRADE_HINT}"}, 503


def database_error(error):
    """A database error no code path handled: 503 for a missing schema or an outage, else 500."""
    if is_schema_missing(error):
        db.session.rollback()
        log_schema_missing(error, status=503)
        return schema_missing_answer()
    if isinstance(error, DATABASE_UNAVAILABLE_ERRORS):
        return database_unavailable(error)
    db.session.rollback()
    return internal_error(error)


def schema_state():
    """Where the database's schema stands against the code's: (at head?, revision, reason).

    One query when at head. Not at head: the reason says what to run.
    """
    heads = tuple(sorted(current_app.extensions["schema_heads"]))
    needs = ", ".join(heads)
    with db.engine.connect() as connection:
        try:
            revisions = connection.execute(text("SELECT version_num FROM alembic_version"))
            revisions = tuple(sorted(revisions.scalars()))
        except DBAPIError as error:
            if not is_schema_missing(error):
                raise
            revisions = None
        if not revisions:
            # No revision recorded: an empty database, or one made by create_all before
            # migrations (its tables serve, but nothing says they are what this code needs).
            if revisions is None and inspect(connection).has_table("calls"):
                at = "no revision (tables made before migrations)"
                return False, None, f"schema behind: at {at}, code needs {needs}: {UPGRADE_HINT}"
            return False, None, f"schema missing: {UPGRADE_HINT}"
    at = ", ".join(revisions)
    if revisions == heads:
        return True, at, None
    scripts = migration_scripts(MIGRATIONS_DIR)
    known = all(_known_revision(scripts, revision) for revision in revisions)
    if known:
        return False, at, f"schema behind: at {at}, code needs {needs}: {UPGRADE_HINT}"
    # A newer release migrated it (rolling deploy): older code keeps serving, as migrations
    # are written to let it; readiness says so.
    return True, at, f"schema ahead: at {at}, unknown to this code (its head: {needs})"


def _known_revision(scripts, revision):
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def upgrade_database(revision="head"):
    """Create or upgrade the database's schema to `revision` (Alembic, as `flask db upgrade`)."""
    command.upgrade(migrate.get_config(), revision)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database schema: `flask db upgrade`, under its older name."""
    try:
        init_db()
    except CommandError as error:
        raise click.ClickException(str(error)) from error
    click.echo("Database ready.")


def init_db():
    """Create or upgrade the database's schema to the code's head revision."""
    upgrade_database()
