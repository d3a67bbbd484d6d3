"""Commands as operators run them, `flask ... > file`: stdout is the data, logs go to stderr.

Each command runs as a real `flask --app wsgi` process, with and without the tenants' secret
variables: stdout must be exactly what the command produces, and no warning about serving (an
unset secret) comes before it. Gunicorn logs the same way. A database that fails ends a command
with one line, not a traceback.
"""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import requests

from backend import create_app
from backend.operators.contacts import COLUMNS
from backend.store.db import db, init_db
from backend.store.models import Call
from backend.store.schema import UPGRADE_HINT
from tests.conftest import TEST_SECRETS
from tests.leaks import assert_no_full_number, watch
from tests.servers import ROOT, Gunicorn, flask_command

UNSET_WARNING = "{} is not set: this tenant refuses every request"
# What would make the commands read something else than the shipped files, or print secrets.
CLEARED = {*TEST_SECRETS, "TENANTS_DIR", "LOCALES_DIR", "FLASK_APP", "PHONE_REF_KEY"}
CALLER = "+33612345614"
SINCE = "2026-11-01"  # as in the README; the test's calls are made now, after it
COMMANDS = {
    "tenants check": ["tenants", "check"],
    "tenants preview": ["tenants", "preview", "demo"],
    "contacts export": [
        "contacts",
        "export",
        "--tenant",
        "demo",
        "--since",
        SINCE,
        "--format",
        "csv",
    ],
    "i18n check": ["i18n", "check"],
    "purge": ["purge"],
}


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A SQLite file with a confirmed demo call and a call of another tenant."""
    url = f"sqlite:///{tmp_path_factory.mktemp('commands') / 'calls.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    now = datetime.now(UTC)
    with app.app_context():
        init_db()
        db.session.add_all(
            [
                Call(
                    tenant_id="demo",
                    call_id="call-export",
                    caller_number=CALLER,
                    state="CONTACT_CONFIRMED",
                    contact_number=CALLER,
                    contact_source="caller_id",
                    contact_confirmed_at=now,
                ),
                Call(tenant_id="plomberie-dupont", call_id="call-other", state="CONTACT_CONFIRM"),
            ]
        )
        db.session.commit()
        db.engine.dispose()
    return url


def flask(database_url, args, secrets):
    """`flask --app wsgi ARGS` in its own process, from the repository, as an operator runs it."""
    env = {name: value for name, value in os.environ.items() if name not in CLEARED}
    env.update(DATABASE_URL=database_url, LOG_LEVEL="INFO", **secrets)
    return flask_command(args, env)


def log_lines(stderr):
    """Every line of stderr as the JSON event it must be."""
    events = []
    for line in stderr.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON log line on stderr: {line!r}")
        assert "event" in events[-1], line
    return events


def assert_data_only(command, stdout, secrets):
    """stdout is exactly what COMMAND produces, without any log line."""
    assert '"event"' not in stdout and not stdout.lstrip().startswith("{"), stdout
    lines = stdout.splitlines()
    unset = [name for name in TEST_SECRETS if name not in secrets]
    if command == "tenants check":
        tenants = len(list((ROOT / "tenants").glob("*.yaml")))
        warnings = [line for line in lines if "warning:" in line]
        assert sorted(name for name in unset for w in warnings if name in w) == sorted(unset)
        assert lines == [
            *warnings,
            f"{tenants} tenant(s) valid in tenants: 0 error(s), {len(unset)} warning(s)",
        ]
    elif command == "tenants preview":
        assert lines[0].startswith("demo (Cabinet Démo): locale fr_FR")
        assert re.fullmatch(r"Example caller number: \+33X+\d\d", lines[1])
        assert "is not set" not in stdout
    elif command == "contacts export":
        rows = list(csv.reader(io.StringIO(stdout, newline="")))
        assert rows[0] == list(COLUMNS)
        (row,) = [dict(zip(COLUMNS, values, strict=True)) for values in rows[1:]]
        assert (row["tenant"], row["call_id"], row["contact_number"]) == (
            "demo",
            "call-export",
            CALLER,
        )
    elif command == "i18n check":
        assert re.fullmatch(r"\d+ catalog\(s\) in locales: 0 problem\(s\)\n", stdout), stdout
    elif command == "purge":
        assert lines[-3:] == [
            "purge: 0 call(s) deleted",
            "purge: 0 seen signature(s) older than 2 hours deleted",
            "purge: 0 ended console session(s) older than 8 hours deleted",
        ]
        assert all(
            re.fullmatch(r"[\w-]+: 0 call\(s\) older than \d+ days deleted.*", line)
            for line in lines[:-3]
        ), lines


@pytest.mark.parametrize("with_secrets", [False, True], ids=["secrets-unset", "secrets-set"])
@pytest.mark.parametrize("command", COMMANDS)
def test_stdout_is_the_data_and_no_serving_warning_comes_before_it(database, command, with_secrets):
    secrets = TEST_SECRETS if with_secrets else {}
    done = flask(database, COMMANDS[command], secrets)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_data_only(command, done.stdout, secrets)
    assert_no_full_number(done.stderr, f"`flask {command}` stderr")
    events = log_lines(done.stderr)
    # An unset secret concerns serving: `tenants check` says it on stdout, the server logs it
    # once per worker (below); no command's log repeats it.
    assert not [e for e in events if "is not set" in e.get("problem", "")], done.stderr
    if command == "contacts export":
        (exported,) = [e for e in events if e["event"] == "CONTACTS_EXPORTED"]
        assert exported["rows"] == 1


def test_the_export_redirected_to_a_file_is_a_clean_csv(database, tmp_path):
    """The README's `contacts export ... > contacts.csv`, through a shell."""
    target = tmp_path / "contacts.csv"
    args = " ".join(COMMANDS["contacts export"])
    env = {name: value for name, value in os.environ.items() if name not in CLEARED}
    env["DATABASE_URL"] = database
    done = subprocess.run(
        ["bash", "-c", f'"$PYTHON" -m flask --app wsgi {args} > "$TARGET"'],
        cwd=ROOT,
        env={**env, "PYTHON": sys.executable, "TARGET": str(target)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with open(target, newline="", encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    assert [(r["call_id"], r["contact_number"]) for r in rows] == [("call-export", CALLER)]
    assert "is not set" not in done.stderr


def test_flask_run_says_an_unset_secret_once_at_its_first_request(
    tmp_path, monkeypatch, log_events
):
    # `flask run` builds the app as every command does (TENANTS_STRICT false), then serves.
    for name in TEST_SECRETS:
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "TENANTS_STRICT": False})

    def warned():
        return [e["problem"] for e in log_events() if "is not set" in e.get("problem", "")]

    assert warned() == []
    client = app.test_client()
    for _ in range(2):
        assert client.get("/healthz").status_code == 200
    assert sorted(w.split(": warning: ")[1].split()[0] for w in warned()) == sorted(TEST_SECRETS)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "command, database_url, said",
    [
        (
            ["stats"],
            "postgresql+psycopg://postgres@127.0.0.1:1/test",
            "Error: database unavailable (OperationalError): connection failed",
        ),
        (
            ["erase", "--phone", "06 12 34 56 14"],
            "postgresql+psycopg://postgres@127.0.0.1:1/test",
            "Error: database unavailable (OperationalError): connection failed",
        ),
        (COMMANDS["contacts export"], "sqlite:///{tmp}/empty.db", "Error: database schema missing"),
        (["purge"], "sqlite:///{tmp}/empty.db", "Error: database schema missing"),
    ],
    ids=["stats-unreachable", "erase-unreachable", "export-no-schema", "purge-no-schema"],
)
def test_a_failing_database_ends_a_command_with_one_line(tmp_path, command, database_url, said):
    done = flask(database_url.format(tmp=tmp_path), command, TEST_SECRETS)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    if "export" in command:  # no CSV header a redirect would keep as an export of nothing
        assert done.stdout == ""
    (line,) = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert line.startswith(said), done.stderr
    if "schema" in said:
        assert line.endswith(UPGRADE_HINT), line
    assert_no_full_number(done.stderr, f"`flask {command[0]}` stderr")


