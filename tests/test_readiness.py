"""Honest readiness: /readyz says when the database lacks the code's schema, and every request
that needs it answers 503 (never 200, never 500) with one log line saying what to run.

In process on both databases, then on real gunicorn started without `flask db upgrade`.
"""

import json
import shutil

import pytest
import requests
from sqlalchemy import text

from backend import create_app
from backend.store.db import db, upgrade_database
from tests.answers import error_message
from tests.leaks import assert_no_full_number
from tests.servers import ROOT, Gunicorn, init_db

FIRST, HEAD = "f38212f029dd", "d41c7a9e3b62"
MISSING = "schema missing: run `flask db upgrade`"
ANSWER = {"error": "database schema missing: run `flask db upgrade`"}
TIMEOUT = 10  # seconds per request: a guard against a hung server


@pytest.fixture
def bare_app(database_url, secrets, tmp_path):
    """The app on an empty database, serving copies of the shipped tenants and catalogs."""
    shutil.copytree(ROOT / "tenants", tmp_path / "tenants")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TENANTS_DIR": str(tmp_path / "tenants"),
            "LOCALES_DIR": str(tmp_path / "locales"),
        }
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def readyz(app, tmp_path):
    """/readyz's status and body; no absolute path of the server in it."""
    response = app.test_client().get("/readyz")
    body = response.get_data(as_text=True)
    for where in (str(tmp_path), str(ROOT)):
        assert where not in body, body
    return response.status_code, response.get_json()


def test_readyz_on_an_empty_database_says_the_schema_is_missing(bare_app, tmp_path):
    status, body = readyz(bare_app, tmp_path)
    assert status == 503 and body["status"] == "not ready"
    assert (body["database"], body["schema"], body["reason"]) == ("ok", None, MISSING)


def test_readyz_behind_the_code_says_where_it_is_and_what_to_run(bare_app, tmp_path):
    with bare_app.app_context():
        upgrade_database(FIRST)
    status, body = readyz(bare_app, tmp_path)
    assert status == 503 and body["schema"] == FIRST
    assert body["reason"] == f"schema behind: at {FIRST}, code needs {HEAD}: run `flask db upgrade`"

    with bare_app.app_context():
        upgrade_database()
    status, body = readyz(bare_app, tmp_path)
    assert status == 200 and body["status"] == "ready"
    assert (body["database"], body["schema"]) == ("ok", HEAD) and "reason" not in body


def test_readyz_on_tables_made_before_migrations_is_behind(bare_app, tmp_path):
    with bare_app.app_context():
        db.create_all()  # what `flask init-db` did before migrations
    status, body = readyz(bare_app, tmp_path)
    assert status == 503 and body["schema"] is None
    assert body["reason"] == (
        "schema behind: at no revision (tables made before migrations), "
        f"code needs {HEAD}: run `flask db upgrade`"
    )


def test_readyz_on_a_schema_a_newer_release_migrated_stays_ready(bare_app, tmp_path):
    """A rolling deploy upgrades first: the older instances keep serving until replaced."""
    with bare_app.app_context():
        upgrade_database()
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'"))
    status, body = readyz(bare_app, tmp_path)
    assert status == 200 and body["schema"] == "a1b2c3d4e5f6"
    ahead = f"schema ahead: at a1b2c3d4e5f6, unknown to this code (its head: {HEAD})"
    assert body["reason"] == ahead


def test_readyz_refusals_name_files_not_where_the_server_keeps_them(bare_app, tmp_path):
    with bare_app.app_context():
        upgrade_database()
    tenants = tmp_path / "tenants"
    plomberie = tenants / "plomberie.yaml"
    edited = plomberie.read_text(encoding="utf-8").replace("id: plomberie-dupont", "id: demo")
    plomberie.write_text(edited, encoding="utf-8")
    bare_app.extensions["tenants"].live.load()
    status, body = readyz(bare_app, tmp_path)
    assert status == 200
    (refusal,) = body["refused"]
    assert refusal["problem"] == "tenant id is already claimed by demo.yaml"
    assert "more" not in refusal  # one problem: said once

    # A file with several problems lists them all, not the first alone.
    edited = edited.replace("spoken_digits: 4", "spoken_digits: 9").replace("name:", "nam:")
    plomberie.write_text(edited, encoding="utf-8")
    bare_app.extensions["tenants"].live.load()
    (refusal,) = readyz(bare_app, tmp_path)[1]["refused"]
    keys = [refusal["key"], *(more["key"] for more in refusal.get("more", []))]
    assert {"nam", "name", "masking.spoken_digits"} <= set(keys), refusal

    shutil.rmtree(tenants)  # a folder gone (a deploy swapping it)
    bare_app.extensions["tenants"].live.load()
    status, body = readyz(bare_app, tmp_path)
    folder = [r for r in body["refused"] if r["key"] == "(folder)"]
    assert folder and folder[0]["problem"] == "cannot be read: No such file or directory"


