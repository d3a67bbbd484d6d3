"""The way out acts: `end` ends the call after its sentence, `transfer` hands Vapi the tenant's
destination, in tool mode and in Custom LLM mode (driven by the official `openai` client).

Every answer is checked against `vapi-server-sdk`'s response models, and every message sent is
first checked against the SDK's model for its type.
"""

import asyncio
import copy
import json

import httpx
import openai
import pytest
import requests
import yaml
from vapi.types import (
    ServerMessageResponseToolCalls,
    ServerMessageResponseTransferDestinationRequest,
    ServerMessageToolCalls,
    ServerMessageTransferDestinationRequest,
)

from backend.engine import contact as engine
from tests.contact_play import CALLER, OPENING_UNKNOWN, ToolCall, stored_call
from tests.leaks import random_id
from tests.servers import Gunicorn, init_db
from tests.vapi_sdk import problems_as

TRANSFER_NUMBER = "+33180009876"  # the business's own line, not a caller's
TRANSFER_SIP = "sip:accueil@pbx.example.fr"
TRANSFER_SENTENCE = "Je vous passe un conseiller."
END_SENTENCE = "Je n'arrive pas à noter votre numéro. Merci de nous rappeler plus tard. Au revoir."


def tenant(tenant_id, way_out, transfer_to=None):
    contact = {"collect_attempts": 1, "way_out": way_out}
    if transfer_to:
        contact["transfer_to"] = transfer_to
    return {
        "id": tenant_id,
        "name": tenant_id,
        "vapi": {"secret_env": "VAPI_SECRET_DEMO"},
        "contact": contact,
    }


@pytest.fixture
def way_out_app(tenants_app):
    return tenants_app(
        tenant("fin", "end"),
        tenant("relais", "transfer", TRANSFER_NUMBER),
        tenant("relais-sip", "transfer", TRANSFER_SIP),
    )


@pytest.fixture
def headers(secrets):
    return {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]}


def sdk_checked(model, body):
    """The body, once the SDK's model for it accepts everything in it.

    `phoneNumber` is the stored phone number, which the messages' schema types as the body that
    creates one: tests/test_vapi_payloads.py checks it against the stored one.
    """
    message = {k: v for k, v in body["message"].items() if k != "phoneNumber"}
    assert problems_as(model, message, "message") == []
    return body


def unknown_caller(vapi_payload, stem):
    body = copy.deepcopy(vapi_payload(stem))
    body["message"]["call"].pop("customer", None)
    body["message"].pop("customer", None)
    return body


def transfer_destination_request(vapi_payload, call_id):
    message = unknown_caller(vapi_payload, "tool-calls")["message"]
    body = {
        "message": {
            "type": "transfer-destination-request",
            "timestamp": message["timestamp"],
            "call": {**message["call"], "id": call_id},
        }
    }
    return sdk_checked(ServerMessageTransferDestinationRequest, body)


def tool_call(app, headers, vapi_payload, tenant_id):
    body = sdk_checked(
        ServerMessageToolCalls, unknown_caller(vapi_payload, "tool-calls.string-arguments")
    )
    return ToolCall(app.test_client(), headers, body, random_id("wo"), tenant_id)


def test_tool_mode_end_asks_vapi_to_end_the_call_after_the_sentence(
    way_out_app, headers, vapi_payload
):
    call = tool_call(way_out_app, headers, vapi_payload, "fin")
    assert call.sentence("") == OPENING_UNKNOWN
    result = call.say("je ne sais pas")
    assert result["message"] == {
        "type": "request-complete",
        "role": "assistant",
        "content": END_SENTENCE,
        "endCallAfterSpokenEnabled": True,
    }
    assert problems_as(ServerMessageResponseToolCalls, {"results": [result]}, "answer") == []
    # An earlier turn does not end the call.
    first = call.say("", tool_call_id="call_1")
    assert "endCallAfterSpokenEnabled" not in first["message"]


