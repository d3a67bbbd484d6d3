"""A caller ID acknowledged with a 200 is used by the call's next request, on any worker.

Real gunicorn served as `make run` serves it (its buffering gthread worker, several processes
with a listening socket each, two threads), on a SQLite file and on PostgreSQL. For each call,
a `status-update` carrying the caller number is answered 200 on one keep-alive connection; at
once, on another, comes a request that does not carry the number: a chat completion (as with
`metadataSendMode: off`) or a `tool-calls` message (which never does). Its sentence must read
out the acknowledged number.
"""

import http.client
import json
import re

import pytest

from tests.leaks import random_id, watch
from tests.schemas import database_at_head
from tests.servers import SERVE_AS_MAKE_RUN, Gunicorn

TRIALS = 200  # per database: half chat completions, half tool calls
CONNECTIONS = 8  # keep-alive connections, spread by the kernel over the worker processes


def caller(index):
    """A distinct valid French mobile number per trial; its last two digits vary."""
    return f"+33645{index:06d}"


watch(*(caller(i) for i in range(TRIALS)))


def status_update(call_id, number):
    return {
        "message": {
            "type": "status-update",
            "status": "in-progress",
            "call": {"id": call_id, "type": "inboundPhoneCall", "customer": {"number": number}},
        }
    }


def chat_without_number(call_id):
    return {
        "model": "backend",
        "stream": True,
        "call": {"id": call_id},
        "messages": [{"role": "user", "content": "Je voudrais être rappelé."}],
    }


def tool_call_without_number(call_id):
    return {
        "message": {
            "type": "tool-calls",
            "call": {"id": call_id, "type": "inboundPhoneCall"},
            "toolCallList": [
                {
                    "id": f"tc-{call_id}",
                    "type": "function",
                    "function": {"name": "contact_step", "arguments": {"utterance": ""}},
                }
            ],
        }
    }


def sentence_of(response):
    """The sentence an answer makes the agent say (a streamed chat or a tool result)."""
    text = response.read().decode("utf-8")
    if response.getheader("Content-Type", "").startswith("text/event-stream"):
        events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
        chunks = [json.loads(event) for event in events if event != "[DONE]"]
        return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    [result] = json.loads(text)["results"]
    return result["message"]["content"]


def post(connection, path, body, headers):
    connection.request(
        "POST", path, json.dumps(body), {**headers, "Content-Type": "application/json"}
    )
    response = connection.getresponse()
    return response.status, response


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_next_request_reads_the_acknowledged_number(
    kind, request, tmp_path, secrets, demo_headers
):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'calls.db'}"
    else:
        from tests.conftest import postgres_schema_url

        url, drop = postgres_schema_url(request.getfixturevalue("postgres_admin"))
        request.addfinalizer(drop)
    env = {**secrets, "DATABASE_URL": url}
    database_at_head(env["DATABASE_URL"])
    with Gunicorn(
        "wsgi:app", env=env, workers=2, threads=2, extra_args=SERVE_AS_MAKE_RUN
    ) as server:
        connections = [
            http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            for _ in range(CONNECTIONS)
        ]
        missed = []
        try:
            for trial in range(TRIALS):
                call_id, number = random_id("ack"), caller(trial)
                first = connections[trial % CONNECTIONS]
                # Another connection each time, at every distance from the first (1 to 7).
                offset = 1 + (trial // CONNECTIONS) % (CONNECTIONS - 1)
                then = connections[(trial + offset) % CONNECTIONS]
                path = "/api/vapi/demo/webhook"
                status, response = post(first, path, status_update(call_id, number), demo_headers)
                assert (status, json.loads(response.read())) == (200, {})
                if trial % 2:
                    chat = chat_without_number(call_id)
                    status, response = post(
                        then, "/api/vapi/demo/chat/completions", chat, demo_headers
                    )
                else:
                    status, response = post(
                        then, path, tool_call_without_number(call_id), demo_headers
                    )
                assert status == 200
                sentence = sentence_of(response)
                if re.findall(r"\b\d\d\b", sentence) != [number[-2:]]:
                    missed.append((trial, sentence))
        finally:
            for connection in connections:
                connection.close()
    assert not missed, (
        f"{len(missed)} of {TRIALS} did not read the acknowledged number: {missed[:3]}"
    )
