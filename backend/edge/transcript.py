"""What a call's messages said, in OpenAI's format: a Custom LLM body's `messages`, and the
`artifact.messagesOpenAIFormatted` of a server message (Vapi's live copy of the call's
artifact: the end-of-call report and tool calls carry it). The request is the source when the
database cannot be read: the engine replays the call from these (backend/engine/replay.py).

Read leniently: a field of another shape than expected is skipped, never a 400, since the
answer never depends on it alone.
"""

from typing import Any

import msgspec


class OpenAIMessage(msgspec.Struct):
    """One message: its role, its text (a string or text parts), the tool calls it makes."""

    role: Any = None
    content: Any = None
    tool_calls: Any = None


class _Artifact(msgspec.Struct):
    messages: list[OpenAIMessage] = msgspec.field(default=[], name="messagesOpenAIFormatted")


class Transcript(msgspec.Struct, frozen=True):
    """The user's texts in order, what the assistant said after how many of them, and the
    tool calls made, in order: (id, function name, arguments as raw JSON)."""

    user_texts: tuple[str, ...] = ()
    assistant_said: tuple[tuple[int, str], ...] = ()
    tool_calls: tuple[tuple[str, str, bytes], ...] = ()


NO_TRANSCRIPT = Transcript()
_ARTIFACT_DECODER = msgspec.json.Decoder(_Artifact)


def transcript_of(messages):
    """The Transcript of a list of messages (OpenAIMessage, or any with `role` and `content`)."""
    users, said, tool_calls = [], [], []
    for message in messages:
        if message.role == "user":
            users.append(_text(message.content))
        elif message.role == "assistant":
            text = _text(message.content)
            if text:
                said.append((len(users), text))
            tool_calls.extend(_tool_calls(getattr(message, "tool_calls", None)))
    return Transcript(tuple(users), tuple(said), tuple(tool_calls))


def artifact_transcript(raw):
    """The Transcript of a server message's raw `artifact`; empty: none, or unreadable."""
    try:
        return transcript_of(_ARTIFACT_DECODER.decode(raw).messages) if raw else NO_TRANSCRIPT
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return NO_TRANSCRIPT


def _text(content):
    """OpenAI content: a string, or parts of which the text ones count."""
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return content if isinstance(content, str) else ""


def _tool_calls(calls):
    if not isinstance(calls, list):
        return
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str):
            continue
        arguments = function.get("arguments")
        raw = msgspec.json.encode(arguments) if arguments is not None else b"null"
        yield call["id"], str(function.get("name") or "")[:64], raw
