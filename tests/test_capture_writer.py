"""Write-behind of the captures no answer waits on: batched, bounded, and written before exit."""

import sqlite3
import threading
import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from backend import capture_writer
from backend.caller_id import capture_caller_id_behind
from backend.calls import capture_caller_numbers
from backend.capture_writer import flush_captures
from backend.db import db, init_db
from backend.tenants import tenant_store
from tests.leaks import assert_no_full_number, watch
from tests.servers import Gunicorn
from tests.servers import init_db as init_db_process
from tests.test_races import request_for, send


def number(call, last_two):
    return f"+33623{call:04d}{last_two}"


watch(*(number(c, d) for c in range(40) for d in ("11", "22")))


def status_update(vapi_payload, call_id, caller):
    return request_for("status-update.in-progress", vapi_payload, call_id, caller)


def queue_now(app, vapi_payload, captures):
    """Capture (call, number) pairs as status-updates do, in this order, without waiting."""
    with app.app_context():
        tenant = tenant_store().directory.get("demo")
        for call_id, caller in captures:
            message = status_update(vapi_payload, call_id, caller)[1]["message"]
            capture_caller_id_behind(tenant, message, "status-update")


def test_queued_captures_are_written_first_number_first(app, vapi_payload, calls_in, log_events):
    # Two offers per call, the second with another number, and calls queued out of order.
    captures = [(f"wb-{c:02d}", number(c, d)) for d in ("11", "22") for c in range(20)]
    queue_now(app, vapi_payload, captures[::-1][20:] + captures[::-1][:20])
    assert flush_captures(app)

    rows = {row["call_id"]: row for row in calls_in(app)}
    assert {call: row["caller_number"] for call, row in rows.items()} == {
        f"wb-{c:02d}": number(c, "11") for c in range(20)
    }
    assert {row["caller_msg_type"] for row in rows.values()} == {"status-update"}
    logged = log_events("CALLER_ID_PERSISTED")
    assert sorted(line["call_id"] for line in logged) == sorted(rows)
    assert {line["phone_masked"][-2:] for line in logged} == {"11"}


def record_batches(monkeypatch, writer):
    """The size of each batch `writer` writes, in order (the writes still happen)."""
    sizes, write = [], writer._write
    monkeypatch.setattr(writer, "_write", lambda batch: (sizes.append(len(batch)), write(batch)))
    return sizes


def test_the_writer_waits_for_more_captures_and_a_flush_cuts_the_wait(
    app, vapi_payload, calls_in, monkeypatch
):
    monkeypatch.setattr(capture_writer, "LINGER_S", 30)  # long enough to see the wait
    batches = record_batches(monkeypatch, app.extensions["capture_writer"])
    queue_now(app, vapi_payload, [(f"wb-{c}", number(c, "11")) for c in range(5)])
    time.sleep(0.2)
    assert batches == [] and calls_in(app) == []  # still waiting for others
    began = time.monotonic()
    assert flush_captures(app)
    assert time.monotonic() - began < 5
    assert batches == [5] and len(calls_in(app)) == 5


def test_a_full_queue_cuts_the_wait(app, vapi_payload, calls_in, monkeypatch):
    monkeypatch.setattr(capture_writer, "LINGER_S", 30)
    writer = app.extensions["capture_writer"]
    writer.size = 3
    batches = record_batches(monkeypatch, writer)
    queue_now(app, vapi_payload, [(f"wb-{c}", number(c, "11")) for c in range(3)])
    deadline = time.monotonic() + 5
    while not batches and time.monotonic() < deadline:
        time.sleep(0.01)
    assert batches == [3]
    assert flush_captures(app)
    assert len(calls_in(app)) == 3


def test_a_status_update_answers_before_its_capture_is_written(app, vapi_payload, demo_headers):
    # The test client of the other tests waits for queued captures: this one does not.
    client = FlaskClient(app)
    with app.app_context():
        writer = app.extensions["capture_writer"]
    release = threading.Event()
    original = writer._write
    writer._write = lambda batch: (release.wait(10), original(batch))
    try:
        path, body = status_update(vapi_payload, "wb-late", number(1, "11"))
        response = client.post(path, json=body, headers=demo_headers)
        assert response.status_code == 200 and response.get_json() == {}
        with app.app_context():
            assert db.session.execute(text("SELECT count(*) FROM calls")).scalar_one() == 0
    finally:
        release.set()
    assert flush_captures(app)
    with app.app_context():
        stored = db.session.execute(text("SELECT caller_number FROM calls")).scalars().all()
    assert stored == [number(1, "11")]


