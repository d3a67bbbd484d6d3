"""Live reload: saved edits apply without a restart, refused edits keep the last good version.

Through a running app (the test client) and through real gunicorn with two workers. Each
process's reload thread applies a saved edit within its interval (1 s) and the reload itself;
every wait polls for the expected answer (each POLL seconds), up to WAIT seconds, which leaves
room for a loaded machine. Nothing asserts on time.
"""

import json
import os
import socket
import time

import pytest
import requests

from backend import create_app
from backend.store.db import db, init_db
from backend.tenants import live as live_module
from backend.tenants.live import LiveConfiguration
from backend.wording.catalogs import Catalogs
from tests.leaks import assert_no_full_number, random_id
from tests.servers import Gunicorn

WAIT = 5.0
POLL = 0.1
CONFIRM = "VOCAL_CONTACT_CONFIRM_CALLER_ID"
# Seconds between looks for edits (1 s when served): the polls below see each edit sooner.
RELOAD_INTERVAL_S = 0.05


@pytest.fixture
def live_client(database_url, secrets, folders):
    tenants, locales = folders
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TENANTS_DIR": str(tenants),
            "LOCALES_DIR": str(locales),
            "CONFIG_RELOAD_INTERVAL_S": RELOAD_INTERVAL_S,
        }
    )
    with app.app_context():
        init_db()
    yield app.test_client()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def expected(locales, variant, locale="fr_FR", key=CONFIRM):
    """What the catalogs on disk say for the demo caller (last two digits 14)."""
    return Catalogs(locales).sentence(key, locale, variant, last_two="14")


def chat_body(vapi_payload):
    """A Custom LLM request opening a fresh call: the agent's first sentence."""
    body = vapi_payload("chat-completions.request")
    body["stream"] = False
    body["call"]["id"] = random_id("reload", 32)
    return body


def edit(path, old, new):
    """Save an edit as editors do, whole (a reload thread may read at any moment)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    saved = path.with_name(path.name + ".saving")
    saved.write_text(text.replace(old, new), encoding="utf-8")
    os.replace(saved, path)


def poll(probe, done):
    """Call `probe()` until `done(result)`, for up to WAIT seconds; the last result."""
    deadline = time.monotonic() + WAIT
    result = probe()
    while not done(result) and time.monotonic() < deadline:
        time.sleep(POLL)
        result = probe()
    return result


class InProcess:
    """The app through its test client."""

    def __init__(self, client, headers, vapi_payload):
        self.client, self.headers, self.vapi_payload = client, headers, vapi_payload

    def say(self, tenant="demo"):
        """What the tenant's agent answers now: the sentence, or the HTTP status."""
        headers = self.headers if tenant == "demo" else {"X-Vapi-Secret": "test-secret-plomberie"}
        response = self.client.post(
            f"/api/vapi/{tenant}/chat/completions",
            json=chat_body(self.vapi_payload),
            headers=headers,
        )
        if response.status_code != 200:
            return response.status_code
        return response.get_json()["choices"][0]["message"]["content"]

    def ready(self):
        return self.client.get("/readyz").get_json()


def refused_tenants(readyz):
    return {r.get("tenant") for r in readyz.get("refused", []) if "tenant" in r}


def folder_refusal(readyz):
    """The refusal of the tenants folder as a whole, or {}."""
    return next((r for r in readyz.get("refused", []) if r.get("key") == "(folder)"), {})


def test_edit_applies_then_a_broken_edit_keeps_the_last_good(
    live_client, folders, demo_headers, vapi_payload, no_full_number_in_logs
):
    tenants, locales = folders
    app = InProcess(live_client, demo_headers, vapi_payload)
    assert app.say() == expected(locales, "standard")

    edit(tenants / "demo.yaml", "variant: standard", "variant: short")
    assert poll(app.say, lambda s: s == expected(locales, "short")) == expected(locales, "short")

    # A misspelt key: refused, the last good version (short) keeps serving.
    edit(tenants / "demo.yaml", "masking:", "maskng:")
    readyz = poll(app.ready, lambda r: "demo" in refused_tenants(r))
    assert readyz["status"] == "ready"
    (refusal,) = readyz["refused"]
    assert refusal == {
        "tenant": "demo",
        "file": "demo.yaml",
        "line": 7,
        "key": "maskng",
        "problem": "unknown key, did you mean masking?",
    }
    assert app.say() == expected(locales, "short")

    def logged_rejection(rejected):
        return any(
            r["event"] == "TENANT_CONFIG_REJECTED"
            and r["file"] == str(tenants / "demo.yaml")
            and r["line"] == 7
            and r["problem"] == "unknown key, did you mean masking?"
            for r in rejected
        )

    # The reload thread logs just after the swap /readyz saw: the line may come a moment later.
    rejected = poll(
        lambda: [json.loads(x) for x in no_full_number_in_logs if "REJECTED" in x], logged_rejection
    )
    assert logged_rejection(rejected), rejected

    # Fixed: the new version applies and the refusal is gone.
    edit(tenants / "demo.yaml", "maskng:", "masking:")
    edit(tenants / "demo.yaml", "variant: short", "variant: warm")
    assert poll(app.say, lambda s: s == expected(locales, "warm")) == expected(locales, "warm")
    assert "refused" not in app.ready()


