"""The request is the source, the database the record: what a caller confirms while the database
is away is answered from the request, refused in the end-of-call report until it can be stored,
and in the database once the report is sent again.

In process, on a real SQLite file and on the real PostgreSQL, the database made unreachable by
tests/outage.py's database_down.
"""

import copy

import pytest

from backend.engine import contact as engine
from tests.contact_play import (
    ASK_OTHER,
    CALLER,
    NOTED,
    OPENING_KNOWN,
    OPENING_UNKNOWN,
    SPOKEN,
    LlmCall,
    ToolCall,
    read_back,
    stored_call,
)
from tests.leaks import random_id
from tests.outage import database_down

SPOKEN_WORDS = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"


@pytest.fixture
def llm_call(client, demo_headers, vapi_payload):
    def make(caller=True):
        body = vapi_payload("chat-completions.request")
        if not caller:
            body.pop("customer")
            body["call"].pop("customer")
        return LlmCall(client, demo_headers, body, random_id("rec"))

    return make


def report(client, headers, vapi_payload, call_id, messages, caller=True):
    """Send the call's end-of-call report, its artifact holding `messages`: the response."""
    body = vapi_payload("end-of-call-report")
    body["message"]["call"]["id"] = call_id
    if not caller:
        body["message"]["call"].pop("customer")
        body["message"].pop("customer", None)
    body["message"]["artifact"] = {"messagesOpenAIFormatted": copy.deepcopy(messages)}
    return client.post("/api/vapi/demo/webhook", json=body, headers=headers)


def outcome(app, call_id):
    row = stored_call(app, "demo", call_id)
    return row.caller_number, row.state, row.contact_number, row.contact_source


@pytest.mark.product_deadlines
def test_a_contact_confirmed_during_an_outage_is_stored_by_the_report(
    app, client, demo_headers, vapi_payload, llm_call
):
    call = llm_call()
    call_id = call.body["call"]["id"]
    assert call.start() == OPENING_KNOWN
    with database_down(app):
        assert call.say("oui") == NOTED  # replayed from the request: what the database says
        refused = report(client, demo_headers, vapi_payload, call_id, call.messages)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert outcome(app, call_id)[1] == engine.CONTACT_CONFIRM  # not stored during the outage

    assert report(client, demo_headers, vapi_payload, call_id, call.messages).status_code == 200
    assert outcome(app, call_id) == (CALLER, engine.CONTACT_CONFIRMED, CALLER, "caller_id")
    # Sent again (Vapi retries): nothing changes.
    assert report(client, demo_headers, vapi_payload, call_id, call.messages).status_code == 200
    assert outcome(app, call_id) == (CALLER, engine.CONTACT_CONFIRMED, CALLER, "caller_id")


@pytest.mark.product_deadlines
def test_a_whole_call_during_an_outage_is_stored_by_the_report(
    app, client, demo_headers, vapi_payload, llm_call
):
    call = llm_call(caller=False)
    call_id = call.body["call"]["id"]
    with database_down(app):
        assert call.start() == OPENING_UNKNOWN
        assert call.say(SPOKEN_WORDS) == read_back("78")
        assert call.say("oui") == NOTED
    assert (
        report(client, demo_headers, vapi_payload, call_id, call.messages, caller=False).status_code
        == 200
    )
    assert outcome(app, call_id) == (None, engine.CONTACT_CONFIRMED, SPOKEN, "spoken")


@pytest.mark.product_deadlines
@pytest.mark.parametrize("first_heard", ["zéro six", ""], ids=["grown", "silence-filled"])
def test_a_turn_heard_twice_before_the_outage_does_not_hide_the_last_one(
    app, client, demo_headers, vapi_payload, llm_call, first_heard
):
    """Vapi sent a position twice (the caller went on talking, or a silence got its words): the
    record holds a key for each, as many as the whole transcript replays to, yet not the « oui »
    said during the outage. The report compares the turns, not their count."""
    call = llm_call(caller=False)
    call_id = call.body["call"]["id"]
    assert call.start() == OPENING_UNKNOWN
    call.post([*call.messages, {"role": "user", "content": first_heard}])  # answered, not said
    assert call.say(SPOKEN_WORDS) == read_back("78")
    with database_down(app):
        assert call.say("oui") == NOTED
    assert outcome(app, call_id)[2] is None
    done = report(client, demo_headers, vapi_payload, call_id, call.messages, caller=False)
    assert done.status_code == 200
    assert outcome(app, call_id) == (None, engine.CONTACT_CONFIRMED, SPOKEN, "spoken")


@pytest.mark.product_deadlines
def test_a_report_whose_user_words_were_revised_stores_no_contact_the_caller_never_heard(
    app, client, demo_headers, vapi_payload, llm_call, log_events
):
    """The transcriber revised a dictated number after the call (…78 heard and confirmed, …79
    in the report): replayed, the report would store a number the agent never read back. It
    stores no contact, says why, and the turns the record holds stay."""
    call = llm_call(caller=False)
    call_id = call.body["call"]["id"]
    assert call.start() == OPENING_UNKNOWN
    with database_down(app):
        assert call.say(SPOKEN_WORDS) == read_back("78")
        assert call.say("oui") == NOTED
    revised = copy.deepcopy(call.messages)
    for message in revised:
        if message["content"] == SPOKEN_WORDS:
            message["content"] = SPOKEN_WORDS.replace("soixante-dix-huit", "soixante-dix-neuf")
    done = report(client, demo_headers, vapi_payload, call_id, revised, caller=False)
    assert done.status_code == 200
    assert outcome(app, call_id)[2] is None  # no contact stored
    [line] = log_events("CALL_RECORD_TRANSCRIPT_DISAGREES")
    users_before = sum(message["role"] == "user" for message in call.body["messages"])
    assert line["position"] == users_before  # the dictation: the step's first turn
    # The transcript as the agent spoke it: the contact is stored.
    assert report(client, demo_headers, vapi_payload, call_id, call.messages, caller=False)
    assert outcome(app, call_id)[2] == SPOKEN


