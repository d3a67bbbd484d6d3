"""Reloads run in a thread of each process, off the callers' requests.

A request reads the version it started with; each process (gunicorn worker, with or without
--preload) reloads on its own with no request to drive it; a request during a slow reload is
not held by it. Waits are bounded polls; the one timing assertion compares a request with the
reload it overlapped, as the server measured it, with a wide margin.
"""

import gc
import io
import json
import os
import time

import pytest
import requests
from babel.messages.pofile import read_po

from backend import create_app
from backend.store.db import db
from backend.tenants.live import LiveConfiguration
from tests.conftest import create_schema_at_head
from tests.leaks import assert_no_full_number
from tests.servers import Gunicorn
from tests.test_live_reload import (
    RELOAD_INTERVAL_S,
    WAIT,
    chat_body,
    edit,
    expected,
    poll,
    readyz_of_both_workers,
)

FAST = 0.1  # the in-process apps' reload interval, so these tests wait little


@pytest.fixture
def live_app(secrets, folders, tmp_path):
    tenants, locales = folders
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'calls.db'}",
            "TENANTS_DIR": str(tenants),
            "LOCALES_DIR": str(locales),
            "CONFIG_RELOAD_INTERVAL_S": FAST,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_request_reads_the_version_it_started_with(live_app, folders):
    tenants, locales = folders
    store = live_app.extensions["tenants"]
    with live_app.test_request_context("/readyz"):
        live_app.preprocess_request()  # the before_request hooks: pins, starts the thread
        directory, catalogs = store.directory, store.catalogs
        assert directory.get("demo").variant == "standard"
        edit(tenants / "demo.yaml", "variant: standard", "variant: short")
        edit(locales / "fr" / "LC_MESSAGES" / "short.po", "Oui ou non ?", "Exact ?")
        store.live.load()  # a reload lands mid-request
        assert store.live.directory.get("demo").variant == "short"
        assert store.directory is directory and store.catalogs is catalogs
        assert store.directory.get("demo").variant == "standard"
    with live_app.test_request_context("/readyz"):
        live_app.preprocess_request()
        assert store.directory.get("demo").variant == "short"
        assert store.catalogs.template("VOCAL_CONTACT_CONFIRM_CALLER_ID", "fr_FR", "short") == (
            "Votre numéro finit par {last_two} ? Exact ?"
        )


def test_the_thread_reloads_with_no_request(live_app, folders, log_events):
    tenants, _ = folders
    store = live_app.extensions["tenants"]
    assert store.watcher.thread is None  # building the app starts nothing
    live_app.test_client().get("/healthz")
    assert store.watcher.thread.is_alive() and store.watcher.thread.daemon
    before = store.live.fingerprint
    edit(tenants / "demo.yaml", "variant: standard", "variant: short")
    poll(lambda: store.live.directory.get("demo").variant, lambda v: v == "short")
    assert store.live.directory.get("demo").variant == "short"
    assert store.live.fingerprint != before
    # Logged just after the swap the poll saw: wait for the line too.
    (reloaded, *_) = poll(lambda: log_events("TENANT_CONFIG_RELOADED"), bool)
    assert reloaded["tenants"] == 2 and reloaded["duration_ms"] >= 0

    # A refused edit, still with no request: logged, shown, the last good version kept.
    edit(tenants / "demo.yaml", "masking:", "maskng:")
    poll(lambda: store.live.refusals(), bool)
    assert store.live.refusals()[0]["tenant"] == "demo"
    assert store.live.directory.get("demo").variant == "short"
    (rejected,) = poll(lambda: log_events("TENANT_CONFIG_REJECTED"), bool)
    assert rejected["key"] == "maskng" and rejected["still_serving"] == "demo"


def test_the_thread_ends_with_its_app(secrets, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'calls.db'}",
            "CONFIG_RELOAD_INTERVAL_S": FAST,
        }
    )
    app.test_client().get("/healthz")
    thread = app.extensions["tenants"].watcher.thread
    assert thread.is_alive()
    del app
    gc.collect()
    thread.join(timeout=WAIT)
    assert not thread.is_alive()