def test_tool_mode_transfer_lets_the_model_call_transfer_and_gives_the_destination(
    way_out_app, headers, vapi_payload
):
    call = tool_call(way_out_app, headers, vapi_payload, "relais")
    call.sentence("")
    result = call.say("je ne sais pas")
    # Nothing spoken here: a request-complete message would stop Vapi from asking the model.
    assert "message" not in result
    assert result["result"].startswith(engine.CONTACT_TRANSFER)
    assert "transferCall" in result["result"]
    assert problems_as(ServerMessageResponseToolCalls, {"results": [result]}, "answer") == []
    assert stored_call(way_out_app, "relais", call.body["message"]["call"]["id"]).state == (
        engine.CONTACT_TRANSFER
    )
    # The model calls transferCall, which has no destination: Vapi asks the Server URL.
    answer = way_out_app.test_client().post(
        "/api/vapi/relais/webhook",
        json=transfer_destination_request(vapi_payload, call.body["message"]["call"]["id"]),
        headers=headers,
    )
    assert answer.status_code == 200
    assert answer.get_json() == {
        "destination": {"type": "number", "number": TRANSFER_NUMBER, "message": TRANSFER_SENTENCE}
    }
    problems = problems_as(ServerMessageResponseTransferDestinationRequest, answer.get_json(), "a")
    assert problems == []


def test_a_sip_destination_and_a_tenant_without_one(way_out_app, headers, vapi_payload):
    client = way_out_app.test_client()
    body = transfer_destination_request(vapi_payload, random_id("sip"))
    sip = client.post("/api/vapi/relais-sip/webhook", json=body, headers=headers).get_json()
    assert sip == {
        "destination": {"type": "sip", "sipUri": TRANSFER_SIP, "message": TRANSFER_SENTENCE}
    }
    assert problems_as(ServerMessageResponseTransferDestinationRequest, sip, "answer") == []
    none = client.post("/api/vapi/fin/webhook", json=body, headers=headers)
    assert none.status_code == 200
    assert "contact.transfer_to" in none.get_json()["error"]
    problems = problems_as(ServerMessageResponseTransferDestinationRequest, none.get_json(), "a")
    assert problems == []


def openai_client(app, tenant_id, secret):
    """OpenAI's official client, on the app through httpx's WSGI transport."""
    http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://vapi.test")
    return openai.OpenAI(
        base_url=f"http://vapi.test/api/vapi/{tenant_id}",
        api_key=secret,
        http_client=http,
        max_retries=0,
    )


def llm_turns(client, call_id, stream):
    """Open the step, then one unusable answer: (opening, final content, final tool calls)."""
    extra = {"call": {"id": call_id}}
    history = [{"role": "user", "content": "Bonjour, je voudrais un rendez-vous."}]
    answers = []
    for utterance in (None, "je ne sais pas"):
        if utterance:
            history.append({"role": "user", "content": utterance})
        if stream:
            with client.chat.completions.stream(
                model="backend", messages=history, extra_body=extra
            ) as events:
                message = events.get_final_completion().choices[0].message
        else:
            completion = client.chat.completions.create(
                model="backend", messages=history, extra_body=extra
            )
            message = completion.choices[0].message
            finish = completion.choices[0].finish_reason
            assert finish == ("tool_calls" if message.tool_calls else "stop")
        answers.append(message)
        history.append({"role": "assistant", "content": message.content or ""})
    return answers[0].content, answers[1].content, answers[1].tool_calls


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_custom_llm_end_says_the_sentence_then_calls_end_call(way_out_app, secrets, stream):
    client = openai_client(way_out_app, "fin", secrets["VAPI_SECRET_DEMO"])
    opening, content, tool_calls = llm_turns(client, random_id("llm-end"), stream)
    assert opening == OPENING_UNKNOWN
    assert content == END_SENTENCE
    assert [(t.type, t.function.name, t.function.arguments) for t in tool_calls] == [
        ("function", "endCall", "{}")
    ]
    assert tool_calls[0].id


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_custom_llm_transfer_calls_transfer_call(way_out_app, secrets, stream):
    client = openai_client(way_out_app, "relais", secrets["VAPI_SECRET_DEMO"])
    _, content, tool_calls = llm_turns(client, random_id("llm-tr"), stream)
    # The destination's message says the sentence (transfer-destination-request): not twice.
    assert not content
    assert [(t.function.name, t.function.arguments) for t in tool_calls] == [("transferCall", "{}")]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_custom_llm_turns_before_the_way_out_call_no_tool(way_out_app, secrets, stream):
    client = openai_client(way_out_app, "fin", secrets["VAPI_SECRET_DEMO"])
    extra = {"call": {"id": random_id("llm-plain")}}
    messages = [{"role": "user", "content": "Bonjour"}]
    if stream:
        with client.chat.completions.stream(
            model="backend", messages=messages, extra_body=extra
        ) as events:
            completion = events.get_final_completion()
    else:
        completion = client.chat.completions.create(
            model="backend", messages=messages, extra_body=extra
        )
    choice = completion.choices[0]
    assert choice.message.content == OPENING_UNKNOWN
    assert not choice.message.tool_calls and choice.finish_reason == "stop"


