"""A PostgreSQL table another session locks (a migration altering it, a transaction left open):
answers within a second, nothing acknowledged that was not stored, the caller hears what they
would have heard, and a queue of requests does not form behind the lock.

A statement waits DATABASE_BUSY_TIMEOUT_MS for a lock held elsewhere (PostgreSQL's lock_timeout);
once one waited that long, the process's statements to the database fail at once for as long
again (backend/store/deadline.py). Before, each waited the whole statement timeout (500 ms): four
threads served eight requests a second, and answers queued for two seconds and more.
"""

import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import create_engine, text

from backend.store.connections import BUSY_TIMEOUT_MS
from tests.conftest import postgres_schema_url
from tests.contact_play import LlmCall, stored_call
from tests.leaks import random_id
from tests.outage import call_row_held, calls_table_locked
from tests.schemas import database_at_head
from tests.servers import SERVE_AS_MAKE_RUN, Gunicorn
from tests.test_races import request_for

ANSWER_WITHIN_S = 1.0  # the deadline
OPENING = "J'ai un numéro qui se termine par 14. C'est bien le vôtre ? Dites oui ou non."
NOTED = "Parfait, c'est noté."


def timed(post, *args, **kwargs):
    started = time.monotonic()
    response = post(*args, **kwargs)
    return response, time.monotonic() - started


@pytest.mark.product_deadlines
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_held_table_lock_fails_later_statements_at_once(
    app, database_url, demo_headers, vapi_payload
):
    client = app.test_client()
    call = LlmCall(client, demo_headers, vapi_payload("chat-completions.request"), random_id("pl"))
    assert call.start() == OPENING  # stored: the call's row and opening
    number = vapi_payload("chat-completions.request")["call"]["customer"]["number"]
    path, first = request_for("status-update.in-progress", vapi_payload, random_id("pl"), number)
    _, second = request_for("status-update.in-progress", vapi_payload, random_id("pl"), number)

    with calls_table_locked(database_url):
        waited, waited_s = timed(client.post, path, json=first, headers=demo_headers)
        at_once, at_once_s = timed(client.post, path, json=second, headers=demo_headers)
        started = time.monotonic()
        confirmed = call.say("oui")  # the planned answer, from the request
        turn_s = time.monotonic() - started

    lock_wait_s = BUSY_TIMEOUT_MS / 1000
    assert lock_wait_s <= waited_s < ANSWER_WITHIN_S, waited_s
    # The lock found held: the next statements do not queue behind it.
    assert at_once_s < lock_wait_s / 2 and turn_s < lock_wait_s / 2, (at_once_s, turn_s)
    for refused in (waited, at_once):
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert refused.get_json() == {"error": "database unavailable"}
    assert confirmed == NOTED
    # For as long as the lock wait, not longer: then the same messages are stored.
    time.sleep(lock_wait_s + 0.1)
    assert client.post(path, json=first, headers=demo_headers).status_code == 200
    assert call.resend() == NOTED
    assert stored_call(app, "demo", call.body["call"]["id"]).state == "CONTACT_CONFIRMED"


@pytest.mark.product_deadlines
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_row_held_elsewhere_fails_its_own_statement_alone(
    app, database_url, demo_headers, vapi_payload
):
    """A transaction left open on one call's row (an operator's session, an erasure) holds that
    call's writes, not the other calls'."""
    client = app.test_client()
    call = LlmCall(client, demo_headers, vapi_payload("chat-completions.request"), random_id("rw"))
    assert call.start() == OPENING
    number = vapi_payload("chat-completions.request")["call"]["customer"]["number"]
    path, other = request_for("status-update.in-progress", vapi_payload, random_id("rw"), number)

    with call_row_held(database_url, call.body["call"]["id"]):
        started = time.monotonic()
        confirmed = call.say("oui")  # its write waits for the row: answered from the request
        turn_s = time.monotonic() - started
        answer, other_s = timed(client.post, path, json=other, headers=demo_headers)

    lock_wait_s = BUSY_TIMEOUT_MS / 1000
    assert confirmed == NOTED and lock_wait_s <= turn_s < ANSWER_WITHIN_S, turn_s
    assert answer.status_code == 200 and other_s < lock_wait_s, other_s


