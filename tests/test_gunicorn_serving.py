"""Real gunicorn, two workers, real HTTP: a call played on wsgi:app, on SQLite and PostgreSQL."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.leaks import assert_no_full_number
from tests.servers import ROOT, Gunicorn

SECRET = "gunicorn-test-secret"
HEADERS = {"X-Vapi-Secret": SECRET}
CALL_ID = "f60f6b23-0697-4e07-a137-2ca86f93a8da"
CONFIRM_14 = "J'ai un numéro qui se termine par 14. C'est bien le vôtre ? Dites oui ou non."
COLLECT = "Je n'ai pas votre numéro qui s'affiche. Pouvez-vous me le donner ?"
TIMEOUT = 10  # seconds per request: a guard against a hung server, not a speed check


def server_env(database_url, tenants_dir):
    return {
        "DATABASE_URL": database_url,
        "TENANTS_DIR": str(tenants_dir),
        "VAPI_SECRET_DEMO": SECRET,
        "PYTHONUNBUFFERED": "1",
    }


def init_db(env):
    """`flask --app wsgi init-db`, twice: the second run must change nothing."""
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "init-db"],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Database ready." in done.stdout


def streamed_sentence(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    lines = [line for line in response.text.split("\n") if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


@pytest.fixture
def tenants_dir(tmp_path):
    """Only the demo tenant: readiness then proves TENANTS_DIR is what the server reads."""
    folder = tmp_path / "tenants"
    folder.mkdir()
    shutil.copy(ROOT / "tenants" / "demo.yaml", folder / "demo.yaml")
    return folder


@pytest.mark.slow
def test_two_workers_serve_a_call(database_url, tenants_dir, vapi_payload):
    env = server_env(database_url, tenants_dir)
    init_db(env)
    server = Gunicorn(
        "wsgi:app",
        env=env,
        workers=2,
        ready_path="/readyz",
        extra_args=["--access-logfile", "-"],
    )
    server.start(timeout=60)
    try:
        with requests.Session() as http:
            ready = http.get(server.url + "/readyz", timeout=TIMEOUT)
            assert ready.status_code == 200 and ready.json()["tenants"] == 1

            answers = []
            status = http.post(
                server.url + "/api/vapi/demo/webhook",
                json=vapi_payload("status-update.in-progress"),
                headers=HEADERS,
                timeout=TIMEOUT,
            )
            answers.append(status)
            assert status.status_code == 200 and status.json() == {}

            # Several turns, so both workers answer from what the database holds.
            chat = vapi_payload("chat-completions.request")
            assert chat["stream"] is True
            for _ in range(6):
                turn = http.post(
                    server.url + "/api/vapi/demo/chat/completions",
                    json=chat,
                    headers=HEADERS,
                    timeout=TIMEOUT,
                )
                answers.append(turn)
                assert streamed_sentence(turn) == CONFIRM_14

            withheld = vapi_payload("chat-completions.request")
            withheld["call"]["id"] = "a-withheld-call"
            withheld["call"]["customer"] = {"number": "anonymous"}
            del withheld["customer"]
            turn = http.post(
                server.url + "/api/vapi/demo/chat/completions",
                json=withheld,
                headers=HEADERS,
                timeout=TIMEOUT,
            )
            answers.append(turn)
            assert streamed_sentence(turn) == COLLECT

            refused = http.post(
                server.url + "/api/vapi/demo/webhook",
                json=vapi_payload("status-update.in-progress"),
                timeout=TIMEOUT,
            )
            answers.append(refused)
            assert refused.status_code == 401

            bad = http.post(
                server.url + "/api/vapi/demo/webhook",
                data=b"{not json",
                headers={**HEADERS, "Content-Type": "application/json"},
                timeout=TIMEOUT,
            )
            answers.append(bad)
            assert bad.status_code == 400 and "error" in bad.json()
        for answer in answers:
            assert_no_full_number(answer.text, "an HTTP answer from gunicorn")
    finally:
        server.stop()
        output, access_log = server.stderr(), server.stdout()
        server.cleanup()

    assert_no_full_number(output + access_log, "gunicorn's stdout/stderr")
    # The app's JSON lines go to stderr beside gunicorn's own; stdout holds the access log alone.
    assert '"POST /api/vapi/demo/webhook HTTP/1.1" 200' in access_log
    assert '"event"' not in access_log
    events = [json.loads(line) for line in output.splitlines() if line.startswith('{"ts"')]
    persisted = [e for e in events if e["event"] == "CALLER_ID_PERSISTED"]
    assert [(e["call_id"], e["phone_masked"]) for e in persisted] == [(CALL_ID, "+33XXXXXXX14")]
    assert not [e for e in events if e["event"] == "REQUEST_FAILED"]
    assert "Traceback" not in output

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT call_id, caller_number FROM calls ORDER BY call_id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("a-withheld-call", None),
        (CALL_ID, "+33536495614"),
    ]
