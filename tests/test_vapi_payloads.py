"""Our Vapi example payloads (tests/vapi_payloads/) against the models of Vapi's Python SDK.

`vapi-server-sdk` is generated from Vapi's API schema: it is the reference for what Vapi sends. A
server message must validate as the SDK's model for its type, hold only fields the SDK knows, and
in the SDK's open enums (`Literal[...] | Any`, which let anything through) only values it lists.
Validation is pydantic's default, not strict: the SDK's models reshape their input before
validating, and strict mode then refuses every date.
"""

import copy
import functools
import json
import typing

import pydantic
import pytest

from tests.paths import VAPI_PAYLOADS
from tests.vapi_sdk import literal_choices, model_problems, problems_as, sdk_type, validated

pytestmark = pytest.mark.vapi_sdk

# The SDK's model for each message type. Its `ServerMessage` union cannot choose: every member's
# `type` is an open enum, so the type is matched here.
MODELS = {
    "assistant-request": "ServerMessageAssistantRequest",
    "conversation-update": "ServerMessageConversationUpdate",
    "end-of-call-report": "ServerMessageEndOfCallReport",
    "speech-update": "ServerMessageSpeechUpdate",
    "status-update": "ServerMessageStatusUpdate",
    "tool-calls": "ServerMessageToolCalls",
    # An assistant's `serverMessages` may list it, but the SDK models it only as a client message.
    "assistant.started": "ClientMessageAssistantStarted",
}
# The Custom LLM request: OpenAI's chat-completions body plus what the assistant's
# `metadataSendMode` adds (`variable`, the default: call, phoneNumber, customer and metadata).
# The SDK has no model for the whole body; its parts are checked with the SDK's models.
CUSTOM_LLM_BODY = "chat-completions.request"
CUSTOM_LLM_FIELDS = {"model", "messages", "temperature", "max_tokens", "stream", "metadata"}

# The SDK's model of each part (the phone number's: phone_number()).
CUSTOM_LLM_PARTS = {"call": "Call", "customer": "CreateCustomerDto", "phoneNumber": None}


@functools.cache
def phone_number():
    """The stored phone number's model, as a pydantic TypeAdapter.

    Vapi sends the phone number as stored (id, orgId, createdAt, status...), where the schema of
    the messages names the body that creates one: it is checked against the stored one.
    """
    return pydantic.TypeAdapter(sdk_type("GetPhoneNumbersResponse", "vapi.phone_numbers"))


def custom_llm_part(key):
    """The SDK's model for a part of the Custom LLM request."""
    return phone_number() if key == "phoneNumber" else sdk_type(CUSTOM_LLM_PARTS[key])


def payload(stem):
    return json.loads((VAPI_PAYLOADS / f"{stem}.json").read_text(encoding="utf-8"))


def payload_stems():
    return sorted(path.stem for path in VAPI_PAYLOADS.glob("*.json"))


def server_message_problems(body):
    """Everything in a server message (`{"message": {...}}`) that the SDK would not accept."""
    if set(body) != {"message"}:
        return [f"the body holds {sorted(body)}, not only `message`"]
    message = body["message"]
    if message.get("type") not in MODELS:
        return [f"no SDK model for the message type {message.get('type')!r}"]
    model = sdk_type(MODELS[message["type"]])
    instance, problems = validated(model, message, "message")
    if instance is not None:
        problems = model_problems(instance, "message", skip={"phoneNumber"})
    if message.get("phoneNumber") is not None:
        problems += problems_as(phone_number(), message["phoneNumber"], "message.phoneNumber")
    return problems


