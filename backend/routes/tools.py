"""Vapi `tool-calls`: the tenant's contact tool runs the contact step and Vapi says its sentence.

For tenants who keep Vapi's own model: the model calls the tool (default `contact_step`) first
with an empty `utterance`, which asks the question, then with each reply of the caller; the
answer carries the sentence in a `request-complete` message so
Vapi speaks it word for word, then ends or transfers the call on the way out (way_out.py).
Always HTTP 200 for a well-formed message: a tool this tenant does not run, or arguments it
cannot read, get a result with an `error`.
"""

from backend.capture.caller_id import capture_caller_id_and_conversation
from backend.edge.tool_calls import contact_tool_calls, utterance_of
from backend.edge.transcript import artifact_transcript
from backend.log_mask import mask_identifier
from backend.logs import log_event
from backend.routes.way_out import tool_answer
from backend.store.calls import NOT_READ, UNREACHABLE
from backend.tenants.store import tenant_store
from backend.turns import tool_turn


def answer_tool_calls(tenant, message):
    """Run each tool call of a parsed message in order; one result per call."""
    number, stored = capture_caller_id_and_conversation(tenant, message, message.type)
    # The request is the source: the call's earlier contact tool calls, from its transcript.
    transcript = artifact_transcript(message.artifact)
    earlier = contact_tool_calls(tenant.tool_name, transcript.tool_calls)
    results = []
    for tool_call in message.tool_calls:
        results.append(_result(tenant, message.call_id, number, stored, tool_call, earlier))
        earlier += contact_tool_calls(
            tenant.tool_name, [(tool_call.id, tool_call.name, tool_call.arguments)]
        )
        if stored is not UNREACHABLE:
            stored = NOT_READ  # the call's text has changed: the next tool call reads it again
    return {"results": results}


def _result(tenant, call_id, number, stored, tool_call, earlier):
    # The id goes back as sent (Vapi matches results by it); the name, which nothing reads back,
    # never holds a whole number a client put there.
    base = {"toolCallId": tool_call.id, "name": mask_identifier(tool_call.name)}
    problem = None
    utterance = utterance_of(tool_call.arguments)
    if tool_call.name != tenant.tool_name:
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
    state, sentence = tool_turn(
        tenant, call_id, number, tool_call.id, utterance, catalogs, stored, earlier
    )
    return tool_answer(base, state, sentence)
