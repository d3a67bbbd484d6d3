"""The hostile corpus on real gunicorn, served as `make run` serves it: 0 answers 5xx, 0 full
numbers in any answer or log line, no worker lost.

Bounded (about 700 requests per database, on loopback): bodies that are not JSON objects, tool
call arguments nested 5,000 to 200,000 levels deep (as an object and as a JSON string),
Vapi's real bodies with fields replaced by hostile values (numbers in ids and types, deep
nesting, huge strings, NUL, wrong types; a fixed seed), lying Content-Lengths, malformed
request lines and headers quoting a number, and hostile secrets. The in-process property
tests (tests/test_hostile_input.py) run far more bodies; this proves the server around them.
"""

import copy
import json
import random
import socket

import pytest
import requests

from tests.leaks import full_numbers_in, watch
from tests.schemas import database_at_head
from tests.servers import SERVE_AS_MAKE_RUN, Gunicorn
from tests.test_hostile_input import FIXTURES, NOT_JSON, _paths, _set

SEED, MUTATED = 2026, 400
NUMBER = "+33698761277"
watch(NUMBER)
URLS = ["/api/vapi/demo/webhook", "/api/vapi/webhook", "/api/vapi/demo/chat/completions"]


def nested(depth, kind):
    return "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth


HOSTILE_VALUES = [
    NUMBER,
    "0698761277",
    "call-0698761277",
    "06 98 76 12 77",
    "tc-+33698761277",
    "x33698761277y",
    "\u0000",
    "\ud800",
    "é" * 10_000,
    "x" * 300_000,
    10**30,
    -1,
    1.5,
    None,
    True,
    [],
    {},
    json.loads(nested(100, "array")),
    nested(20_000, "array"),
]


def deep_arguments():
    """tool-calls bodies whose arguments nest deeply, as a JSON string and as raw JSON."""
    bodies = []
    for depth in (5_000, 20_000, 200_000):
        for kind in ("array", "object"):
            body = copy.deepcopy(FIXTURES["tool-calls.string-arguments"])
            for tool_call in body["message"]["toolCallList"]:
                tool_call["function"]["arguments"] = nested(depth, kind)
            bodies.append(json.dumps(body).encode())
            raw = json.dumps(body).replace(json.dumps(nested(depth, kind)), nested(depth, kind))
            bodies.append(raw.encode())
    return bodies


def mutated_bodies(count):
    """Vapi's real bodies with one to three fields replaced by hostile values (seeded)."""
    pick = random.Random(SEED)
    names = sorted(FIXTURES)
    bodies = []
    for _ in range(count):
        body = copy.deepcopy(FIXTURES[pick.choice(names)])
        for _ in range(pick.randint(1, 3)):
            paths = list(_paths(body))
            if paths:
                _set(body, pick.choice(paths), copy.deepcopy(pick.choice(HOSTILE_VALUES)))
        bodies.append(json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass"))
    return bodies


RAW_REQUESTS = [
    b"GET /api/vapi/0698761277/webhook HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a 06 98 76 12 77 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"0698761277 / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/0698761277\r\nHost: x\r\n\r\n",
    b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: x\r\nX-Caller 0698761277\r\n\r\n",
    b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 0698761277\r\n\r\n",
    b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{",
    b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n{}",
    b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Length: 3\r\n\r\n0\r\n\r\n",
    b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST /api/vapi/demo/webhook HTTP/1.1\nHost: x\n\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    b"GET /" + b"0698761277" * 1000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET /healthz HTTP/1.0\r\n\r\n",
]


def framing_broken_after_authentication(secret):
    """Requests that pass authentication, so their body is read, with broken chunked framing."""
    body = json.dumps(FIXTURES["status-update.in-progress"]).encode()
    head = b"Host: x\r\nX-Vapi-Secret: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % secret.encode()
    framings = (
        b"zz\r\n%s\r\n0\r\n\r\n" % body,  # a chunk size that is no number
        b"%x\r\n%sXX0\r\n\r\n" % (len(body), body),  # a chunk without its CRLF
        b"0x%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),  # a size written with 0x
    )
    return [
        b"POST %s HTTP/1.1\r\n%s%s" % (path.encode(), head, framing)
        for path in ("/api/vapi/demo/webhook", "/api/vapi/demo/chat/completions")
        for framing in framings
    ]


def raw_exchange(port, request):
    """Send raw bytes, close our side, read the whole answer: (status or None, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    fields = head.split(b" ", 2)
    return (int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None), body


@pytest.mark.slow
def test_the_hostile_corpus_gets_no_5xx_and_leaks_no_number(database_url, secrets):
    env = {**secrets, "DATABASE_URL": database_url}
    database_at_head(env["DATABASE_URL"])
    secret = secrets["VAPI_SECRET_DEMO"]
    bodies = [*NOT_JSON.values(), *deep_arguments(), *mutated_bodies(MUTATED)]
    answers, statuses = [], []
    with Gunicorn(
        "wsgi:app", env=env, workers=2, threads=2, extra_args=SERVE_AS_MAKE_RUN
    ) as server:
        booted = server.output().count("Booting worker")
        with requests.Session() as http:
            for index, body in enumerate(bodies):
                url = server.url + URLS[index % len(URLS)]
                answer = http.post(
                    url,
                    data=body,
                    headers={"X-Vapi-Secret": secret, "Content-Type": "application/json"},
                    timeout=10,
                )
                statuses.append((answer.status_code, index))
                answers.append(answer.text)
                if answer.status_code >= 400:
                    assert answer.json()["error"], (index, answer.text[:200])
            for secret_tried in ("é" * 8, NUMBER, "x" * 10_000, secret[:-1], secret + "é", ""):
                answer = http.post(
                    server.url + URLS[0],
                    data=json.dumps(FIXTURES["status-update.in-progress"]),
                    headers={"X-Vapi-Secret": secret_tried.encode("utf-8").decode("latin-1")},
                    timeout=10,
                )
                statuses.append((answer.status_code, secret_tried[:10]))
                answers.append(answer.text)
                # 431: a header field past gunicorn's 8,190 bytes.
                assert answer.status_code in (401, 431)
        for request in RAW_REQUESTS:
            status, body = raw_exchange(server.port, request)
            statuses.append((status, request[:40]))
            answers.append(body.decode("utf-8", "replace"))
            if status is not None and status >= 400:
                assert json.loads(body)["error"], request[:60]
        for request in framing_broken_after_authentication(secret):
            status, body = raw_exchange(server.port, request)
            statuses.append((status, request[-40:]))
            answers.append(body.decode("utf-8", "replace"))
            assert status == 400 and json.loads(body)["error"], (status, body[:200])
        output = server.output()
    failed = [(status, what) for status, what in statuses if status is not None and status >= 500]
    assert not failed, failed[:5]
    assert sum(status == 200 for status, _ in statuses) > 50  # many bodies went all the way
    leaks = [leak for text in answers for leak in full_numbers_in(text)]
    assert not leaks, leaks[:5]
    assert not full_numbers_in(output)
    assert output.count("Booting worker") == booted  # no worker died
    for sign in ("Traceback", "REQUEST_FAILED", "WORKER TIMEOUT"):
        assert sign not in output
