"""PostgreSQL frozen, then down, or a SQLite write lock held, in the middle of whole calls on real
gunicorn: every answer within a second, callers hear what they would have heard, and nothing
acknowledged is lost.

The app reaches the test PostgreSQL (a schema of its own) through tests/outage.py's FaultProxy;
on SQLite, another connection holds the file's write lock (tests/outage.py).
The same calls are played twice on the same server, with other call ids: once without a fault
(the reference), once while the proxy freezes (nothing forwarded, connections held), cuts every
open connection mid-query, then refuses connections (the server down), and comes back. Each call
is what Vapi sends: assistant-request, status-update, the contact step over the Custom LLM
endpoint or the `contact_step` tool (the body carries the conversation; tool calls carry the
earlier ones in `artifact`), status-update ended, end-of-call report. A message refused (503) is
sent again later, as Vapi does with a server backoff plan: for the report, once the database is
back.

By default the freeze and the outage last FAULT_SECONDS (3 s) over CALLS calls (90), so the
suite stays fast: the behaviour at stake (cut waits, answers from the request, refused
messages) begins within the first second of a fault and does not change as it lasts. With
FAULTS_FULL=1 in the environment they last 10 s over 500 calls, the issue's figures (printed
with `-s`).
"""

import os
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_URL, postgres_schema_url
from tests.fault_calls import SPOKEN_E164, WEBHOOK, Call, Client
from tests.leaks import assert_no_full_number
from tests.outage import FaultProxy, sqlite_write_locked
from tests.schemas import database_at_head
from tests.servers import Gunicorn
from tests.test_races import tenants_with_assistant

pytestmark = pytest.mark.slow  # real gunicorn

FULL = os.environ.get("FAULTS_FULL") == "1"
CALLS = 500 if FULL else 90
FAULT_SECONDS = 10.0 if FULL else 3.0
# The deadline for every answer. The database's share is DATABASE_REQUEST_BUDGET_MS
# (600 ms); the rest is room for a loaded 2-core machine.
ANSWER_WITHIN_S = 1.0
# Between two messages of a client: the faulty run spans the faults, as calls paced by speech do.
PACE_S = 0.04 if FULL else 0.06
REPORT_RETRIES = 20  # a report refused while the database is away, sent again after it


def heard(records):
    """{(call index, label): what the caller hears} for chat turns and assistant-requests."""
    out = {}
    for index, label, _, _, status, answer in records:
        if label.startswith("chat"):
            out[index, label] = (status, answer)
        elif label == "assistant-request":
            values = answer.get("assistantOverrides", {}).get("variableValues", {})
            out[index, label] = (
                status,
                values.get("contact_prompt"),
                values.get("caller_last_digits"),
            )
    return out


def stored_calls(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT call_id, caller_number, contact_number, state FROM calls")
            )
            return {row[0]: row[1:] for row in rows}
    finally:
        engine.dispose()


