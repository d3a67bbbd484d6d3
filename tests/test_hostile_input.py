"""Hostile input: each bad request gets a clear 4xx JSON error and a log line, never a 500."""

import copy
import gzip
import io
import json
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.store.db import db
from backend.store.models import Call
from tests.answers import error_message
from tests.leaks import assert_no_full_number
from tests.paths import VAPI_PAYLOADS
from tests.schemas import database_at_head
from tests.servers import SERVE_AS_MAKE_RUN, Gunicorn

TENANT_URL = "/api/vapi/demo/webhook"
SHARED_URL = "/api/vapi/webhook"
LLM_URL = "/api/vapi/demo/chat/completions"
ENDPOINTS = [TENANT_URL, SHARED_URL, LLM_URL]
CALLED = "+33180001234"  # the demo tenant's number, routes the shared URL


def post_raw(client, url, body, headers, **kwargs):
    return client.post(url, data=body, headers=headers, **kwargs)


def assert_json_error(answer, status):
    assert answer.status_code == status, answer.get_data()[:200]
    assert answer.mimetype == "application/json"
    return error_message(answer)


def rejections(lines, status):
    return [
        line for line in lines if '"REQUEST_REJECTED"' in line and f'"status": {status}' in line
    ]


# --- bodies that are not JSON objects --------------------------------------------------------

NOT_JSON = {
    "empty": b"",
    "text": b"hello",
    "form": b"a=1&b=2",
    "truncated": b'{"message": {"type": "status-update"',
    "array": b"[]",
    "string": b'"message"',
    "nan": b'{"message": {"type": "status-update", "x": NaN}}',
    "huge integer": b'{"message": {"type": "status-update", "x": ' + b"9" * 5000 + b"}}",
    "invalid utf-8": b'{"message": {"type": "status-update", "x": "\xff\xfe"}}',
    "latin-1": '{"message": {"type": "status-update", "x": "é"}}'.encode("latin-1"),
    "utf-16": '{"message": {"type": "status-update"}}'.encode("utf-16"),
    "deep arrays": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
    "deep in a field": b'{"message": {"type": "status-update", "call": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}}",
    "nul escape": b'{"message": {"type": "status-update", "call": {"id": "a\\u0000b"}}}',
    "lone surrogate": b'{"message": {"type": "status-update", "call": {"id": "\\ud800"}}}',
}


@pytest.mark.parametrize("kind", list(NOT_JSON))
def test_a_body_that_is_not_a_usable_json_object_is_a_400(
    client, demo_headers, kind, no_full_number_in_logs
):
    for url in ENDPOINTS:
        answer = post_raw(
            client, url, NOT_JSON[kind], demo_headers, content_type="application/json"
        )
        assert_json_error(answer, 400)
    assert len(rejections(no_full_number_in_logs, 400)) == len(ENDPOINTS), "one log line each"


def test_a_bom_and_escaped_emoji_are_fine(client, demo_headers, vapi_payload):
    payload = vapi_payload("status-update.in-progress")
    payload["message"]["artifact"] = {"note": "\U0001f600"}
    body = b"\xef\xbb\xbf" + json.dumps(payload, ensure_ascii=True).encode()
    answer = post_raw(client, TENANT_URL, body, demo_headers, content_type="application/json")
    assert answer.status_code == 200


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_compressed_body_is_a_415_json_and_identity_is_fine(
    client, demo_headers, vapi_payload, url
):
    payload = vapi_payload("status-update.in-progress")
    body = gzip.compress(json.dumps(payload).encode())
    headers = {**demo_headers, "Content-Encoding": "gzip"}
    error = assert_json_error(post_raw(client, url, body, headers), 415)
    assert "Content-Encoding" in error
    for none in ("identity", "", "identity, identity"):  # an empty list is legal (RFC 9110)
        plain = {**demo_headers, "Content-Encoding": none}
        answer = post_raw(client, TENANT_URL, json.dumps(payload).encode(), plain)
        assert answer.status_code == 200, none


