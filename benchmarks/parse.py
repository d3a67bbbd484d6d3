"""Parsing a request body once at the edge: msgspec against pydantic v2 and the standard library.

    python benchmarks/parse.py [--repeats 200] [--requests 2000] [--app-only]

Two tables, bounded (a fixed number of parses and of requests), in this process, nothing served:
1. the time to turn a body into what the handlers read, for a 1 MiB end-of-call report (a long
   call's transcript, in Vapi's own shape) and the hot messages (status-update, chat completion):
   - stdlib: what the edge did before, json's decoder then each field read by hand from the dict;
   - pydantic: pydantic v2 models of the same shapes, `model_validate_json`, extra fields ignored;
   - msgspec: backend/edge/messages.py as served, with the checks no library makes (UTF-8 of
     skipped strings, NUL escapes, integers too long for Python: edge/body.py), which the
     other columns leave out; "bare" is msgspec's decoding alone;
2. CPU per request of the whole app (Flask test client, SQLite file, warnings logged) for a new
   call's status-update and a streamed chat completion, `--requests` of each. `--app-only` runs
   this table alone, which also runs on the code before the edge parsed with msgspec: copy this
   file into an older checkout to compare.

Timing figures move with what else runs on the machine: compare columns of one run.
"""

import argparse
import copy
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.paths import VAPI_PAYLOADS  # noqa: E402  (the repository root is added just above)

MIB = 1024 * 1024


