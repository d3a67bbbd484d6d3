"""Vapi Custom LLM: `POST /api/vapi/<tenant_id>/chat/completions` answers the engine's sentence."""

import json
import time
import uuid

from flask import Blueprint, Response, request

from backend.auth.credentials import require_tenant_auth
from backend.capture.caller_id import capture_caller_id_and_conversation, open_contact
from backend.edge.body import read_json_object
from backend.edge.errors import BadPayload
from backend.routes.voice import tenant_or_404
from backend.tenant_routing import call_id_of
from backend.tenants.store import tenant_store
from backend.turns import llm_turn

bp = Blueprint("llm", __name__, url_prefix="/api/vapi")


@bp.post("/<tenant_id>/chat/completions")
def chat_completions(tenant_id):
    """One assistant turn: server-sent events when `stream` is true (as Vapi sends), else JSON."""
    tenant = tenant_or_404(tenant_id)
    require_tenant_auth(tenant)
    body = read_json_object(request)
    if not isinstance(body.get("messages", []), list):
        raise BadPayload("messages must be an array")
    user_texts = user_messages(body.get("messages", []))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadPayload("stream must be a boolean")
    model = body.get("model") if isinstance(body.get("model"), str) else "backend"

    number, stored = capture_caller_id_and_conversation(tenant, body, "chat-completions")
    call_id = call_id_of(body)
    catalogs = tenant_store().catalogs
    if call_id is None:
        # Without a call id no turn can be remembered: the opening sentence, every time.
        _, sentence = open_contact(tenant, None, number, catalogs)
    else:
        _, sentence = llm_turn(tenant, call_id, number, user_texts, catalogs, stored)
    if stream:
        return Response(
            sse_chunks(sentence, model[:64]),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )
    return completion(sentence, model[:64])


def user_messages(messages):
    """The text of each user message, in order (OpenAI content: a string or text parts)."""
    texts = []
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadPayload(f"messages[{position}] must be an object")
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if content is None or isinstance(content, str):
            texts.append(content or "")
        elif isinstance(content, list):
            parts = [
                part.get("text")
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            ]
            texts.append(" ".join(parts))
        else:
            raise BadPayload(f"messages[{position}].content must be a string or an array")
    return texts


def _envelope(model, kind):
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


def completion(sentence, model):
    """One `chat.completion` object."""
    return {
        **_envelope(model, "chat.completion"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": sentence},
                "finish_reason": "stop",
            }
        ],
    }


def sse_chunks(sentence, model):
    """The sentence as `chat.completion.chunk` events, then `data: [DONE]`."""
    envelope = _envelope(model, "chat.completion.chunk")
    deltas = [
        ({"role": "assistant", "content": sentence}, None),
        ({}, "stop"),
    ]
    lines = []
    for delta, finish in deltas:
        chunk = {**envelope, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        lines.append(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
    lines.append("data: [DONE]\n\n")
    return "".join(lines)
