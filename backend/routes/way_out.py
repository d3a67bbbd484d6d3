"""The way out, acted on: Vapi ends the call after the sentence, or transfers it to the tenant.

Vapi's mechanisms (its API schema, as `vapi-server-sdk` 3.0 models it, and its docs):
- tool mode, `end`: the `request-complete` message of the tool answer with
  `endCallAfterSpokenEnabled: true` ("if true, the call will end after the message is spoken",
  ToolMessageComplete);
- Custom LLM mode, `end`: the answer calls the assistant's `endCall` tool, a tool call in the
  OpenAI format after the sentence ("Vapi-attached tools", docs.vapi.ai/customization/
  tool-calling-integration); `flask vapi config` attaches that tool to the model;
- `transfer`, both modes: the assistant's `transferCall` tool has no destinations, so Vapi asks
  the Server URL with a `transfer-destination-request` ("If no destinations are provided,
  server.url will be used to get the transfer destination once the tool is called",
  CreateTransferCallToolDto; docs.vapi.ai/calls/call-dynamic-transfers) and the answer gives the
  tenant's `contact.transfer_to`, read live from its YAML, with the sentence as the destination's
  `message`, which Vapi says before it connects. The Custom LLM answer calls `transferCall`; in
  tool mode the tool answer speaks nothing and tells the model to call `transferCall` (a
  `request-complete` message would stop the model from being asked, so it could not call it).
"""

import json
import uuid

from backend import prompts
from backend.engine.contact import CALL_ACTIONS, CLOSING, END_CALL, TRANSFER_CALL
from backend.logs import log_event
from backend.tenants.store import tenant_store

# The function names Vapi gives its built-in tools (`flask vapi config` keeps them).
END_CALL_TOOL = "endCall"
TRANSFER_CALL_TOOL = "transferCall"
TOOL_OF_ACTION = {END_CALL: END_CALL_TOOL, TRANSFER_CALL: TRANSFER_CALL_TOOL}


def call_action(state):
    """What Vapi does after a turn's sentence in `state`: END_CALL, TRANSFER_CALL or None."""
    return CALL_ACTIONS.get(state)


def tool_answer(base, state, sentence):
    """One `tool-calls` result: the sentence said word for word, then the way out's action."""
    line = " ".join(f"{state or 'RETRY'}: {sentence}".split())
    action = call_action(state)
    if action == TRANSFER_CALL:
        # No spoken message: Vapi then asks the model, which calls transferCall; the sentence is
        # the destination's message (answer_transfer_destination_request).
        instruction = f"call the {TRANSFER_CALL_TOOL} tool now, without saying anything"
        return {**base, "result": f"{line} ({instruction})"}
    message = {"type": "request-complete", "role": "assistant", "content": sentence}
    if action == END_CALL:
        message["endCallAfterSpokenEnabled"] = True
    return {**base, "result": line, "message": message}


def llm_tool_call(state):
    """The OpenAI tool call a Custom LLM answer in `state` ends with, or None.

    In this mode the backend is the assistant's whole model: once the step is over (a contact
    confirmed, a callback kept without a number), nothing else can follow its sentence, so the
    call ends after it, as the way out `end` does; a transfer transfers it.
    """
    action = call_action(state) or (END_CALL if state in CLOSING else None)
    if action is None:
        return None
    return {
        "id": f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        # No arguments: the transfer's destination comes from transfer-destination-request.
        "function": {"name": TOOL_OF_ACTION[action], "arguments": json.dumps({})},
    }


def llm_sentence(state, sentence):
    """What a Custom LLM answer says: nothing before a transfer (the destination says it)."""
    return None if call_action(state) == TRANSFER_CALL else sentence


def transfer_destination(tenant, catalogs):
    """The tenant's transfer destination as Vapi's TransferDestinationNumber or ...Sip, or None."""
    if not tenant.transfer_to:
        return None
    message = catalogs.sentence(
        prompts.VOCAL_CONTACT_WAY_OUT_TRANSFER, tenant.locale, tenant.variant
    )
    if tenant.transfer_to.lower().startswith(("sip:", "sips:")):
        return {"type": "sip", "sipUri": tenant.transfer_to, "message": message}
    return {"type": "number", "number": tenant.transfer_to, "message": message}


def answer_transfer_destination_request(tenant, message):
    """`transfer-destination-request`: the tenant's destination, or an error Vapi says no to."""
    destination = transfer_destination(tenant, tenant_store().catalogs)
    if destination is None:
        log_event("TRANSFER_NOT_CONFIGURED", level=30)
        return {"error": "no transfer destination: set contact.transfer_to in the tenant file"}
    # The destination is the business's own line: never logged all the same, only its kind.
    log_event("TRANSFER_DESTINATION_GIVEN", destination_type=destination["type"])
    return {"destination": destination}