def vapi_body(name):
    return json.loads((VAPI_PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def long_end_of_call_report(size=MIB):
    """The example end-of-call report with its transcript repeated up to `size` bytes."""
    body = vapi_body("end-of-call-report")
    artifact = body["message"]["artifact"]
    turns = artifact["messages"][1:]
    while len(json.dumps(body).encode()) < size - 4096:
        for turn in turns:
            artifact["messages"].append(copy.deepcopy(turn))
            artifact["transcript"] += f"\n{turn.get('role')}: {turn.get('message', '')}"
    return json.dumps(body, ensure_ascii=False).encode()


# --- the standard library, fields read by hand (the edge before msgspec) ----------------------

_STDLIB = json.JSONDecoder()


def _get(obj, path):
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def stdlib_server(raw):
    message = _STDLIB.decode(raw.decode("utf-8-sig"))["message"]
    reads = ("type", "status", "endedReason", "call.id", "call.type", "call.customer.number")
    reads += ("customer.number", "phoneNumber.number", "phoneNumber.id", "call.phoneNumberId")
    return [_get(message, path) for path in reads], message.get("toolCallList")


def stdlib_chat(raw):
    body = _STDLIB.decode(raw.decode("utf-8-sig"))
    texts = [m.get("content") for m in body.get("messages", []) if m.get("role") == "user"]
    return texts, body.get("stream"), body.get("model"), _get(body, "call.id")


# --- pydantic v2, the same shapes ---------------------------------------------------------------


def pydantic_parsers():
    from typing import Any

    from pydantic import BaseModel, ConfigDict, Field

    class Model(BaseModel):
        model_config = ConfigDict(extra="ignore", populate_by_name=True)

    class Customer(Model):
        number: str | None = None

    class Call(Model):
        id: str | None = None
        type: str | None = None
        customer: Customer | None = None
        phone_number_id: str | None = Field(None, alias="phoneNumberId")

    class PhoneNumber(Model):
        id: str | None = None
        number: str | None = None

    class Function(Model):
        name: str | None = None
        arguments: Any = None

    class ToolCall(Model):
        id: str | None = None
        function: Function | None = None

    class Message(Model):
        type: str | None = None
        status: str | None = None
        ended_reason: str | None = Field(None, alias="endedReason")
        call: Call | None = None
        customer: Customer | None = None
        phone_number: PhoneNumber | None = Field(None, alias="phoneNumber")
        tool_call_list: list[ToolCall] | None = Field(None, alias="toolCallList")

    class ServerBody(Model):
        message: Message | None = None

    class ChatMessage(Model):
        role: Any = None
        content: str | list | None = None

    class ChatBody(Model):
        model: Any = None
        stream: bool = False
        messages: list[ChatMessage] = []
        call: Call | None = None
        customer: Customer | None = None
        phone_number: PhoneNumber | None = Field(None, alias="phoneNumber")

    return ServerBody.model_validate_json, ChatBody.model_validate_json


def per_parse_us(parse, raw, repeats):
    """Median of 5 batches, microseconds per parse."""
    batches = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            parse(raw)
        batches.append((time.perf_counter() - start) / repeats * 1e6)
    return statistics.median(batches)


def library_table(repeats):
    from backend.edge import messages
    from backend.edge.messages import parse_chat_completion, parse_server_message

    pydantic_server, pydantic_chat = pydantic_parsers()
    chat = vapi_body("chat-completions.request")
    bodies = [
        ("end-of-call-report, 1 MiB", long_end_of_call_report(), max(repeats // 20, 3), "server"),
        ("status-update", json.dumps(vapi_body("status-update.in-progress")).encode(), 0, "server"),
        ("chat completion", json.dumps(chat, ensure_ascii=False).encode(), 0, "chat"),
    ]
    parsers = {
        "server": (
            stdlib_server,
            pydantic_server,
            parse_server_message,
            messages._SERVER_DECODER.decode,
        ),
        "chat": (stdlib_chat, pydantic_chat, parse_chat_completion, messages._CHAT_DECODER.decode),
    }
    print(
        f"{'body':28} {'bytes':>9} {'stdlib µs':>10} {'pydantic µs':>12} {'msgspec µs':>11}"
        f" {'(bare) µs':>10}"
    )
    for name, raw, count, kind in bodies:
        times = [per_parse_us(parse, raw, count or repeats) for parse in parsers[kind]]
        print(
            f"{name:28} {len(raw):>9} "
            + " ".join(f"{t:>{w}.1f}" for t, w in zip(times, (10, 12, 11, 10), strict=True))
        )


def app_table(requests):
    os.environ.setdefault("VAPI_SECRET_DEMO", "bench-secret")
    from backend import create_app
    from backend.store.db import db

    logging.getLogger("backend").addHandler(logging.NullHandler())
    with tempfile.TemporaryDirectory() as folder:
        config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/calls.db", "LOG_LEVEL": "WARNING"}
        app = create_app(config)
        with app.app_context():
            db.create_all()
        client = app.test_client()
        headers = {"X-Vapi-Secret": os.environ["VAPI_SECRET_DEMO"]}
        status, chat = vapi_body("status-update.in-progress"), vapi_body("chat-completions.request")
        chat["stream"] = True

        def status_update(i):
            status["message"]["call"]["id"] = f"bench-{uuid.uuid4().hex}"  # a new call each
            return "/api/vapi/demo/webhook", json.dumps(status).encode()

        def chat_completion(i):
            chat["call"]["id"] = f"bench-chat-{i % 20}"  # turns of 20 calls
            return "/api/vapi/demo/chat/completions", json.dumps(chat).encode()

        print(f"\n{'request':18} {'CPU µs/request':>15}  ({requests} each, in-process)")
        for name, make in (("status-update", status_update), ("chat completion", chat_completion)):
            prepared = [make(i) for i in range(requests)]
            for url, raw in prepared[:50]:  # warm-up
                client.post(url, data=raw, headers=headers, content_type="application/json")
            start = time.process_time()
            for url, raw in prepared:
                answer = client.post(
                    url, data=raw, headers=headers, content_type="application/json"
                )
                assert answer.status_code == 200, answer.get_data()[:200]
            print(f"{name:18} {(time.process_time() - start) / requests * 1e6:>15.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="parses per batch (hot bodies)")
    parser.add_argument("--requests", type=int, default=2000, help="requests of each kind")
    parser.add_argument("--app-only", action="store_true", help="only the per-request table")
    args = parser.parse_args()
    if not args.app_only:
        library_table(min(args.repeats, 10_000))
    app_table(min(args.requests, 20_000))


if __name__ == "__main__":
    main()
