"""Vapi `tool-calls`: the tenant's contact tool runs the contact step and Vapi says its sentence.

For tenants who keep Vapi's own model: the model calls the tool (default `contact_step`) with what
the caller said (`utterance`); the answer carries the sentence in a `request-complete` message so
Vapi speaks it word for word. Always HTTP 200 for a well-formed message: a tool this tenant does
not run, or arguments it cannot read, get a result with an `error`.
"""

import json

from backend.capture.caller_id import capture_caller_id_and_conversation
from backend.edge.body import field
from backend.edge.errors import BadPayload
from backend.logs import log_event
from backend.store.calls import NOT_READ
from backend.tenant_routing import call_id_of
from backend.tenants.store import tenant_store
from backend.turns import tool_turn

MAX_TOOL_CALL_ID = 128


def answer_tool_calls(tenant, message):
    """Run each tool call of the message in order; one result per call."""
    calls = _tool_calls(message)
    number, stored = capture_caller_id_and_conversation(tenant, message, message["type"])
    call_id = call_id_of(message)
    results = []
    for call in calls:
        results.append(_result(tenant, call_id, number, stored, *call))
        stored = NOT_READ  # the call's text has changed: the next tool call reads it again
    return {"results": results}


def _tool_calls(message):
    """(id, name, arguments) of each tool call, all checked before any runs."""
    calls = []
    for position, tool_call in enumerate(field(message, "toolCallList", list, "message") or []):
        where = f"message.toolCallList[{position}]"
        if not isinstance(tool_call, dict):
            raise BadPayload(f"{where} must be an object")
        tool_call_id = field(tool_call, "id", str, where)
        if not tool_call_id or len(tool_call_id) > MAX_TOOL_CALL_ID:
            raise BadPayload(f"{where}.id must be 1 to {MAX_TOOL_CALL_ID} characters")
        name = field(tool_call, "function.name", str, where) or ""
        arguments = (tool_call.get("function") or {}).get("arguments")
        calls.append((tool_call_id, name[:64], arguments))
    return calls


def utterance_of(arguments):
    """The `utterance` argument, from a JSON object or a JSON string; None when unreadable."""
    if arguments is None or arguments == "":
        return ""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    utterance = arguments.get("utterance", "")
    if utterance is None:
        return ""
    return utterance if isinstance(utterance, str) else None


def _result(tenant, call_id, number, stored, tool_call_id, name, arguments):
    base = {"toolCallId": tool_call_id, "name": name}
    problem = None
    utterance = utterance_of(arguments)
    if name != tenant.tool_name:
        problem = f"unknown tool: this server runs {tenant.tool_name}"
    elif utterance is None:
        problem = "arguments must be a JSON object with a string utterance"
    elif call_id is None:
        problem = "message.call.id is missing: the contact step needs the call"
    if problem:
        # The tool name is not logged: it is whatever the request says.
        log_event("TOOL_CALL_REJECTED", level=30, reason=problem)
        return {**base, "error": problem}
    catalogs = tenant_store().catalogs
    state, sentence = tool_turn(tenant, call_id, number, tool_call_id, utterance, catalogs, stored)
    line = " ".join(f"{state or 'RETRY'}: {sentence}".split())
    return {
        **base,
        "result": line,
        "message": {"type": "request-complete", "role": "assistant", "content": sentence},
    }
