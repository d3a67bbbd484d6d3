"""PostgreSQL stopped mid-traffic, then back: answers stay fast, honest, and service resumes alone.

A private PostgreSQL cluster (started and stopped by the test) behind real gunicorn. Client
threads play calls (status-update, chat completion, assistant-request, status-update ended)
before, during and after the outage. No timed assertion beyond a generous hang detector: the
measured figures are printed (`pytest -s`) for the README.
"""

import http.client
import os
import re
import statistics
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from backend import create_app
from backend.store.db import db
from backend.store.db import init_db as init_schema
from tests.conftest import postgres_schema_url
from tests.leaks import assert_no_full_number, watch
from tests.outage import calls_table_locked
from tests.schemas import database_at_head
from tests.servers import Gunicorn, PostgresCluster, wait_http
from tests.test_races import request_for, send, tenants_with_assistant

pytestmark = pytest.mark.skipif(
    not PostgresCluster.available(), reason="PostgreSQL server binaries not installed"
)

CLIENTS = 4
MAX_CYCLES = 150  # per client: the traffic stops by itself even if the test loses track
HANG_SECONDS = 3.0  # a hang detector, not a speed goal (figures are printed)
LOCKED_HANG_SECONDS = 3.0  # a few statements, each stopped by the statement timeout
LATE_LAST_TWO = "99"


def caller_number(client, cycle):
    """The number a client's status-update carries; its last two digits are `{client}{cycle%10}`."""
    return f"+3369900{client}0{client}{cycle % 10}"


def later_number(client):
    return f"+3369910{client}0{LATE_LAST_TWO}"


watch(*(caller_number(c, i) for c in range(CLIENTS) for i in range(10)))
watch(*(later_number(c) for c in range(CLIENTS)))


class Traffic:
    """Client threads that play whole calls until told to stop; every request is recorded."""

    def __init__(self, server, vapi_payload, headers):
        self.server, self.vapi_payload, self.headers = server, vapi_payload, headers
        self.records = []  # (client, cycle, kind, started, ended, status, answer)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.play, args=(c,)) for c in range(CLIENTS)]

    def play(self, client):
        for cycle in range(MAX_CYCLES):
            if self.stopping.is_set():
                return
            call_id = f"outage-{client}-{cycle}-{os.getpid()}"
            # The chat carries the same caller, as Vapi's do; the later messages carry another.
            steps = [
                ("status-update.in-progress", caller_number(client, cycle)),
                ("chat", caller_number(client, cycle)),
                ("assistant-request", later_number(client)),
                ("status-update.ended", later_number(client)),
            ]
            for kind, number in steps:
                path, body = request_for(kind, self.vapi_payload, call_id, number)
                started = time.monotonic()
                try:
                    status, answer = send(self.server, path, body, self.headers)
                except OSError as error:
                    status, answer = "exception", repr(error)
                with self.lock:
                    self.records.append(
                        (client, cycle, kind, started, time.monotonic(), status, answer)
                    )

    def count(self, since):
        with self.lock:
            return sum(1 for record in self.records if record[3] >= since)

    def wait_for(self, requests_, since, limit=30):
        """Until `requests_` requests have started after `since` (bounded)."""
        deadline = time.monotonic() + limit
        while self.count(since) < requests_ and time.monotonic() < deadline:
            time.sleep(0.02)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


def digits_read(kind, answer):
    """(number known?, the digit groups read out) for a chat or assistant-request answer."""
    if kind == "chat":
        return None, re.findall(r"\d+", answer)
    values = answer["assistantOverrides"]["variableValues"]
    groups = re.findall(r"\d+", values["contact_prompt"])
    return values["caller_id_known"], [values["caller_last_digits"], *groups]


def figures(label, elapsed):
    if elapsed:
        ms = sorted(1000 * e for e in elapsed)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        print(
            f"{label}: {len(ms)} requests, median {statistics.median(ms):.1f} ms, "
            f"p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"
        )


