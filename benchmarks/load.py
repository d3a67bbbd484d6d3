"""Load benchmark: the app under gunicorn against a bare Flask app, on loopback, bounded.

    python benchmarks/load.py [--requests 8000] [--connections 16] [--rounds 4] [--rate 0]

Serves the bare app (benchmarks/bare_app.py), the app on a SQLite file and the app on PostgreSQL
($BENCH_POSTGRES_URL, else $TEST_POSTGRES_URL, else the local server; a private schema, dropped
after; skipped when unreachable), each with the same gunicorn workers. A keep-alive HTTP client
(asyncio, one connection per slot) in this process sends a fixed number of `status-update` and
streamed chat-completion requests to each, alternating servers round by round, then prints
requests per second, p50/p99 latency, errors and the ratio to the bare app. After each round,
the app's database must already hold every call it answered (a missing one counts as an error:
a 200 means stored). `--rate` paces the
load instead, to read latency below saturation. It stops by itself (a fixed number of requests,
and a time budget); everything it starts listens on 127.0.0.1 and is removed at the end. Exit
status 1 when any request failed.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.paths import VAPI_PAYLOADS  # noqa: E402  (the repository root is added just above)
from tests.servers import BUFFERED_WORKER, Gunicorn, init_db  # noqa: E402

SECRET = "bench-secret"
# The same workers for every server, as `make run` serves: one gthread process per core, 2 threads
# each, each process with its own listening socket (--reuse-port). gthread keeps connections
# alive, as Vapi's HTTPS client does (sync workers close each one: half the throughput). Measured
# on 2 cores, 16 connections, each layout served to bare, SQLite and PostgreSQL alike:
# - a shared socket handed the connections to whichever process woke first: 15 of 16 on one
#   process in some runs, all 16 on two in most, so figures moved by a third between runs;
# - with a socket each, 2 processes x 2 threads beat 4 x 1 (PostgreSQL 2,430-2,530 against
#   2,070-2,180 req/s, p99 12 against 19-25 ms): a thread waiting for the database leaves its
#   process to the other, and two processes on two cores switch less than four;
# - 4 threads per process convoyed on the GIL (p99 50-70 ms).
# The worker class is gthread's buffering subclass (backend/serving/worker.py): a request is
# read whole by the process's main loop before a thread serves it, so slow clients hold no
# thread. `--worker-class gthread` measures gunicorn's own for comparison.
WORKERS, THREADS, WORKER_CLASS = os.cpu_count() or 2, 2, BUFFERED_WORKER
REPEAT_SHARE = 0.2  # share of status-updates for a call already seen (Vapi sends several)
TIME_BUDGET = 150  # seconds of load in all: past it, requests left are not sent (and counted)
# The goal, at 16 connections with every guarantee on: a ratio to the bare app per scenario
# (the streamed chat completion runs the engine and reads and writes the conversation), p99
# under 20 ms, no error.
GOAL_RATIOS, GOAL_P99_MS = {"status-update": 0.5, "chat-completion": 0.4}, 20.0


def vapi_body(name):
    return json.loads((VAPI_PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


class Bodies:
    """Pre-serialized request bodies: new calls mostly, some repeats, chats on known calls."""

    def __init__(self, seed=7):
        self.status = vapi_body("status-update.in-progress")
        self.chat = vapi_body("chat-completions.request")
        self.random = random.Random(seed)
        self.calls, self.numbers = [], {}

    def _about(self, body, call_id):
        holder = body.get("message", body)
        holder["call"]["id"] = call_id
        # Each call has its own caller: no parse is served from a cache across calls.
        number = self.numbers[call_id]
        holder["call"]["customer"] = {"number": number}
        holder["customer"] = {"number": number}
        return json.dumps(body).encode()

    def _new_call(self):
        call_id = str(uuid.uuid4())  # as Vapi's call ids are
        self.numbers[call_id] = f"+3361{self.random.randrange(10**7):07d}"
        self.calls.append(call_id)
        return call_id

    def status_update(self):
        if self.calls and self.random.random() < REPEAT_SHARE:
            call_id = self.random.choice(self.calls[-500:])
        else:
            call_id = self._new_call()
        return "/api/vapi/demo/webhook", self._about(self.status, call_id)

    def chat_completion(self):
        call_id = self.random.choice(self.calls) if self.calls else self._new_call()
        return "/api/vapi/demo/chat/completions", self._about(self.chat, call_id)


def http_request(port, path, body):
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Vapi-Secret: {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def read_response(reader):
    """(status, keep the connection?) after reading one whole response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", 0)))
    return status, headers.get("connection", "").lower() != "close"