@pytest.mark.slow
def test_gunicorn_and_the_app_log_json_lines_on_stderr_and_warn_once_per_worker(tmp_path):
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    shutil.copy(ROOT / "tenants" / "demo.yaml", tenants / "demo.yaml")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}",
        "TENANTS_DIR": str(tenants),
        "VAPI_SECRET_DEMO": "",  # unset for the app: an empty variable is no secret
        "LOG_LEVEL": "INFO",
    }
    workers = 2
    server = Gunicorn("wsgi:app", env=env, workers=workers)
    server.start(timeout=60)
    try:
        for _ in range(2):
            # The second round comes after the workers' once-a-second look at the files.
            for _ in range(4):
                refused = requests.post(
                    server.url + "/api/vapi/demo/webhook",
                    json={"message": {"type": "status-update"}},
                    headers={"X-Vapi-Secret": "anything"},
                    timeout=10,
                )
                assert refused.status_code == 401
            time.sleep(1.2)
    finally:
        server.stop()
        stdout, stderr = server.stdout(), server.stderr()
        server.cleanup()
    assert stdout == ""
    events = log_lines(stderr)  # gunicorn's own lines too, in the app's shape
    assert all({"ts", "level", "event"} <= set(e) for e in events)
    gunicorn_lines = [e for e in events if e.get("logger") == "gunicorn.error"]
    assert sum("Booting worker" in e["event"] for e in gunicorn_lines) == workers
    assert {e["level"] for e in gunicorn_lines} == {"info"}
    warned = [e for e in events if UNSET_WARNING.format("VAPI_SECRET_DEMO") in e.get("problem", "")]
    assert len(warned) == workers, stderr  # once per process, not again on later requests
    assert len([e for e in events if e["event"] == "AUTH_REJECTED"]) == 8


@pytest.mark.parametrize(
    "args",
    [
        ["contacts", "export", "--tenant", "0612345678"],
        ["contacts", "export", "--tenant", "demo", "--format", "0612345678"],
        ["stats", "--tenant", "0612345678"],
        ["stats", "--format", "+33612345678"],
        ["tenants", "preview", "0612345678"],
        ["vapi", "config", "0612345678"],
        ["vapi", "config", "demo", "--mode", "06 12 34 56 78"],
    ],
    ids=" ".join,
)
def test_a_number_typed_by_mistake_is_not_repeated_by_the_refusal(runner, args):
    """An operator who pasted a caller's number where a tenant or a format goes: refused, and
    the refusal (on stderr, maybe in a terminal's scrollback or a CI log) does not repeat it."""
    watch("+33612345678")
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert result.stderr.strip()
    assert_no_full_number(result.output + result.stderr, "a command's refusal")
    assert "5678" not in result.stderr