@pytest.mark.slow
def test_postgresql_outage_mid_traffic(secrets, demo_headers, vapi_payload, tmp_path):
    stored_call, number = f"outage-stored-{os.getpid()}", later_number(0)
    with PostgresCluster() as pg:
        env = {
            "DATABASE_URL": pg.url,
            "TENANTS_DIR": str(tenants_with_assistant(tmp_path)),
            **secrets,
        }
        database_at_head(env["DATABASE_URL"])
        with Gunicorn("wsgi:app", env=env, workers=2, threads=2) as server:
            assert send_get(server, "/readyz") == 200
            path, body = request_for(
                "status-update.in-progress", vapi_payload, stored_call, caller_number(0, 0)
            )
            assert send(server, path, body, demo_headers)[0] == 200
            with Traffic(server, vapi_payload, demo_headers) as traffic:
                traffic.wait_for(40, since=0)
                stop_began = time.monotonic()
                pg.stop("fast")
                stopped = time.monotonic()
                traffic.wait_for(60, since=stopped)
                readyz_down = [timed_get(server, "/readyz") for _ in range(5)]
                start_began = time.monotonic()
                pg.start()
                assert wait_http(server.url + "/readyz", time.monotonic() + 30, ok=(200).__eq__)
                resumed = time.monotonic()
                traffic.wait_for(60, since=resumed)
            records = list(traffic.records)

            # A quick restart with no traffic in between: pooled connections are stale.
            pg.stop("fast")
            pg.start()
            quiet = [
                send(server, *request_for("chat", vapi_payload, stored_call, number), demo_headers)
                for _ in range(20)
            ]
            output = server.output()
        stored = stored_numbers(pg.url)

    bad = [r for r in records if r[5] not in (200, 503) or r[4] - r[3] > HANG_SECONDS]
    assert not bad, [
        (kind, status, round(end - start, 2)) for _, _, kind, start, end, status, _ in bad
    ]
    # A status-update is refused (503) when its capture cannot be stored: Vapi may send it again.
    not_ok = [r for r in records if r[5] != 200 and not r[2].startswith("status-update")]
    assert not not_ok, [(kind, status, answer) for _, _, kind, _, _, status, answer in not_ok]

    down = [r for r in records if r[3] >= stopped and r[4] <= start_began]
    after = [r for r in records if r[3] >= resumed]
    before = [r for r in records if r[4] <= stop_began]
    assert len(down) >= 40 and len(after) >= 40 and len(before) >= 40

    # Down: the request is the source, each answer reads out the number it carries (the chat
    # carries the call's first number, the assistant-request another); /readyz says 503.
    for client, cycle, kind, _, _, status, answer in down:
        if kind in ("chat", "assistant-request"):
            known, groups = digits_read(kind, answer)
            carried = caller_number(client, cycle) if kind == "chat" else later_number(client)
            assert known in (None, True) and set(groups) == {carried[-2:]}, (kind, answer)
        else:  # nothing could be stored: refused, so Vapi may send it again
            assert status == 503, (kind, answer)
    assert all(status == 503 for status, _ in readyz_down)

    # Every status-update answered 200, before, during or after the outage, was stored.
    acknowledged = {
        f"outage-{client}-{cycle}-{os.getpid()}": caller_number(client, cycle)
        for client, cycle, kind, *_rest, status, _ in records
        if kind == "status-update.in-progress" and status == 200
    }
    assert len(acknowledged) >= 20
    assert {call: stored.get(call) for call in acknowledged} == acknowledged

    # Before and after: each whole call reads out its first number, never the later one.
    cycles = {}
    for client, cycle, kind, *_rest, status, answer in before + after:
        cycles.setdefault((client, cycle), {})[kind] = (status, answer)
    complete = {key: steps for key, steps in cycles.items() if len(steps) == 4}
    assert len(complete) >= 10
    for (client, cycle), steps in complete.items():
        expected = caller_number(client, cycle)[-2:]
        assert steps["status-update.ended"][0] == 200
        for kind in ("chat", "assistant-request"):
            known, groups = digits_read(kind, steps[kind][1])
            assert known in (None, True) and set(groups) == {expected}, (kind, steps[kind][1])

    # Each worker's first request after the quiet restart already reads the stored number.
    assert [digits_read("chat", answer)[1] for _, answer in quiet] == [["00"]] * len(quiet)

    assert "DATABASE_UNAVAILABLE" in output
    assert "REQUEST_FAILED" not in output and "Traceback" not in output
    assert_no_full_number(output, "the server output")

    figures("before the outage", [r[4] - r[3] for r in before])
    figures("during the outage", [r[4] - r[3] for r in down])
    figures("/readyz during the outage", [elapsed for _, elapsed in readyz_down])
    figures("after the database returned", [r[4] - r[3] for r in after])
    print(f"service resumed {resumed - start_began:.2f} s after pg_ctl start began")


def stored_numbers(url):
    """{call id: caller number} of every call the database holds."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT call_id, caller_number FROM calls"))
            return dict(rows.all())
    finally:
        engine.dispose()


def timed_get(server, path):
    started = time.monotonic()
    status = send_get(server, path)
    return status, time.monotonic() - started


def send_get(server, path):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture
def postgresql_app(postgres_admin, secrets):
    """The app on a private schema of the test PostgreSQL (the statement timeout is PG's)."""
    url, drop = postgres_schema_url(postgres_admin)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        init_schema()
    yield app, url
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def test_a_locked_table_cannot_hold_a_caller(postgresql_app, demo_headers, vapi_payload):
    app, url = postgresql_app
    client = app.test_client()
    call_id = f"locked-{os.getpid()}"
    number = caller_number(1, 4)
    path, body = request_for("status-update.in-progress", vapi_payload, call_id, number)
    assert client.post(path, json=body, headers=demo_headers).status_code == 200
    # The chat carries the call's number, as Vapi's do: the request is the source while the
    # table is locked, so the caller hears the same sentence.
    chat_path, chat = request_for("chat", vapi_payload, call_id, number)
    chat["stream"] = False
    ended_path, ended = request_for("status-update.ended", vapi_payload, call_id, None)

    with calls_table_locked(url):
        started = time.monotonic()
        answer = client.post(chat_path, json=chat, headers=demo_headers)
        chat_elapsed = time.monotonic() - started
        started = time.monotonic()
        end = client.post(ended_path, json=ended, headers=demo_headers)
        end_elapsed = time.monotonic() - started

    # Each statement gives up at the statement timeout; a chat turn runs at most a few of them.
    assert chat_elapsed < LOCKED_HANG_SECONDS and end_elapsed < LOCKED_HANG_SECONDS
    assert answer.status_code == 200
    content = answer.get_json()["choices"][0]["message"]["content"]
    assert re.findall(r"\d+", content) == ["14"]
    assert end.status_code == 503 and end.headers["Retry-After"]
    print(f"locked table: chat answered in {chat_elapsed:.2f} s, end in {end_elapsed:.2f} s")

    # Released (and the moment the process takes the table for locked past): a chat carrying
    # another number reads out the one acknowledged first.
    time.sleep(app.config["DATABASE_BUSY_TIMEOUT_MS"] / 1000 + 0.1)
    chat_path, chat = request_for("chat", vapi_payload, call_id, later_number(1))
    chat["stream"] = False
    released = client.post(chat_path, json=chat, headers=demo_headers)
    assert re.findall(r"\d+", released.get_json()["choices"][0]["message"]["content"]) == ["14"]