async def drive(port, requests_, connections, deadline, rate=0):
    """Send `requests_` (pre-built bytes) over `connections` keep-alive connections.

    As fast as answers come back, or paced at `rate` requests per second in all; paced, a
    latency counts from when the request was due, so a stalled server is not hidden.
    (seconds, latencies, errors, requests not sent because `deadline` passed)
    """
    latencies, errors, unsent = [], [0], [0]
    pending = enumerate(requests_)
    begin = time.perf_counter()

    async def connection_loop():
        reader = writer = None
        for index, raw in pending:
            if time.monotonic() > deadline:
                unsent[0] += 1
                continue
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                started = time.perf_counter()
                if rate:
                    due = begin + index / rate
                    await asyncio.sleep(max(0.0, due - started))
                    started = due
                writer.write(raw)
                status, keep = await asyncio.wait_for(read_response(reader), timeout=10)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors[0] += 1
                if not keep:
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                errors[0] += 1
                if writer is not None:
                    writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection_loop() for _ in range(connections)))
    return time.perf_counter() - begin, latencies, errors[0], unsent[0]


class Result:
    def __init__(self):
        self.seconds, self.latencies, self.errors, self.unsent = 0.0, [], 0, 0

    def add(self, seconds, latencies, errors, unsent):
        self.seconds += seconds
        self.latencies += latencies
        self.errors += errors
        self.unsent += unsent

    @property
    def rps(self):
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share):
        ms = sorted(1000 * x for x in self.latencies)
        return ms[min(len(ms) - 1, int(len(ms) * share))] if ms else float("nan")


def goal_line(scenario, name, ratio, p99, errors):
    """One row's goal, part by part: which of ratio, p99 and errors met it."""
    parts = [
        f"ratio {ratio:.3f} {'met' if ratio >= GOAL_RATIOS[scenario] else 'MISSED'}",
        f"p99 {p99:.1f} ms {'met' if p99 < GOAL_P99_MS else 'MISSED'}",
        f"{errors} errors {'met' if not errors else 'MISSED'}",
    ]
    return f"- {scenario} {name}: " + ", ".join(parts)


def postgres_schema():
    """(url of a fresh schema, drop) on the benchmark's PostgreSQL, or (None, reason)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    base = os.environ.get(
        "BENCH_POSTGRES_URL",
        os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        admin.dispose()
        return None, f"PostgreSQL unreachable ({type(error).__name__})"

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", drop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8000, help="per server and scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the servers")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--worker-class", default=WORKER_CLASS)
    parser.add_argument(
        "--no-reuse-port", dest="reuse_port", action="store_false", help="one shared socket"
    )
    parser.add_argument(
        "--rate", type=float, default=0, help="pace at this many req/s (0: as fast as answered)"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    cleanups = []
    servers = {}
    try:
        temp = tempfile.mkdtemp(prefix="bench-")
        cleanups.append(lambda: shutil.rmtree(temp, ignore_errors=True))
        app_env = {"VAPI_SECRET_DEMO": SECRET, "LOG_LEVEL": "INFO"}
        databases = {"sqlite": f"sqlite:///{temp}/calls.db"}
        if not args.no_postgres:
            url, drop = postgres_schema()
            if url is None:
                print(f"postgresql: skipped, {drop}")
            else:
                databases["postgresql"] = url
                cleanups.append(drop)
        gunicorn = {"workers": args.workers, "threads": args.threads}
        # Named: gunicorn picks gthread by itself only for 2 threads or more, and its sync
        # worker closes every connection.
        worker_class = ["--worker-class", args.worker_class]
        if args.reuse_port:
            worker_class.append("--reuse-port")
        servers["bare"] = Gunicorn(
            "bare_app:app",
            extra_args=[*worker_class, "--pythonpath", str(ROOT / "benchmarks")],
            **gunicorn,
        )
        for name, url in databases.items():
            init_db({**app_env, "DATABASE_URL": url})
            env = {**app_env, "DATABASE_URL": url}
            servers[name] = Gunicorn("wsgi:app", env=env, extra_args=worker_class, **gunicorn)
        for server in servers.values():
            cleanups.insert(0, server.cleanup)
            server.start()
        counters = {name: StoredCalls(url) for name, url in databases.items()}
        cleanups.extend(counter.dispose for counter in counters.values())
        return 0 if run(servers, counters, args) else 1
    finally:
        for cleanup in cleanups:
            cleanup()


class StoredCalls:
    """How many calls a server's database holds with their number, read from here."""

    def __init__(self, url):
        from sqlalchemy import create_engine

        self.engine = create_engine(url)

    def count(self):
        from sqlalchemy import text

        with self.engine.connect() as connection:
            sql = "SELECT count(*) FROM calls WHERE caller_number IS NOT NULL"
            return connection.execute(text(sql)).scalar_one()

    def missing(self, expected):
        """How many of `expected` calls sent so far the database does not hold."""
        return expected - self.count()

    def dispose(self):
        self.engine.dispose()


