"""One call's messages at once on several gunicorn workers: one row, one number, answers agree.

Real gunicorn (4 workers x 2 threads), real HTTP, on a SQLite file and on PostgreSQL. For each of
CALLS call ids, `status-update`, `assistant.started`, `assistant-request` and a chat completion
carry different valid numbers and leave together from a barrier; the database must keep the
first one, and every answer, then and later, must read out that one.
"""

import http.client
import json
import re
import threading

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.leaks import assert_no_full_number, random_id, watch
from tests.paths import ROOT
from tests.schemas import database_at_head
from tests.servers import BUFFERED_WORKER, Gunicorn

pytestmark = pytest.mark.slow  # real gunicorn

CALLS = 30
WORKERS, THREADS = 4, 2
KINDS = ("status-update.in-progress", "assistant.started", "assistant-request", "chat")
LATER_LAST_TWO = "99"


def number_for(call_index, last_two):
    """A valid French mobile number, distinct per call, ending in `last_two`."""
    return f"+33612{call_index:04d}{last_two}"


def competing_numbers(call_index):
    """One number per message kind, told apart by their last two digits (11, 22, 33, 44)."""
    return {kind: number_for(call_index, f"{k + 1}{k + 1}") for k, kind in enumerate(KINDS)}


watch(*(n for i in range(CALLS) for n in competing_numbers(i).values()))
watch(*(number_for(i, LATER_LAST_TWO) for i in range(CALLS)))


def tenants_with_assistant(tmp_path):
    """The shipped demo tenant, with an assistant so assistant-request answers its variables."""
    demo = yaml.safe_load((ROOT / "tenants" / "demo.yaml").read_text(encoding="utf-8"))
    demo["vapi"]["assistant_id"] = "asst-race-0001"
    folder = tmp_path / "tenants"
    folder.mkdir()
    (folder / "demo.yaml").write_text(yaml.safe_dump(demo, allow_unicode=True), encoding="utf-8")
    return folder


def with_call(body, call_id, number):
    """A copy of a Vapi body about `call_id` from `number`."""
    body = json.loads(json.dumps(body))
    holder = body.get("message", body)
    holder["call"]["id"] = call_id
    holder["call"]["customer"] = {"number": number}
    holder["customer"] = {"number": number}
    return body


def request_for(kind, vapi_payload, call_id, number):
    """(path, body) of one message kind for one call."""
    if kind == "chat":
        body = with_call(vapi_payload("chat-completions.request"), call_id, number)
        body["stream"] = True
        return "/api/vapi/demo/chat/completions", body
    return "/api/vapi/demo/webhook", with_call(vapi_payload(kind), call_id, number)


def what_is_read(answer):
    """(caller_last_digits variable or None, two-digit groups the sentence reads out)."""
    if isinstance(answer, dict):
        values = answer.get("assistantOverrides", {}).get("variableValues", {})
        return values.get("caller_last_digits"), re.findall(
            r"\b\d\d\b", values.get("contact_prompt", "")
        )
    return None, re.findall(r"\b\d\d\b", answer)


def decode(response_body, content_type):
    """JSON answers as objects, server-sent events as the sentence they stream."""
    text_body = response_body.decode("utf-8")
    if content_type.startswith("text/event-stream"):
        events = [line[6:] for line in text_body.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]", text_body
        chunks = [json.loads(event) for event in events[:-1]]
        return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    return json.loads(text_body)


