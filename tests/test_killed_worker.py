"""A worker killed mid-burst loses nothing it acknowledged: a 200 means stored.

Real gunicorn served as `make run` serves it, on a SQLite file and on PostgreSQL. Eight
keep-alive connections send status-updates, each for a call of its own with its own caller;
once a third of the burst is acknowledged, one worker gets SIGKILL (no chance to flush
anything), the burst goes on (the master starts another worker), and afterwards the
database must hold the number of every call answered 200. Requests cut by the kill are not
acknowledged and may be missing.
"""

import http.client
import json
import os
import signal
import threading

import pytest
from sqlalchemy import create_engine, text

from tests.leaks import random_id, watch
from tests.schemas import database_at_head
from tests.servers import SERVE_AS_MAKE_RUN, Gunicorn, workers_of

CONNECTIONS = 8
BURST = 480  # status-updates in all
KILL_AFTER = BURST // 3  # acknowledged ones


def caller(index):
    return f"+33646{index:06d}"


watch(*(caller(i) for i in range(BURST)))


def status_update(call_id, number):
    return json.dumps(
        {
            "message": {
                "type": "status-update",
                "status": "in-progress",
                "call": {"id": call_id, "customer": {"number": number}},
            }
        }
    )


@pytest.mark.slow
def test_a_worker_killed_mid_burst_loses_no_acknowledged_capture(database_url, secrets):
    env = {**secrets, "DATABASE_URL": database_url}
    database_at_head(env["DATABASE_URL"])
    headers = {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"], "Content-Type": "application/json"}
    acknowledged, refused, cut = {}, [], []
    lock = threading.Lock()
    queue = iter(range(BURST))
    killed = threading.Event()

    def connection_loop(port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                break
            call_id, number = random_id("kill"), caller(index)
            try:
                connection.request(
                    "POST", "/api/vapi/demo/webhook", status_update(call_id, number), headers
                )
                answer = connection.getresponse()
                answer.read()
            except (OSError, http.client.HTTPException):
                connection.close()  # cut by the kill: not acknowledged; reconnect
                cut.append(call_id)
                continue
            with lock:
                if answer.status == 200:
                    acknowledged[call_id] = number
                    if len(acknowledged) == KILL_AFTER:
                        killed.set()
                else:
                    refused.append(answer.status)
        connection.close()

    with Gunicorn(
        "wsgi:app", env=env, workers=2, threads=2, extra_args=SERVE_AS_MAKE_RUN
    ) as server:
        victims = workers_of(server.process.pid)
        assert len(victims) == 2
        threads = [
            threading.Thread(target=connection_loop, args=(server.port,))
            for _ in range(CONNECTIONS)
        ]
        for thread in threads:
            thread.start()
        assert killed.wait(timeout=60)
        os.kill(victims[0], signal.SIGKILL)
        with lock:
            acknowledged_before_kill = len(acknowledged)
        for thread in threads:
            thread.join(timeout=120)
        assert victims[0] not in workers_of(server.process.pid)

    assert not refused, refused[:5]
    assert len(acknowledged) > acknowledged_before_kill  # the burst went on after the kill
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT call_id, caller_number FROM calls")).all()
    finally:
        engine.dispose()
    stored = dict(rows)
    lost = [call_id for call_id, number in acknowledged.items() if stored.get(call_id) != number]
    print(
        f"\n{len(acknowledged)} acknowledged ({acknowledged_before_kill} before the kill), "
        f"{len(cut)} cut by it, {len(lost)} acknowledged and not stored"
    )
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged captures lost"
