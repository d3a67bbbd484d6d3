"""backend/logs.py: one JSON shape for every logger, request-bound fields, the last-step mask."""

import hashlib
import json
import logging
import re
import socket
import subprocess
import sys
import textwrap

import pytest
from gunicorn import glogging
from gunicorn.config import AccessLogFormat

from backend.log_mask import mask_fields, mask_phone_shaped
from backend.logs import JsonLineFormatter, MaskedTextFormatter, log_event
from tests.leaks import assert_no_full_number, full_numbers_in
from tests.servers import ROOT, SERVE_AS_MAKE_RUN, Gunicorn

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

# --- request-bound fields ----------------------------------------------------------------------


def test_a_requests_lines_carry_its_tenant_and_call_once_bound(
    app, client, demo_headers, vapi_payload, log_events
):
    status = vapi_payload("status-update.in-progress")
    status["message"]["call"]["id"] = "call-bound-1"
    assert client.post("/api/vapi/demo/webhook", json=status, headers=demo_headers).status_code
    (persisted,) = log_events("CALLER_ID_PERSISTED")
    assert (persisted["tenant"], persisted["call_id"]) == ("demo", "call-bound-1")
    assert list(persisted)[:5] == ["ts", "level", "event", "tenant", "call_id"]
    assert TS.fullmatch(persisted["ts"]) and persisted["level"] == "info"

    refused = client.post("/api/vapi/demo/webhook", json=status, headers={"X-Vapi-Secret": "no"})
    assert refused.status_code == 401
    (rejected,) = log_events("AUTH_REJECTED")
    assert rejected["tenant"] == "demo" and "call_id" not in rejected  # the last request's: gone

    with app.app_context():  # outside any request: nothing bound
        log_event("OUTSIDE_A_REQUEST")
    (outside,) = log_events("OUTSIDE_A_REQUEST")
    assert "tenant" not in outside and "call_id" not in outside


def test_a_field_the_call_site_passes_wins_over_the_bound_one(app, log_events):
    with app.test_request_context("/"):
        from backend.logs import bind_request

        bind_request(tenant="demo", call_id="call-1")
        log_event("EXPLICIT", tenant="other")
    (line,) = log_events("EXPLICIT")
    assert (line["tenant"], line["call_id"]) == ("other", "call-1")


# --- the mask --------------------------------------------------------------------------------

PHONE_SHAPED = {
    "E.164": "+33698765411",
    "E.164 without +": "33698765411",
    "E.164 spaced": "+33 6 98 76 54 11",
    "international 00": "0033698765411",
    "national": "0698765411",
    "national spaced": "06 98 76 54 11",
    "national dotted": "06.98.76.54.11",
    "national dashed": "06-98-76-54-11",
    "Belgian national": "0470 12 34 99",
    "Swiss national": "079 123 45 99",
    "UK E.164": "+44 7911 123456",
}
IN_TEXT = [
    "caller={};",
    "Le numéro est {}.",
    "Invalid HTTP request line: 'GET /a {} HTTP/1.1'",
    "/api/vapi/{}/webhook",
    "2026-11-24 {}",
    "{} 12ab",
]
# What tests and operators read in log lines: left exactly as it is.
NOT_PHONE_NUMBERS = {
    "ISO timestamp": "2026-11-24T16:20:16.123Z",
    "ISO timestamp with offset": "2026-11-24T16:20:16+01:00",
    "gunicorn line": "[2026-11-24 16:28:12 +0000] [18776] [INFO] Booting worker with pid: 18777",
    "listening line": "Listening at: http://127.0.0.1:51029 (18776)",
    "IPv4 address": "Invalid request from ip=192.168.100.200: bad",
    "uuid call id": "f60f6b23-0697-4e07-a137-2ca86f93a8da",
    "uuid with a digits-only part": "f60f6b23-0697-4e07-a137-123456789012",
    "uuid of digits": "12345678-1234-4234-9234-123456789012",
    "uuid starting with digits": "12345678-1234-4e07-a137-2ca86f93a8da",
    "provider call id": "CA8d91b6fbc68eaaba9f2e159545062ee3",
    "test id": "ack-c1234567890ab",
    "sha256 hex": hashlib.sha256(b"0698765411").hexdigest(),
    "phone_ref": "3f9a0c41b7e2",
    "masked": "+33XXXXXXX11",
    "duration": "service resumed 1.23 s after 2026-11-24",
    "epoch with decimals": "1795686124.938",
    "float": "0.30000000000000004",
    "money and date": "12,50 € le 24/11/2026",
    "route": "/api/vapi/<tenant_id>/webhook",
}


