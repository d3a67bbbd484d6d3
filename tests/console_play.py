"""The scripted batch of calls the console must count, played over HTTP as Vapi plays them.

Four demo calls, one per way the contact step ends: a known caller confirms their caller ID; a
known caller refuses it, then dictates another number; an unknown caller dictates a number; an
unknown caller fails to give one three times, and the tenant's way out is taken.
"""

import copy

import requests

from tests.contact_play import CALLER, NOTED, OPENING_KNOWN, OPENING_UNKNOWN, SPOKEN, LlmCall
from tests.leaks import random_id, watch

DICTATED = "+33698765411"  # « zéro six quatre-vingt-dix-huit soixante-seize cinquante-quatre onze »
watch(DICTATED)
UNCLEAR = "euh je ne sais pas trop"


class HttpClient:
    """What LlmCall needs of Flask's test client, over real HTTP to a running server."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()

    def post(self, path, json, headers):
        response = self.session.post(self.base_url + path, json=json, headers=headers, timeout=5)
        return _Answer(response)


class _Answer:
    def __init__(self, response):
        self.status_code = response.status_code
        self._response = response

    def get_data(self, as_text=False):
        return self._response.text if as_text else self._response.content

    def get_json(self):
        return self._response.json()


def _call(client, headers, body, caller):
    body = copy.deepcopy(body)
    if not caller:
        body.pop("customer")
        body["call"].pop("customer")
    return LlmCall(client, headers, body, random_id("console"))


def play_batch(client, headers, body):
    """Play the four calls: {outcome: call id}. `body` is Vapi's chat-completions example."""
    calls = {}
    known = _call(client, headers, body, caller=True)
    assert known.start() == OPENING_KNOWN
    assert known.say("oui c'est bien ça") == NOTED
    calls["confirmed_first_ask"] = known
    refused = _call(client, headers, body, caller=True)
    assert refused.start() == OPENING_KNOWN
    refused.say("non ce n'est pas le mien")
    refused.say("zéro six douze trente-quatre cinquante-six soixante-dix-huit")
    assert refused.say("oui") == NOTED
    calls["refused_then_collected"] = refused
    unknown = _call(client, headers, body, caller=False)
    assert unknown.start() == OPENING_UNKNOWN
    unknown.say("zéro six quatre-vingt-dix-huit soixante-seize cinquante-quatre onze")
    assert unknown.say("oui") == NOTED
    calls["collected_no_caller_id"] = unknown
    lost = _call(client, headers, body, caller=False)
    assert lost.start() == OPENING_UNKNOWN
    for _ in range(3):
        lost.say(UNCLEAR)
    calls["way_out"] = lost
    return {outcome: call.body["call"]["id"] for outcome, call in calls.items()}


# The full numbers the batch confirms, by outcome (for the contacts download).
CONFIRMED = {
    "confirmed_first_ask": CALLER,
    "refused_then_collected": SPOKEN,
    "collected_no_caller_id": DICTATED,
}