def run(servers, counters, args):
    scenarios = ("status-update", "chat-completion")
    results = {(s, n): Result() for s in scenarios for n in servers}
    bodies = {name: Bodies() for name in servers}
    per_round = max(1, args.requests // args.rounds)
    started = time.monotonic()
    deadline = started + TIME_BUDGET

    def batch(name, scenario, count):
        pick = bodies[name]
        make = pick.status_update if scenario == "status-update" else pick.chat_completion
        return [http_request(servers[name].port, *make()) for _ in range(count)]

    for name in servers:  # warm-up: imports, pools, first connections; not measured
        for scenario in scenarios:
            warm_up = batch(name, scenario, 200)
            asyncio.run(drive(servers[name].port, warm_up, args.connections, deadline))
    client_cpu = time.process_time()
    for _ in range(args.rounds):
        for scenario in scenarios:
            for name in servers:
                requests_ = batch(name, scenario, per_round)
                port = servers[name].port
                outcome = drive(port, requests_, args.connections, deadline, args.rate)
                seconds, latencies, errors, unsent = asyncio.run(outcome)
                if name in counters and not unsent:  # unsent: past the time budget, said below
                    # A 200 means stored: once a round is answered, every call sent so far
                    # must already be in the database, checked at once (a missing one is
                    # an error).
                    errors += max(counters[name].missing(len(bodies[name].calls)), 0)
                results[(scenario, name)].add(seconds, latencies, errors, unsent)
    elapsed = time.monotonic() - started
    sent = sum(len(result.latencies) for result in results.values())
    client_cpu = (time.process_time() - client_cpu) / max(sent, 1) * 1e6

    worker_class = args.worker_class.rpartition(".")[2]
    print(
        f"\n{args.requests} requests per row, {args.connections} connections, gunicorn "
        f"{args.workers} {worker_class} workers x {args.threads} threads, "
        f"{os.cpu_count()} CPUs, "
        f"alternated over {args.rounds} rounds ({elapsed:.0f} s)"
        + (f", paced at {args.rate:g} req/s" if args.rate else ", as fast as answered")
        + f"; client CPU (same cores, bodies included): {client_cpu:.0f} µs per request\n"
    )
    print("| scenario | server | req/s | p50 ms | p99 ms | errors | ratio to bare |")
    print("|---|---|---:|---:|---:|---:|---:|")
    goals = []
    for scenario in scenarios:
        bare = results[(scenario, "bare")].rps
        for name in servers:
            result = results[(scenario, name)]
            ratio = result.rps / bare if bare else float("nan")
            p99 = result.percentile(0.99)
            print(
                f"| {scenario} | {name} | {result.rps:.0f} | {result.percentile(0.5):.1f} | "
                f"{p99:.1f} | {result.errors} | {ratio:.2f} |"
            )
            if name != "bare":
                goals.append(goal_line(scenario, name, ratio, p99, result.errors))
    if args.rate:  # paced, every server keeps up: the ratio says nothing
        print("\nthe goal is read on a run as fast as answered (no --rate)")
    else:
        ratios = ", ".join(f"{scenario} >= {ratio}" for scenario, ratio in GOAL_RATIOS.items())
        print(f"\ngoal (ratio to bare {ratios}; p99 < {GOAL_P99_MS:.0f} ms; no error):")
        print("\n".join(goals))
        bare_p99 = max(results[(scenario, "bare")].percentile(0.99) for scenario in scenarios)
        if bare_p99 >= GOAL_P99_MS:
            # As fast as answered, 16 requests are always in flight: a request's mean latency
            # is 16 / throughput (Little's law). Where even the bare app's p99 is past the
            # goal, the cores are too slow for any app to meet it.
            print(f"(the bare app's own p99 reaches {bare_p99:.1f} ms on this machine)")
    unsent = sum(result.unsent for result in results.values())
    if unsent:
        print(f"time budget ({TIME_BUDGET} s) reached: {unsent} requests not sent")
    return not any(result.errors for result in results.values())


if __name__ == "__main__":
    sys.exit(main())
