"""Vapi Custom LLM: `POST /api/vapi/<tenant_id>/chat/completions` answers the engine's sentence."""

import json
import time
import uuid

from flask import Blueprint, Response, request

from backend.auth.credentials import require_tenant_auth
from backend.capture.caller_id import capture_caller_id_and_conversation
from backend.edge.body import request_bytes
from backend.edge.messages import parse_chat_completion
from backend.logs import bind_request
from backend.metrics.http import note_message_type
from backend.routes.way_out import llm_sentence, llm_tool_call
from backend.tenant_routing import tenant_named
from backend.tenants.store import tenant_store
from backend.turns import llm_turn

bp = Blueprint("llm", __name__, url_prefix="/api/vapi")

# One encoder for every chunk: json.dumps with an option builds one per call.
_chunk_json = json.JSONEncoder(ensure_ascii=False).encode


@bp.post("/<tenant_id>/chat/completions")
def chat_completions(tenant_id):
    """One assistant turn: server-sent events when `stream` is true (as Vapi sends), else JSON."""
    note_message_type("chat-completions")
    tenant = tenant_named(tenant_store().directory, tenant_id)
    # A turn is answered from the request when the database is away: its replay check too.
    require_tenant_auth(tenant, outage_tolerated=lambda: True)
    body = parse_chat_completion(request_bytes(request))
    bind_request(call_id=body.call_id)  # from now on the request's log lines name its call
    number, stored = capture_caller_id_and_conversation(tenant, body, "chat-completions")
    if body.after_tool_result:
        # The call's end or transfer ran (a transfer that failed comes back here): asking for
        # it again would loop, and the goodbye was said. Nothing more to say until the caller
        # speaks; the turn then answers as the step left it.
        content, tool_call = "", None
    else:
        catalogs = tenant_store().catalogs
        state, sentence = llm_turn(
            tenant, body.call_id, number, body.user_texts, catalogs, stored, body.assistant_said
        )
        # On the way out, the answer ends with a call to Vapi's endCall or transferCall tool.
        content, tool_call = llm_sentence(state, sentence), llm_tool_call(state)
    if body.stream:
        return Response(
            sse_chunks(content, body.model, tool_call),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )
    return completion(content, body.model, tool_call)


# OpenAI's error object, which its clients read into APIStatusError's type and message: what
# this endpoint refuses, in the shape a Custom LLM's caller expects (the webhook keeps Vapi's
# plain string, which the SDK types as one).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


@bp.after_request
def openai_error(response):
    """`{"error": "..."}` as OpenAI's `{"error": {"message", "type", "param", "code"}}`."""
    if response.status_code < 400 or not response.is_json:
        return response
    said = response.get_json(silent=True)
    if not isinstance(said, dict) or not isinstance(said.get("error"), str):
        return response
    status = response.status_code
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    error = {"message": said.pop("error"), "type": kind, "param": None, "code": None}
    response.set_data(_chunk_json({"error": error, **said}))
    return response


def _envelope(model, kind):
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


def completion(sentence, model, tool_call=None):
    """One `chat.completion` object; with `tool_call`, the message calls that tool."""
    message = {"role": "assistant", "content": sentence}
    if tool_call is not None:
        message["tool_calls"] = [tool_call]
    return {
        **_envelope(model, "chat.completion"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "stop" if tool_call is None else "tool_calls",
            }
        ],
    }


def sse_chunks(sentence, model, tool_call=None):
    """The sentence as `chat.completion.chunk` events, then `data: [DONE]`.

    With `tool_call`, a chunk after the sentence carries it whole (OpenAI's streamed form:
    `delta.tool_calls` with an index) and the stream finishes with `tool_calls`.
    """
    envelope = _envelope(model, "chat.completion.chunk")
    deltas = [({"role": "assistant", "content": sentence}, None)]
    if tool_call is not None:
        deltas.append(({"tool_calls": [{"index": 0, **tool_call}]}, None))
    deltas.append(({}, "stop" if tool_call is None else "tool_calls"))
    lines = []
    for delta, finish in deltas:
        chunk = {**envelope, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        lines.append(f"data: {_chunk_json(chunk)}\n\n")
    lines.append("data: [DONE]\n\n")
    return "".join(lines)
