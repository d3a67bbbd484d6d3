"""The call row: first valid number wins, read back in the same round trip; the conversation is
replaced by compare-and-set on its version."""

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from backend import create_app
from backend.store.calls import (
    StoredConversation,
    capture_and_read_conversation,
    capture_caller_number,
    offer_caller_number,
    read_conversation,
    replace_conversation,
)
from backend.store.db import db
from tests.leaks import watch

FIRST, SECOND = "+33612340001", "+33612340002"
watch(FIRST, SECOND)


def test_first_offer_wins_and_later_ones_read_it_back(app):
    with app.app_context():
        assert capture_caller_number("demo", "c1", FIRST, "status-update") == (FIRST, True)
        assert capture_caller_number("demo", "c1", SECOND, "tool-calls") == (FIRST, False)
        assert capture_caller_number("demo", "c1", None, "tool-calls") == (FIRST, False)
        # Another tenant's call with the same id is another call.
        assert capture_caller_number("plomberie", "c1", SECOND, "x") == (SECOND, True)


def test_a_call_first_seen_without_a_number_takes_the_first_one_offered(app):
    with app.app_context():
        assert capture_caller_number("demo", "c2", None, "status-update") == (None, False)
        assert capture_caller_number("demo", "c2", None, "status-update") == (None, False)
        assert capture_caller_number("demo", "c2", SECOND, "assistant-request") == (SECOND, True)


def test_an_offer_alone_says_whether_it_stored_and_keeps_the_first_number(app):
    with app.app_context():
        assert offer_caller_number("demo", "o1", None, "status-update") is False
        assert offer_caller_number("demo", "o1", FIRST, "status-update") is True
        assert offer_caller_number("demo", "o1", SECOND, "status-update") is False
        assert offer_caller_number("demo", "o1", FIRST, "status-update") is False
        assert capture_caller_number("demo", "o1", None, "x") == (FIRST, False)


def test_a_turn_captures_and_reads_the_conversation_with_it(app):
    with app.app_context():
        capture = capture_and_read_conversation
        assert capture("demo", "t1", None, "chat-completions") == (None, False, (None, 0))
        assert replace_conversation("demo", "t1", 0, '{"x": 1}', "QUALIF_CONTACT")
        # A row without a number takes the first one offered, and its conversation comes along,
        # with the version it was stored at.
        stored = StoredConversation('{"x": 1}', 1)
        assert capture("demo", "t1", FIRST, "chat-completions") == (FIRST, True, stored)
        assert capture("demo", "t1", SECOND, "tool-calls") == (FIRST, False, stored)
        assert capture("demo", "t1", None, "tool-calls") == (FIRST, False, stored)
        assert capture("demo", "t2", SECOND, "chat-completions") == (SECOND, True, (None, 0))
        assert capture_caller_number("demo", "t2", FIRST, "x") == (SECOND, False)


def test_of_two_writers_that_read_the_same_version_the_second_loses(app):
    with app.app_context():
        read = read_conversation("demo", "v1")  # creates the row
        assert read == (None, 0)
        assert replace_conversation("demo", "v1", read.version, '{"w": 1}', "CONTACT_CONFIRM")
        assert not replace_conversation("demo", "v1", read.version, '{"w": 2}', "CONTACT_COLLECT")
        assert read_conversation("demo", "v1") == ('{"w": 1}', 1)
        # The same text stored again still moves the version: a writer holding 1 loses.
        assert replace_conversation("demo", "v1", 1, '{"w": 1}', "CONTACT_CONFIRM")
        assert not replace_conversation("demo", "v1", 1, '{"w": 3}', "CONTACT_CONFIRM")
        assert read_conversation("demo", "v1") == ('{"w": 1}', 2)


