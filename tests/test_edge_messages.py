"""The edge's typed values: what a body says, read once; what is wrong, named without its value."""

import json

import pytest

import backend.routes.voice as voice
from backend.edge.errors import BadPayload
from backend.edge.messages import (
    ChatCompletion,
    ServerMessage,
    parse_chat_completion,
    parse_server_message,
)
from backend.edge.tool_calls import ToolCall
from tests.leaks import assert_no_full_number

CALL_ID = "f60f6b23-0697-4e07-a137-2ca86f93a8da"
PHONE_NUMBER_ID = "3ec13726-ecb5-421b-8dd9-03a7f56eeb91"


def encoded(body):
    return json.dumps(body).encode()


def test_a_status_update_as_a_typed_value(vapi_payload):
    message = parse_server_message(encoded(vapi_payload("status-update.ended")))
    assert isinstance(message, ServerMessage)
    assert (message.type, message.status, message.call_id) == ("status-update", "ended", CALL_ID)
    assert message.caller_numbers == ("+33536495614", "+33536495614", None, None)  # no sipUri
    assert message.called_number == "+33180001234"
    assert message.phone_number_ids == {PHONE_NUMBER_ID}
    assert message.ended_reason == "customer-ended-call"
    assert message.tool_calls == ()


@pytest.mark.parametrize("name", ["tool-calls", "tool-calls.string-arguments"])
def test_tool_calls_keep_their_arguments_raw(vapi_payload, name):
    body = vapi_payload(name)
    message = parse_server_message(encoded(body))
    (tool_call,) = message.tool_calls
    sent = body["message"]["toolCallList"][0]
    assert tool_call == ToolCall(
        sent["id"], "contact_step", json.dumps(sent["function"]["arguments"]).encode()
    )


def test_a_chat_completion_as_a_typed_value(vapi_payload):
    body = vapi_payload("chat-completions.request")
    body["messages"].append({"role": "user", "content": [{"type": "text", "text": "oui"}, 3]})
    completion = parse_chat_completion(encoded(body))
    assert isinstance(completion, ChatCompletion)
    assert completion.call_id == CALL_ID and completion.model == body["model"]
    assert completion.stream is body["stream"]
    assert completion.user_texts[-1] == "oui"
    assert len(completion.user_texts) == sum(m["role"] == "user" for m in body["messages"])


def test_fields_no_stage_reads_may_hold_anything(vapi_payload):
    body = vapi_payload("end-of-call-report")
    body["message"]["call"]["status"] = {"not": "read"}
    body["message"]["artifact"] = [1, None, {"deep": [[[]]]}]
    body["message"]["timestamp"] = "whenever"
    assert parse_server_message(encoded(body)).call_id == CALL_ID


# Values shaped like numbers: an error that quoted them would leak a caller's number.
LEAKY = ["+33536495614", 33536495614, ["0536495614"], {"n": "+33536495614"}, 0.536495614]


@pytest.mark.parametrize(
    "path, kind, where",
    [
        (("call", "id"), str, "message.call.id"),
        (("call", "customer", "number"), str, "message.call.customer.number"),
        (("customer",), dict, "message.customer"),
        (("phoneNumber", "id"), str, "message.phoneNumber.id"),
        (("status",), str, "message.status"),
        (("toolCallList",), list, "message.toolCallList"),
    ],
)
def test_a_mistyped_field_is_named_and_its_value_never_quoted(vapi_payload, path, kind, where):
    for wrong in (value for value in LEAKY if not isinstance(value, kind)):
        body = vapi_payload("tool-calls")
        node = body["message"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = wrong
        with pytest.raises(BadPayload) as raised:
            parse_server_message(encoded(body))
        assert str(raised.value).startswith(f"{where} must be "), raised.value
        assert_no_full_number(str(raised.value), "an error message")
        assert "536495614" not in str(raised.value)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"message": {"type": "status-update", "x": NaN}}',
        b'{"message": {"type": "status-update", "x": [Infinity]}}',
        b'{"message": {"type": "status-update", "x": {"y": -Infinity}}}',
        b'{"message": {"type": "status-update", "x": "\\udc00"}}',
        b'{"message": {"type": "status-update", "x": "\\ud800\\u0041"}}',
        b'{"message": {"type": "status-update", "x": "\\u0000"}}',
        b'{"message": {"type": "status-update", "x": ' + b"1" * 4301 + b"}}",
    ],
)
def test_what_json_or_a_database_refuses_is_refused_in_unread_fields_too(raw):
    with pytest.raises(BadPayload):
        parse_server_message(raw)


def test_text_that_only_looks_risky_is_accepted():
    escaped_backslash = b'{"message": {"type": "status-update", "x": "\\\\u0000 \\\\ud800"}}'
    assert parse_server_message(escaped_backslash).type == "status-update"
    digits_in_text = b'{"message": {"type": "status-update", "x": "' + b"1" * 20_000 + b'"}}'
    assert parse_server_message(digits_in_text).type == "status-update"
    pair = b'{"message": {"type": "status-update", "x": "\\ud83d\\ude00"}}'
    assert parse_server_message(pair).type == "status-update"


def test_the_shared_url_parses_the_body_once(client, demo_headers, vapi_payload, monkeypatch):
    parsed = []

    def counting_parse(raw):
        parsed.append(len(raw))
        return parse_server_message(raw)

    monkeypatch.setattr(voice, "parse_server_message", counting_parse)
    body = vapi_payload("end-of-call-report")
    answer = client.post("/api/vapi/webhook", json=body, headers=demo_headers)
    assert answer.status_code == 200
    assert len(parsed) == 1