def test_one_broken_file_does_not_hold_back_the_others(
    live_client, folders, demo_headers, vapi_payload
):
    tenants, locales = folders
    app = InProcess(live_client, demo_headers, vapi_payload)
    edit(tenants / "demo.yaml", "{spoken_digits: 2,", "{spoken_digits: 9,")
    edit(tenants / "plomberie.yaml", "variant: warm", "variant: short")
    belgian_short = Catalogs(locales).sentence(CONFIRM, "fr_BE", "short", last_two="12 34")
    # The plomberie caller in the payload is the demo caller: its last four digits.
    belgian_short = belgian_short.replace("12 34", "56 14")
    assert poll(lambda: app.say("plomberie-dupont"), lambda s: s == belgian_short) == belgian_short
    readyz = poll(app.ready, lambda r: "demo" in refused_tenants(r))
    assert readyz["refused"][0]["key"] == "masking.spoken_digits"
    assert app.say() == expected(locales, "standard")


def test_removed_file_stops_its_tenant_and_a_new_broken_file_serves_nothing(
    live_client, folders, demo_headers, vapi_payload
):
    tenants, _ = folders
    app = InProcess(live_client, demo_headers, vapi_payload)
    assert isinstance(app.say("plomberie-dupont"), str)
    (tenants / "plomberie.yaml").unlink()
    assert poll(lambda: app.say("plomberie-dupont"), lambda s: s == 404) == 404
    saving = tenants / "new.yaml.saving"  # saved whole, as edit() does
    saving.write_text("id: new\nname: New\n  region: FR\n", encoding="utf-8")
    os.replace(saving, tenants / "new.yaml")
    readyz = poll(app.ready, lambda r: r.get("refused"))
    assert readyz["refused"][0]["tenant"] is None and readyz["refused"][0]["file"] == "new.yaml"
    assert readyz["refused"][0]["key"] == "(yaml)" and readyz["refused"][0]["line"] == 3

    # The whole folder emptied, then gone (a deploy swapping it): the tenants stay as they
    # were, and readyz says why.
    # demo.yaml last: removed before new.yaml, it would stop demo (a removed file stops its
    # tenant) and leave nothing to keep.
    for path in sorted(tenants.iterdir(), key=lambda path: path.name == "demo.yaml"):
        path.unlink()
    readyz = poll(app.ready, folder_refusal)
    assert "no tenant file found" in folder_refusal(readyz)["problem"]
    assert isinstance(app.say(), str)
    tenants.rmdir()
    readyz = poll(app.ready, lambda r: "cannot be read" in folder_refusal(r).get("problem", ""))
    assert isinstance(app.say(), str)


def test_a_number_claimed_twice_is_refused_on_reload(
    live_client, folders, demo_headers, vapi_payload
):
    tenants, _ = folders
    app = InProcess(live_client, demo_headers, vapi_payload)
    edit(tenants / "plomberie.yaml", '["+3223001234"]', '["+3223001234", "+33180001234"]')
    readyz = poll(app.ready, lambda r: "plomberie-dupont" in refused_tenants(r))
    assert readyz["refused"][0]["key"] == "numbers"
    assert "+33XXXXXXX34" in readyz["refused"][0]["problem"]
    body = vapi_payload("status-update.in-progress")
    # The shared URL still routes the demo number to demo, which kept its claim.
    response = live_client.post("/api/vapi/webhook", json=body, headers=demo_headers)
    assert response.status_code == 200


