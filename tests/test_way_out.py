"""The way out in tool mode and in Vapi's transfer-destination-request: `end` ends the call after
its sentence, `transfer` hands Vapi the tenant's destination. Every answer is checked against
`vapi-server-sdk`'s response models, and every message sent against the SDK's model for its type.
"""

import json

import pytest
from vapi.types import (
    ServerMessageResponseToolCalls,
    ServerMessageResponseTransferDestinationRequest,
)

from backend.engine import contact as engine
from tests.contact_play import CALLER, OPENING_UNKNOWN, stored_call
from tests.leaks import random_id
from tests.vapi_sdk import problems_as
from tests.way_out_play import (
    END_SENTENCE,
    TRANSFER_NUMBER,
    TRANSFER_SENTENCE,
    TRANSFER_SIP,
    tool_call,
    transfer_destination_request,
    way_out_tenants,
)

pytestmark = pytest.mark.vapi_sdk  # tests/vapi_sdk.py


@pytest.fixture
def way_out_app(tenants_app):
    return tenants_app(*way_out_tenants())


@pytest.fixture
def headers(secrets):
    return {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]}


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