def send(server, path, body, headers):
    """POST one body on a fresh connection: (status, decoded answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        connection.request("POST", path, json.dumps(body), {**headers, "Connection": "close"})
        response = connection.getresponse()
        return response.status, decode(response.read(), response.getheader("Content-Type", ""))
    finally:
        connection.close()


def race(server, requests_, headers):
    """Send every (path, body) at the same instant, one thread and connection each."""
    barrier = threading.Barrier(len(requests_))
    results = [None] * len(requests_)

    def fire(index, path, body):
        payload = json.dumps(body).encode()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        try:
            connection.connect()  # connected before the barrier: only the request is left to go
            barrier.wait(timeout=20)
            connection.request("POST", path, payload, {**headers, "Connection": "close"})
            response = connection.getresponse()
            results[index] = (
                response.status,
                decode(response.read(), response.getheader("Content-Type", "")),
            )
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            results[index] = ("exception", repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=fire, args=(i, path, body))
        for i, (path, body) in enumerate(requests_)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def stored_calls(database_url):
    """{call_id: (rows, caller_number, caller_msg_type)} for the demo tenant."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT call_id, COUNT(*), MIN(caller_number), MIN(caller_msg_type)"
                    " FROM calls WHERE tenant_id = 'demo' GROUP BY call_id"
                )
            ).all()
    finally:
        engine.dispose()
    return {call_id: (count, number, msg_type) for call_id, count, number, msg_type in rows}


def test_simultaneous_messages_keep_the_first_number(
    database_url, secrets, demo_headers, vapi_payload, tmp_path
):
    env = {
        "DATABASE_URL": database_url,
        "TENANTS_DIR": str(tenants_with_assistant(tmp_path)),
        "LOG_LEVEL": "INFO",
        **secrets,
    }
    database_at_head(env["DATABASE_URL"])
    call_ids = [f"{random_id('race')}-{i}" for i in range(CALLS)]
    answers = {}
    # make run's worker class; one shared listening socket, so the 4 workers share each race.
    serving = ["--worker-class", BUFFERED_WORKER]
    with Gunicorn(
        "wsgi:app", env=env, workers=WORKERS, threads=THREADS, extra_args=serving
    ) as server:
        for index, call_id in enumerate(call_ids):
            numbers = competing_numbers(index)
            batch = [request_for(kind, vapi_payload, call_id, numbers[kind]) for kind in KINDS]
            answers[call_id] = race(server, batch, demo_headers)
        stored = stored_calls(database_url)
        later = {}
        for index, call_id in enumerate(call_ids):
            late_number = number_for(index, LATER_LAST_TWO)
            later[call_id] = [
                send(server, *request_for(kind, vapi_payload, call_id, late_number), demo_headers)
                for kind in ("chat", "assistant-request")
            ]
        output = server.output()

    failures = []
    for index, call_id in enumerate(call_ids):
        numbers = competing_numbers(index)
        rows, number, _ = stored.get(call_id, (0, None, None))
        if rows != 1 or number not in numbers.values():
            failures.append((call_id, "stored", rows, number and number[-2:]))
            continue
        last_two = number[-2:]
        statuses = [status for status, _ in answers[call_id] + later[call_id]]
        if any(status != 200 for status in statuses):
            failures.append((call_id, "status", statuses, answers[call_id]))
        for kind, (status, answer) in zip(
            KINDS + ("chat", "assistant-request"), answers[call_id] + later[call_id], strict=True
        ):
            if status != 200 or kind not in ("chat", "assistant-request"):
                continue
            variable, pairs = what_is_read(answer)
            if pairs != [last_two] or variable != (last_two if kind != "chat" else None):
                failures.append((call_id, kind, "read", variable, pairs, "stored", last_two))
    assert not failures, failures[:5]

    persisted = [json.loads(line) for line in output.splitlines() if "CALLER_ID_PERSISTED" in line]
    # One winner per call, and the row holds the winner's number.
    assert sorted(p["call_id"] for p in persisted) == sorted(call_ids)
    assert {p["call_id"]: p["msg_type"] for p in persisted} == {
        call_id: stored[call_id][2] for call_id in call_ids
    }
    assert "REQUEST_FAILED" not in output
    assert "DATABASE_UNAVAILABLE" not in output
    assert "database is locked" not in output
    assert "IntegrityError" not in output and "UniqueViolation" not in output
    assert "Traceback" not in output
    assert_no_full_number(output, "the server output")
