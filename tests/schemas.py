"""Databases at the migrations' head, made in the test process.

`flask db upgrade` in a process of its own (tests.servers.init_db) costs 0.7 s of CPU, most of
it starting Python and importing the app: the tests whose subject is not that command make the
same schema here instead, in ~20 ms. tests/test_migrations.py proves both make the same schema,
names included.
"""

import atexit
import io
import os
import shutil
import tempfile

from alembic.migration import MigrationContext
from sqlalchemy import create_engine, create_mock_engine, text
from sqlalchemy.schema import CreateTable

import backend.store.models  # noqa: F401  (registers the tables in db.metadata)
from backend.store.db import MIGRATIONS_DIR, db, migration_scripts


def create_schema_at_head(engine=None):
    """What `flask db upgrade` makes of an empty database, made faster for ~1,000 fixtures.

    The models' tables (create_all), stamped with the migration scripts' head, on `engine` (the
    current app's by default). Running the migrations instead costs 10 (SQLite) to 25 ms
    (PostgreSQL) a test.
    """
    with (engine or db.engine).connect() as connection:
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:  # one transaction, as `flask db upgrade` runs (migrations/env.py)
            connection.execution_options(isolation_level="READ COMMITTED")
        with connection.begin():
            if postgresql:
                # The app's 500 ms bound is for callers: DDL on a loaded machine, waiting for the
                # catalog locks other tests' schemas take, outlasted it (a fixture error in CI).
                connection.execute(text("SET LOCAL statement_timeout = 0"))
            db.metadata.create_all(connection)
            MigrationContext.configure(connection).stamp(migration_scripts(MIGRATIONS_DIR), "heads")


def database_at_head(url):
    """The empty database at `url` (a SQLAlchemy URL) as `flask db upgrade` leaves it.

    A SQLite file is left in WAL mode, as the app's first connection leaves it
    (backend/store/connections.py).
    """
    engine = create_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        create_schema_at_head(engine)
    finally:
        engine.dispose()


# An empty test database made at head by a shortcut: a copy of a SQLite file made once per
# process, or on PostgreSQL the statements create_schema_at_head runs, compiled once and sent
# in one go (~5 ms of CPU less per test than create_all and alembic's stamp, over ~1,000
# tests). tests/test_schemas.py proves the shortcut makes what create_schema_at_head makes.
_sqlite_template = None
_postgresql_script = None


def _sqlite_file_at_head():
    global _sqlite_template
    if _sqlite_template is None:
        folder = tempfile.mkdtemp(prefix="schema-at-head-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = os.path.join(folder, "calls.db")
        database_at_head(f"sqlite:///{path}")
        # Its engine closed: the WAL is checkpointed into the file, which alone is copied.
        assert not os.path.exists(f"{path}-wal"), "the template's WAL was not checkpointed"
        _sqlite_template = path
    return _sqlite_template


def postgresql_script():
    """The SQL that makes an empty PostgreSQL schema at head: the models' tables, then
    alembic's version table holding the scripts' head."""
    global _postgresql_script
    if _postgresql_script is None:
        statements = []

        def compiled(ddl, *_args, **_kwargs):
            statements.append(str(ddl.compile(dialect=mock.dialect)).strip() + ";")

        mock = create_mock_engine("postgresql+psycopg://", compiled)
        db.metadata.create_all(mock, checkfirst=False)
        stamp = io.StringIO()
        context = MigrationContext.configure(
            dialect_name="postgresql", opts={"as_sql": True, "output_buffer": stamp}
        )
        compiled(CreateTable(context._version))
        context.stamp(migration_scripts(MIGRATIONS_DIR), "heads")
        _postgresql_script = "\n".join([*statements, stamp.getvalue().strip()])
    return _postgresql_script


def made_at_head_if_empty(engine):
    """Make `engine`'s database at head by the shortcut when it is empty: True; else False,
    untouched (the caller then runs create_schema_at_head)."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:" or os.path.exists(path):
            return False
        shutil.copyfile(_sqlite_file_at_head(), path)
        return True
    with engine.connect() as connection:
        connection.execution_options(isolation_level="READ COMMITTED")
        with connection.begin():
            tables = text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            if connection.execute(tables).scalar():
                return False
            connection.execute(text("SET LOCAL statement_timeout = 0"))  # as create_schema_at_head
            connection.exec_driver_sql(postgresql_script())
    return True
