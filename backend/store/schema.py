"""The database's schema against the code's: Alembic's scripts, upgrades, readiness's check."""

import sqlite3
from functools import cache

import click
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from backend import PROJECT_ROOT
from backend.log_mask import mask_phone_shaped

# Alembic's scripts (Flask-Migrate's layout), found from the code, whatever the working directory.
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
UPGRADE_HINT = "run `flask db upgrade`"

# PostgreSQL's undefined_table and undefined_column; SQLite says it in words.
SCHEMA_MISSING_SQLSTATES = ("42P01", "42703")
SQLITE_SCHEMA_MISSING = ("no such table", "no such column", "has no column named")


class SchemaMissing(Exception):
    """The database lacks a table or column this code uses: `flask db upgrade` was not run."""


def is_schema_missing(error):
    """True when a database error says a table or column does not exist."""
    cause = getattr(error, "orig", None)
    if getattr(cause, "sqlstate", None) in SCHEMA_MISSING_SQLSTATES:
        return True
    return isinstance(cause, sqlite3.OperationalError) and any(
        words in str(cause) for words in SQLITE_SCHEMA_MISSING
    )


@cache
def migration_scripts(directory):
    """The migration scripts in `directory`, read once a process; heads: the schema needed."""
    try:
        return ScriptDirectory(str(directory))
    except CommandError as error:
        raise RuntimeError(f"no migration scripts in {directory}: {error}") from error


def schema_state():
    """Where the database's schema stands against the code's: (at head?, revision, reason).

    One query when at head. Not at head: the reason says what to run.
    """
    scripts = migration_scripts(MIGRATIONS_DIR)
    heads = tuple(sorted(scripts.get_heads()))
    needs = ", ".join(heads)
    with current_app.extensions["migrate"].db.engine.connect() as connection:
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
    known = all(_known_revision(scripts, revision) for revision in revisions)
    if known:
        return False, at, f"schema behind: at {at}, code needs {needs}: {UPGRADE_HINT}"
    # A newer release migrated it (rolling deploy): older code keeps serving, as migrations
    # are written to let it; readiness says so.
    return True, at, f"schema ahead: at {at}, unknown to this code (its head: {needs})"


# A write that changes nothing, as a capture writes: it takes the lock a capture needs (SQLite:
# the file's write lock; PostgreSQL: the calls table's ROW EXCLUSIVE), so a read-only file or
# database, or a lock held elsewhere, shows here. Always rolled back.
_WRITE_PROBE = text("UPDATE calls SET call_id = call_id WHERE 1 = 0")
# How long the probe waits for a lock held elsewhere, in ms: readiness answers well within 1 s.
PROBE_LOCK_WAIT_MS = 200
# What the databases say, in words: SQLite's messages, PostgreSQL's SQLSTATEs.
_REFUSALS = (
    ("read-only", ("readonly database", "read-only file system"), ("25006",)),
    ("locked", ("database is locked", "database table is locked"), ("55P03", "57014")),
)


def write_refusal():
    """None when the database takes a write now; else why not, in a word or two
    (`read-only`, `locked`, or the error's type): readiness says it."""
    engine = current_app.extensions["migrate"].db.engine
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        restore = None
        try:
            if sqlite:
                waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                restore = (f"PRAGMA busy_timeout = {int(waited):d}", ())
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {PROBE_LOCK_WAIT_MS:d}")
            else:
                # For the session, put back below: every statement commits by itself here
                # (connections.py), so a SET LOCAL would end with its own statement.
                waited = connection.exec_driver_sql("SHOW lock_timeout").scalar()  # '300ms'
                restore = ("SELECT set_config('lock_timeout', %s, false)", (waited,))
                connection.exec_driver_sql(f"SET lock_timeout = {PROBE_LOCK_WAIT_MS:d}")
            connection.execute(_WRITE_PROBE)
        except DBAPIError as error:
            return _refusal(error)
        finally:
            connection.rollback()
            if restore is not None:
                _restore(connection, restore)
    return None


def _restore(connection, statement_and_parameters):
    """Put the probe's lock wait back; a connection that cannot be is not pooled again."""
    try:
        connection.exec_driver_sql(*statement_and_parameters)
    except DBAPIError:
        connection.invalidate()


def _refusal(error):
    cause = getattr(error, "orig", None)
    said, sqlstate = str(cause), getattr(cause, "sqlstate", None)
    for word, messages, sqlstates in _REFUSALS:
        if sqlstate in sqlstates or any(message in said for message in messages):
            return word
    return type(cause or error).__name__


def migration_refused(error):
    """What `flask db upgrade` says in one line when the database refused it: why, what to do."""
    cause = getattr(error, "orig", None)
    # Lock waits only: SQLite's "database table is locked" is the same connection's own lock.
    waited = getattr(cause, "sqlstate", None) == "55P03" or "database is locked" in str(cause)
    if waited:
        # migrations/env.py: a migration waits for a table no longer than a call's statement.
        return (
            "a table this migration changes is held by another transaction (an export, a psql "
            "session): the migration waited DATABASE_BUSY_TIMEOUT_MS for it, so as not to hold "
            "calls up behind it. Run it again once that transaction ended; `flask db current` "
            "shows where the schema stands"
        )
    said = str(cause or error).strip().splitlines() or [""]
    return f"the database refused the migration ({_refusal(error)}): {mask_phone_shaped(said[0])}"


def _known_revision(scripts, revision):
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def upgrade_database(revision="head"):
    """Create or upgrade the database's schema to `revision` (Alembic, as `flask db upgrade`)."""
    command.upgrade(current_app.extensions["migrate"].migrate.get_config(), revision)


def init_db():
    """Create or upgrade the database's schema to the code's head revision."""
    upgrade_database()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database schema: `flask db upgrade`, under its older name."""
    try:
        init_db()
    except CommandError as error:
        raise click.ClickException(str(error)) from error
    click.echo("Database ready.")
