"""A broken tenant file or catalog stops a server's start, and costs only itself afterwards.

Under gunicorn the start is checked once, in the master (gunicorn.conf.py); a worker gunicorn
starts while the server runs (here: after a SIGKILL) loads as a live reload does, from what the
master loaded. Real gunicorn served as `make run` serves it. Every wait polls for its condition
up to a deadline that leaves room for a loaded machine; nothing asserts on time.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from backend.tenants import boot
from backend.tenants.store import TenantConfigError
from tests.leaks import assert_no_full_number
from tests.servers import GUNICORN_CONF, ROOT, SERVE_AS_MAKE_RUN, Gunicorn, free_port, workers_of
from tests.test_live_reload import RELOAD_INTERVAL_S, chat_body, edit

WAIT = 60.0  # a worker's boot on a busy 2-core machine, with room to spare
GOOD_TENANTS = ("demo", "plomberie-dupont")


def break_tenants(tenants, _locales):
    """A new tenant file with a misspelt key (and no id): refused, it serves nothing."""
    saving = tenants / "typo.yaml.saving"  # saved whole, as editors do
    saving.write_text("maskng: {spoken_digits: 2}\n", encoding="utf-8")
    os.replace(saving, tenants / "typo.yaml")
    return "typo.yaml"


def break_catalog(_tenants, locales):
    """A translator's typo in a placeholder: the whole catalog edit is refused."""
    edit(locales / "fr" / "LC_MESSAGES" / "messages.po", "{last_two}", "{last_tw}")
    return "fr/LC_MESSAGES/messages.po"


def break_with_a_date(tenants, _locales):
    """A value YAML reads as a date that does not exist: no parser error, yet no value."""
    saving = tenants / "dated.yaml.saving"
    saving.write_text("id: dated\nname: Daté\nsince: 2024-02-30\n", encoding="utf-8")
    os.replace(saving, tenants / "dated.yaml")
    return "dated.yaml"


BREAKS = pytest.mark.parametrize(
    "breaks",
    [break_tenants, break_catalog, break_with_a_date],
    ids=["tenant", "catalog", "date"],
)


def refuses(answer, name):
    return any(refusal["file"] == name for refusal in answer.get("refused", []))


def until(probe, deadline=WAIT):
    """`probe()` until it returns something true, for up to `deadline` seconds; its last value."""
    end = time.monotonic() + deadline
    while not (result := probe()) and time.monotonic() < end:
        time.sleep(0.1)
    return result


def gunicorn_env(database_url, secrets, folders):
    tenants, locales = folders
    return {
        "DATABASE_URL": database_url,
        "TENANTS_DIR": str(tenants),
        "LOCALES_DIR": str(locales),
        "FLASK_RUN_FROM_CLI": "",
        "CONFIG_RELOAD_INTERVAL_S": str(RELOAD_INTERVAL_S),
        **secrets,
    }


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@BREAKS
def test_a_worker_started_after_a_refused_edit_serves_the_rest(
    app, database_url, secrets, folders, vapi_payload, breaks
):
    """`app` made the schema on the database; gunicorn serves its own app on the copies."""
    env = gunicorn_env(database_url, secrets, folders)
    headers = {
        "demo": {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]},
        "plomberie-dupont": {"X-Vapi-Secret": secrets["VAPI_SECRET_PLOMBERIE"]},
    }

    with Gunicorn(
        "wsgi:app",
        env=env,
        workers=2,
        threads=2,
        ready_path="/readyz",
        extra_args=SERVE_AS_MAKE_RUN,
    ) as server:

        def say(tenant):
            response = requests.post(
                f"{server.url}/api/vapi/{tenant}/chat/completions",
                json=chat_body(vapi_payload),
                headers=headers[tenant],
                timeout=10,
            )
            assert response.status_code == 200, (tenant, response.status_code, response.text)
            return response.json()["choices"][0]["message"]["content"]

        def readyz_of_each(pids, check):
            """/readyz on new connections (each worker has its socket: the kernel spreads them)
            until every worker of `pids` answered and passed `check`; the answers by pid."""
            answers = {}

            def probe():
                try:  # a worker still booting holds the connection; one being killed cuts it
                    answer = requests.get(f"{server.url}/readyz", timeout=30).json()
                except requests.RequestException:
                    return False
                if answer["worker"] in pids and check(answer):
                    answers[answer["worker"]] = answer
                return set(answers) == set(pids)

            until(probe)
            return answers

        master = server.process.pid
        first = workers_of(master)
        assert len(first) == 2
        # A valid edit after the start, served by every worker: a worker started later must
        # start from it, not from the server's start (the master reloads before each fork).
        started = requests.get(f"{server.url}/readyz", timeout=30).json()["config"]
        edit(folders[0] / "plomberie.yaml", "spoken_digits: 4", "spoken_digits: 3")
        edited = readyz_of_each(first, lambda r: r["config"] != started)
        assert set(edited) == set(first), "the valid edit was not applied by every worker"
        # The master reloads on the same interval, and cannot be asked: twenty of them.
        time.sleep(20 * RELOAD_INTERVAL_S)
        before = {tenant: say(tenant) for tenant in GOOD_TENANTS}
        name = breaks(*folders)
        # ... and the same file broken since: its last good version is the edit, not the start.
        edit(folders[0] / "plomberie.yaml", "spoken_digits: 3", "spoken_digits: 9")
        refused_live = readyz_of_each(first, lambda r: refuses(r, name))
        assert set(refused_live) == set(first), "the edit was not refused live by every worker"

        victim = first[0]
        os.kill(victim, signal.SIGKILL)

        def replaced():
            pids = workers_of(master)
            return pids if len(pids) == 2 and victim not in pids else None

        current = until(replaced)
        assert current, f"gunicorn did not replace worker {victim}: {server.output()[-3000:]}"
        (replacement,) = set(current) - set(first)

        # The replacement boots, serves, and refuses the same file; the server stayed up.
        answers = readyz_of_each(
            current, lambda r: r["status"] == "ready" and r["tenants"] == 2 and refuses(r, name)
        )
        assert set(answers) == set(current), f"{answers} {server.output()[-3000:]}"
        assert len({answer["config"] for answer in answers.values()}) == 1  # both serve the same
        assert server.process.poll() is None
        assert "Worker failed to boot" not in server.output()
        # Said in the replacement's own log lines too, after its boot line.
        booted = f"Booting worker with pid: {replacement}"
        assert until(lambda: "TENANT_CONFIG_REJECTED" in server.output().partition(booted)[2])

        # Real requests for each good tenant, spread over both workers by the kernel: the same
        # sentences as before the broken edit (a refused catalog keeps the last good one).
        for tenant, sentence in before.items():
            assert [say(tenant) for _ in range(12)] == [sentence] * 12
        assert_no_full_number(server.output(), "gunicorn's output")


