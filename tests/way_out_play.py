"""The way out's shared test parts: tenants with each way out, SDK-checked Vapi messages."""

import copy

from tests.contact_play import ToolCall
from tests.leaks import random_id
from tests.vapi_sdk import problems_as, sdk_type

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


def way_out_tenants():
    """One tenant per way out that acts: end, transfer to a number, transfer to a SIP URI."""
    return (
        tenant("fin", "end"),
        tenant("relais", "transfer", TRANSFER_NUMBER),
        tenant("relais-sip", "transfer", TRANSFER_SIP),
    )


def sdk_checked(model, body):
    """The body, once the SDK's model for it (its name) accepts everything in it.

    `phoneNumber` is the stored phone number, which the messages' schema types as the body that
    creates one: tests/test_vapi_payloads.py checks it against the stored one.
    """
    message = {k: v for k, v in body["message"].items() if k != "phoneNumber"}
    assert problems_as(sdk_type(model), message, "message") == []
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
    return sdk_checked("ServerMessageTransferDestinationRequest", body)


def tool_call(app, headers, vapi_payload, tenant_id):
    body = sdk_checked(
        "ServerMessageToolCalls", unknown_caller(vapi_payload, "tool-calls.string-arguments")
    )
    return ToolCall(app.test_client(), headers, body, random_id("wo"), tenant_id)
