"""A call's whole contact step through the Custom LLM endpoint, on SQLite and PostgreSQL.

From the first sentence to « c'est noté »: the caller ID confirmed, refused and replaced by a
spoken number, a number given over two turns; re-sent turns; the outcome stored and exported.
"""

import json

import pytest
from sqlalchemy import create_engine, text

from backend.engine import contact as engine
from backend.store.calls import read_conversation
from backend.store.db import db
from backend.tenants.store import tenant_store
from backend.turns import llm_turn
from tests.answers import error_message
from tests.contact_play import (
    ASK_OTHER,
    CALLER,
    CONTINUE,
    NOTED,
    OPENING_KNOWN,
    OPENING_UNKNOWN,
    OVER_TWO_TURNS,
    SPOKEN,
    LlmCall,
    read_back,
    stored_call,
)
from tests.leaks import assert_no_full_number, random_id
from tests.outage import database_down
from tests.schemas import database_at_head
from tests.servers import Gunicorn
from tests.test_races import race


@pytest.fixture
def new_call(client, demo_headers, vapi_payload):
    """A Custom LLM call of the demo tenant; `caller=False` for a withheld caller ID."""

    def make(caller=True, stream=False, client_=None, tenant="demo", headers=None):
        body = vapi_payload("chat-completions.request")
        if not caller:
            body.pop("customer")
            body["call"].pop("customer")
        call_id = random_id("llm")
        return LlmCall(
            client_ or client, headers or demo_headers, body, call_id, tenant=tenant, stream=stream
        )

    return make


def confirmed_outcome(app, call):
    row = stored_call(app, call.tenant, call.body["call"]["id"])
    return row.state, row.contact_number, row.contact_source, row.contact_confirmed_at


def events(lines, name):
    return [json.loads(line) for line in lines if f'"event": "{name}"' in line]


def test_caller_id_confirmed(app, new_call, no_full_number_in_logs):
    call = new_call()
    assert call.start() == OPENING_KNOWN
    assert call.say("oui c'est bien ça") == NOTED
    state, number, source, when = confirmed_outcome(app, call)
    assert (state, number, source) == (engine.CONTACT_CONFIRMED, CALLER, "caller_id")
    assert when is not None
    confirmed = events(no_full_number_in_logs, "CONTACT_CONFIRMED")
    assert [(e["phone_masked"], e["source"]) for e in confirmed] == [("+33XXXXXXX14", "caller_id")]


def test_caller_id_refused_and_replaced_by_a_spoken_number(app, new_call, no_full_number_in_logs):
    call = new_call(stream=True)
    assert call.start() == OPENING_KNOWN
    assert call.say("non ce n'est pas le mien") == ASK_OTHER
    said = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"
    assert call.say(said) == read_back("78")
    assert stored_call(app, "demo", call.body["call"]["id"]).contact_number is None
    assert call.say("oui c'est ça") == NOTED
    assert confirmed_outcome(app, call)[:3] == (engine.CONTACT_CONFIRMED, SPOKEN, "spoken")
    confirmed = events(no_full_number_in_logs, "CONTACT_CONFIRMED")
    assert [(e["phone_masked"], e["source"]) for e in confirmed] == [("+33XXXXXXX78", "spoken")]


def test_no_that_carries_a_number_goes_straight_to_the_read_back(app, new_call):
    call = new_call()
    call.start()
    assert call.say("non, c'est le 06 12 34 56 78") == read_back("78")
    assert call.say("oui") == NOTED
    assert confirmed_outcome(app, call)[1:3] == (SPOKEN, "spoken")


def test_number_given_over_two_turns_without_caller_id(app, new_call):
    call = new_call(caller=False)
    assert call.start() == OPENING_UNKNOWN
    assert call.say("zéro sept quatre-vingt-un") == CONTINUE
    assert call.say("vingt-trois quarante-cinq soixante-sept") == read_back("67")
    assert call.say("ouais") == NOTED
    assert confirmed_outcome(app, call)[:3] == (engine.CONTACT_CONFIRMED, OVER_TWO_TURNS, "spoken")


def test_a_correction_replaces_the_digits_heard_before(app, new_call):
    call = new_call(caller=False)
    call.start()
    assert call.say("zéro sept quatre-vingt-un") == CONTINUE
    assert call.say("non pardon, zéro six douze") == CONTINUE
    assert call.say("trente-quatre cinquante-six soixante-dix-huit") == read_back("78")
    assert call.say("oui") == NOTED
    assert confirmed_outcome(app, call)[1] == SPOKEN