@pytest.mark.slow
@BREAKS
def test_gunicorn_does_not_start_on_a_broken_file(tmp_path, secrets, folders, breaks):
    """The deploy fails loudly and early: the master stops before it binds or forks a worker."""
    name = breaks(*folders)
    env = {
        **os.environ,
        **gunicorn_env(f"sqlite:///{tmp_path / 'calls.db'}", secrets, folders),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF)]
    command += ["--bind", f"127.0.0.1:{free_port()}", "--workers", "2", "--no-control-socket"]
    done = subprocess.run(
        [*command, *SERVE_AS_MAKE_RUN, "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4, done.stderr[-3000:]  # gunicorn's "App failed to load"
    assert "configuration error: invalid configuration:" in done.stderr
    assert f"{name}:" in done.stderr
    assert "Booting worker" not in done.stderr and "Traceback" not in done.stderr


@BREAKS
def test_an_app_built_under_a_checked_start_loads_leniently(
    build_app, folders, monkeypatch, breaks
):
    """In process: what gunicorn's worker does once its master checked the start."""
    tenants, locales = folders
    monkeypatch.setattr(boot, "_live", None)  # restored after the test
    config = {"TENANTS_DIR": str(tenants), "LOCALES_DIR": str(locales)}
    boot.check_at_start(tenants, locales)
    name = breaks(tenants, locales)
    with pytest.raises(TenantConfigError):
        boot.check_at_start(tenants, locales)  # what a new server's start would say

    client = build_app(**config).test_client()
    answer = client.get("/readyz").get_json()
    assert answer["tenants"] == 2 and refuses(answer, name)
    # Only for the folders the master checked: others start under the strict rule.
    assert boot.checked_at_start(tenants / "elsewhere", locales) is None


def test_a_worker_whose_load_fails_outright_serves_what_its_master_loaded(
    build_app, folders, monkeypatch
):
    """Whatever the load raises in a worker of a checking master, the worker boots on the
    master's version (a worker that cannot boot stops the whole server) and says why."""
    tenants, locales = folders
    monkeypatch.setattr(boot, "_live", None)
    boot.check_at_start(tenants, locales)

    def fails(_self):
        raise RuntimeError("a load that fails outright")

    monkeypatch.setattr("backend.tenants.live.LiveConfiguration.load", fails)
    config = {"TENANTS_DIR": str(tenants), "LOCALES_DIR": str(locales), "TENANTS_RELOAD": False}
    answer = build_app(**config).test_client().get("/readyz").get_json()
    assert answer["tenants"] == 2