def figures(label, elapsed):
    if elapsed:
        ms = sorted(1000 * e for e in elapsed)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        median, top = ms[len(ms) // 2], ms[-1]
        print(f"{label}: {len(ms)} answers, median {median:.1f}, p99 {p99:.1f}, max {top:.1f} ms")


def test_postgresql_freeze_and_outage_mid_calls(
    postgres_admin, secrets, demo_headers, vapi_payload, tmp_path
):
    url, drop = postgres_schema_url(postgres_admin)
    try:
        with FaultProxy.before(POSTGRES_URL) as proxy:
            env = {"DATABASE_URL": proxy.url_for(url), **secrets}
            database_at_head(url)
            steps = [
                # The queries held by the freeze are cut mid-way as it ends.
                ("frozen", proxy.freeze, lambda: (proxy.cut(), proxy.restore())),
                ("down", proxy.refuse, proxy.restore),
            ]
            run = play_through_faults(env, tmp_path, demo_headers, vapi_payload, steps)
        run.check(stored_calls(url))
    finally:
        drop()


def test_sqlite_write_lock_held_mid_calls(secrets, demo_headers, vapi_payload, tmp_path):
    path = tmp_path / "calls.db"
    env = {"DATABASE_URL": f"sqlite:///{path}", **secrets}
    database_at_head(env["DATABASE_URL"])
    lock = []
    steps = [
        (
            "locked",
            lambda: lock.append(enter(sqlite_write_locked(path))),
            lambda: lock.pop().__exit__(None, None, None),
        )
    ]
    run = play_through_faults(env, tmp_path, demo_headers, vapi_payload, steps)
    run.check(stored_calls(env["DATABASE_URL"]))


def enter(context_manager):
    context_manager.__enter__()
    return context_manager


class FaultRun:
    """What a fault-free run and a faulty run of the same calls answered, and what was stored."""

    def __init__(self, clean, faulty, faulty_calls, refused, phases, output):
        self.clean, self.faulty, self.faulty_calls = clean, faulty, faulty_calls
        self.refused, self.phases, self.output = refused, phases, output

    def check(self, stored):
        records = self.faulty.records
        late = [(r[1], r[4], round(r[3], 3)) for r in records if r[3] >= ANSWER_WITHIN_S]
        assert not late, late[:10]
        assert all(r[4] in (200, 503) for r in records), {r[4] for r in records}
        for label in ("assistant-request", "chat", "tool"):
            assert all(r[4] == 200 for r in records if r[1].startswith(label)), label

        # Custom LLM and assistant-request: the caller hears what the fault-free run heard.
        expected, got = heard(self.clean.records), heard(records)
        assert got.keys() == expected.keys()
        differ = [(key, expected[key], got[key]) for key in expected if expected[key] != got[key]]
        assert not differ, differ[:5]

        # Every 200 is in the database afterwards; every confirmed contact too.
        for index, call in enumerate(self.faulty_calls):
            acknowledged = [r for r in records if r[0] == index and r[4] == 200]
            if acknowledged:
                assert stored.get(call.call_id, (None,))[0] == call.number, (index, call.kind)
            contact = SPOKEN_E164 if call.kind == "llm-spoken" else call.number
            assert stored[call.call_id][1:] == (contact, "CONTACT_CONFIRMED"), (index, call.kind)
        refused_during = [r for r in records if r[4] == 503]
        assert all(self.phases.get(name) for name in self.phases), self.phases
        assert refused_during, "no message met the fault"

        assert "Traceback" not in self.output and "REQUEST_FAILED" not in self.output
        assert_no_full_number(self.output, "the server output")
        for name, (start, end) in self.phases.items():
            figures(name, [r[3] for r in records if start <= r[2] <= end])
        figures("whole run", [r[3] for r in records])
        print(f"503 answers: {len(refused_during)}; reports sent again: {len(self.refused)}")


def play_through_faults(env, tmp_path, headers, vapi_payload, steps):
    """The calls played without a fault, then again through `steps`, on one real gunicorn."""
    env = {**env, "TENANTS_DIR": str(tenants_with_assistant(tmp_path))}
    with Gunicorn("wsgi:app", env=env, workers=2, threads=2) as server:
        clean = Client(server, headers)
        assert not clean.play_all([Call(vapi_payload, "clean", i) for i in range(CALLS)]), (
            "a report refused without any fault"
        )
        faulty = Client(server, headers)
        faulty_calls = [Call(vapi_payload, "fault", i) for i in range(CALLS)]
        plan = FaultPlan(steps)
        refused = faulty.play_all(faulty_calls, plan.on_progress, PACE_S)
        plan.finish()
        assert set(plan.phases) == {name for name, _, _ in steps}, plan.phases
        # Vapi sends a refused report again (server backoff plan): the database is back.
        for index, call in refused.items():
            send = faulty.sender(index)
            for _ in range(REPORT_RETRIES):
                if send("report-again", WEBHOOK, call.report_body())[0] == 200:
                    break
                time.sleep(0.2)
        output = server.output()
    return FaultRun(clean, faulty, faulty_calls, refused, plan.phases, output)


class FaultPlan:
    """Once a quarter of the calls are played, each step's fault for FAULT_SECONDS, 1 s apart."""

    def __init__(self, steps):
        self.steps, self.phases = steps, {}
        self.begin = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def on_progress(self, started_calls):
        if started_calls >= CALLS // 4:
            self.begin.set()

    def run(self):
        if not self.begin.wait(timeout=300):
            return
        for name, start, stop in self.steps:
            began = time.monotonic()
            start()
            time.sleep(FAULT_SECONDS)
            stop()
            self.phases[name] = (began, time.monotonic())
            time.sleep(1.0)

    def finish(self):
        self.begin.set()
        self.thread.join(timeout=len(self.steps) * (FAULT_SECONDS + 1) + 10)