# --- the body limit ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_body_past_the_limit_is_a_413_json(
    app, client, demo_headers, url, no_full_number_in_logs
):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b'{"message": {"type": "status-update", "pad": "' + b"x" * limit + b'"}}'
    error = assert_json_error(post_raw(client, url, body, demo_headers), 413)
    assert str(limit) in error
    assert rejections(no_full_number_in_logs, 413)


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_streamed_body_without_content_length_is_held_to_the_limit(
    app, client, demo_headers, url
):
    # What a server that handles chunked bodies (gunicorn) hands over: no CONTENT_LENGTH, a
    # stream it terminates itself.
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b'{"message": {"type": "status-update", "pad": "' + b"x" * limit + b'"}}'
    answer = client.post(
        url,
        input_stream=io.BytesIO(body),
        headers=demo_headers,
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_json_error(answer, 413)
    small = json.dumps({"message": {"type": "speech-update"}}).encode()
    answer = client.post(
        url if url != LLM_URL else TENANT_URL,
        input_stream=io.BytesIO(small),
        headers=demo_headers,
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert answer.status_code in (200, 404)  # the shared URL has no called number here


def _exchange(port, request):
    """Send raw bytes, close our side, read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head, body


@pytest.mark.slow
def test_lying_or_missing_content_length_on_a_real_server(tmp_path, secrets):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}",
        "MAX_CONTENT_LENGTH": "2048",
        **secrets,
    }
    database_at_head(env["DATABASE_URL"])
    body = json.dumps({"message": {"type": "status-update", "pad": "x" * 5000}}).encode()
    head = (
        b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nX-Vapi-Secret: " + secrets["VAPI_SECRET_DEMO"].encode()
    )
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 1000]), body[i : i + 1000])
        for i in range(0, len(body), 1000)
    )
    cases = {
        "chunked past the limit": (
            b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n",
            413,
        ),
        "length past the limit": (b"\r\nContent-Length: 100000\r\n\r\n" + body[:100], 413),
        "length shorter than the body": (b"\r\nContent-Length: 20\r\n\r\n" + body[:600], 400),
        "length longer than the body": (b"\r\nContent-Length: 1500\r\n\r\n" + body[:100], 400),
        "no length, no chunks": (b"\r\n\r\n" + body[:100], 400),
        "deep nesting": (
            b"\r\nContent-Length: 2000\r\n\r\n" + b"[" * 1000 + b"]" * 1000,
            400,
        ),
    }
    with Gunicorn(env=env, workers=1, extra_args=SERVE_AS_MAKE_RUN) as server:
        pids_before = server.output().count("Booting worker")
        for name, (rest, status) in cases.items():
            got, headers, answer = _exchange(server.port, head + rest)
            assert got == status, (name, answer)
            assert b"application/json" in headers and json.loads(answer)["error"], name
        assert _exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
        output = server.output()
    # No worker died or was replaced, nothing failed, nothing leaked.
    assert output.count("Booting worker") == pids_before
    for sign in ("Traceback", "WORKER TIMEOUT", "Worker exiting", "REQUEST_FAILED"):
        assert sign not in output
    assert output.count('"REQUEST_REJECTED"') == len(cases)
    assert_no_full_number(output, "gunicorn output")


@pytest.mark.slow
def test_a_body_that_stops_arriving_is_a_408_on_a_real_server(tmp_path, secrets):
    # The client announces more than it sends and keeps the connection open: without a read
    # deadline the body's buffer (or a thread) would wait for as long as the client does.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}", "BODY_READ_TIMEOUT_S": "1"}
    env.update(secrets)
    database_at_head(env["DATABASE_URL"])
    app = "wsgi:app"
    request = (
        b"POST /api/vapi/demo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1500\r\n"
        b"X-Vapi-Secret: " + secrets["VAPI_SECRET_DEMO"].encode() + b"\r\n\r\n"
        b'{"message": {"type": "status-update"'
    )
    with Gunicorn(app, env=env, workers=1, threads=1, extra_args=SERVE_AS_MAKE_RUN) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):  # until the server closes the connection
                chunks.append(chunk)
        answer = b"".join(chunks)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408") and b"application/json" in head
        assert json.loads(body)["error"] == "body not received in time"
        # The one thread is free again.
        assert _exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
        output = server.output()
    assert "Traceback" not in output and "REQUEST_FAILED" not in output
    assert output.count('"REQUEST_REJECTED"') == 1


# --- wrong types, huge strings, unknown tenants --------------------------------------------


def _set(body, path, value):
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


# (payload, url, path): fields the handlers read; each must be refused when mistyped.
READ_FIELDS = [
    ("status-update.in-progress", TENANT_URL, ("message",), dict),
    ("status-update.in-progress", TENANT_URL, ("message", "type"), str),
    ("status-update.in-progress", TENANT_URL, ("message", "call"), dict),
    ("status-update.in-progress", TENANT_URL, ("message", "call", "id"), str),
    ("status-update.in-progress", TENANT_URL, ("message", "call", "type"), str),
    ("status-update.in-progress", TENANT_URL, ("message", "call", "customer"), dict),
    ("status-update.in-progress", TENANT_URL, ("message", "call", "customer", "number"), str),
    ("status-update.in-progress", TENANT_URL, ("message", "customer"), dict),
    ("status-update.in-progress", TENANT_URL, ("message", "customer", "number"), str),
    ("status-update.ended", TENANT_URL, ("message", "status"), str),
    ("end-of-call-report", TENANT_URL, ("message", "endedReason"), str),
    ("tool-calls", TENANT_URL, ("message", "toolCallList"), list),
    ("tool-calls", TENANT_URL, ("message", "toolCallList", 0, "id"), str),
    ("tool-calls", TENANT_URL, ("message", "toolCallList", 0, "function"), dict),
    ("status-update.in-progress", SHARED_URL, ("message", "phoneNumber"), dict),
    ("status-update.in-progress", SHARED_URL, ("message", "phoneNumber", "number"), str),
    ("status-update.in-progress", SHARED_URL, ("message", "phoneNumber", "id"), str),
    ("status-update.in-progress", SHARED_URL, ("message", "call", "phoneNumberId"), str),
    ("status-update.in-progress", SHARED_URL, ("message", "call", "id"), str),
    ("chat-completions.request", LLM_URL, ("messages",), list),
    ("chat-completions.request", LLM_URL, ("messages", 0), dict),
    ("chat-completions.request", LLM_URL, ("stream",), bool),
    ("chat-completions.request", LLM_URL, ("call",), dict),
    ("chat-completions.request", LLM_URL, ("call", "id"), str),
    ("chat-completions.request", LLM_URL, ("customer", "number"), str),
]
WRONG = {
    dict: [5, "x", [], True],
    str: [5, 1.5, [], {}, True],
    list: [5, "x", {}],
    bool: ["true", 1],
}


@pytest.mark.parametrize(
    "name, url, path, kind",
    READ_FIELDS,
    ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else None,
)
def test_a_mistyped_field_is_a_400_naming_it(
    client, demo_headers, vapi_payload, name, url, path, kind
):
    for wrong in WRONG[kind]:
        body = vapi_payload(name)
        _set(body, path, wrong)
        answer = client.post(url, json=body, headers=demo_headers)
        error = assert_json_error(answer, 400)
        assert str(path[-1]) in error or path == ("message",), (wrong, error)


@pytest.mark.parametrize(
    "path, value",
    [
        (("message", "call", "id"), "c" * 100_000),
        (("message", "type"), "t" * 100_000),
    ],
)
def test_huge_strings_in_fields_are_a_400(client, demo_headers, vapi_payload, path, value):
    body = vapi_payload("status-update.in-progress")
    _set(body, path, value)
    assert_json_error(client.post(TENANT_URL, json=body, headers=demo_headers), 400)


def test_huge_strings_where_vapi_puts_long_text_are_accepted(
    app, client, demo_headers, vapi_payload
):
    body = vapi_payload("end-of-call-report")
    body["message"]["artifact"]["transcript"] = "AI: Bonjour. " * 5_000
    body["message"]["endedReason"] = "r" * 20_000
    body["message"]["call"]["customer"]["number"] = "0" * 20_000  # not a number: none stored
    body["message"]["customer"]["number"] = "0" * 20_000
    assert client.post(TENANT_URL, json=body, headers=demo_headers).status_code == 200
    with app.app_context():
        row = db.session.execute(select(Call)).scalar_one()
    assert row.caller_number is None and len(row.ended_reason) == 128


def test_unknown_tenants_are_a_404_json_with_a_log_line(
    client, demo_headers, vapi_payload, no_full_number_in_logs
):
    payload = vapi_payload("status-update.in-progress")
    for url in (
        "/api/vapi/nobody/webhook",
        "/api/vapi/nobody/chat/completions",
        "/api/vapi/" + "z" * 5000 + "/webhook",
    ):
        assert_json_error(client.post(url, json=payload, headers=demo_headers), 404)
    payload["message"]["phoneNumber"] = {"number": "+33999999999", "id": "unknown-id"}
    payload["message"]["call"]["phoneNumberId"] = "unknown-id"
    assert_json_error(client.post(SHARED_URL, json=payload, headers=demo_headers), 404)
    assert sum('"TENANT_NOT_FOUND"' in line for line in no_full_number_in_logs) == 4
    assert len(rejections(no_full_number_in_logs, 404)) == 4


def test_other_methods_and_paths_answer_json(client):
    assert_json_error(client.get(TENANT_URL), 405)
    assert_json_error(client.post("/api/vapi/demo/nothing"), 404)
    assert_json_error(client.post(TENANT_URL, json={}), 401)


# --- Vapi's own inconsistencies are accepted -----------------------------------------------


def stored(app, call_id):
    with app.app_context():
        return db.session.execute(select(Call).where(Call.call_id == call_id)).scalar_one()


@pytest.mark.parametrize("timestamp", [1795686124938, "2026-11-26T09:42:04.938Z", 1795686124])
def test_timestamps_in_milliseconds_or_iso_are_accepted(
    app, client, demo_headers, vapi_payload, timestamp
):
    payload = vapi_payload("status-update.in-progress")
    payload["message"]["timestamp"] = timestamp
    assert client.post(TENANT_URL, json=payload, headers=demo_headers).status_code == 200
    assert stored(app, payload["message"]["call"]["id"]).caller_number == "+33536495614"


@pytest.mark.parametrize("name", ["tool-calls", "tool-calls.string-arguments"])
def test_tool_arguments_as_an_object_or_a_json_string_are_accepted(
    client, demo_headers, vapi_payload, name
):
    payload = vapi_payload(name)
    tool_call = payload["message"]["toolCallList"][0]
    answer = client.post(TENANT_URL, json=payload, headers=demo_headers)
    assert answer.status_code == 200
    (result,) = answer.get_json()["results"]
    assert result["toolCallId"] == tool_call["id"]
    assert "error" not in result and result["result"]


def test_a_stale_call_in_an_end_of_call_report_is_accepted(app, client, demo_headers, vapi_payload):
    payload = vapi_payload("end-of-call-report")
    assert payload["message"]["call"]["status"] == "ringing"
    assert client.post(TENANT_URL, json=payload, headers=demo_headers).status_code == 200
    row = stored(app, payload["message"]["call"]["id"])
    assert row.ended_reason == "customer-ended-call" and row.ended_at is not None


# --- property tests over the message shapes ------------------------------------------------

json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
any_json = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def maybe(strategy):
    """The right shape most of the time, anything JSON otherwise."""
    return st.one_of(strategy, strategy, any_json)


# Ids without digits: the log lines quote ids, and the sweep would see any digits as a number.
ids = st.uuids().map(str) | st.text("abcdef-_", min_size=1, max_size=12) | st.just("c" * 200)
caller_numbers = st.sampled_from(
    [
        "+33536495614",
        "0536495614",
        "05 36 49 56 14",
        "+32470123456",
        "anonymous",
        "restricted",
        "+266696687",
        "sip:+33536495614@sip.example.invalid",
        "sip:anonymous@x",
        "",
        "+33",
        "0" * 70,
    ]
)
customer = st.fixed_dictionaries(
    {}, optional={"number": maybe(caller_numbers), "sipUri": maybe(caller_numbers)}
)
call = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(ids),
        "type": maybe(st.sampled_from(["inboundPhoneCall", "webCall", "outboundPhoneCall"])),
        "status": maybe(st.sampled_from(["ringing", "in-progress", "ended"])),
        "customer": maybe(customer),
        "phoneNumberId": maybe(ids),
    },
)
phone_number = st.fixed_dictionaries(
    {}, optional={"number": maybe(st.sampled_from([CALLED, "+3223001234", "x"])), "id": maybe(ids)}
)
utterance = st.sampled_from(["oui", "non", "zéro six douze trente-quatre", "", "euh"]) | st.text(
    max_size=20
)
arguments = st.fixed_dictionaries({}, optional={"utterance": maybe(utterance)})
tool_call = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(ids),
        "type": st.just("function"),
        "function": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": maybe(st.sampled_from(["contact_step", "other"])),
                    "arguments": maybe(arguments | arguments.map(json.dumps)),
                },
            )
        ),
    },
)
MESSAGE_TYPES = [
    "status-update",
    "status_update",
    "assistant.started",
    "assistant-request",
    "end-of-call-report",
    "tool-calls",
    "conversation-update",
    "speech-update",
    "hang",
]
message = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(MESSAGE_TYPES))},
    optional={
        "status": maybe(st.sampled_from(["in-progress", "ended", "ringing"])),
        "call": maybe(call),
        "customer": maybe(customer),
        "phoneNumber": maybe(phone_number),
        "endedReason": maybe(st.text(max_size=40)),
        "timestamp": st.integers(min_value=0, max_value=2**53) | st.text(max_size=30),
        "toolCallList": maybe(st.lists(tool_call, max_size=3)),
        "artifact": any_json,
    },
)
server_body = st.fixed_dictionaries({"message": maybe(message)}) | any_json
chat_message = st.fixed_dictionaries(
    {"role": maybe(st.sampled_from(["user", "assistant", "system", "tool"]))},
    optional={
        "content": maybe(utterance)
        | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": utterance}), max_size=2)
    },
)
chat_body = (
    st.fixed_dictionaries(
        {},
        optional={
            "model": maybe(st.text(max_size=20)),
            "messages": maybe(st.lists(chat_message, max_size=4)),
            "stream": maybe(st.booleans()),
            "call": maybe(call),
            "customer": maybe(customer),
            "phoneNumber": maybe(phone_number),
            "metadata": any_json,
        },
    )
    | any_json
)

SERVER_FIXTURES = [
    "status-update.in-progress",
    "status-update.ended",
    "assistant.started",
    "assistant-request",
    "end-of-call-report",
    "tool-calls",
    "tool-calls.string-arguments",
    "conversation-update",
]
FIXTURES = {
    path.stem: json.loads(path.read_text(encoding="utf-8")) for path in VAPI_PAYLOADS.glob("*.json")
}


def _paths(node, prefix=()):
    """Every key and index of a JSON document, as paths."""
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated(draw, names):
    """One of Vapi's real bodies with one to three fields, anywhere, replaced by any JSON."""
    body = copy.deepcopy(FIXTURES[draw(st.sampled_from(names))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(list(_paths(body))))
        _set(body, path, draw(any_json))
    return body


PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_answered(answer):
    """200 or a 4xx with a JSON error; never a 5xx."""
    assert answer.status_code < 500, answer.get_data()[:300]
    if answer.status_code >= 400:
        assert answer.get_json()["error"]
    elif answer.mimetype != "text/event-stream":
        assert isinstance(answer.get_json(), dict)


@PROPERTY_SETTINGS
@given(body=server_body)
def test_any_server_message_gets_200_or_a_4xx_json(client, demo_headers, body):
    for url in (TENANT_URL, SHARED_URL):
        assert_answered(client.post(url, json=body, headers=demo_headers))


@PROPERTY_SETTINGS
@given(body=chat_body)
def test_any_chat_completion_body_gets_200_or_a_4xx_json(client, demo_headers, body):
    assert_answered(client.post(LLM_URL, json=body, headers=demo_headers))


@PROPERTY_SETTINGS
@given(body=mutated(SERVER_FIXTURES))
def test_any_field_of_a_real_server_message_may_be_anything(client, demo_headers, body):
    for url in (TENANT_URL, SHARED_URL):
        assert_answered(client.post(url, json=body, headers=demo_headers))


@PROPERTY_SETTINGS
@given(body=mutated(["chat-completions.request"]))
def test_any_field_of_a_real_chat_completion_may_be_anything(client, demo_headers, body):
    assert_answered(client.post(LLM_URL, json=body, headers=demo_headers))


@PROPERTY_SETTINGS
@given(body=server_body, cut=st.integers(min_value=0, max_value=400))
def test_any_truncated_or_mangled_body_gets_a_4xx_json(client, demo_headers, body, cut):
    raw = json.dumps(body).encode()
    mangled = raw[:cut] if cut < len(raw) else raw + b"}"
    for url in ENDPOINTS:
        assert_answered(
            post_raw(client, url, mangled, demo_headers, content_type="application/json")
        )


def test_the_fixture_payloads_still_pass_after_all_this(client, demo_headers, vapi_payload):
    # Sanity for the strategies above: the real shapes are answered 200.
    for name in ("status-update.in-progress", "end-of-call-report", "tool-calls"):
        body = copy.deepcopy(vapi_payload(name))
        assert client.post(TENANT_URL, json=body, headers=demo_headers).status_code == 200


def test_identifiers_a_client_typed_never_put_a_number_in_the_logs(
    client, demo_headers, vapi_payload, no_full_number_in_logs
):
    payload = vapi_payload("status-update.in-progress")
    answer = client.post("/api/vapi/0698765411/webhook", json=payload, headers=demo_headers)
    assert_json_error(answer, 404)
    payload["message"]["phoneNumber"] = {"number": "+33999999999", "id": "06 98 76 54 11"}
    payload["message"]["call"]["phoneNumberId"] = "+33698765411"
    assert_json_error(client.post(SHARED_URL, json=payload, headers=demo_headers), 404)
    assert sum('"TENANT_NOT_FOUND"' in line for line in no_full_number_in_logs) == 2