def test_a_full_queue_makes_the_request_write_its_own(
    app, database_url, vapi_payload, demo_headers, calls_in
):
    if not database_url.startswith("sqlite"):
        pytest.skip("holds SQLite's write lock from another connection")
    writer = app.extensions["capture_writer"]
    writer.size = 1
    client = FlaskClient(app)
    blocker = sqlite3.connect(
        database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    blocker.execute("BEGIN IMMEDIATE")  # the writer thread waits in SQLite's busy handler
    try:
        # The thread takes the first capture and waits for the lock; the second fills the queue.
        for call in range(2):
            path, body = status_update(vapi_payload, f"wb-{call}", number(call, "11"))
            assert client.post(path, json=body, headers=demo_headers).status_code == 200
            deadline = time.monotonic() + 5
            while call == 0 and writer._queued and time.monotonic() < deadline:
                time.sleep(0.01)
        # The queue is full: this request writes its capture itself, once the lock is free.
        threading.Timer(0.3, blocker.execute, ("ROLLBACK",)).start()
        path, body = status_update(vapi_payload, "wb-2", number(2, "11"))
        began = time.monotonic()
        assert client.post(path, json=body, headers=demo_headers).status_code == 200
        waited = time.monotonic() - began
        assert "wb-2" in {row["call_id"] for row in calls_in(app)}
    finally:
        blocker.close()
    assert waited >= 0.2  # it waited for the lock: written in the request, not queued
    assert flush_captures(app)
    assert {row["call_id"] for row in calls_in(app)} == {"wb-0", "wb-1", "wb-2"}


def test_a_queue_size_of_zero_writes_every_capture_in_its_request(
    tenants_app, vapi_payload, demo_headers, database_url, calls_in
):
    from backend import create_app

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "CAPTURE_QUEUE_SIZE": 0}
    )
    with app.app_context():
        init_db()
    path, body = status_update(vapi_payload, "wb-now", number(3, "11"))
    assert FlaskClient(app).post(path, json=body, headers=demo_headers).status_code == 200
    assert [row["caller_number"] for row in calls_in(app)] == [number(3, "11")]
    assert app.extensions["capture_writer"]._thread is None
    with app.app_context():
        db.engine.dispose()


def test_a_failed_batch_is_logged_without_numbers_and_the_writer_goes_on(
    app, vapi_payload, calls_in, log_events
):
    with app.app_context():
        db.session.execute(text("DROP TABLE calls"))
        db.session.commit()
    queue_now(app, vapi_payload, [(f"wb-lost-{c}", number(c, "11")) for c in range(3)])
    assert flush_captures(app)
    with app.app_context():
        db.create_all()  # the table back (the database stays stamped at head)
    queue_now(app, vapi_payload, [("wb-after", number(4, "22"))])
    assert flush_captures(app)

    assert [row["call_id"] for row in calls_in(app)] == ["wb-after"]
    failed = log_events("DATABASE_UNAVAILABLE") + log_events("CAPTURES_NOT_WRITTEN")
    assert sum(line["captures_lost"] for line in failed) == 3  # in one batch or more
    assert len(log_events("CALLER_ID_PERSISTED")) == 1


def test_batches_sharing_calls_in_opposite_orders_never_deadlock(app, calls_in):
    # Each batch takes its row locks in (tenant, call) order, whatever order its captures came.
    errors = []

    def write(offers):
        try:
            with app.app_context():
                capture_caller_numbers(offers)
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    for round_ in range(15):
        offers = [
            ("demo", f"wb-{round_}-{c:02d}", number(c, "11"), "status-update") for c in range(30)
        ]
        threads = [threading.Thread(target=write, args=(o,)) for o in (offers, offers[::-1])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert not errors, [type(error).__name__ for error in errors]
    assert len(calls_in(app)) == 15 * 30


def test_a_graceful_stop_writes_what_its_workers_queued(
    tmp_path, secrets, demo_headers, vapi_payload
):
    database = tmp_path / "calls.db"
    env = {"DATABASE_URL": f"sqlite:///{database}", **secrets}
    init_db_process(env)
    calls = [f"wb-stop-{c}" for c in range(20)]
    with Gunicorn("wsgi:app", env=env, workers=2, threads=2) as server:
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # writes wait: captures stay queued in the workers
        try:
            for c, call_id in enumerate(calls):
                path, body = status_update(vapi_payload, call_id, number(c, "22"))
                assert send(server, path, body, demo_headers) == (200, {})
            stopping = threading.Thread(target=server.stop)
            stopping.start()  # SIGTERM: each worker writes its queue before it exits
            time.sleep(0.5)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        stopping.join(30)
        output = server.output()
    with sqlite3.connect(database) as check:
        stored = dict(check.execute("SELECT call_id, caller_number FROM calls").fetchall())
    assert stored == {call_id: number(c, "22") for c, call_id in enumerate(calls)}
    assert output.count("CALLER_ID_PERSISTED") == len(calls)
    assert_no_full_number(output, "the server output")
