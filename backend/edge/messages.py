"""Each request body as one typed value, parsed once at the edge: a server message or a chat
completion. The shapes declare only the fields a later stage reads; Vapi's others are skipped.

Why msgspec (benchmarks/parse.py, 2 shared cores): on the hot messages it turns a body into
what the handlers read in 5.4 µs (status-update) against 6.8 for pydantic v2 and 13.4 for json
plus reads by hand; on a 1 MiB end-of-call report its decoding takes 0.47 ms against 1.4 for
pydantic and 5.7 for json (1.6 ms with the checks of edge/body.py, which pydantic would need
too). Its JSON is strict with no option to relax it (NaN, Infinity, lone surrogates refused),
its nesting is bounded by Python's stack rather than pydantic's fixed 200 levels, its errors
name types and a path, never a value (pydantic's quote the input), and it depends on nothing.
"""

from typing import Any

import msgspec

from backend.edge.body import decode
from backend.edge.errors import BadPayload
from backend.edge.tool_calls import (
    ToolCall,
    ToolCallShape,
    ToolWithToolCallShape,
    static_caller_numbers,
    tool_calls_of,
)
from backend.edge.transcript import transcript_of
from backend.log_mask import mask_identifier

# Vapi's longest type is about 30 characters; the database column holds 64.
MAX_TYPE_LENGTH = 64
MAX_CALL_ID = 128


class _Customer(msgspec.Struct, rename="camel"):
    number: str | None = None
    # A SIP call's caller (CreateCustomerDto.sipUri), sip:+33...@host: tried after the numbers.
    sip_uri: str | None = None


class _Call(msgspec.Struct, rename="camel"):
    id: str | None = None
    type: str | None = None
    customer: _Customer | None = None
    phone_number_id: str | None = None


class _PhoneNumber(msgspec.Struct):
    id: str | None = None
    number: str | None = None


class _Message(msgspec.Struct, rename="camel"):
    type: str | None = None
    status: str | None = None
    ended_reason: str | None = None
    call: _Call | None = None
    customer: _Customer | None = None
    phone_number: _PhoneNumber | None = None
    tool_call_list: list[ToolCallShape] | None = None
    # The same calls, each with its tool: read when toolCallList is missing or empty.
    tool_with_tool_call_list: list[ToolWithToolCallShape] | None = None
    # Kept raw, read only where a turn is replayed from it (edge/transcript.py).
    artifact: msgspec.Raw = msgspec.Raw(b"")


class _ServerBody(msgspec.Struct):
    message: _Message | None = None


class _ChatMessage(msgspec.Struct):
    role: Any = None  # anything but "user" is skipped, whatever its type
    content: str | list | None = None


class _ChatBody(msgspec.Struct, rename="camel"):
    model: Any = None  # not a string: "backend"
    stream: bool = False
    messages: list[_ChatMessage] = []
    call: _Call | None = None
    customer: _Customer | None = None
    phone_number: _PhoneNumber | None = None


class VapiBody(msgspec.Struct, frozen=True, kw_only=True):
    """What a server message and a chat completion share: the call, who calls, what was dialled."""

    call_id: str | None = None
    call_type: str | None = None
    # Raw caller numbers in the order they are tried: call.customer.number, customer.number,
    # then the same customers' sipUri.
    caller_numbers: tuple[str | None, ...] = ()
    called_number: str | None = None  # phoneNumber.number, as sent
    phone_number_ids: frozenset[str] = frozenset()  # call.phoneNumberId, phoneNumber.id


class ServerMessage(VapiBody, frozen=True, kw_only=True):
    """A Server URL message: its type and what its handlers read."""

    type: str
    status: str | None = None
    ended_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    artifact: bytes = b""  # raw JSON: artifact_transcript() reads it when needed


class ChatCompletion(VapiBody, frozen=True, kw_only=True):
    """A Custom LLM request: the user's texts in order, the stream flag and the model."""

    user_texts: tuple[str, ...] = ()
    # What the assistant said, after how many user messages: where the contact step opened.
    assistant_said: tuple[tuple[int, str], ...] = ()
    # A tool's result came after the caller's last words: Vapi ran the endCall or transferCall
    # an answer asked for, and asks the model to go on from there. No caller turn.
    after_tool_result: bool = False
    stream: bool = False
    model: str = "backend"


_SERVER_DECODER = msgspec.json.Decoder(_ServerBody)
_CHAT_DECODER = msgspec.json.Decoder(_ChatBody)


def parse_server_message(raw):
    """The ServerMessage a Server URL body holds, or BadPayload naming what is wrong."""
    message = decode(_SERVER_DECODER, raw).message
    if message is None:
        raise BadPayload("message must be an object")
    if not message.type:
        raise BadPayload("message.type must be a non-empty string")
    if len(message.type) > MAX_TYPE_LENGTH:
        raise BadPayload(f"message.type must be at most {MAX_TYPE_LENGTH} characters")
    fields = _vapi_fields(message, "message.")
    tool_calls = tool_calls_of(message)
    # After the call's own: the caller number a tool's static parameter carries.
    fields["caller_numbers"] += tuple(static_caller_numbers(tool_calls))
    return ServerMessage(
        **fields,
        type=message.type,
        status=message.status,
        ended_reason=message.ended_reason,
        tool_calls=tool_calls,
        artifact=bytes(message.artifact),
    )


def parse_chat_completion(raw):
    """The ChatCompletion a Custom LLM body holds, or BadPayload naming what is wrong."""
    body = decode(_CHAT_DECODER, raw)
    transcript = transcript_of(body.messages)
    return ChatCompletion(
        **_vapi_fields(body, ""),
        user_texts=transcript.user_texts,
        assistant_said=transcript.assistant_said,
        after_tool_result=_after_tool_result(body.messages),
        stream=body.stream,
        # Echoed in the answer, as OpenAI's API does: never a whole number the client put there.
        model=mask_identifier(body.model[:64]) if isinstance(body.model, str) else "backend",
    )


def _after_tool_result(messages):
    """Whether a `tool` message comes after the last `user` one (whatever follows it)."""
    for message in reversed(messages):
        if message.role == "user":
            return False
        if message.role == "tool":
            return True
    return False


def _vapi_fields(holder, where):
    call = holder.call or _Call()
    if call.id is not None and not 0 < len(call.id) <= MAX_CALL_ID:
        raise BadPayload(f"{where}call.id must be 1 to {MAX_CALL_ID} characters")
    customers = (call.customer, holder.customer)
    phone_number = holder.phone_number or _PhoneNumber()
    return {
        "call_id": call.id,
        "call_type": call.type,
        "caller_numbers": (
            *(c.number if c else None for c in customers),
            *(c.sip_uri if c else None for c in customers),
        ),
        "called_number": phone_number.number,
        "phone_number_ids": frozenset(i for i in (call.phone_number_id, phone_number.id) if i),
    }