def custom_llm_problems(body):
    """Everything in a Custom LLM request body that the SDK's models would not accept."""
    problems = [
        f"{key}: not a field of a Custom LLM request"
        for key in set(body) - CUSTOM_LLM_FIELDS - set(CUSTOM_LLM_PARTS)
    ]
    for key in CUSTOM_LLM_PARTS:
        if key in body:
            problems += problems_as(custom_llm_part(key), body[key], key)
    problems += problems_as(list[sdk_type("OpenAiMessage")], body.get("messages"), "messages")
    kinds = {"model": str, "stream": bool, "metadata": dict, "temperature": (int, float)}
    problems += [
        f"{key}: not a {getattr(kind, '__name__', 'number')}"
        for key, kind in kinds.items()
        if key in body and not isinstance(body[key], kind)
    ]
    if not isinstance(body.get("max_tokens", 0), int):
        problems.append("max_tokens: not an integer")
    return problems


def tool_calls_in(message):
    return message.get("toolCallList", []) + [
        tool["toolCall"] for tool in message.get("toolWithToolCallList", [])
    ]


def with_arguments_as_json(body):
    """The body with each tool call's arguments a JSON string, as the schema types them."""
    body = copy.deepcopy(body)
    for tool_call in tool_calls_in(body["message"]):
        arguments = tool_call["function"]["arguments"]
        if isinstance(arguments, dict):
            tool_call["function"]["arguments"] = json.dumps(arguments, ensure_ascii=False)
    return body


def problems_of(stem, body):
    if stem == CUSTOM_LLM_BODY:
        return custom_llm_problems(body)
    # Tool-call arguments may be a JSON object, as Vapi's docs show them; the schema says a JSON
    # string (test_object_arguments_are_what_the_schema_disagrees_with).
    return server_message_problems(with_arguments_as_json(body))


@pytest.mark.parametrize("stem", payload_stems())
def test_each_payload_is_what_the_sdk_describes(stem):
    problems = problems_of(stem, payload(stem))
    assert not problems, "\n".join(problems)


def test_the_payloads_cover_every_modelled_message_type():
    types_seen = {payload(stem).get("message", {}).get("type") for stem in payload_stems()}
    assert types_seen == set(MODELS) | {None}  # None: the Custom LLM body
    assert CUSTOM_LLM_BODY in payload_stems()


def test_the_models_are_the_sdk_s_own_for_each_type():
    server_messages = set(typing.get_args(sdk_type("ServerMessageMessage")))
    for message_type, name in MODELS.items():
        model = sdk_type(name)
        assert literal_choices(model.model_fields["type"].annotation) == {message_type}
        assert model in server_messages or model is sdk_type("ClientMessageAssistantStarted")


def test_the_custom_llm_fields_are_the_sdk_s():
    description = sdk_type("CustomLlmModel").model_fields["metadata_send_mode"].description
    assert all(part in description for part in CUSTOM_LLM_PARTS)
    assert "Default is `variable`" in description


def test_object_arguments_are_what_the_schema_disagrees_with():
    body = payload("tool-calls")
    assert server_message_problems(body)
    for tool_call in tool_calls_in(body["message"]):
        assert isinstance(tool_call["function"]["arguments"], dict)
        with pytest.raises(pydantic.ValidationError) as raised:
            sdk_type("ToolCall").model_validate(tool_call)
        assert [error["loc"] for error in raised.value.errors()] == [("function", "arguments")]
    assert not server_message_problems(with_arguments_as_json(body))
    strings = payload("tool-calls.string-arguments")
    assert with_arguments_as_json(strings) == strings
    assert not server_message_problems(strings)