def test_catalog_edit_applies_and_a_broken_catalog_is_refused(
    live_client, folders, demo_headers, vapi_payload, no_full_number_in_logs
):
    _, locales = folders
    app = InProcess(live_client, demo_headers, vapi_payload)
    base = locales / "fr" / "LC_MESSAGES" / "messages.po"
    old = Catalogs(locales).template(CONFIRM, "fr_FR", "standard")
    edit(base, f'msgstr "{old}"', 'msgstr "Votre numéro se termine par {last_two}, exact ?"')
    new = "Votre numéro se termine par 14, exact ?"
    assert poll(app.say, lambda s: s == new) == new

    # The translator drops the placeholder: refused, the previous catalogs keep serving.
    edit(base, "se termine par {last_two}, exact", "se termine par XX, exact")
    readyz = poll(app.ready, lambda r: r.get("refused"))
    (refusal,) = readyz["refused"]
    assert refusal["catalogs"] == "edit refused" and refusal["file"] == "fr/LC_MESSAGES/messages.po"
    assert refusal["key"] == CONFIRM and "missing {last_two}" in refusal["problem"]
    assert app.say() == new
    logged = poll(
        lambda: [json.loads(line) for line in no_full_number_in_logs if "REJECTED" in line],
        lambda lines: any(r["file"] == str(base) and r["key"] == CONFIRM for r in lines),
    )
    assert any(r["file"] == str(base) and r["key"] == CONFIRM for r in logged), logged

    # Every catalog gone (a folder swapped mid-deploy): refused too. The base catalog goes last:
    # a reload between two deletions then sees variants missing, never demo's own sentences.
    for po in sorted(locales.glob("*/LC_MESSAGES/*.po"), key=lambda po: po == base):
        po.unlink()
    readyz = poll(app.ready, lambda r: any(x["key"] == "(folder)" for x in r.get("refused", [])))
    assert any(x["key"] == "(folder)" for x in readyz["refused"])
    assert app.say() == new


def test_the_reload_interval_is_a_setting(
    tmp_path, secrets, folders, demo_headers, vapi_payload, monkeypatch
):
    """One second unless CONFIG_RELOAD_INTERVAL_S says otherwise; within it, an edit waits."""
    tenants, locales = folders
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'calls.db'}",
        "TENANTS_DIR": str(tenants),
        "LOCALES_DIR": str(locales),
    }
    monkeypatch.delenv("CONFIG_RELOAD_INTERVAL_S", raising=False)
    apps = [create_app(config)]
    monkeypatch.setenv("CONFIG_RELOAD_INTERVAL_S", "3600")
    apps.append(create_app(config))
    try:
        assert [app.config["CONFIG_RELOAD_INTERVAL_S"] for app in apps] == [1.0, 3600.0]
        with apps[1].app_context():
            init_db()
        hourly = InProcess(apps[1].test_client(), demo_headers, vapi_payload)
        assert hourly.say() == expected(locales, "standard")  # starts the reload thread
        watcher = apps[1].extensions["tenants"].watcher
        assert poll(lambda: watcher.checks, bool)  # its first look at the files is done
        edit(tenants / "demo.yaml", "variant: standard", "variant: short")
        assert [hourly.say() for _ in range(3)] == [expected(locales, "standard")] * 3
    finally:
        for app in apps:
            with app.app_context():
                db.engine.dispose()


def readyz_of_both_workers(port):
    """/readyz from each of two sync workers: each holds one unfinished request, then both end.

    A sync worker reads the request it accepted before it accepts another, so two connections
    opened at once are most often served by the two workers: the caller retries until the
    answers show two pids (the kernel otherwise hands most connections to one worker).
    """
    head, tail = b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"Connection: close\r\n\r\n"
    connections = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
    try:
        for connection in connections:
            connection.sendall(head)
        time.sleep(0.2)  # not a measure: gives each worker the time to accept one of them
        answers = []
        for connection in connections:
            connection.sendall(tail)
            raw = b""
            while chunk := connection.recv(65536):
                raw += chunk
            answers.append(json.loads(raw.partition(b"\r\n\r\n")[2]))
        return answers
    finally:
        for connection in connections:
            connection.close()


@pytest.fixture
def served(app, database_url, secrets, folders):
    """Real gunicorn, two workers, on copies of the tenants and catalogs (database ready)."""
    tenants, locales = folders
    env = {
        "DATABASE_URL": database_url,
        "TENANTS_DIR": str(tenants),
        "LOCALES_DIR": str(locales),
        "FLASK_RUN_FROM_CLI": "",
        "CONFIG_RELOAD_INTERVAL_S": str(RELOAD_INTERVAL_S),
        **secrets,
    }
    with Gunicorn("wsgi:app", env=env, workers=2, ready_path="/readyz") as server:
        yield server
        assert_no_full_number(server.output(), "gunicorn's output")


