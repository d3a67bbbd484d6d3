"""The RGPD sweep itself: the detector's formats, the suite-wide plugin, CLI output, phone_ref."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree

import pytest

from backend import create_app
from backend.logs import phone_ref
from backend.store.db import db, init_db
from backend.store.models import Call
from tests.leaks import assert_no_full_number, full_numbers_in
from tests.servers import ROOT, flask_command

# Numbers nobody `watch()`es: the detector must find them by their shape alone.
UNWATCHED = {
    "E.164": "+33698765411",
    "E.164 without +": "33698765411",
    "E.164 spaced": "+33 6 98 76 54 11",
    "E.164 with trunk": "+33 (0)6 98 76 54 11",
    "international 00": "0033698765411",
    "national": "0698765411",
    "national spaced": "06 98 76 54 11",
    "national dotted": "06.98.76.54.11",
    "national dashed": "06-98-76-54-11",
    "national slashed": "06/98/76/54/11",
    "landline": "01 42 68 53 00",
    "Belgian national": "0470 12 34 99",
    "Belgian E.164 without +": "32470123499",
    "Swiss national": "079 123 45 99",
    "UK E.164 without +": "447911123456",
    "UK E.164": "+44 7911 123456",
}
NOT_NUMBERS = {
    "masked": "+33XXXXXXX11",
    "masked without +": "33XXXXXXX11",
    "last two": '"last2": "11"',
    "four digits read": '"caller_last_digits": "56 11"',
    "uuid call id": "f60f6b23-0697-4e07-a137-2ca86f93a8da",
    "provider call id": "CA8d91b6fbc68eaaba9f2e159545062ee3",
    "ISO timestamp": "2026-11-24T16:20:16.123Z",
    "ISO timestamp with offset": "2026-11-24T16:20:16+01:00",
    "epoch milliseconds": "1795686124938",
    "epoch seconds": "1795686124",
    "gunicorn line": "[2026-11-24 16:28:12 +0000] [18776] [INFO] Booting worker with pid: 18777",
    "listening line": "[2026-11-24 16:28:12 +0000] [1] [INFO] Listening at: http://127.0.0.1:51029",
    "phone_ref": '"phone_ref": "3f9a0c41b7e2"',
    "sha256 hex": hashlib.sha256(b"0698765411").hexdigest(),
    "duration": "service resumed 1.23 s after 2026-11-24",
    "money": "12,50 € le 24/11/2026",
}


@pytest.mark.parametrize("form", list(UNWATCHED))
def test_the_detector_finds_a_number_in_every_format(form):
    number = UNWATCHED[form]
    for line in (
        number,
        f'{{"event": "X", "phone": "{number}"}}',
        f"caller={number};",
        f"Le numéro est {number}.",
    ):
        assert full_numbers_in(line), line
        with pytest.raises(AssertionError):
            assert_no_full_number(line)


@pytest.mark.parametrize("kind", list(NOT_NUMBERS))
def test_the_detector_leaves_what_is_not_a_number(kind):
    text = NOT_NUMBERS[kind]
    assert full_numbers_in(text) == []
    assert full_numbers_in(f'{{"ts": "2026-11-24T16:20:16.123Z", "value": "{text}"}}') == []


def test_real_log_lines_of_a_call_pass_the_sweep(
    app, client, demo_headers, vapi_payload, no_full_number_in_logs
):
    app.config["PHONE_REF_KEY"] = "support-key"
    play_call(client, demo_headers, vapi_payload, "f60f6b23-0697-4e07-a137-2ca86f93a8da")
    assert _events(no_full_number_in_logs, "CALLER_ID_PERSISTED")
    for line in no_full_number_in_logs:
        assert full_numbers_in(line) == [], line


# --- the suite-wide plugin, on a small suite of its own ------------------------------------

INNER_SUITE = """
import json
import logging
import subprocess
import sys

import pytest

from tests.servers import Gunicorn


def test_json_log_line_on_stdout():
    print(json.dumps({"event": "CALLER_ID_PERSISTED", "phone": "+33698765411"}))


def test_log_record():
    logging.getLogger("backend").warning("caller %s", "06 98 76 54 11")


def test_stderr():
    print("Traceback: ValueError: 06.98.76.54.11 is not allowed", file=sys.stderr)


def test_subprocess_inheriting_the_descriptors():
    code = "print('[2026-11-24 16:28:12 +0000] [7] [INFO] caller 33698765411')"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def leaky_setup():
    print(json.dumps({"event": "SETUP", "number": "0698765411"}))


def test_in_setup(leaky_setup):
    pass


def test_gunicorn_output(tmp_path):
    (tmp_path / "leaky.py").write_text(
        "print('[2026-11-24 16:28:12 +0000] [1] [INFO] caller +33698765411', flush=True)\\n"
        "def app(environ, start_response):\\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\\n"
        "    return [b'ok']\\n"
    )
    with Gunicorn("leaky:app", workers=1, ready_path="/", cwd=tmp_path):
        pass


def test_masked_ids_and_timestamps():
    print(json.dumps({"event": "X", "phone_masked": "+33XXXXXXX11", "ts": "2026-11-24T16:20:16Z",
                      "call_id": "f60f6b23-0697-4e07-a137-2ca86f93a8da"}))
    print("[2026-11-24 16:28:12 +0000] [18776] [INFO] Booting worker with pid: 18777",
          file=sys.stderr)