def test_the_contact_tool_s_static_caller_number_is_captured(way_out_app, headers, vapi_payload):
    # `flask vapi config` gives the contact tool {{customer.number}} as a static parameter: a
    # tool-calls message that lost its customer still has the number in the arguments.
    call = tool_call(way_out_app, headers, vapi_payload, "fin")
    result = call.say("", name=None)
    assert result["message"]["content"] == OPENING_UNKNOWN
    other = tool_call(way_out_app, headers, vapi_payload, "fin")
    tool = {
        "id": "call_static",
        "type": "function",
        "function": {
            "name": "contact_step",
            "arguments": json.dumps({"utterance": "", "caller_number": CALLER}),
        },
    }
    response = other.post_raw([tool])
    assert response.status_code == 200
    (answer,) = response.get_json()["results"]
    assert answer["message"]["content"].startswith("J'ai un numéro qui se termine par 14.")
    row = stored_call(way_out_app, "fin", other.body["message"]["call"]["id"])
    assert row.caller_number == CALLER


@pytest.mark.slow
def test_over_real_http_on_two_workers(database_url, tmp_path, vapi_payload):
    """Gunicorn, two workers, real HTTP: OpenAI's client (sync streamed, async not) plays a
    call to the way out; Vapi's transfer-destination-request then gets the destination."""
    folder = tmp_path / "tenants"
    folder.mkdir()
    for data in (tenant("fin", "end"), tenant("relais", "transfer", TRANSFER_NUMBER)):
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        (folder / f"{data['id']}.yaml").write_text(text, encoding="utf-8")
    env = {"DATABASE_URL": database_url, "TENANTS_DIR": str(folder), "VAPI_SECRET_DEMO": "gw"}
    init_db(env)
    server = Gunicorn("wsgi:app", env=env, workers=2, ready_path="/readyz")
    server.start(timeout=60)
    try:
        sync = openai.OpenAI(base_url=f"{server.url}/api/vapi/fin", api_key="gw", max_retries=0)
        _, content, tool_calls = llm_turns(sync, random_id("gw-end"), stream=True)
        assert content == END_SENTENCE
        assert [t.function.name for t in tool_calls] == ["endCall"]

        async def transfer_turns():
            client = openai.AsyncOpenAI(
                base_url=f"{server.url}/api/vapi/relais", api_key="gw", max_retries=0
            )
            call_id = random_id("gw-tr")
            extra = {"call": {"id": call_id}}
            history = [{"role": "user", "content": "Bonjour"}]
            await client.chat.completions.create(
                model="backend", messages=history, extra_body=extra
            )
            history += [
                {"role": "assistant", "content": OPENING_UNKNOWN},
                {"role": "user", "content": "je ne sais pas"},
            ]
            answer = await client.chat.completions.create(
                model="backend", messages=history, extra_body=extra
            )
            await client.close()
            return call_id, answer.choices[0]

        call_id, choice = asyncio.run(transfer_turns())
        assert choice.finish_reason == "tool_calls"
        assert choice.message.tool_calls[0].function.name == "transferCall"
        asked = requests.post(
            f"{server.url}/api/vapi/relais/webhook",
            json=transfer_destination_request(vapi_payload, call_id),
            headers={"X-Vapi-Secret": "gw"},
            timeout=10,
        )
        assert asked.json()["destination"]["number"] == TRANSFER_NUMBER
    finally:
        server.cleanup()
