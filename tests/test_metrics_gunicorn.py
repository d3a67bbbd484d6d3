"""The done-when of outcomes and metrics, on real gunicorn with two workers and real HTTP.

The scripted batch (tests/outcome_batch.py) played twice at once, so both workers answer:
`flask stats` shows exactly its counts, and /metrics shows the same outcome counters summed
over every worker (each worker's own file read apart proves the sum spans both).
"""

import json
import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from backend import create_app
from tests.leaks import assert_clean_exposition, assert_no_full_number
from tests.outcome_batch import BATCH, EXPECTED, play_batch
from tests.schemas import database_at_head
from tests.servers import Gunicorn, flask_command
from tests.test_metrics import allowed_labels

SECRET = "metrics-gunicorn-secret"
TOKEN = "metrics-gunicorn-token-0123456789"
TIMEOUT = 10  # seconds per request: a guard against a hung server, not a speed check
ROUNDS = 2


def outcome_counts(samples):
    return {
        sample.labels["outcome"]: sample.value
        for sample in samples
        if sample.name == "vapi_contact_outcomes_total" and sample.labels["tenant"] == "demo"
    }


def samples_of(exposition):
    return [s for family in text_string_to_metric_families(exposition) for s in family.samples]


def scrape(url):
    answer = requests.get(
        url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT
    )
    assert answer.status_code == 200
    return answer.text


def per_worker(folder, copies):
    """Each worker's own values: its counter file collected alone. {pid: [samples]}."""
    found = {}
    for path in folder.glob("counter_*.db"):
        alone = copies / f"alone-{path.stem}"
        alone.mkdir(parents=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        found[path.stem.split("_")[1]] = [s for m in registry.collect() for s in m.samples]
    return found


@pytest.mark.slow
def test_stats_and_metrics_over_two_workers_show_the_batch(database_url, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"")  # a last run's file: emptied at start
    env = {
        "DATABASE_URL": database_url,
        "VAPI_SECRET_DEMO": SECRET,
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PYTHONUNBUFFERED": "1",
    }
    database_at_head(env["DATABASE_URL"])
    # A listening socket per worker, as `make run` serves: the kernel spreads new connections
    # over both. On one shared socket, the worker that wakes first may take every one of them.
    server = Gunicorn(
        "wsgi:app", env=env, workers=2, threads=2, ready_path="/readyz", extra_args=["--reuse-port"]
    )
    server.start(timeout=60)
    try:
        assert not (metrics_dir / "counter_1.db").exists()

        def post(path, body):
            # A connection per request, as many callers' calls do: both workers accept.
            answer = requests.post(
                server.url + path, json=body, headers={"X-Vapi-Secret": SECRET}, timeout=TIMEOUT
            )
            return answer.status_code, answer.text

        with ThreadPoolExecutor(ROUNDS) as pool:
            played = list(pool.map(lambda _: play_batch(post), range(ROUNDS)))
        call_ids = [call_id for batch in played for call_id in batch]

        denied = requests.get(server.url + "/metrics", timeout=TIMEOUT)
        assert denied.status_code == 401
        exposition = scrape(server.url)
        workers = per_worker(metrics_dir, tmp_path / "before")

        # A worker exits and gunicorn starts another: what it counted still counts.
        gone = int(next(iter(workers)))
        os.kill(gone, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while server.output().count("Booting worker") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.output().count("Booting worker") == 3
        after_exit = scrape(server.url)
    finally:
        server.stop()

    # /metrics: every outcome of the batch, ROUNDS times, summed over the workers.
    expected_outcomes = {s.outcome: float(ROUNDS) for s in BATCH}
    assert outcome_counts(samples_of(exposition)) == expected_outcomes
    assert outcome_counts(samples_of(after_exit)) == expected_outcomes
    served = {
        pid: sum(s.value for s in samples if s.name == "vapi_requests_total")
        for pid, samples in workers.items()
    }
    assert len(served) == 2 and all(served.values()), served  # both workers answered
    summed = {}
    for samples in workers.values():
        for outcome, count in outcome_counts(samples).items():
            summed[outcome] = summed.get(outcome, 0) + count
    assert summed == expected_outcomes

    # The RGPD sweep of what the real server exposes.
    assert_clean_exposition(
        exposition, allowed_labels(create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})), call_ids
    )

    # `flask stats`, as an operator runs it: exactly the batch's counts, ROUNDS times.
    done = flask_command(
        ["stats", "--tenant", "demo", "--since", "2026-11-01", "--format", "json"],
        {**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = json.loads(done.stdout)
    counts = {name: value for name, value in EXPECTED.items() if name != "median_turns"}
    assert {name: row[name] for name in counts} == {n: v * ROUNDS for n, v in counts.items()}
    assert row["median_turns"] == EXPECTED["median_turns"]
    assert_no_full_number(done.stdout, "stats")
    text = flask_command(["stats", "--tenant", "demo"], {**os.environ, **env})
    assert text.returncode == 0 and text.stdout.splitlines()[1].split()[2] == str(5 * ROUNDS)
