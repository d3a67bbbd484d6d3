"""What the metrics cost a request: the request hooks (backend/metrics/http.py: timer, counter,
latency histogram) plus the database histogram for two statements, as a contact-step turn
records them. In prometheus-client's multiprocess mode, as gunicorn serves (each value written
to a memory-mapped file), and in one process (`--single`, as `flask run` and the tests).

Prints the best and median of 9 rounds, in µs a request; with `--labels`, also the same
recording through `labels()` at each call instead of the cached children, to see what the
cache saves. Run alone: `python benchmarks/metrics_cost.py` (both modes, each in its own
process, since the mode is chosen when prometheus_client is first imported).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REQUESTS = 20000


def measure(with_labels):
    # Imported here: the mode is chosen by the environment when prometheus_client is imported.
    from flask import Response

    from backend import create_app
    from backend.metrics import families, http

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    response = Response("{}", status=200)

    def by_labels():
        families.REQUESTS.labels("llm.chat_completions", "chat-completions", "200").inc()
        families.REQUEST_SECONDS.labels("llm.chat_completions").observe(0.004)

    def cached():
        families._child(
            families.REQUESTS, ("llm.chat_completions", "chat-completions", "200")
        ).inc()
        families._child(families.REQUEST_SECONDS, ("llm.chat_completions",)).observe(0.004)

    rounds, uncached = [], {"labels() each time": [], "cached children": []}
    with app.test_request_context("/api/vapi/demo/chat/completions", method="POST"):
        from flask import request

        request.url_rule = app.url_map._rules_by_endpoint["llm.chat_completions"][0]
        for _ in range(9):
            start = time.perf_counter()
            for _ in range(REQUESTS):
                http._start()
                http.note_message_type("chat-completions")
                families.observe_database(0.0002)
                families.observe_database(0.0003)
                http._record(response)
            rounds.append((time.perf_counter() - start) / REQUESTS * 1e6)
            if with_labels:  # interleaved, so both see the same machine
                for way, record in (("labels() each time", by_labels), ("cached children", cached)):
                    start = time.perf_counter()
                    for _ in range(REQUESTS):
                        record()
                    uncached[way].append((time.perf_counter() - start) / REQUESTS * 1e6)
    return rounds, uncached


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["multiprocess", "single"], help="one mode, this process")
    parser.add_argument("--labels", action="store_true", help="also time labels() at each call")
    args = parser.parse_args()
    if args.mode is None:  # both, each in a fresh process
        for mode in ("multiprocess", "single"):
            extra = ["--labels"] if args.labels else []
            subprocess.run([sys.executable, __file__, "--mode", mode, *extra], check=True)
        return
    with tempfile.TemporaryDirectory(prefix="metrics-bench-") as folder:
        if args.mode == "multiprocess":
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        rounds, uncached = measure(args.labels)
    print(
        f"metrics per request ({args.mode}): best {min(rounds):.1f} µs, "
        f"median {statistics.median(rounds):.1f} µs"
    )
    for way, times in uncached.items():
        if times:
            print(
                f"  counter + histogram, {way}: "
                f"best {min(times):.1f} µs, median {statistics.median(times):.1f} µs"
            )


if __name__ == "__main__":
    main()