def test_of_writers_racing_on_the_same_version_exactly_one_stores(app):
    """Threads, each with its own pooled connection, replace the same read version at once."""
    writers = 4
    with app.app_context():
        read = read_conversation("demo", "v2")
    start = threading.Barrier(writers)
    outcomes = []

    def write(index):
        with app.app_context():
            start.wait(timeout=10)
            text_ = f'{{"writer": {index}}}'
            outcomes.append((replace_conversation("demo", "v2", read.version, text_, "X"), text_))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    winners = [text_ for stored, text_ in outcomes if stored]
    assert len(outcomes) == writers and len(winners) == 1, outcomes
    with app.app_context():
        assert read_conversation("demo", "v2") == (winners[0], read.version + 1)


def test_a_failed_statement_never_shows_its_values(app):
    """Errors are SQLAlchemy's, their parameters (callers' numbers) hidden, on either path."""
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE calls"))
        for attempt in (
            lambda: capture_caller_number("demo", "gone", FIRST, "status-update"),
            lambda: capture_and_read_conversation("demo", "gone", FIRST, "chat-completions"),
            lambda: replace_conversation("demo", "gone", 0, f'{{"said": "{FIRST}"}}', "X"),
        ):
            with pytest.raises(DBAPIError) as raised:
                attempt()
            assert FIRST not in str(raised.value) and FIRST[1:] not in str(raised.value)


def test_a_later_message_of_a_call_only_reads(app, database_url):
    """ON CONFLICT DO UPDATE locks the row even to change nothing: a repeat must not get there."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's row lock (xmax)")
    with app.app_context():
        capture_caller_number("demo", "c5", FIRST, "status-update")
        assert capture_caller_number("demo", "c5", SECOND, "speech-update") == (FIRST, False)
        with db.engine.connect() as connection:
            locker = connection.execute(
                text("SELECT xmax::text FROM calls WHERE call_id = 'c5'")
            ).scalar_one()
    assert locker == "0"


def test_a_calls_row_is_found_by_its_key_not_among_its_tenants_calls(app, database_url):
    """PostgreSQL's cached (generic) plans once read a call by filtering all its tenant's calls."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's generic plans")
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(
            text(
                "INSERT INTO calls (tenant_id, call_id, created_at, updated_at)"
                " SELECT 'demo', 'bulk-' || n, now(), now() FROM generate_series(1, 1000) AS n"
            )
        )
        connection.execute(text("SET plan_cache_mode = force_generic_plan"))
        connection.execute(
            text(
                "PREPARE by_key(text, text) AS SELECT caller_number FROM calls"
                " WHERE tenant_id = $1 AND call_id = $2"
            )
        )
        plan = connection.execute(text("EXPLAIN ANALYZE EXECUTE by_key('demo', 'bulk-7')"))
        plan = "\n".join(row[0] for row in plan)
    assert "uq_calls_tenant_call" in plan and "Rows Removed" not in plan, plan


