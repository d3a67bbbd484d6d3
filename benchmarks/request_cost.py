"""What one request costs, in one process and in a gunicorn worker, the app against the bare app.

    python benchmarks/request_cost.py [--requests 3000] [--rounds 3]

A new call's `status-update` (SQLite), as benchmarks/load.py sends it, one request at a time:
- in process: the WSGI app called in a loop (no server, no client), µs of wall time a request;
- under gunicorn: one worker, one thread, one keep-alive connection from this process (as
  `make run` serves, with the buffering worker), µs of the worker's CPU a request (user and
  system, read from /proc: Linux only).
The bare app (benchmarks/bare_app.py) is measured the same way, in the same rounds, alternated.
It says how much of a request the app's own code is, and how much longer the same code takes
in a server, where the worker's loop, the client and the kernel take turns on the cores. It
stops by itself; its servers listen on 127.0.0.1 and are removed at the end.
"""

import argparse
import asyncio
import io
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import load  # noqa: E402  (the paths are added just above)

from tests.servers import BUFFERED_WORKER, Gunicorn, init_db  # noqa: E402


def wsgi_environ(path, body):
    """The environ a server would hand the app for this request."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_X_VAPI_SECRET": load.SECRET,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def in_process(app, count):
    """µs of wall time a request, the app called in a loop; every answer must be a 200."""
    bodies = load.Bodies()
    requests_ = [wsgi_environ(*bodies.status_update()) for _ in range(count + 200)]
    statuses = []

    def start_response(status, _headers, _exc_info=None):
        statuses.append(status)

    def serve(environ):
        answer = app(environ, start_response)
        for _ in answer:
            pass
        getattr(answer, "close", lambda: None)()

    for environ in requests_[:200]:  # warm-up: imports, caches, the pool
        serve(environ)
    started = time.perf_counter()
    for environ in requests_[200:]:
        serve(environ)
    seconds = time.perf_counter() - started
    if any(not status.startswith("200") for status in statuses):
        raise SystemExit(f"in process: not every answer was a 200: {sorted(set(statuses))}")
    return seconds / count * 1e6


def worker_cpu(server):
    """Seconds of CPU (user and system) the server's worker processes used so far."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        if int(fields[1]) == server.process.pid:  # a worker: its parent is gunicorn's master
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def under_gunicorn(server, count):
    """µs of the worker's CPU a request, sent one at a time; None if one failed."""
    bodies = load.Bodies()
    warm = [load.http_request(server.port, *bodies.status_update()) for _ in range(200)]
    measured = [load.http_request(server.port, *bodies.status_update()) for _ in range(count)]
    deadline = time.monotonic() + 120
    asyncio.run(load.drive(server.port, warm, 1, deadline))
    before = worker_cpu(server)
    _seconds, _latencies, errors, unsent = asyncio.run(
        load.drive(server.port, measured, 1, deadline)
    )
    if errors or unsent:
        return None
    return (worker_cpu(server) - before) / count * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per measure")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    temp = tempfile.mkdtemp(prefix="request-cost-")
    env = {
        "VAPI_SECRET_DEMO": load.SECRET,
        "LOG_LEVEL": "INFO",
        "DATABASE_URL": f"sqlite:///{temp}/calls.db",
    }
    init_db(env)
    os.environ.update(env)
    from bare_app import app as bare_app

    from backend import create_app

    app = create_app()
    # The log lines are formatted as in a server; where they go is not measured.
    devnull = open(os.devnull, "w")  # open for the whole run
    for handler in logging.getLogger().handlers:
        handler.setStream(devnull)

    one_at_a_time = {"workers": 1, "threads": 1}
    worker = ["--worker-class", BUFFERED_WORKER]
    servers = {
        "bare": Gunicorn(
            "bare_app:app",
            extra_args=[*worker, "--pythonpath", str(ROOT / "benchmarks")],
            **one_at_a_time,
        ),
        "app": Gunicorn("wsgi:app", env=env, extra_args=worker, **one_at_a_time),
    }
    results = {(where, name): [] for where in ("process", "gunicorn") for name in servers}
    try:
        for server in servers.values():
            server.start()
        for _ in range(args.rounds):
            for name, wsgi_app in (("bare", bare_app), ("app", app)):
                results[("process", name)].append(in_process(wsgi_app, args.requests))
            for name, server in servers.items():
                cost = under_gunicorn(server, args.requests)
                if cost is None:
                    raise SystemExit(f"under gunicorn: a request to {name} failed")
                results[("gunicorn", name)].append(cost)
    finally:
        for server in servers.values():
            server.cleanup()
        shutil.rmtree(temp, ignore_errors=True)

    print(
        f"\na new call's status-update on SQLite, one request at a time, "
        f"{args.requests} a measure, {args.rounds} rounds"
    )
    print("\n| where | bare µs | app µs | app beyond bare µs |")
    print("|---|---:|---:|---:|")
    for where, unit in (("process", "wall"), ("gunicorn", "worker CPU")):
        bare, ours = (statistics.median(results[(where, name)]) for name in ("bare", "app"))
        print(f"| {where} ({unit}, median) | {bare:.0f} | {ours:.0f} | {ours - bare:.0f} |")
    spread = {key: f"{min(v):.0f} to {max(v):.0f}" for key, v in results.items()}
    print(
        "\nranges: " + "; ".join(f"{where} {name} {text}" for (where, name), text in spread.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