@pytest.mark.product_deadlines
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_writes_queued_behind_a_held_row_hold_no_other_call(
    app, database_url, demo_headers, vapi_payload
):
    """Three messages ending one call whose row is held elsewhere: the second and third wait
    behind the first, and the server names no row for them. Still no other call waits."""
    client = app.test_client()
    number = vapi_payload("chat-completions.request")["call"]["customer"]["number"]
    held_call = random_id("rq")
    path, started = request_for("status-update.in-progress", vapi_payload, held_call, number)
    assert client.post(path, json=started, headers=demo_headers).status_code == 200
    _, ended = request_for("status-update.ended", vapi_payload, held_call, None)
    _, other = request_for("status-update.in-progress", vapi_payload, random_id("rq"), number)

    with call_row_held(database_url, held_call):
        answers = []

        def end_the_call():
            answers.append(app.test_client().post(path, json=ended, headers=demo_headers))

        enders = [threading.Thread(target=end_the_call) for _ in range(3)]
        for ender in enders:
            ender.start()
            time.sleep(0.05)  # each queued behind the one before
        for ender in enders:
            ender.join(timeout=10)
        answer, other_s = timed(client.post, path, json=other, headers=demo_headers)

    assert [a.status_code for a in answers] == [503, 503, 503]
    assert answer.status_code == 200, answer.get_json()
    assert other_s < BUSY_TIMEOUT_MS / 1000, other_s


CLIENTS = 8  # more than the server's 4 threads (2 workers x 2): requests queue in the workers
LOCK_SECONDS = 3.0
REQUESTS_PER_CLIENT = 60  # a bound; the clients stop when the lock is released


@pytest.mark.slow  # real gunicorn, as `make run` serves
def test_requests_do_not_queue_behind_a_held_lock_on_real_gunicorn(
    postgres_admin, secrets, demo_headers, vapi_payload
):
    url, drop = postgres_schema_url(postgres_admin)
    try:
        database_at_head(url)
        env = {"DATABASE_URL": url, **secrets}
        with Gunicorn(
            "wsgi:app", env=env, workers=2, threads=2, extra_args=SERVE_AS_MAKE_RUN
        ) as server:
            answers, acknowledged = play_while_locked(server.url, url, demo_headers, vapi_payload)
            output = server.output()
        late = [(kind, status, round(s, 3)) for kind, status, s in answers if s >= ANSWER_WITHIN_S]
        assert not late, (len(late), late[:10])
        statuses = Counter((kind, status) for kind, status, _ in answers)
        assert set(statuses) <= {("status", 200), ("status", 503), ("chat", 200)}, statuses
        assert statuses["status", 503], "no request met the lock"
        assert stored_numbers(url) >= acknowledged  # every 200 is stored
        assert "Traceback" not in output and "REQUEST_FAILED" not in output
    finally:
        drop()


def play_while_locked(base, database_url, headers, vapi_payload):
    """CLIENTS threads send status-updates and chat turns, unpaced, while the lock is held:
    [(kind, status, seconds)] and the {(call id, number)} acknowledged 200."""
    answers, acknowledged, lock = [], set(), threading.Lock()
    with calls_table_locked(database_url):
        until = time.monotonic() + LOCK_SECONDS

        def client(index):
            session = requests.Session()
            for n in range(REQUESTS_PER_CLIENT):
                if time.monotonic() >= until:
                    return
                kind = "status" if (index + n) % 2 else "chat"
                call_id, number = random_id("pl"), f"+336123400{index:02d}"
                path, body = request_for(
                    "status-update.in-progress" if kind == "status" else "chat",
                    vapi_payload,
                    call_id,
                    number,
                )
                response, seconds = timed(
                    session.post, base + path, json=body, headers=headers, timeout=10
                )
                with lock:
                    answers.append((kind, response.status_code, seconds))
                    if kind == "status" and response.status_code == 200:
                        acknowledged.add((call_id, number))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    return answers, acknowledged


def stored_numbers(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT call_id, caller_number FROM calls"))
            return {tuple(row) for row in rows}
    finally:
        engine.dispose()
