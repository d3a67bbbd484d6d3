"""Databases at the migrations' head, made in the test process.

`flask db upgrade` in a process of its own (tests.servers.init_db) costs 0.7 s of CPU, most of
it starting Python and importing the app: the tests whose subject is not that command make the
same schema here instead, in ~20 ms. tests/test_migrations.py proves both make the same schema,
names included.
"""

from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

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
