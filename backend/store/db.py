"""The database: Flask-SQLAlchemy and Flask-Migrate wiring, and what a failed statement answers."""

import functools

import click
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase

from backend.edge.errors import internal_error
from backend.log_mask import mask_phone_shaped
from backend.logs import log_event
from backend.store import deadline
from backend.store.connections import engine_options, tune_engine
from backend.store.schema import (
    MIGRATIONS_DIR,
    UPGRADE_HINT,
    SchemaMissing,
    init_db_command,
    is_schema_missing,
    migration_scripts,
)

# Where they were before backend/store/schema.py, for tests and tools that import them from here.
from backend.store.schema import init_db, upgrade_database  # noqa: F401  isort: skip

# What a database that is down, unreachable or locked raises; with a full pool, overloaded.
DATABASE_UNREACHABLE_ERRORS = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_ERRORS = (*DATABASE_UNREACHABLE_ERRORS, PoolTimeoutError)


class Base(DeclarativeBase):
    pass


# Rows stay readable after commit: each request ends its transactions early so SQLite writers
# from other workers are never blocked by a reader, and a later write never meets a stale snapshot.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


def init_app(app):
    """Bind the database and its migrations to the app, tune its connections, handle its errors."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url))
    db.init_app(app)
    # Batch mode: SQLite alters a table by copying it, which plain ALTER statements cannot do.
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    migration_scripts(MIGRATIONS_DIR)  # read at start: no scripts, no app
    with app.app_context():
        tune_engine(db.engine)
    budget_s = app.config["DATABASE_REQUEST_BUDGET_MS"] / 1000
    # A statement waits this long for a lock held elsewhere (connections.py); on SQLite, a
    # write first waits for the process's other writers.
    lock_wait_s = app.config["DATABASE_BUSY_TIMEOUT_MS"] / 1000
    app.before_request(lambda: deadline.begin_request(budget_s, lock_wait_s))
    app.teardown_request(lambda _error: deadline.end_request())
    for error in (*DATABASE_UNAVAILABLE_ERRORS, ProgrammingError):
        app.register_error_handler(error, database_error)
    app.register_error_handler(SchemaMissing, schema_missing_answer)
    app.cli.add_command(init_db_command)


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


def database_unavailable(error, **fields):
    """503 with Retry-After, not a 500: Vapi may retry once the database is back."""
    database_failed(error, status=503, **fields)
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


def says_database_errors(command):
    """An operator's command whose database fails ends with one line on stderr and status 1,
    not a traceback: what failed, and for a missing schema what to run."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SQLAlchemyError as error:
            if is_schema_missing(error):
                raise click.ClickException(f"database schema missing: {UPGRADE_HINT}") from None
            # The driver's first line (the statement's values are hidden from its message).
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()
            shown = mask_phone_shaped(reason[0]) if reason else ""
            what = "unavailable" if isinstance(error, DATABASE_UNAVAILABLE_ERRORS) else "error"
            said = f"database {what} ({type(error).__name__}): {shown}"
            raise click.ClickException(said) from None

    return run
