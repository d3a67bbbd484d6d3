"""Play one call's contact step over HTTP, as Vapi does: Custom LLM turns or contact tool calls."""

import copy
import json

from sqlalchemy import select

from backend.store.db import db
from backend.store.models import Call
from tests.leaks import assert_no_full_number, watch

CALLER = "+33536495614"  # the caller ID in Vapi's example payloads
SPOKEN = "+33612345678"  # « zéro six douze trente-quatre cinquante-six soixante-dix-huit »
OVER_TWO_TURNS = "+33781234567"  # « zéro sept quatre-vingt-un » + « vingt-trois … soixante-sept »
watch(CALLER, SPOKEN, OVER_TWO_TURNS)

OPENING_KNOWN = "J'ai un numéro qui se termine par 14. C'est bien le vôtre ? Dites oui ou non."
OPENING_UNKNOWN = "Je n'ai pas votre numéro qui s'affiche. Pouvez-vous me le donner ?"
NOTED = "Parfait, c'est noté."
ASK_OTHER = "Pas de souci. Quel est le meilleur numéro pour vous joindre ?"
CONTINUE = "Je note. Et la suite ?"


def read_back(last_two):
    """The standard read-back sentence for a number ending in `last_two`."""
    return f"J'ai noté un numéro qui se termine par {last_two}. C'est bien ça ? Dites oui ou non."


def sse_sentence(response):
    """The sentence a server-sent-events answer streams."""
    events = [
        line[6:] for line in response.get_data(as_text=True).splitlines() if line[:6] == "data: "
    ]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


class LlmCall:
    """A Custom LLM conversation: each `say()` sends the whole history, as Vapi does."""

    def __init__(self, client, headers, body, call_id, tenant="demo", stream=False):
        self.client, self.headers, self.tenant, self.stream = client, headers, tenant, stream
        self.body = copy.deepcopy(body)
        self.body["call"]["id"] = call_id
        self.body["stream"] = stream
        self.messages = list(self.body["messages"])

    def post(self, messages):
        """Send this history; the sentence answered (HTTP 200 checked, no full number in it)."""
        body = {**self.body, "messages": messages}
        response = self.client.post(
            f"/api/vapi/{self.tenant}/chat/completions", json=body, headers=self.headers
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert_no_full_number(response.get_data(as_text=True), "an answer")
        if self.stream:
            return sse_sentence(response)
        return response.get_json()["choices"][0]["message"]["content"]

    def start(self):
        """The first request: the history so far, no answer from the contact step yet."""
        sentence = self.post(self.messages)
        self.messages.append({"role": "assistant", "content": sentence})
        return sentence

    def say(self, utterance):
        """The caller speaks; the agent's answer joins the history."""
        self.messages.append({"role": "user", "content": utterance})
        sentence = self.post(self.messages)
        self.messages.append({"role": "assistant", "content": sentence})
        return sentence

    def resend(self):
        """Vapi sends the last request again (same history up to the last user turn)."""
        return self.post(self.messages[:-1])


class ToolCall:
    """Tool mode: each `say()` is one `tool-calls` message for the contact tool."""

    def __init__(self, client, headers, message_body, call_id, tenant="demo", tool="contact_step"):
        self.client, self.headers, self.tenant, self.tool = client, headers, tenant, tool
        self.body = copy.deepcopy(message_body)
        self.body["message"]["call"]["id"] = call_id
        self.body["message"].pop("toolWithToolCallList", None)
        self.count = 0
        self.last_id = None
        # The call so far in OpenAI's format, as Vapi's live artifact carries it.
        self.history = []

    def post_raw(self, tool_calls):
        body = copy.deepcopy(self.body)
        body["message"]["toolCallList"] = tool_calls
        body["message"]["artifact"] = {"messagesOpenAIFormatted": copy.deepcopy(self.history)}
        response = self.client.post(
            f"/api/vapi/{self.tenant}/webhook", json=body, headers=self.headers
        )
        assert_no_full_number(response.get_data(as_text=True), "an answer")
        return response

    def say(self, utterance, tool_call_id=None, as_string=False, name=None, extra_arguments=None):
        """One tool call with this utterance: its result object (HTTP 200 checked).

        `extra_arguments`: merged into the arguments, as Vapi merges a tool's static parameters.
        """
        if tool_call_id is None:
            self.count += 1
            tool_call_id = f"call_{self.count}"
        self.last_id = tool_call_id
        arguments = {"utterance": utterance, **(extra_arguments or {})}
        tool_call = {
            "id": tool_call_id,
            "type": "function",
            "function": {
                "name": name or self.tool,
                "arguments": json.dumps(arguments, ensure_ascii=False) if as_string else arguments,
            },
        }
        response = self.post_raw([tool_call])
        assert response.status_code == 200, response.get_data(as_text=True)
        results = response.get_json()["results"]
        assert len(results) == 1 and results[0]["toolCallId"] == tool_call_id
        self.history += [
            {"role": "assistant", "content": "", "tool_calls": [tool_call]},
            {"role": "tool", "tool_call_id": tool_call_id, "content": results[0].get("result")},
        ]
        return results[0]

    def sentence(self, utterance, **kwargs):
        """What Vapi says for this tool call (the request-complete message), checked for shape."""
        result = self.say(utterance, **kwargs)
        message = result["message"]
        assert message["type"] == "request-complete" and message["role"] == "assistant"
        assert "\n" not in result["result"] and message["content"] in result["result"]
        return message["content"]


def stored_call(app, tenant_id, call_id):
    """The call's row as stored."""
    with app.app_context():
        row = db.session.execute(
            select(Call).where(Call.tenant_id == tenant_id, Call.call_id == call_id)
        ).scalar_one()
        db.session.commit()
        return row
