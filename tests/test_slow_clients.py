"""Slow clients cannot starve callers: real gunicorn served as `make run` serves it.

Fifty connections send their headers, or their body, a byte at a time (and connect again when
the server closes them), while a caller's status-updates and chat completions keep coming on a
keep-alive connection. Every one of those is answered, p99 under 50 ms: the issue's figure,
asserted as it names it (the requests in between are paced, so the figure is latency, not
throughput). On a machine so loaded that the same requests without slow clients already miss
50 ms (measured just before and just after them, in the same test: `make test` runs another
server test on the other core meanwhile), the bound is twice that usual p99 instead: the
issue's words are "not delayed beyond their usual latency". Gunicorn's own gthread worker,
which hands a connection to a thread at its first byte, is starved by a handful of such
clients: that is checked too, so this test can fail.

The default runs the slow clients for 6 s; `pytest --slow-clients-seconds 30` runs the issue's
full 30 s.
"""

import http.client
import json
import multiprocessing
import socket
import time

import pytest

from tests.leaks import random_id, watch
from tests.paths import VAPI_PAYLOADS
from tests.schemas import database_at_head
from tests.servers import SERVE_AS_MAKE_RUN, Gunicorn

SLOW_CLIENTS = 50
BYTE_EVERY_S = 0.2  # each slow client sends its next byte this often
P99_GOAL_MS = 50.0
CALLER = "+33645990017"
watch(CALLER)


def payload(name):
    return json.loads((VAPI_PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def slow_request(secret, body_slow):
    """(bytes sent at once, bytes sent a byte at a time) of one slow client's request."""
    body = json.dumps(payload("status-update.in-progress")).encode()
    head = (
        b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nX-Vapi-Secret: " + secret.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return (head, body) if body_slow else (b"", head + body)


class SlowClients:
    """`count` connections, half trickling their headers, half their body, until stopped.

    In a process of their own: in this one, their thread would hold the GIL the measuring
    thread needs, and its wait would count as the server's latency.
    """

    def __init__(self, port, secret, count):
        self.port, self.secret, self.count = port, secret, count
        context = multiprocessing.get_context("fork")
        self.stopped = context.Event()
        self.counters = context.Array("q", 3)  # connections, closed by the server, bytes sent
        self.process = context.Process(target=self._run, daemon=True)

    @property
    def connections(self):
        return self.counters[0]

    @property
    def closed_by_server(self):
        return self.counters[1]

    @property
    def bytes_sent(self):
        return self.counters[2]

    def _connect(self, index):
        at_once, trickled = slow_request(self.secret, body_slow=index % 2 == 1)
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(at_once)
        self.counters[0] += 1
        return [sock, trickled, 0]

    def _run(self):
        clients = [self._connect(i) for i in range(self.count)]
        while not self.stopped.wait(BYTE_EVERY_S):
            for index, client in enumerate(clients):
                sock, trickled, sent = client
                try:
                    # The last byte is never sent: the request stays unfinished.
                    sock.send(trickled[sent : sent + 1] if sent < len(trickled) - 1 else b"")
                    client[2] = min(sent + 1, len(trickled) - 1)
                    self.counters[2] += 1
                    sock.setblocking(False)
                    closed = sock.recv(4096) == b""  # an answer (408) or a close
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                finally:
                    sock.setblocking(True)
                if closed or client[2] == len(trickled) - 1:
                    sock.close()
                    self.counters[1] += closed
                    clients[index] = self._connect(index)
        for sock, _, _ in clients:
            sock.close()

    def __enter__(self):
        self.process.start()
        return self

    def __exit__(self, *_exc):
        self.stopped.set()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def caller_requests(port, secret, seconds, pause=0.02):
    """Latencies (s) of a caller's requests, one at a time, for `seconds`; every one a 200."""
    headers = {"X-Vapi-Secret": secret, "Content-Type": "application/json"}
    latencies, failures = [], []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            call_id = random_id("slow")
            status = payload("status-update.in-progress")
            status["message"]["call"]["id"] = call_id
            status["message"]["call"]["customer"] = {"number": CALLER}
            chat = payload("chat-completions.request")
            chat["call"] = {"id": call_id}
            chat.pop("customer", None)
            for path, body in (
                ("/api/vapi/demo/webhook", status),
                ("/api/vapi/demo/chat/completions", chat),
            ):
                started = time.perf_counter()
                try:
                    connection.request("POST", path, json.dumps(body), headers)
                    answer = connection.getresponse()
                    answer.read()
                    code = answer.status
                except (OSError, http.client.HTTPException) as error:
                    connection.close()  # reconnects at the next request
                    code = type(error).__name__
                latencies.append(time.perf_counter() - started)
                if code != 200:
                    failures.append(code)
                time.sleep(pause)
    finally:
        connection.close()
    return latencies, failures


def p99_ms(latencies):
    ordered = sorted(latencies)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@pytest.fixture
def served_env(tmp_path, secrets):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}", **secrets}
    database_at_head(env["DATABASE_URL"])
    return env


@pytest.mark.slow
def test_fifty_slow_clients_do_not_delay_other_requests(served_env, secrets, request):
    seconds = request.config.getoption("--slow-clients-seconds")
    secret = secrets["VAPI_SECRET_DEMO"]
    with Gunicorn(
        "wsgi:app", env=served_env, workers=2, threads=2, extra_args=SERVE_AS_MAKE_RUN
    ) as server:
        caller_requests(server.port, secret, seconds=0.5)  # warm-up: first imports, pools
        before, failed = caller_requests(server.port, secret, seconds=3)
        assert not failed
        with SlowClients(server.port, secret, SLOW_CLIENTS) as slow:
            time.sleep(1)  # every slow client connected and trickling
            latencies, failures = caller_requests(server.port, secret, seconds)
            slow_bytes = slow.bytes_sent
        after, failed = caller_requests(server.port, secret, seconds=3)
        assert not failed
        output = server.output()
    usual = max(p99_ms(before), p99_ms(after))
    print(
        f"\n{SLOW_CLIENTS} slow clients for {seconds:g} s ({slow.connections} connections, "
        f"{slow.closed_by_server} closed by the server, {slow_bytes} bytes trickled): "
        f"{len(latencies)} other requests, p99 {p99_ms(latencies):.1f} ms "
        f"(max {1000 * max(latencies):.1f}); without them p99 {p99_ms(before):.1f} ms "
        f"before, {p99_ms(after):.1f} after"
    )
    assert slow_bytes >= SLOW_CLIENTS * seconds  # they trickled all along
    assert not failures, failures[:5]
    assert p99_ms(latencies) < max(P99_GOAL_MS, 2 * usual)
    assert "Traceback" not in output and "REQUEST_FAILED" not in output


@pytest.mark.slow
def test_gunicorns_own_gthread_worker_is_starved_by_them(served_env, secrets):
    # Why make run does not serve with it: 4 threads in all, 16 clients trickling (enough that
    # each process gets at least 2 of them but once in about 2,000 runs).
    secret = secrets["VAPI_SECRET_DEMO"]
    with Gunicorn(
        "wsgi:app",
        env=served_env,
        workers=2,
        threads=2,
        extra_args=["--worker-class", "gthread", "--reuse-port"],
    ) as server:
        with SlowClients(server.port, secret, 16):
            time.sleep(1)
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            with pytest.raises(TimeoutError):
                connection.request("GET", "/healthz")
                connection.getresponse()
            connection.close()