@pytest.mark.slow
# The tenants' files are what reloads: the database is not part of it.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_gunicorn_worker_reloads(served, folders, demo_headers, vapi_payload):
    tenants, locales = folders

    def say(tenant="demo"):
        response = requests.post(
            f"{served.url}/api/vapi/{tenant}/chat/completions",
            json=chat_body(vapi_payload),
            headers=demo_headers,
            timeout=5,
        )
        if response.status_code != 200:
            return response.status_code
        return response.json()["choices"][0]["message"]["content"]

    def every_worker(check):
        """Poll both workers' /readyz until both answers pass `check`."""
        answers = poll(
            lambda: readyz_of_both_workers(served.port),
            lambda a: len({x["worker"] for x in a}) == 2 and all(check(x) for x in a),
        )
        return len({x["worker"] for x in answers}) == 2 and all(check(x) for x in answers)

    def steady(wanted):
        """Once every worker serves the edit, a run of answers (on either worker) all agree."""
        return [say() for _ in range(10)] == [wanted] * 10

    assert say() == expected(locales, "standard")
    first = requests.get(f"{served.url}/readyz", timeout=5).json()["config"]
    edit(tenants / "demo.yaml", "variant: standard", "variant: short")
    short = expected(locales, "short")
    assert poll(say, lambda s: s == short) == short
    assert every_worker(lambda r: r["config"] != first and "refused" not in r)
    assert steady(short)

    edit(tenants / "demo.yaml", "masking:", "maskng:")
    assert every_worker(lambda r: refused_tenants(r) == {"demo"})
    assert steady(short)

    (tenants / "demo.yaml").unlink()
    assert poll(say, lambda s: s == 404) == 404
    assert every_worker(lambda r: r["tenants"] == 1 and "refused" not in r)
    assert steady(404)
    assert "TENANT_CONFIG_REJECTED" in served.output()


def test_an_emptied_folder_keeps_what_it_served_and_a_catalog_edit_still_applies(folders):
    tenants, locales = folders
    live = LiveConfiguration(tenants, locales)
    live.load()
    served = {t.id for t in live.tenants.values()}
    assert served == {"demo", "plomberie-dupont"}
    for path in tenants.iterdir():
        path.unlink()
    edit(locales / "fr" / "LC_MESSAGES" / "short.po", "Oui ou non ?", "Exact ?")
    problems, changed = live.load()
    assert changed and {t.id for t in live.tenants.values()} == served
    assert [(p.key, p.message) for p in problems] == [
        ("(folder)", "no tenant file found: the previous tenants are kept")
    ]
    assert "Exact ?" in live.catalogs.template(CONFIRM, "fr_FR", "short")

    # Catalogs emptied too: the last good ones stay.
    for path in locales.rglob("*.po"):
        path.unlink()
    problems, changed = live.load()
    assert not changed and {t.id for t in live.tenants.values()} == served
    assert "Exact ?" in live.catalogs.template(CONFIRM, "fr_FR", "short")
    assert ("(folder)", "no catalog found: the previous catalogs are kept") in [
        (p.key, p.message) for p in problems
    ]


def test_reading_the_same_files_again_changes_nothing(folders):
    """Each check in the two seconds after an edit reads the files again: one change only."""
    tenants, locales = folders
    live = LiveConfiguration(tenants, locales)
    live.load()
    edit(locales / "fr" / "LC_MESSAGES" / "short.po", "Oui ou non ?", "Exact ?")
    edit(tenants / "demo.yaml", "variant: standard", "variant: short")
    assert live.load()[1] is True
    catalogs, fingerprint = live.catalogs, live.fingerprint
    assert live.load() == ([], False)  # as a check does while an edit settles
    assert live.catalogs is catalogs and live.fingerprint == fingerprint


def test_a_removed_file_stops_its_tenant_once_it_stays_away(folders, monkeypatch):
    """A deploy deletes the files, then copies the new ones: no tenant stops in between."""
    tenants, locales = folders
    clock = [10**12]
    monkeypatch.setattr(live_module, "monotonic_ns", lambda: clock[0])
    live = LiveConfiguration(tenants, locales)
    live.load()
    plomberie = tenants / "plomberie.yaml"
    saved = plomberie.read_text(encoding="utf-8")
    plomberie.unlink()
    assert live.load() == ([], False) and live.directory.get("plomberie-dupont") is not None
    clock[0] += live_module.SETTLE_NS // 2
    plomberie.write_text(saved, encoding="utf-8")  # back in time: it never stopped
    assert live.load()[1] is False and live.directory.get("plomberie-dupont") is not None

    plomberie.unlink()
    live.load()
    clock[0] += live_module.SETTLE_NS
    assert live.load()[1] is True and live.directory.get("plomberie-dupont") is None
    assert live.directory.get("demo") is not None
