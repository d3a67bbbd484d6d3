"""The database: Flask-SQLAlchemy wiring, SQLite tuning, and `flask init-db`."""

import click
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase

# How long a statement may hold a caller's request before it gives up (ms).
STATEMENT_TIMEOUT_MS = 2000


class Base(DeclarativeBase):
    pass


# Rows stay readable after commit: each request ends its transactions early so SQLite writers
# from other workers are never blocked by a reader, and a later write never meets a stale snapshot.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def engine_options(url):
    """Pool and timeout settings for the database in `url`."""
    if url.startswith("sqlite"):
        # busy timeout: writers from several workers wait for each other instead of failing.
        return {"connect_args": {"timeout": 5}}
    return {
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 5,
        "pool_timeout": 2,
        "connect_args": {"connect_timeout": 2},
    }


def _tune_sqlite(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _tune_postgresql(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    cursor.close()
    dbapi_connection.commit()


def init_app(app):
    """Bind the database to the app, tune its connections and register `init-db`."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url))
    db.init_app(app)
    with app.app_context():
        tune = _tune_sqlite if db.engine.dialect.name == "sqlite" else _tune_postgresql
        event.listen(db.engine, "connect", tune)
    app.cli.add_command(init_db_command)


def init_db():
    """Create the tables that do not exist yet (safe to run twice)."""
    from . import models  # noqa: F401  (registers the tables)

    db.create_all()


@click.command("init-db")
def init_db_command():
    """Create the database schema; running it again changes nothing."""
    init_db()
    click.echo("Database ready.")