@pytest.mark.parametrize("form", list(PHONE_SHAPED))
def test_the_mask_hides_a_number_in_every_format_but_its_last_two_digits(form):
    number = PHONE_SHAPED[form]
    for template in IN_TEXT:
        masked = mask_phone_shaped(template.format(number))
        assert full_numbers_in(masked) == [], masked
        assert masked.replace(number[-2:], "", 1) != masked  # the last two digits stay
        assert sum(ch.isdigit() for ch in masked) <= sum(ch.isdigit() for ch in template) + 2


@pytest.mark.parametrize("kind", list(NOT_PHONE_NUMBERS))
def test_the_mask_leaves_timestamps_ids_and_durations(kind):
    text = NOT_PHONE_NUMBERS[kind]
    assert mask_phone_shaped(text) == text


def test_the_mask_leaves_numbers_and_masks_text_at_any_depth():
    line = {
        "ts": "2026-11-24T16:20:16.123Z",
        "level": "info",
        "event": "X",
        "elapsed_s": 0.30000000000000004,
        "epoch_ms": 1795686124938,
        "rows": 12345678,
        "ok": True,
        "none": None,
        "files": ["demo.yaml", "06 98 76 54 11.yaml"],
        "nested": {"caller": "+33698765411"},
    }
    masked = mask_fields(None, None, dict(line))
    assert {k: masked[k] for k in ("ts", "elapsed_s", "epoch_ms", "rows", "ok", "none")} == {
        k: line[k] for k in ("ts", "elapsed_s", "epoch_ms", "rows", "ok", "none")
    }
    assert masked["files"] == ["demo.yaml", "XX XX XX XX 11.yaml"]
    assert masked["nested"] == {"caller": "+XXXXXXXXX11"}


def _record(name, msg, args=None, **extra):
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_the_sweeps_formatter_leaves_the_line_as_the_call_site_made_it():
    """The suite's sweep reads lines before the mask: a call site that forgets still fails."""
    record = _record("backend", {"event": "X", "caller": "+33698765411"}, _structlog=True)
    assert "+33698765411" in JsonLineFormatter(mask=False).format(record)
    assert "+XXXXXXXXX11" in JsonLineFormatter().format(record)


def test_another_librarys_line_has_the_same_shape():
    record = _record("werkzeug", '%s - - "GET /%s HTTP/1.1" 404 -', ("127.0.0.1", "0698765411"))
    line = json.loads(JsonLineFormatter().format(record))
    assert list(line) == ["ts", "level", "event", "logger"] and TS.fullmatch(line["ts"])
    assert line["event"] == '127.0.0.1 - - "GET /XXXXXXXX11 HTTP/1.1" 404 -'
    assert (line["level"], line["logger"]) == ("warning", "werkzeug")


# --- in real processes -------------------------------------------------------------------------

ONE_OF_EACH = """
    import logging, warnings
    from backend import create_app
    from backend.logs import log_event
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    log_event("CALLER_ID_PERSISTED", heard="+33698765411")  # a call site that forgot
    logging.getLogger("werkzeug").info('127.0.0.1 - "GET /06.98.76.54.11 HTTP/1.1" 404 -')
    logging.getLogger("sqlalchemy.pool").warning("reset failed for caller 0698765411")
    warnings.warn("caller 06 98 76 54 11 in a warning")
    try:
        raise ValueError("0698765411 in a message")
    except ValueError:
        logging.getLogger("gunicorn.error").exception("Error handling request /0698765411")
"""


