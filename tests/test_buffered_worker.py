"""The buffering worker: where a request ends (framing), and what it answers on a real socket."""

import json
import socket
import time

import pytest

from backend.serving.framing import NEED_HEAD, request_framing
from tests.schemas import database_at_head
from tests.servers import SERVE_AS_MAKE_RUN, Gunicorn

HEAD = b"POST /x HTTP/1.1\r\nHost: a\r\n"


CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    ("request_", "more", "complete"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\n", b"", False),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"", True),
        (HEAD + b"Content-Length: 4\r\n\r\nabc", b"", False),
        (HEAD + b"content-length: 4\r\n\r\nabcd", b"", True),
        (HEAD + b"Content-Length: 4\r\n\r\nabcd", b"GET / HTTP/1.1\r\n", True),  # pipelined
        (CHUNKED + b"3\r\nabc\r\n", b"", False),
        (CHUNKED + b"3\r\nabc\r\n0\r\n\r\n", b"GET", True),
        (CHUNKED + b"3;x=y\r\nabc\r\n0\r\nA: b\r\n\r\n", b"", True),
        (CHUNKED + b"3\r\nabc\r\n0\r\nA: b\r\n", b"", False),
    ],
)
def test_a_request_ends_where_its_framing_says(request_, more, complete):
    framing = request_framing(bytearray(request_ + more), max_body=100)
    head_end = request_.find(b"\r\n\r\n") + 4 if b"\r\n\r\n" in request_ else None
    expected_end = len(request_) if complete else None
    assert (framing.head_end, framing.end, framing.hand_over) == (head_end, expected_end, False)


@pytest.mark.parametrize(
    "rest",
    [
        b"Content-Length: 4\r\nContent-Length: 5\r\n\r\n",
        b"Content-Length: -4\r\n\r\n",
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"Transfer-Encoding: gzip, chunked\r\n\r\n",
        b"Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n",
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
        b"Content-Length: 101\r\n\r\n",  # over the limit: refused from the head (413)
    ],
)
def test_what_it_cannot_frame_is_handed_over_from_the_head(rest):
    data = HEAD + rest
    framing = request_framing(bytearray(data), max_body=100)
    head_end = data.index(b"\r\n\r\n") + 4
    assert (framing.hand_over, framing.head_end, framing.end) == (True, head_end, head_end)


def test_a_head_of_bare_lf_lines_is_handed_over_at_its_end():
    data = b"POST /x HTTP/1.1\nHost: a\nContent-Length: 2\n\n{}"
    framing = request_framing(bytearray(data), max_body=100)
    head_end = data.index(b"\n\n") + 2
    assert (framing.hand_over, framing.head_end, framing.end) == (True, head_end, head_end)
    assert request_framing(bytearray(b"POST /x HTTP/1.1\nHost: a\n"), max_body=100) == NEED_HEAD


def test_a_chunked_body_past_the_limit_is_too_large():
    data = CHUNKED + b"40\r\n" + b"a" * 64 + b"\r\n"
    framing = request_framing(bytearray(data), max_body=100)
    assert (framing.end, framing.too_large) == (None, False)
    assert request_framing(bytearray(data + b"40\r\n"), max_body=100).too_large


def test_a_client_waiting_for_100_continue_is_seen():
    data = HEAD + b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\n"
    assert request_framing(bytearray(data), max_body=100).expects_continue
    assert request_framing(bytearray(b"GET / HTTP/1.1\r\n"), max_body=100) == NEED_HEAD


def read_answers(sock, count):
    """`count` whole answers from a socket, as (status, JSON body or None)."""
    data, answers = b"", []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536) or b"\0"
            assert not data.endswith(b"\0"), "closed early"
        head, _, data = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        if status == 100:
            answers.append((100, None))
            continue
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(data) < length:
            data += sock.recv(65536)
        body, data = data[:length], data[length:]
        answers.append((status, json.loads(body)))
    return answers


@pytest.mark.slow
def test_the_worker_serves_chunked_pipelined_and_continued_requests(tmp_path, secrets):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}",
        "MAX_CONTENT_LENGTH": "4096",
        "REQUEST_HEAD_TIMEOUT_S": "1",
        **secrets,
    }
    database_at_head(env["DATABASE_URL"])
    secret = secrets["VAPI_SECRET_DEMO"].encode()
    body = json.dumps({"message": {"type": "speech-update", "call": {"id": "c-a"}}}).encode()
    head = b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: a\r\nX-Vapi-Secret: " + secret
    sized = head + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    chunked = head + b"\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        len(body),
        body,
    )
    with Gunicorn(env=env, workers=1, threads=1, extra_args=SERVE_AS_MAKE_RUN) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            # Two requests in one packet, then one cut in two: answered in order, one thread.
            sock.sendall(sized + chunked + sized[:30])
            time.sleep(0.2)
            sock.sendall(sized[30:])
            assert read_answers(sock, 3) == [(200, {})] * 3
            # A client that waits for 100 Continue before its body gets it from the worker.
            sock.sendall(
                head + b"\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            assert read_answers(sock, 1) == [(100, None)]
            sock.sendall(body)
            assert read_answers(sock, 2)[-1] == (200, {})  # gunicorn's own 100, then ours
        too_large = head + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + b"800\r\n" + b"a" * 2048
        refused = (413, {"error": "body larger than 4096 bytes"})
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(too_large)
            sock.sendall(b"\r\n800\r\n" + b"a" * 2048 + b"\r\n800\r\n")
            assert read_answers(sock, 1) == [refused]
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            # A request, and behind it in the same packet one to refuse: answered in order.
            sock.sendall(sized + too_large + b"\r\n800\r\n" + b"a" * 2048 + b"\r\n800\r\n")
            assert read_answers(sock, 2) == [(200, {}), refused]
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 70_000)
            assert read_answers(sock, 1) == [(431, {"error": "headers too large"})]
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            # Lines ended by a bare LF: refused by the parser, not left to the head's timeout.
            sock.sendall(b"POST /api/vapi/demo/webhook HTTP/1.1\nHost: a\n\n")
            (status, answer) = read_answers(sock, 1)[0]
            assert status == 400 and answer["error"], answer
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # and nothing more for over a second
            assert read_answers(sock, 1) == [(408, {"error": "headers not received in time"})]
        output = server.output()
    assert "Traceback" not in output and "REQUEST_FAILED" not in output
