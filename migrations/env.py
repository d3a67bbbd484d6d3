"""Alembic's environment for `flask db ...`: the app's database, each run one transaction.

Flask-Migrate's template, plus: a database made before migrations is adopted (stamped with the
revision its schema matches) before anything else runs, and PostgreSQL runs the migration as one
transaction without the app's statement timeout.
"""

import logging
from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from backend.store import models  # noqa: F401  (the tables autogenerate compares the database with)
from backend.store.schema import migration_refused

config = context.config

# From the command line, alembic.ini's logging. A process that set up its own (the tests, an
# in-process upgrade) keeps it: fileConfig would replace its handlers.
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

# Before migrations, `flask init-db` made the schema with create_all: the first revision's
# tables and columns (and, in the earliest versions, an index the next revision drops).
PRE_MIGRATION_REVISION = "f38212f029dd"
PRE_MIGRATION_COLUMNS = {
    "calls": {
        "id",
        "tenant_id",
        "call_id",
        "caller_number",
        "caller_msg_type",
        "state",
        "conversation",
        "contact_number",
        "contact_source",
        "contact_confirmed_at",
        "ended_reason",
        "ended_at",
        "created_at",
        "updated_at",
    }
}

# The app's engine commits each statement by itself; a migration runs as one transaction.
TRANSACTION_ISOLATION = {"postgresql": "READ COMMITTED", "sqlite": "SERIALIZABLE"}


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db


def get_metadata():
    return target_db.metadata


def adopt_pre_migration_schema(connection, migration_context):
    """Stamp a database made by create_all before migrations with the revision it matches.

    Its tables exist and it has no alembic_version table: without this, the first revision
    would try to create the tables again. A table that does not hold the expected columns
    stops the run: that database is not one this code made.
    """
    inspector = inspect(connection)
    if inspector.has_table("alembic_version"):
        return
    found = [table for table in PRE_MIGRATION_COLUMNS if inspector.has_table(table)]
    if not found:
        return  # an empty database: the migrations create everything
    for table, expected in PRE_MIGRATION_COLUMNS.items():
        columns = {c["name"] for c in inspector.get_columns(table)} if table in found else set()
        if columns != expected:
            raise CommandError(
                f"table {table!r} exists without alembic_version, but its columns are not those "
                f"of the schema made before migrations (missing: {sorted(expected - columns)}, "
                f"unknown: {sorted(columns - expected)}): not adopted, nothing changed"
            )
    migration_context.stamp(context.script, PRE_MIGRATION_REVISION)
    if not migration_context.impl.transactional_ddl:
        connection.commit()  # SQLite: Alembic commits per migration, and none may follow
    logger.info(
        "Schema made before migrations found: stamped %s, upgrading from there.",
        PRE_MIGRATION_REVISION,
    )


def run_migrations_offline():
    """Write the SQL to stdout (`flask db upgrade --sql`) instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migrations on the app's database."""

    # No empty revision file when autogenerate finds no change (Alembic's cookbook).
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    engine = get_engine()
    try:
        migrate_on(engine, conf_args)
    except DBAPIError as error:
        # Flask-Migrate prints a CommandError as one line, anything else as a traceback.
        raise CommandError(migration_refused(error)) from error


def migrate_on(engine, conf_args):
    """Run the migrations on `engine`, as one transaction where the database allows it."""
    with engine.connect() as connection:
        isolation = TRANSACTION_ISOLATION.get(engine.dialect.name)
        if isolation:
            connection.execution_options(isolation_level=isolation)
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        migration_context = context.get_context()

        with context.begin_transaction():
            if engine.dialect.name == "postgresql":
                # The app's 500 ms bound is for callers' requests, not for building an index.
                connection.execute(text("SET LOCAL statement_timeout = 0"))
                # A table's lock waited for blocks every call's statement queued behind it: a
                # migration waits as long as a call's statement would (DATABASE_BUSY_TIMEOUT_MS,
                # set on each connection) and fails, saying so in one line, when a long
                # transaction holds a table (an export, a psql session): run it again later.
            # Commands that only read (`flask db current`) leave the database as it is.
            if not migration_context.opts.get("dont_mutate"):
                adopt_pre_migration_schema(connection, migration_context)
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
