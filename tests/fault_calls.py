"""Whole calls as Vapi sends them, played by client threads that record every answer: the
traffic of tests/test_database_faults.py.

A Call is assistant-request, status-update, the contact step over the Custom LLM endpoint (the
body carries the conversation, with the agent's answers as they came back) or the `contact_step`
tool (each tool-calls message carries the earlier ones in `artifact`), status-update ended, and
the end-of-call report (its `artifact` holds the whole conversation).
"""

import copy
import http.client
import json
import threading
import time

from tests.leaks import random_id, watch
from tests.test_races import decode

CLIENTS = 4
SPOKEN = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"
SPOKEN_E164 = "+33612345678"
SCRIPTS = {  # what the caller says, by kind of call
    "llm-yes": ["oui"],
    "llm-spoken": ["non", SPOKEN, "oui"],
    "tool-yes": ["oui c'est bien mon numéro"],
}


def caller(index):
    return f"+33613{index:06d}"


watch(SPOKEN_E164, *(caller(i) for i in range(500)))


def kind_of(index):
    return list(SCRIPTS)[index % len(SCRIPTS)]


class Call:
    """One call as Vapi sends it: each step a (label, path, body) built from what came back."""

    def __init__(self, payloads, run, index):
        self.payloads, self.index, self.kind = payloads, index, kind_of(index)
        self.call_id = f"{run}-{index}-{random_id('c', 6)}"
        self.number = caller(index)
        self.messages = copy.deepcopy(payloads("chat-completions.request")["messages"])
        self.tool_history = []  # OpenAI-formatted assistant tool calls and their results

    def server_body(self, name):
        body = copy.deepcopy(self.payloads(name))
        message = body["message"]
        message["call"]["id"] = self.call_id
        message["call"]["customer"] = {"number": self.number}
        message["customer"] = {"number": self.number}
        return body

    def chat_body(self):
        body = copy.deepcopy(self.payloads("chat-completions.request"))
        body["call"]["id"], body["stream"] = self.call_id, True
        body["call"]["customer"] = body["customer"] = {"number": self.number}
        body["messages"] = copy.deepcopy(self.messages)
        return body

    def tool_body(self, position, utterance):
        body = self.server_body("tool-calls")
        message = body["message"]
        message.pop("toolWithToolCallList", None)
        arguments = json.dumps({"utterance": utterance}, ensure_ascii=False)
        tool_call = {
            "id": f"{self.call_id}-t{position}",
            "type": "function",
            "function": {"name": "contact_step", "arguments": arguments},
        }
        message["toolCallList"] = [tool_call]
        message["artifact"] = {"messagesOpenAIFormatted": copy.deepcopy(self.tool_history)}
        return body, tool_call

    def report_body(self):
        body = self.server_body("end-of-call-report")
        formatted = self.tool_history if self.kind.startswith("tool") else self.messages
        body["message"]["artifact"] = {"messagesOpenAIFormatted": copy.deepcopy(formatted)}
        return body

    def play(self, send):
        """Every step; `send(label, path, body)` -> (status, answer). The report's status last."""
        send("assistant-request", "/api/vapi/demo/webhook", self.server_body("assistant-request"))
        send(
            "status-update", "/api/vapi/demo/webhook", self.server_body("status-update.in-progress")
        )
        if self.kind.startswith("llm"):
            self.messages.append({"role": "user", "content": "Je voudrais être rappelé."})
            for position, utterance in enumerate([None, *SCRIPTS[self.kind]]):
                if utterance is not None:
                    self.messages.append({"role": "user", "content": utterance})
                _, sentence = send(f"chat-{position}", CHAT, self.chat_body())
                self.messages.append({"role": "assistant", "content": sentence})
        else:
            for position, utterance in enumerate(SCRIPTS[self.kind]):
                body, tool_call = self.tool_body(position, utterance)
                status, answer = send(f"tool-{position}", WEBHOOK, body)
                if status == 200:
                    self.tool_history += [
                        {"role": "assistant", "content": "", "tool_calls": [tool_call]},
                        {"role": "tool", "tool_call_id": tool_call["id"], "content": "ok"},
                    ]
        send("ended", WEBHOOK, self.server_body("status-update.ended"))
        return send("report", WEBHOOK, self.report_body())[0]


CHAT = "/api/vapi/demo/chat/completions"
WEBHOOK = "/api/vapi/demo/webhook"


class Client:
    """Plays calls on one keep-alive-less HTTP connection per request; records every answer."""

    def __init__(self, server, headers):
        self.server, self.headers = server, headers
        self.records = []  # (call index, label, started, elapsed, status, answer)
        self.lock = threading.Lock()

    def sender(self, index, pace=0.0):
        def send(label, path, body):
            time.sleep(pace)
            started = time.monotonic()
            connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=20)
            try:
                payload = json.dumps(body)
                connection.request("POST", path, payload, {**self.headers, "Connection": "close"})
                response = connection.getresponse()
                raw = response.read()
                status = response.status
                answer = decode(raw, response.getheader("Content-Type", ""))
            except OSError as error:
                status, answer = "exception", repr(error)
            finally:
                connection.close()
            elapsed = time.monotonic() - started
            with self.lock:
                self.records.append((index, label, started, elapsed, status, answer))
            return status, answer

        return send

    def play_all(self, calls, on_progress=None, pace=0.0):
        """Play `calls` on CLIENTS threads; the reports refused, by call index."""
        refused, queue, lock = {}, list(enumerate(calls)), threading.Lock()

        def work():
            while True:
                with lock:
                    if not queue:
                        return
                    index, call = queue.pop(0)
                status = call.play(self.sender(index, pace))
                if status != 200:
                    with lock:
                        refused[index] = call
                if on_progress:
                    on_progress(len(calls) - len(queue))

        threads = [threading.Thread(target=work) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        return refused