@pytest.fixture
def patient_app(app, database_url, monkeypatch):
    """The same database, with a 10 s statement timeout: the offer waits on a lock a test holds.

    With the usual 500 ms, a slow test machine saw the offer give up before the test acted.
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's row locks")
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "10000")
    patient = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    yield patient
    with patient.app_context():
        db.engine.dispose()


# The backends of offers (one, or a batch) waiting on a row lock the `:writer` backend holds:
# only this test's, when other tests (other pytest workers) wait on locks of their own.
_OFFERS_WAITING = (
    "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO calls%'"
    " AND :writer = ANY(pg_blocking_pids(pid))"
)


def _waiting_on_a_lock(connection, writer_pid, deadline):
    query = text(f"SELECT count(*) {_OFFERS_WAITING}")
    while time.monotonic() < deadline:
        found = connection.execute(query, {"writer": writer_pid}).scalar()
        connection.rollback()  # pg_stat_activity is read once per transaction
        if found:
            return True
        time.sleep(0.01)
    return False


@contextmanager
def _offer_waiting_on_a_held_row(app, database_url, call_id, held_number, offer_now=None):
    """Insert the call's row without committing, then offer SECOND for it from a thread.

    `offer_now()` makes the offer instead, when it is not capture_caller_number's.

    Yields (the writer holding the row, its server pid, outcomes) once the offer waits on the
    row's lock; the outcome, an answer or the exception raised, is in the list once the block
    has ended.
    """
    other = create_engine(database_url)
    outcomes = []

    def offer():
        with app.app_context():
            try:
                if offer_now is not None:
                    outcomes.append(offer_now())
                else:
                    outcomes.append(capture_caller_number("demo", call_id, SECOND, "status-update"))
            except Exception as error:  # noqa: BLE001  (what it raises is the point)
                outcomes.append(error)

    try:
        with other.connect() as writer, other.connect() as watcher:
            writer_pid = writer.execute(text("SELECT pg_backend_pid()")).scalar()
            writer.execute(
                text(
                    "INSERT INTO calls (tenant_id, call_id, caller_number, created_at, updated_at)"
                    " VALUES ('demo', :call, :number, now(), now())"
                ),
                {"call": call_id, "number": held_number},
            )
            thread = threading.Thread(target=offer)
            thread.start()
            assert _waiting_on_a_lock(watcher, writer_pid, time.monotonic() + 10), outcomes
            yield writer, writer_pid, outcomes
            thread.join(timeout=10)
    finally:
        other.dispose()


def test_a_row_committed_while_the_offer_waits_is_read_back(patient_app, database_url):
    """The offer's read-back misses a row committed after its snapshot: it reads again."""
    held = _offer_waiting_on_a_held_row(patient_app, database_url, "c3", FIRST)
    with held as (writer, _, outcomes):
        writer.commit()
    assert outcomes == [(FIRST, False)]


def test_a_connection_lost_mid_statement_fails_as_sqlalchemy_and_is_replaced(
    patient_app, database_url, postgres_admin, caplog
):
    """The capture runs on the driver: its errors must still be SQLAlchemy's, number-free."""

    def offer_now():
        return capture_caller_number("demo", "c71", SECOND, "status-update")

    waiting = _offer_waiting_on_a_held_row(patient_app, database_url, "c71", None, offer_now)
    with waiting as (_, writer_pid, outcomes), postgres_admin.connect() as admin:
        # The waiting offer's server process is ended.
        admin.execute(
            text(f"SELECT pg_terminate_backend(pid) {_OFFERS_WAITING}"), {"writer": writer_pid}
        )
    [error] = outcomes
    assert isinstance(error, OperationalError) and error.connection_invalidated
    # Dropped at once: given back to the pool, its reset would have logged a traceback.
    assert not [r for r in caplog.records if r.name.startswith("sqlalchemy")]
    assert SECOND not in str(error) and SECOND[1:] not in str(error)
    with patient_app.app_context():  # nothing was kept, and the next offer works
        assert offer_now() == (SECOND, True)


def test_a_connection_the_server_ended_is_replaced_before_use(app, database_url, postgres_admin):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server process to end")
    with app.app_context():
        capture_caller_number("demo", "c4", FIRST, "status-update")  # pools a connection
        with db.engine.connect() as connection:
            backend_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with postgres_admin.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with postgres_admin.connect() as admin:
                alive = admin.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": backend_pid},
                ).scalar()
            if not alive:
                break
            time.sleep(0.01)
        assert capture_caller_number("demo", "c4", SECOND, "status-update") == (FIRST, False)


def _synchronous_commit(app):
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(text("SHOW synchronous_commit")).scalar()


def test_call_flow_writes_wait_for_the_disk_unless_told(app, database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's synchronous_commit")
    assert _synchronous_commit(app) == "on"
    monkeypatch.setenv("DATABASE_SYNCHRONOUS_COMMIT", "off")
    fast = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    try:
        assert _synchronous_commit(fast) == "off"
    finally:
        with fast.app_context():
            db.engine.dispose()


def test_an_unknown_synchronous_commit_value_stops_the_app_at_start(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_SYNCHRONOUS_COMMIT", "off; DROP TABLE calls")
    with pytest.raises(ValueError, match="DATABASE_SYNCHRONOUS_COMMIT must be one of"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