def test_a_resent_turn_gets_the_same_sentence_and_does_not_advance(app, new_call):
    call = new_call()
    assert call.start() == OPENING_KNOWN
    assert call.resend() == OPENING_KNOWN  # the opening request again
    assert call.say("euh") != OPENING_KNOWN  # unclear once: asked again in other words
    again = call.messages[-1]["content"]
    for _ in range(3):
        assert call.resend() == again
    row = stored_call(app, "demo", call.body["call"]["id"])
    assert row.state == engine.CONTACT_CONFIRM
    assert len(json.loads(row.conversation)["turns"]) == 1
    assert call.say("oui") == NOTED
    assert call.resend() == NOTED
    assert confirmed_outcome(app, call)[:3] == (engine.CONTACT_CONFIRMED, CALLER, "caller_id")


def test_turns_before_the_contact_step_are_not_answers(app, new_call):
    # The example payload's last user turn was said before the step opened.
    call = new_call()
    asked = "Bonjour, j'aimerais qu'on me rappelle pour prendre rendez-vous."
    assert call.messages[-1] == {"role": "user", "content": asked}
    assert call.start() == OPENING_KNOWN
    conversation = json.loads(stored_call(app, "demo", call.body["call"]["id"]).conversation)
    assert conversation["opened_after"] == 1 and conversation["turns"] == {}


def test_unclear_twice_then_collect(app, new_call):
    call = new_call()
    call.start()
    assert "14" in call.say("hein quoi")
    assert call.say("je sais pas trop") == (
        "Je vais plutôt noter votre numéro. Quel est le meilleur numéro pour vous joindre ?"
    )
    assert stored_call(app, "demo", call.body["call"]["id"]).state == engine.CONTACT_COLLECT


def test_turns_sent_together_are_answered_in_order(app, new_call):
    # Two user messages reach us in one request (the first one's request never came).
    call = new_call(caller=False)
    call.start()
    call.messages.append({"role": "user", "content": "zéro sept quatre-vingt-un"})
    assert call.say("vingt-trois quarante-cinq soixante-sept") == read_back("67")
    assert call.say("oui") == NOTED
    assert confirmed_outcome(app, call)[1] == OVER_TWO_TURNS


def test_way_out_after_the_tenant_s_tries(tenants_app, secrets, vapi_payload):
    tenant = {
        "id": "standard-tel",
        "name": "Standard",
        "vapi": {"secret_env": "VAPI_SECRET_DEMO"},
        "contact": {"collect_attempts": 2, "way_out": "transfer", "transfer_to": "+33180009876"},
    }
    app = tenants_app(tenant)
    body = vapi_payload("chat-completions.request")
    headers = {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]}
    call = LlmCall(app.test_client(), headers, body, "call-way-out", tenant="standard-tel")
    call.start()
    assert call.say("non") == ASK_OTHER
    hint = call.say("je ne sais pas")
    assert "chiffre par chiffre" in hint
    # Nothing said: the transfer destination's message says « Je vous passe un conseiller. »
    # (tests/test_way_out.py), after the answer's call to transferCall.
    assert call.say("aucune idée") is None
    assert call.say("allô ?") is None  # the step is over
    row = stored_call(app, "standard-tel", "call-way-out")
    assert (row.state, row.contact_number) == (engine.CONTACT_TRANSFER, None)


def test_warm_variant_and_four_digits(client, vapi_payload, secrets):
    body = vapi_payload("chat-completions.request")
    body["customer"] = body["call"]["customer"] = {"number": "+32470123456"}
    headers = {"X-Vapi-Secret": secrets["VAPI_SECRET_PLOMBERIE"]}
    call = LlmCall(client, headers, body, "call-warm", tenant="plomberie-dupont")
    assert "34 56" in call.start()
    assert call.say("non") == (
        "Aucun souci. À quel numéro pouvons-nous vous joindre le plus facilement ?"
    )
    answer = call.say("zéro quatre septante-cinq, onze, vingt-deux, trente-trois")
    assert "22 33" in answer and answer.startswith("Merci. J'ai noté")


def test_messages_that_are_not_objects_are_refused(client, demo_headers, vapi_payload):
    body = vapi_payload("chat-completions.request")
    body["messages"] = ["oui"]
    response = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
    assert response.status_code == 400 and "messages[0]" in error_message(response)


def test_content_as_text_parts(app, new_call):
    call = new_call()
    call.start()
    call.messages.append({"role": "user", "content": [{"type": "text", "text": "oui"}]})
    assert call.post(call.messages) == NOTED


@pytest.mark.product_deadlines
def test_unreadable_database_answers_from_the_request(app, new_call):
    call = new_call()
    call.start()
    with database_down(app):
        # The body carries the conversation: the engine replays it, the same answer as stored.
        assert call.say("oui") == NOTED
    assert call.resend() == NOTED  # the same turn, stored once the database is back
    assert confirmed_outcome(app, call)[:2] == (engine.CONTACT_CONFIRMED, CALLER)


