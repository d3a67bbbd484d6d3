"""A scripted batch of calls, one per way the contact step can end, played over HTTP.

Known caller confirms; known caller refuses then dictates; unknown caller dictates; unknown
caller fails three times (the demo tenant's `collect_attempts`); known caller hangs up before
answering. Each call: Custom LLM turns (what Vapi sends), then `status-update` `ended`.
`post(path, body)` sends one request (Flask's test client or real HTTP) and gives back
(status, text): the same batch runs in process and against gunicorn.
"""

import json
import time
from dataclasses import dataclass

from backend.engine import outcomes
from tests.contact_play import CALLER, SPOKEN
from tests.leaks import assert_no_full_number, random_id
from tests.paths import VAPI_PAYLOADS

# A message answered 503 is sent again, as Vapi's backoff plan would: this many times at most.
RETRIES_AFTER_503, RETRY_DELAY_S = 3, 0.5
SPOKEN_WORDS = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"


@dataclass(frozen=True)
class Scenario:
    name: str
    caller: str | None
    utterances: tuple
    outcome: str
    turns: int | None  # caller turns to the outcome (None: unfinished)


BATCH = (
    Scenario("known-confirms", CALLER, ("oui c'est bien ça",), outcomes.CALLER_ID_FIRST_ASK, 1),
    Scenario(
        "known-refuses-dictates",
        CALLER,
        ("non ce n'est pas le mien", SPOKEN_WORDS, "oui"),
        outcomes.CALLER_ID_REFUSED_COLLECTED,
        3,
    ),
    Scenario(
        "unknown-dictates", None, (SPOKEN_WORDS, "oui"), outcomes.COLLECTED_WITHOUT_CALLER_ID, 2
    ),
    Scenario(
        "unknown-fails-three-times",
        None,
        ("je ne sais pas", "euh attendez", "je ne m'en souviens plus"),
        outcomes.WAY_OUT,
        3,
    ),
    Scenario("known-hangs-up", CALLER, (), outcomes.UNFINISHED, None),
)
# What `stats` must show for one batch: (calls, with caller ID, first ask, by voice, way out,
# unfinished), and the medians over the three confirmed contacts' turns (1, 3, 2).
EXPECTED = {
    "calls": 5,
    "with_caller_id": 3,
    "confirmed_first_ask": 1,
    "collected_by_voice": 2,
    "way_out": 1,
    "unfinished": 1,
    "in_progress": 0,
    "median_turns": 2.0,
}
assert SPOKEN  # the number SPOKEN_WORDS says, watched by the RGPD sweep


def _payload(name):
    return json.loads((VAPI_PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def play(post, scenario, tenant="demo"):
    """Play one scenario's call; its call id."""
    call_id = random_id(scenario.name)
    body = _payload("chat-completions.request")
    body["stream"] = False
    body["call"]["id"] = call_id
    if scenario.caller is None:
        body.pop("customer", None)
        body["call"].pop("customer", None)
    messages = list(body["messages"])

    def ask():
        status, text = post(f"/api/vapi/{tenant}/chat/completions", {**body, "messages": messages})
        assert status == 200, text
        assert_no_full_number(text, "an answer")
        sentence = json.loads(text)["choices"][0]["message"]["content"]
        messages.append({"role": "assistant", "content": sentence})

    ask()  # the opening question
    for utterance in scenario.utterances:
        messages.append({"role": "user", "content": utterance})
        ask()
    ended = _payload("status-update.ended")
    ended["message"]["call"]["id"] = call_id
    if scenario.caller is None:  # a withheld number stays withheld to the end
        ended["message"].pop("customer", None)
        ended["message"]["call"].pop("customer", None)
    status, text = post(f"/api/vapi/{tenant}/webhook", ended)
    for _ in range(RETRIES_AFTER_503):
        if status != 503:
            break
        # As Vapi does with the backoff plan docs/vapi-setup.md gives: the 503 stored nothing
        # (a loaded machine can spend a request's database time), the same message again.
        time.sleep(RETRY_DELAY_S)
        status, text = post(f"/api/vapi/{tenant}/webhook", ended)
    assert status == 200, text
    return call_id


def play_batch(post, tenant="demo"):
    """Every scenario once: {call id: scenario}."""
    return {play(post, scenario, tenant): scenario for scenario in BATCH}