def test_a_tests_own_report_line():
    print("MISSED 'zero six...': expected +33698765411")


def test_gunicorn_without_numbers(tmp_path):
    (tmp_path / "quiet.py").write_text(
        "def app(environ, start_response):\\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\\n"
        "    return [b'ok']\\n"
    )
    with Gunicorn("quiet:app", workers=1, ready_path="/", cwd=tmp_path):
        pass
"""


@pytest.mark.slow
def test_the_plugin_fails_every_test_whose_logs_or_subprocesses_leak(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_SUITE))
    report = tmp_path / "report.xml"
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.log_sweep", "-p", "no:cacheprovider"]
        + ["-q", f"--junitxml={report}", "test_inner.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.exists(), finished.stdout[-2000:] + finished.stderr[-2000:]
    outcomes = {}
    for case in ElementTree.parse(report).iter("testcase"):
        bad = [child.tag for child in case if child.tag in ("failure", "error")]
        outcomes[case.get("name")] = "leak" if bad else "clean"
        if bad:
            message = " ".join(child.get("message", "") for child in case)
            assert "RGPD sweep" in message or "full phone number" in message, message
    assert outcomes == {
        "test_json_log_line_on_stdout": "leak",
        "test_log_record": "leak",
        "test_stderr": "leak",
        "test_subprocess_inheriting_the_descriptors": "leak",
        "test_in_setup": "leak",
        "test_gunicorn_output": "leak",
        "test_masked_ids_and_timestamps": "clean",
        "test_a_tests_own_report_line": "clean",
        "test_gunicorn_without_numbers": "clean",
    }


# --- the CLI as operators run it: a real `flask` process -----------------------------------


def test_purge_and_erase_output_from_a_real_flask_process(tmp_path, secrets):
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        init_db()
        db.session.add_all(
            [
                Call(tenant_id="demo", call_id="a", caller_number="+33698765411"),
                Call(tenant_id="demo", call_id="b", contact_number="+33698765411"),
                Call(tenant_id="plomberie-dupont", call_id="c", caller_number="+32470123499"),
            ]
        )
        db.session.commit()
        db.engine.dispose()
    env = {**os.environ, **secrets, "DATABASE_URL": url, "PHONE_REF_KEY": "k"}

    def flask(*args):
        done = flask_command(args, env)
        assert_no_full_number(done.stdout + done.stderr, f"`flask {args[0]}` output")
        return done

    erased = flask("erase", "--phone", "06 98 76 54 11")
    assert erased.returncode == 0, erased.stderr
    assert "demo: 2 call(s) deleted holding +33XXXXXXX11" in erased.stdout
    assert '"event": "ERASURE_DONE"' in erased.stderr
    refused = flask("erase", "--phone", "0470 12 34 9")
    assert refused.returncode == 2 and "0470" not in refused.stdout + refused.stderr
    purged = flask("purge")
    assert purged.returncode == 0 and "purge: 0 call(s) deleted" in purged.stdout


# --- phone_ref: a keyed pseudonym support can correlate --------------------------------------


def expected_ref(key, number):
    return hmac.new(key.encode(), number.encode(), hashlib.sha256).hexdigest()[:12]


def test_phone_ref_is_a_keyed_truncated_hmac():
    assert phone_ref("+33536495614", None) is None
    ref = phone_ref("+33536495614", "key-1")
    assert ref == expected_ref("key-1", "+33536495614") and len(ref) == 12
    assert phone_ref("+33536495615", "key-1") != ref
    assert phone_ref("+33536495614", "key-2") != ref


def _events(lines, name):
    return [json.loads(line) for line in lines if f'"event": "{name}"' in line]


def play_call(client, headers, vapi_payload, call_id):
    status = vapi_payload("status-update.in-progress")
    status["message"]["call"]["id"] = call_id
    assert client.post("/api/vapi/demo/webhook", json=status, headers=headers).status_code == 200
    body = vapi_payload("chat-completions.request")
    body["stream"], body["call"]["id"] = False, call_id
    answer = client.post("/api/vapi/demo/chat/completions", json=body, headers=headers)
    assert answer.status_code == 200


def test_phone_ref_joins_caller_id_log_lines_when_a_key_is_set(
    app, client, demo_headers, vapi_payload, no_full_number_in_logs
):
    app.config["PHONE_REF_KEY"] = "support-key"
    play_call(client, demo_headers, vapi_payload, "call-ref-1")
    play_call(client, demo_headers, vapi_payload, "call-ref-2")
    ref = expected_ref("support-key", "+33536495614")
    persisted = _events(no_full_number_in_logs, "CALLER_ID_PERSISTED")
    found = _events(no_full_number_in_logs, "CALLER_ID_FOUND")
    assert [(e["call_id"], e["phone_ref"]) for e in persisted] == [
        ("call-ref-1", ref),
        ("call-ref-2", ref),
    ]
    assert {e["phone_ref"] for e in found} == {ref} and len(found) >= 2


def test_no_phone_ref_without_a_key(
    app, client, demo_headers, vapi_payload, no_full_number_in_logs
):
    app.config["PHONE_REF_KEY"] = None
    play_call(client, demo_headers, vapi_payload, "call-no-ref")
    lines = no_full_number_in_logs
    assert _events(lines, "CALLER_ID_PERSISTED") and _events(lines, "CALLER_ID_FOUND")
    assert not any("phone_ref" in line for line in lines)
