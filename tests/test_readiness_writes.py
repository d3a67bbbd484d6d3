"""/readyz says not ready when the database cannot take a write; /healthz never asks it.

A read-only SQLite file (immutable as root, mode 444 otherwise), a PostgreSQL session that
is read-only, and a write lock held by another connection on either database: each time the
calls table can be read but not written, so a capture could not be stored. Readiness answers
within the issue's second (asserted, generously: the probe waits 200 ms for a lock).
"""

import os
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from backend import create_app
from backend.store.connections import SQLITE_FILE_GONE
from backend.store.db import db
from tests.conftest import create_schema_at_head
from tests.outage import calls_table_locked

ANSWERED_WITHIN_S = 1.0  # the deadline for every answer


def readyz(app):
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    assert time.monotonic() - started < ANSWERED_WITHIN_S
    return response.status_code, response.get_json()


def forget_connections(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def read_only_file(path):
    """The file cannot be written, even by root (chattr +i), until the block ends."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@contextmanager
def sqlite_write_locked(path):
    """Another connection holds the file's write lock until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_read_only_sqlite_file_is_not_ready(app):
    assert readyz(app)[0] == 200
    with app.app_context():
        path = Path(db.engine.url.database)
    forget_connections(app)  # a connection opened before could still write
    with read_only_file(path):
        status, body = readyz(app)
        assert status == 503 and body["database"] == "not writable (read-only)"
        assert body["reason"] == "database not writable (read-only)"
        forget_connections(app)
    assert readyz(app)[0] == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_read_only_postgresql_session_is_not_ready(database_url, secrets):
    url = database_url + "%20-cdefault_transaction_read_only%3Don"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        create_schema_at_head()
    read_only = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    try:
        status, body = readyz(read_only)
        assert status == 503 and body["database"] == "not writable (read-only)"
        assert readyz(app)[0] == 200
    finally:
        forget_connections(read_only)
        forget_connections(app)


def test_a_write_lock_held_elsewhere_is_not_ready(app):
    # The suite's loose deadlines (5 s a statement): the probe's own lock wait (200 ms) must
    # answer, as it must when a server's statement timeout is long.
    assert readyz(app)[0] == 200
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        held = sqlite_write_locked(url.database)
    else:
        held = calls_table_locked(url)
    with held:
        status, body = readyz(app)
        assert status == 503 and body["database"] == "not writable (locked)"
    assert readyz(app)[0] == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_probe_leaves_pooled_connections_as_it_found_them(app):
    assert readyz(app)[0] == 200
    with app.app_context(), db.engine.connect() as connection:
        lock_wait_ms = app.config["DATABASE_BUSY_TIMEOUT_MS"]  # connections.py
        assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == f"{lock_wait_ms}ms"


def test_healthz_never_touches_the_database(app):
    statements = []

    def seen(_connection, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert app.test_client().get("/healthz").status_code == 200
        assert statements == []
        app.test_client().get("/readyz")
        assert statements  # the listener sees what readiness runs
    finally:
        event.remove(engine, "before_cursor_execute", seen)


@pytest.mark.parametrize("change", ["removed", "replaced"])
def test_a_file_removed_or_replaced_while_serving_is_no_longer_written(
    app, client, demo_headers, vapi_payload, database_url, tmp_path, log_events, change
):
    """Pooled connections kept writing to the old file, answered 200, and nothing read it
    again (a helper's gunicorn run: 40 of 40 lost). Now every request answers as in an outage,
    no new file is made beside the old one's log, and readiness says why."""
    if not database_url.startswith("sqlite"):
        pytest.skip("a file of SQLite's")
    path = Path(database_url.removeprefix("sqlite:///"))
    body = vapi_payload("status-update.in-progress")
    assert client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers).status_code == 200
    if change == "removed":
        path.unlink()
    else:
        backup = tmp_path / "backup.db"
        sqlite3.connect(backup).close()
        os.replace(backup, path)
    body["message"]["call"]["id"] = "after-the-change"
    answer = client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    status, report = readyz(app)
    assert status == 503 and report["database"] == SQLITE_FILE_GONE, report
    assert path.exists() is (change == "replaced")  # nothing made in its place
    assert [line["hint"] for line in log_events("DATABASE_FILE_REPLACED")] == [SQLITE_FILE_GONE]


def test_a_file_moved_away_and_back_serves_again_without_a_restart(
    app, client, demo_headers, vapi_payload, database_url, log_events
):
    if not database_url.startswith("sqlite"):
        pytest.skip("a file of SQLite's")
    path = Path(database_url.removeprefix("sqlite:///"))
    body = vapi_payload("status-update.in-progress")
    assert client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers).status_code == 200
    path.rename(path.with_suffix(".away"))
    assert client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers).status_code == 503
    path.with_suffix(".away").rename(path)
    assert client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers).status_code == 200
    assert readyz(app)[0] == 200
    assert [line["event"] for line in log_events() if "FILE" in line["event"]] == [
        "DATABASE_FILE_REPLACED",
        "DATABASE_FILE_BACK",
    ]