def test_a_report_of_a_call_the_step_never_ran_stores_only_its_number_and_says_so(
    app, client, demo_headers, vapi_payload, log_events
):
    call_id = random_id("rec")
    messages = [{"role": "user", "content": "oui"}, {"role": "assistant", "content": "Bonjour."}]
    assert report(client, demo_headers, vapi_payload, call_id, messages).status_code == 200
    assert outcome(app, call_id) == (CALLER, None, None, None)
    (said,) = log_events("CALL_RECORD_NO_CONTACT_STEP")
    assert said["assistant_turns"] == 1 and said["call_id"] == call_id


@pytest.mark.product_deadlines
def test_a_report_whose_opening_was_worded_otherwise_says_it_stored_no_step(
    app, client, demo_headers, vapi_payload, llm_call, log_events
):
    call = llm_call()
    call_id = call.body["call"]["id"]
    with database_down(app):
        assert call.start() == OPENING_KNOWN
        assert call.say("oui") == NOTED
    # The tenant's wording changed before the report: its opening is no longer the one said.
    messages = [
        {**m, "content": m["content"].replace("C'est bien", "Est-ce bien")}
        if m["role"] == "assistant"
        else m
        for m in call.messages
    ]
    assert report(client, demo_headers, vapi_payload, call_id, messages).status_code == 200
    assert outcome(app, call_id)[1] is None
    (said,) = log_events("CALL_RECORD_NO_CONTACT_STEP")
    assert said["assistant_turns"] == sum(m["role"] == "assistant" for m in messages)


@pytest.mark.product_deadlines
def test_tool_calls_during_an_outage_replay_the_earlier_ones(
    app, client, demo_headers, vapi_payload
):
    reference = ToolCall(client, demo_headers, vapi_payload("tool-calls"), random_id("ref"))
    faulty = ToolCall(client, demo_headers, vapi_payload("tool-calls"), random_id("out"))
    script = ["non", SPOKEN_WORDS, "oui"]
    expected = [reference.sentence(utterance) for utterance in script]
    assert expected == [ASK_OTHER, read_back("78"), NOTED]
    assert faulty.sentence(script[0]) == expected[0]  # stored
    with database_down(app):
        assert [faulty.sentence(utterance) for utterance in script[1:]] == expected[1:]
    call_id = faulty.body["message"]["call"]["id"]
    assert outcome(app, call_id)[1] == engine.CONTACT_COLLECT
    assert report(client, demo_headers, vapi_payload, call_id, faulty.history).status_code == 200
    assert outcome(app, call_id) == (CALLER, engine.CONTACT_CONFIRMED, SPOKEN, "spoken")


@pytest.mark.product_deadlines
def test_a_call_opened_during_an_outage_goes_on_once_the_database_is_back(
    app, client, demo_headers, vapi_payload, llm_call
):
    call = llm_call()
    with database_down(app):
        assert call.start() == OPENING_KNOWN  # not stored
    # The request shows where the step opened: the next turn answers it, no second opening.
    assert call.say("non") == ASK_OTHER
    assert call.say(SPOKEN_WORDS) == read_back("78")
    assert call.say("oui") == NOTED
    assert outcome(app, call.body["call"]["id"]) == (
        CALLER,
        engine.CONTACT_CONFIRMED,
        SPOKEN,
        "spoken",
    )


@pytest.mark.product_deadlines
def test_tool_calls_answered_during_an_outage_are_caught_up_after_it(
    app, client, demo_headers, vapi_payload
):
    call = ToolCall(client, demo_headers, vapi_payload("tool-calls"), random_id("tool"))
    with database_down(app):
        assert call.sentence("non") == ASK_OTHER
        assert call.sentence(SPOKEN_WORDS) == read_back("78")
    assert call.sentence("oui") == NOTED
    call_id = call.body["message"]["call"]["id"]
    assert outcome(app, call_id) == (CALLER, engine.CONTACT_CONFIRMED, SPOKEN, "spoken")


@pytest.mark.product_deadlines
def test_a_tool_call_carries_the_caller_number_as_a_static_parameter(
    app, client, demo_headers, vapi_payload
):
    """Without `call.customer` (a web call's tool call, say), the tool's static parameter
    `caller_number` (Vapi merges it into the arguments) is the caller's number, database or not."""
    body = vapi_payload("tool-calls")
    body["message"]["call"].pop("customer")
    body["message"].pop("customer")
    static = {"caller_number": CALLER}
    call = ToolCall(client, demo_headers, body, random_id("static"))
    assert call.sentence("oui", extra_arguments=static) == NOTED
    call = ToolCall(client, demo_headers, body, random_id("static"))
    with database_down(app):
        assert call.sentence("oui", extra_arguments=static) == NOTED
    without = ToolCall(client, demo_headers, body, random_id("static"))
    assert without.sentence("oui") != NOTED  # no number: nothing to confirm by "oui"