def test_every_logger_writes_the_same_masked_json_line_on_stderr(secrets, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(ONE_OF_EACH)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **secrets},
    )
    assert done.returncode == 0 and done.stdout == "", done.stderr
    assert_no_full_number(done.stderr, "stderr")
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    assert all(list(line)[:3] == ["ts", "level", "event"] for line in lines)
    by_logger = {line.get("logger", "backend"): line for line in lines}
    assert by_logger["backend"]["heard"] == "+XXXXXXXXX11"
    assert by_logger["werkzeug"]["event"].endswith('"GET /XX.XX.XX.XX.11 HTTP/1.1" 404 -')
    assert by_logger["sqlalchemy.pool"]["level"] == "warning"
    assert "XX XX XX XX 11 in a warning" in by_logger["py.warnings"]["event"]
    failed = by_logger["gunicorn.error"]
    assert failed["exception"] == "ValueError" and "Traceback" not in done.stderr


def _send(port, raw):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        return connection.recv(4096)


def access_line(user="-", request="GET / HTTP/1.1", agent="-"):
    """An access line as gunicorn writes it (its default format, its escaped quotes), masked."""
    atoms = {"h": "127.0.0.1", "l": "-", "u": user, "t": "[01/Dec/2026:22:07:04 +0000]"}
    atoms |= {"r": request, "s": "200", "b": "4361738", "f": "-", "a": agent}
    line = AccessLogFormat.default % glogging.SafeAtoms(atoms)
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, line, None, None)
    return MaskedTextFormatter().format(record)


def test_the_access_log_masks_what_the_client_wrote_and_keeps_status_and_size():
    assert access_line(request="GET /?n=06 98 76 54 11 HTTP/1.1", agent="tel 06.98.76.54.11") == (
        '127.0.0.1 - - [01/Dec/2026:22:07:04 +0000] "GET /?n=XX XX XX XX 11 HTTP/1.1" '
        '200 4361738 "-" "tel XX.XX.XX.XX.11"'
    )
    # Quotes a client sent, escaped by gunicorn, and a user name outside any quotes.
    for line in (
        access_line(agent='x" 06 98 76 54 11 "y'),
        access_line(request='GET /" 200 06 98 76 54 11 "/ HTTP/1.1'),
        access_line(user="06 98 76 54 11"),
        access_line(user='a" 200 0698 "b', agent="76 54 11"),
    ):
        assert full_numbers_in(line) == [] and "98 76 54 11" not in line, line
        assert " 200 4361738 " in line


@pytest.mark.slow
def test_gunicorn_quotes_no_malformed_request_line_and_masks_its_access_log(secrets, tmp_path):
    env = {**secrets, "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}"}
    serving = [*SERVE_AS_MAKE_RUN, "--access-logfile", "-"]
    with Gunicorn(env=env, workers=1, extra_args=serving) as server:
        # Gunicorn's own warning and 400 page quoted this line; its worker here quotes nothing.
        refused = _send(server.port, b"GET /a 06 98 76 54 11 HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, body = refused.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == b"400" and b"Content-Type: application/json" in head
        assert json.loads(body) == {"error": "malformed request"}
        # The access log quotes the path: masked.
        raw = b"GET /api/vapi/+33698765411/webhook HTTP/1.1\r\nHost: x\r\n\r\n"
        assert _send(server.port, raw).split(b" ")[1] == b"405"
        server.stop()
        stderr, access_log = server.stderr(), server.stdout()
    assert_no_full_number(stderr + access_log, "gunicorn's output")
    lines = [json.loads(line) for line in stderr.splitlines()]
    (warned,) = [line for line in lines if line["event"].startswith("Invalid request")]
    assert (warned["level"], warned["logger"]) == ("warning", "gunicorn.error")
    assert warned["event"] == "Invalid request: InvalidHTTPVersion"
    assert '"GET /api/vapi/+XXXXXXXXX11/webhook HTTP/1.1" 405' in access_log