RACERS = 6
RACED_CALLS = 4


@pytest.mark.slow
def test_workers_answering_the_same_turns_agree(database_url, secrets, demo_headers, vapi_payload):
    """Real gunicorn: each turn of each call sent by several clients at once, to 4 workers."""
    env = {"DATABASE_URL": database_url, "LOG_LEVEL": "INFO", **secrets}
    database_at_head(env["DATABASE_URL"])
    script = [
        (None, OPENING_KNOWN),
        ("non", ASK_OTHER),
        ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", read_back("78")),
        ("oui", NOTED),
    ]
    call_ids = [f"{random_id('race', 10)}-{i}" for i in range(RACED_CALLS)]
    wrong = []
    with Gunicorn("wsgi:app", env=env, workers=4, threads=1) as server:
        for call_id in call_ids:
            call = LlmCall(None, demo_headers, vapi_payload("chat-completions.request"), call_id)
            call.body["stream"] = True
            for utterance, expected in script:
                if utterance is not None:
                    call.messages.append({"role": "user", "content": utterance})
                body = {**call.body, "messages": list(call.messages)}
                path = "/api/vapi/demo/chat/completions"
                answers = race(server, [(path, body)] * RACERS, demo_headers)
                if answers != [(200, expected)] * RACERS:
                    wrong.append((call_id, utterance, answers))
                call.messages.append({"role": "assistant", "content": expected})
        output = server.output()
    assert not wrong, wrong[:2]
    stored = stored_outcomes(database_url, call_ids)
    assert stored == {call_id: ("CONTACT_CONFIRMED", SPOKEN, "spoken", 3) for call_id in call_ids}
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    for call_id in call_ids:
        mine = [line["event"] for line in lines if line.get("call_id") == call_id]
        # Only the worker whose compare-and-set won logs a step: each turn once.
        assert mine.count("CONTACT_TURN") == 3 and mine.count("CONTACT_CONFIRMED") == 1
    assert "REQUEST_FAILED" not in output and "Traceback" not in output
    assert "CONVERSATION_BUSY" not in output and "DATABASE_UNAVAILABLE" not in output
    assert_no_full_number(output, "the server output")


def stored_outcomes(database_url, call_ids):
    engine_ = create_engine(database_url)
    try:
        with engine_.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT call_id, state, contact_number, contact_source, conversation"
                    " FROM calls WHERE tenant_id = 'demo'"
                )
            ).all()
    finally:
        engine_.dispose()
    return {
        row.call_id: (
            row.state,
            row.contact_number,
            row.contact_source,
            len(json.loads(row.conversation)["turns"]),
        )
        for row in rows
        if row.call_id in call_ids
    }


def test_a_call_without_a_row_gets_one_and_its_opening(app):
    with app.app_context():
        store = tenant_store()
        tenant = store.directory.get("demo")
        state, sentence = llm_turn(tenant, "no-row-yet", None, ["allô"], store.catalogs)
    assert (state, sentence) == (engine.CONTACT_COLLECT, OPENING_UNKNOWN)
    assert stored_call(app, "demo", "no-row-yet").state == engine.CONTACT_COLLECT


def test_an_unreadable_stored_conversation_is_rebuilt_from_the_request(
    app, new_call, no_full_number_in_logs
):
    call = new_call()
    call.start()
    with app.app_context():
        db.session.execute(
            text("UPDATE calls SET conversation = '{broken' WHERE call_id = :c"),
            {"c": call.body["call"]["id"]},
        )
        db.session.commit()
    # The request is the source: it shows the opening was said, and "oui" answers it.
    assert call.say("oui") == NOTED
    assert events(no_full_number_in_logs, "CONVERSATION_UNREADABLE")
    assert confirmed_outcome(app, call)[:2] == (engine.CONTACT_CONFIRMED, CALLER)


def test_a_turn_whose_read_went_stale_reads_again_and_answers_once(app, log_events):
    """Compare-and-set on the version: the round that lost re-reads and finds the answer."""
    with app.app_context():
        store = tenant_store()
        tenant = store.directory.get("demo")
        stale = read_conversation("demo", "stale-read")
        # Another worker answers the same first turn between this one's read and its write.
        first = llm_turn(tenant, "stale-read", None, ["allô"], store.catalogs)
        again = llm_turn(tenant, "stale-read", None, ["allô"], store.catalogs, stale)
        stored = read_conversation("demo", "stale-read")
    assert first == again == (engine.CONTACT_COLLECT, OPENING_UNKNOWN)
    assert stale.version == 0 and stored.version == 1
    assert len(log_events("CALLER_ID_NOT_FOUND")) == 1  # the step opened once
