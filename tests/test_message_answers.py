"""Server messages that expect an answer get one Vapi's SDK accepts, the caller ID stored first,
and a message this service does not serve logs its choice once per call, not per message."""

import copy

import pytest

from tests.contact_play import CALLER, stored_call
from tests.leaks import random_id
from tests.outage import database_down
from tests.vapi_sdk import problems_as, sdk_type

pytestmark = pytest.mark.vapi_sdk

EXTRA = {
    "handoff-destination-request": {"parameters": {"destination": "support"}},
    "call.endpointing.request": {
        "messages": [],
        "messagesOpenAIFormatted": [{"role": "user", "content": "zéro six douze"}],
    },
    "voice-request": {"text": "Bonjour", "sampleRate": 24000},
    "knowledge-base-request": {
        "messagesOpenAIFormatted": [{"role": "user", "content": "Vos horaires ?"}],
    },
    "campaign.predial": {
        "campaignId": "camp-1",
        "contact": {
            "id": "contact-1",
            "campaignId": "camp-1",
            "orgId": "org-1",
            "number": "+33180001234",
            "createdAt": "2026-11-30T10:00:00.000Z",
        },
    },
}
MESSAGE_MODELS = {
    "handoff-destination-request": "ServerMessageHandoffDestinationRequest",
    "call.endpointing.request": "ServerMessageCallEndpointingRequest",
    "voice-request": "ServerMessageVoiceRequest",
    "campaign.predial": "ServerMessageCampaignPredial",
    "knowledge-base-request": "ServerMessageKnowledgeBaseRequest",
}
CHOICE_EVENTS = ("MESSAGE_NOT_SERVED", "CAMPAIGN_PREDIAL_ELIGIBLE", "ENDPOINTING_FIXED")
ANSWER_MODELS = {
    "handoff-destination-request": "ServerMessageResponseHandoffDestinationRequest",
    "call.endpointing.request": "ServerMessageResponseCallEndpointingRequest",
    "campaign.predial": "ServerMessageResponseCampaignPredial",
    "knowledge-base-request": "ServerMessageResponseKnowledgeBaseRequest",
}


def message_of(vapi_payload, msg_type, call_id):
    source = vapi_payload("status-update.in-progress")["message"]
    message = {
        "type": msg_type,
        "timestamp": source["timestamp"],
        "call": {**copy.deepcopy(source["call"]), "id": call_id},
        "customer": copy.deepcopy(source["customer"]),
        **EXTRA[msg_type],
    }
    assert problems_as(sdk_type(MESSAGE_MODELS[msg_type]), message, "message") == []
    return {"message": message}


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_MODELS))
def test_each_message_gets_an_answer_and_its_number_is_stored(
    app, client, demo_headers, vapi_payload, log_events, msg_type
):
    call_id = random_id("answer")
    body = message_of(vapi_payload, msg_type, call_id)
    for _ in range(3):
        response = client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers)
        assert response.status_code == 200
    if msg_type == "voice-request":
        # Raw PCM is what Vapi plays: no bytes is silence, where JSON would be noise.
        assert response.mimetype == "application/octet-stream" and response.data == b""
    else:
        assert problems_as(sdk_type(ANSWER_MODELS[msg_type]), response.get_json(), "answer") == []
    assert stored_call(app, "demo", call_id).caller_number == CALLER
    choices = [e for e in log_events() if e["event"] in CHOICE_EVENTS]
    # Once per call, not per message; `{}` (no documents) needs no word.
    assert len(choices) == (msg_type != "knowledge-base-request"), choices


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_MODELS))
def test_a_message_the_call_waits_on_is_answered_without_a_call_id(
    client, demo_headers, vapi_payload, msg_type
):
    body = message_of(vapi_payload, msg_type, "unused")
    del body["message"]["call"]["id"]
    assert client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers).status_code == 200


def test_the_answers_say_what_was_chosen(client, demo_headers, vapi_payload):
    def answer(msg_type):
        body = message_of(vapi_payload, msg_type, random_id("what"))
        return client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers).get_json()

    assert answer("campaign.predial") == {"eligible": True}
    assert answer("knowledge-base-request") == {}
    assert answer("call.endpointing.request") == {"timeoutSeconds": 1.5}
    handoff = answer("handoff-destination-request")
    assert handoff["destination"] == {} and "handoff" in handoff["error"]


@pytest.mark.product_deadlines
@pytest.mark.parametrize("msg_type", sorted(MESSAGE_MODELS))
def test_a_message_without_a_number_is_answered_with_the_database_away(
    app, client, demo_headers, vapi_payload, msg_type
):
    """Nothing to store: the answer does not ask the database (a transfer still goes through).
    One that carries a number is refused until it is stored (tests/test_sqlite_lock.py)."""
    body = message_of(vapi_payload, msg_type, random_id("away"))
    body["message"].pop("customer")
    body["message"]["call"].pop("customer")
    with database_down(app):
        response = client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers)
    assert response.status_code == 200, response.get_data(as_text=True)