# (payload, how it is broken, what the check must say): the check can fail, and says why.
BROKEN = {
    "an ISO timestamp": (
        "status-update.in-progress",
        lambda m: m.update(timestamp="2026-11-26T09:42:04.938Z"),
        "message.timestamp: Input should be a valid number",
    ),
    "a number as an integer": (
        "status-update.in-progress",
        lambda m: m["call"]["customer"].update(number=33536495614),
        "message.call.customer.number: Input should be a valid string",
    ),
    "a status the SDK does not list": (
        "status-update.ended",
        lambda m: m.update(status="finished"),
        "message.status: 'finished' is none of the SDK's values",
    ),
    "an end reason the SDK does not list": (
        "end-of-call-report",
        lambda m: m.update(endedReason="caller-hung-up"),
        "message.endedReason: 'caller-hung-up' is none",
    ),
    "a misspelt field": (
        "end-of-call-report",
        lambda m: m.update(endReason="customer-ended-call"),
        "message.endReason: no such field in ServerMessageEndOfCallReport",
    ),
    "a misspelt nested field": (
        "assistant-request",
        lambda m: m["call"].update(phoneNumberID="x"),
        "message.call.phoneNumberID: no such field in Call",
    ),
    "a required field missing": (
        "tool-calls.string-arguments",
        lambda m: m.pop("toolWithToolCallList"),
        "message.toolWithToolCallList: Field required",
    ),
    "a call without its id": (
        "status-update.ringing",
        lambda m: m["call"].pop("id"),
        "message.call.id: Field required",
    ),
    "a phone number without its id": (
        "tool-calls",
        lambda m: m["phoneNumber"].pop("id"),
        "message.phoneNumber.GetPhoneNumbersResponse_Twilio.id: Field required",
    ),
    "an unknown message type": (
        "speech-update",
        lambda m: m.update(type="speech-updated"),
        "no SDK model for the message type 'speech-updated'",
    ),
    "a bad transcript entry": (
        "conversation-update",
        lambda m: m["messages"][1].pop("secondsFromStart"),
        "message.messages.1.BotMessage.secondsFromStart: Field required",
    ),
    "a bad date": (
        "assistant.started",
        lambda m: m["call"].update(createdAt="jeudi"),
        "message.call.createdAt: Input should be a valid datetime",
    ),
    "a voice model the SDK does not list": (
        "assistant.started",
        lambda m: m["newAssistant"]["voice"].update(model="eleven_multilingual_v9"),
        "message.newAssistant.voice.model: 'eleven_multilingual_v9' is none",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_server_message_is_refused(case):
    stem, mutate, expected = BROKEN[case]
    body = payload(stem)
    mutate(body["message"])
    problems = problems_of(stem, body)
    assert any(line.startswith(expected) for line in problems), problems


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda b: b.update(call={"id": "c1"}), "call.orgId: Field required"),
        (lambda b: b["customer"].update(number=33536495614), "customer.number: Input should be"),
        (
            lambda b: b["messages"].append({"role": "caller", "content": "allô"}),
            "messages[3].role: 'caller' is none",
        ),
        (lambda b: b.update(stream="true"), "stream: not a bool"),
        (lambda b: b.update(max_tokens=250.5), "max_tokens: not an integer"),
        (lambda b: b.update(assistantId="x"), "assistantId: not a field"),
        (
            lambda b: b["phoneNumber"].update(provider="telephone"),
            "phoneNumber.GetPhoneNumbersResponse_Twilio.provider: Input should be 'twilio'",
        ),
    ],
)
def test_a_broken_custom_llm_body_is_refused(mutate, expected):
    body = payload(CUSTOM_LLM_BODY)
    mutate(body)
    problems = custom_llm_problems(body)
    assert any(line.startswith(expected) for line in problems), problems


def test_the_call_types_without_a_network_number_are_the_sdk_s():
    from backend.tenant_routing import CALLS_WITHOUT_NETWORK_NUMBER

    call_types = literal_choices(sdk_type("Call").model_fields["type"].annotation)
    assert CALLS_WITHOUT_NETWORK_NUMBER < call_types
    assert {"inboundPhoneCall", "outboundPhoneCall"} == call_types - CALLS_WITHOUT_NETWORK_NUMBER


def test_the_customer_fields_read_for_a_caller_are_the_sdk_s():
    fields = {f.alias or name for name, f in sdk_type("CreateCustomerDto").model_fields.items()}
    assert {"number", "sipUri"} <= fields