def test_readyz_masks_a_number_typed_in_a_file_and_gives_its_line(bare_app, tmp_path):
    """/readyz answers anyone: a number pasted as a key in a tenant file or as a catalog
    entry's key is masked there, and the tenant's problem names the key's own line."""
    with bare_app.app_context():
        upgrade_database()
    demo = tmp_path / "tenants" / "demo.yaml"
    text = demo.read_text(encoding="utf-8").rstrip("\n") + "\n+33612345670: 1\n"
    demo.write_text(text, encoding="utf-8")
    regional = tmp_path / "locales" / "fr_BE" / "LC_MESSAGES" / "messages.po"
    with regional.open("a", encoding="utf-8") as handle:
        handle.write('\nmsgctxt "0612345670"\nmsgid "Au revoir."\nmsgstr "Salut."\n')
    bare_app.extensions["tenants"].live.load()
    response = bare_app.test_client().get("/readyz")
    assert_no_full_number(response.get_data(as_text=True), "/readyz")
    refused = response.get_json()["refused"]
    tenant = next(r for r in refused if r.get("tenant") == "demo")
    assert (tenant["key"], tenant["line"]) == ("XXXXXXXXX70", text.count("\n"))
    assert tenant["problem"] == "unknown key"
    catalog = next(r for r in refused if r.get("catalogs"))
    assert (catalog["file"], catalog["key"]) == ("fr_BE/LC_MESSAGES/messages.po", "XXXXXXXX70")


def post(client, path, body, headers):
    response = client.post(path, json=body, headers=headers)
    assert_no_full_number(response.get_data(as_text=True), "an HTTP answer")
    return response


@pytest.mark.parametrize(
    "path, payload",
    [
        ("/api/vapi/demo/webhook", "status-update.ended"),
        ("/api/vapi/demo/webhook", "end-of-call-report"),
        ("/api/vapi/demo/webhook", "tool-calls"),
        ("/api/vapi/webhook", "status-update.ended"),
        ("/api/vapi/demo/chat/completions", "chat-completions.request"),
    ],
)
def test_a_request_that_needs_the_missing_schema_answers_503_and_logs_one_line(
    bare_app, demo_headers, vapi_payload, log_events, path, payload
):
    response = post(bare_app.test_client(), path, vapi_payload(payload), demo_headers)
    assert response.status_code == 503 and error_message(response) == ANSWER["error"]
    (line,) = [e for e in log_events() if e["level"] in ("warning", "error")]
    assert line["event"] == "DATABASE_SCHEMA_MISSING"
    assert line["reason"].endswith("run `flask db upgrade`")


def test_an_assistant_request_without_the_schema_is_refused_in_words(
    bare_app, demo_headers, vapi_payload, log_events
):
    """Vapi's assistant-request always gets its answer: the spoken apology ends the call."""
    response = post(
        bare_app.test_client(),
        "/api/vapi/demo/webhook",
        vapi_payload("assistant-request"),
        demo_headers,
    )
    assert set(response.get_json()) == {"error"}
    events = [e["event"] for e in log_events() if e["level"] in ("warning", "error")]
    assert events == ["DATABASE_SCHEMA_MISSING", "ASSISTANT_REQUEST_FAILED"]


@pytest.mark.slow
def test_gunicorn_without_the_schema_is_not_ready_until_upgraded(
    database_url, tmp_path, vapi_payload
):
    """Started from another directory than the repository's: the migrations are found anyway."""
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    shutil.copy(ROOT / "tenants" / "demo.yaml", tenants / "demo.yaml")
    secret = "readiness-test-secret"
    env = {
        "DATABASE_URL": database_url,
        "TENANTS_DIR": str(tenants),
        "VAPI_SECRET_DEMO": secret,
        "PYTHONUNBUFFERED": "1",
    }
    headers = {"X-Vapi-Secret": secret}
    server = Gunicorn(
        "wsgi:app",
        env=env,
        workers=2,
        ready_path="/healthz",
        extra_args=["--pythonpath", str(ROOT)],
        cwd=tmp_path,
    )
    server.start(timeout=60)
    answers = []
    try:
        with requests.Session() as http:

            def post(message):
                answer = http.post(
                    server.url + "/api/vapi/demo/webhook",
                    json=vapi_payload(message),
                    headers=headers,
                    timeout=TIMEOUT,
                )
                answers.append(answer)
                return answer

            for _ in range(4):  # both workers
                ready = http.get(server.url + "/readyz", timeout=TIMEOUT)
                answers.append(ready)
                assert ready.status_code == 503 and ready.json()["reason"] == MISSING
            for message in ("status-update.in-progress", "status-update.ended"):
                refused = post(message)
                assert refused.status_code == 503 and refused.json() == ANSWER, message

            init_db(env)  # `flask db upgrade`, in its own process

            for _ in range(4):
                ready = http.get(server.url + "/readyz", timeout=TIMEOUT)
                answers.append(ready)
                assert ready.status_code == 200 and ready.json()["schema"] == HEAD
            for message in ("status-update.in-progress", "status-update.ended"):
                stored = post(message)
                assert stored.status_code == 200 and stored.json() == {}, message
        for answer in answers:
            assert_no_full_number(answer.text, "an HTTP answer from gunicorn")
            assert str(tmp_path) not in answer.text and str(ROOT) not in answer.text
    finally:
        server.stop()
        output = server.output()
        server.cleanup()

    assert_no_full_number(output, "gunicorn's stdout/stderr")
    events = [json.loads(line) for line in output.splitlines() if line.startswith('{"ts"')]
    missing = [e for e in events if e["event"] == "DATABASE_SCHEMA_MISSING"]
    # One line for each request the missing schema refused (the two status-updates).
    assert len(missing) == 2
    assert all(line["reason"].endswith("run `flask db upgrade`") for line in missing)
    assert not [e for e in events if e["event"] in ("REQUEST_FAILED", "DATABASE_UNAVAILABLE")]
    assert "Traceback" not in output
