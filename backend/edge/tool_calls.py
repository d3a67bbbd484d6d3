"""The tool calls a server message carries: parsed at the edge with the message, each call's
arguments read later, per call (a call whose arguments cannot be read fails alone)."""

from typing import Any

import msgspec

from backend.edge.errors import BadPayload

MAX_TOOL_CALL_ID = 128
# Tool calls in one message: a model calls a few tools at once. Each contact tool call is a
# turn with its own database round trips, so a message of thousands would spend its answer's
# time (and, the database budget spent, replay every earlier one from the request).
MAX_TOOL_CALLS = 32


class _Function(msgspec.Struct):
    name: str | None = None
    # Kept as raw JSON: an object or a JSON string, read (or refused) per tool call.
    arguments: msgspec.Raw = msgspec.Raw(b"null")


class ToolCallShape(msgspec.Struct):
    """A tool call as a body holds it (edge/messages.py decodes the body with it)."""

    id: str | None = None
    function: _Function | None = None


class ToolWithToolCallShape(msgspec.Struct, rename="camel"):
    """An item of toolWithToolCallList: its tool, and the call made of it."""

    tool_call: ToolCallShape | None = None


class ToolCall(msgspec.Struct, frozen=True):
    """One tool call: its id, function name, and arguments as raw JSON (an object or a string)."""

    id: str
    name: str
    arguments: bytes


class _ToolArguments(msgspec.Struct):
    utterance: str | None = None
    # A static parameter of the tool: `flask vapi config` gives the contact tool Vapi's
    # {{customer.number}}, merged into the arguments (docs/vapi-setup.md). Any type: a strange
    # value must not make the utterance unreadable; only a string is used.
    caller_number: Any = None


# A tool call's arguments: an object, or the same object as a JSON string (Vapi sends both).
_ARGUMENTS_DECODER = msgspec.json.Decoder(_ToolArguments | str | None)
_ARGUMENTS_TEXT_DECODER = msgspec.json.Decoder(_ToolArguments)


def tool_calls_of(message):
    """A tool-calls message's calls: toolCallList, else the calls toolWithToolCallList holds
    (Vapi sends both; the SDK requires the first, and a call missed would go unanswered)."""
    if message.tool_call_list or not message.tool_with_tool_call_list:
        return _tool_calls(message.tool_call_list or (), "message.toolCallList[{}]")
    listed = [item.tool_call for item in message.tool_with_tool_call_list]
    if any(tool_call is None for tool_call in listed):
        raise BadPayload("message.toolWithToolCallList items must each hold a toolCall")
    return _tool_calls(listed, "message.toolWithToolCallList[{}].toolCall")


def _tool_calls(tool_call_list, where):
    if len(tool_call_list) > MAX_TOOL_CALLS:
        list_name = where.partition("[")[0]
        raise BadPayload(f"{list_name} must hold at most {MAX_TOOL_CALLS} tool calls")
    calls = []
    for position, tool_call in enumerate(tool_call_list):
        if not tool_call.id or len(tool_call.id) > MAX_TOOL_CALL_ID:
            raise BadPayload(
                f"{where.format(position)}.id must be 1 to {MAX_TOOL_CALL_ID} characters"
            )
        function = tool_call.function or _Function()
        name = (function.name or "")[:64]
        calls.append(ToolCall(tool_call.id, name, bytes(function.arguments)))
    return tuple(calls)


def static_caller_numbers(tool_calls):
    """The caller numbers the calls' static parameter carries, in order."""
    for tool_call in tool_calls:
        arguments = _arguments(tool_call.arguments)
        if isinstance(arguments, _ToolArguments) and isinstance(arguments.caller_number, str):
            yield arguments.caller_number


_UNREADABLE = object()


def _arguments(raw):
    """A tool call's raw arguments as _ToolArguments, None without any, or _UNREADABLE."""
    try:
        decoded = _ARGUMENTS_DECODER.decode(raw)
        if isinstance(decoded, str):
            decoded = _ARGUMENTS_TEXT_DECODER.decode(decoded) if decoded else None
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return _UNREADABLE
    return decoded


def utterance_of(arguments):
    """The `utterance` of a tool call's raw arguments; None when they cannot be read.

    Arguments are read per tool call, so that unreadable ones (malformed, nested past the stack,
    NaN, a NUL) fail that tool call only, with the same checks as a body.
    """
    decoded = _arguments(arguments)
    if decoded is _UNREADABLE:
        return None
    utterance = decoded.utterance if decoded is not None else None
    if utterance is not None and "\x00" in utterance:
        return None
    return utterance or ""


def contact_tool_calls(tool_name, tool_calls):
    """(id, utterance) of each readable call of the tool named `tool_name`, in order.

    `tool_calls`: (id, name, raw arguments) as a Transcript holds them.
    """
    calls = []
    for tool_call_id, name, arguments in tool_calls:
        utterance = utterance_of(arguments)
        if name == tool_name and utterance is not None:
            calls.append((tool_call_id, utterance))
    return calls
