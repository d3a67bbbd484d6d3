"""A database out of reach for a while, then back, for in-process tests on either database.

    with database_down(app):
        ...  # every statement the app runs fails as an unreachable database's would

Real failures, not stubs. SQLite: the file is moved away and a folder takes its place, so
opening it fails ("unable to open database file"). PostgreSQL: another session locks the calls
table, so each statement stops at the app's statement timeout. A missing table is no outage:
the app reads it as a schema not upgraded (tests/test_readiness.py).
"""

import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from backend.store.db import db

LOCK_HELD_AT_MOST_S = 30  # released by the test, or by itself so the suite never hangs


@contextmanager
def database_down(app):
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        with _sqlite_unreadable(app, Path(url.database)):
            yield
    else:
        with calls_table_locked(url):
            yield


@contextmanager
def _sqlite_unreadable(app, path):
    def close_pooled_connections():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    close_pooled_connections()
    away = path.with_name(path.name + ".away")
    path.rename(away)
    path.mkdir()
    try:
        yield
    finally:
        close_pooled_connections()
        path.rmdir()
        away.rename(path)


@contextmanager
def calls_table_locked(url):
    """Another session holds an exclusive lock on the calls table until the block ends."""
    locked, done = threading.Event(), threading.Event()

    def hold_lock():
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE"))
                locked.set()
                done.wait(timeout=LOCK_HELD_AT_MOST_S)
                connection.rollback()
        finally:
            locked.set()
            engine.dispose()

    locker = threading.Thread(target=hold_lock)
    locker.start()
    try:
        assert locked.wait(timeout=LOCK_HELD_AT_MOST_S), "the calls table was not locked"
        yield
    finally:
        done.set()
        locker.join(timeout=LOCK_HELD_AT_MOST_S)