@pytest.fixture(params=[False, True], ids=["app-per-worker", "preload"])
def gunicorn(request, secrets, folders, tmp_path):
    """Real gunicorn, two sync workers, on copies of the tenants and catalogs (SQLite ready)."""
    tenants, locales = folders
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TENANTS_DIR": str(tenants)})
    with app.app_context():
        create_schema_at_head()
        db.engine.dispose()
    env = {
        "DATABASE_URL": url,
        "TENANTS_DIR": str(tenants),
        "LOCALES_DIR": str(locales),
        "FLASK_RUN_FROM_CLI": "",
        # Each worker looks for edits this often (1 s by default): the polls wait less.
        "CONFIG_RELOAD_INTERVAL_S": str(RELOAD_INTERVAL_S),
        **secrets,
    }
    extra = ["--preload"] if request.param else []
    with Gunicorn("wsgi:app", env=env, workers=2, ready_path="/readyz", extra_args=extra) as server:
        yield server
        assert_no_full_number(server.output(), "gunicorn's output")


def served_fingerprint(copies):
    """The `config` digest a process serving these folders shows, computed here."""
    live = LiveConfiguration(*copies)
    live.load()
    return live.fingerprint


def reloads_since(server, offset):
    """The TENANT_CONFIG_RELOADED lines the workers logged after `offset` in the output."""
    lines = server.output()[offset:].splitlines()
    return [json.loads(x) for x in lines if '"event": "TENANT_CONFIG_RELOADED"' in x]


def obsolete_entries(count):
    return "".join(
        f'\n#~ msgctxt "OLD_{i}"\n#~ msgid "Ancienne phrase {i}"\n#~ msgstr "Phrase {i}"\n'
        for i in range(count)
    )


def entries_read_in(seconds):
    """How many obsolete entries this machine's babel reads in about `seconds`, so the slow
    reload below is slow on a fast machine too."""
    sample = 10_000
    started = time.process_time()
    read_po(io.BytesIO(obsolete_entries(sample).encode()))
    per_entry = max(time.process_time() - started, 1e-3) / sample
    return min(max(int(seconds / per_entry), 30_000), 500_000)


@pytest.mark.slow
def test_each_worker_reloads_on_its_own_and_no_request_waits(
    gunicorn, folders, demo_headers, vapi_payload
):
    tenants, locales = folders
    session = requests.Session()

    def say():
        response = session.post(
            f"{gunicorn.url}/api/vapi/demo/chat/completions",
            json=chat_body(vapi_payload),
            headers=demo_headers,
            timeout=30,
        )
        return response.json()["choices"][0]["message"]["content"]

    # One request to each worker starts its thread.
    answers = poll(
        lambda: readyz_of_both_workers(gunicorn.port), lambda a: len({x["worker"] for x in a}) == 2
    )
    workers = {x["worker"] for x in answers}
    assert len(workers) == 2
    assert say() == expected(locales, "standard")

    # An edit, then no request at all: both workers reload by themselves.
    offset = len(gunicorn.output())
    edit(tenants / "demo.yaml", "variant: standard", "variant: short")
    wanted = served_fingerprint(folders)

    def workers_serving_the_edit():
        return {r["worker"] for r in reloads_since(gunicorn, offset) if r["config"] == wanted}

    assert poll(workers_serving_the_edit, workers.issubset) == workers
    both = readyz_of_both_workers(gunicorn.port)
    assert [x["config"] for x in both] == [wanted, wanted]
    assert say() == expected(locales, "short")

    # A slow reload: a catalog with years of obsolete entries, and a new sentence. Requests keep
    # coming while each worker reads it; none of them takes the reload's time.
    catalog = locales / "fr" / "LC_MESSAGES" / "short.po"
    text = catalog.read_text(encoding="utf-8").replace("Oui ou non ?", "Exact ?")
    text += obsolete_entries(entries_read_in(seconds=0.25))  # a reload of about 0.6 s
    offset = len(gunicorn.output())
    saving = catalog.with_name(catalog.name + ".saving")  # saved whole, as edit() does
    saving.write_text(text, encoding="utf-8")
    os.replace(saving, catalog)
    wanted = served_fingerprint(folders)
    new = "Votre numéro finit par 14 ? Exact ?"
    latencies, answers = [], []
    deadline = time.monotonic() + 6 * WAIT
    while len(latencies) < 2_000 and time.monotonic() < deadline:
        started = time.perf_counter()
        answers.append(say())
        latencies.append(time.perf_counter() - started)
        if workers_serving_the_edit() == workers and answers[-20:] == [new] * 20:
            break
    assert workers_serving_the_edit() == workers
    assert answers[-20:] == [new] * 20
    reload_time = max(r["duration_ms"] for r in reloads_since(gunicorn, offset)) / 1000
    assert reload_time > 0.3, f"a reload too fast to show anything: {reload_time:.3f} s"
    # Had a request done the reload, it would have taken the reload's time at least.
    assert max(latencies) < reload_time / 2, (max(latencies), reload_time)
