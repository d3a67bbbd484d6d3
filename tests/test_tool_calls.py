"""Tool mode: Vapi's own model calls the contact tool and the same engine answers, on both DBs."""

import json

import pytest

from backend.engine import contact as engine
from tests.contact_play import (
    ASK_OTHER,
    CALLER,
    CONTINUE,
    NOTED,
    OPENING_KNOWN,
    OPENING_UNKNOWN,
    OVER_TWO_TURNS,
    SPOKEN,
    ToolCall,
    read_back,
    stored_call,
)
from tests.leaks import random_id


@pytest.fixture
def tool_call(client, demo_headers, vapi_payload):
    def make(caller=True, name="tool-calls"):
        body = vapi_payload(name)
        if not caller:
            body["message"].pop("customer", None)
            body["message"]["call"].pop("customer")
        return ToolCall(client, demo_headers, body, random_id("tool"))

    return make


def call_id(call):
    return call.body["message"]["call"]["id"]


def test_shipped_payload_answers_the_opening_with_yes(app, client, demo_headers, vapi_payload):
    # The assistant asked already (assistant-request gave it the sentence): « oui » confirms.
    response = client.post(
        "/api/vapi/demo/webhook", json=vapi_payload("tool-calls"), headers=demo_headers
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "results": [
            {
                "toolCallId": "call_qt4yOBg2iyaCTww6lOKqdIuo",
                "name": "contact_step",
                "result": f"{engine.CONTACT_CONFIRMED}: {NOTED}",
                "message": {"type": "request-complete", "role": "assistant", "content": NOTED},
            }
        ]
    }
    row = stored_call(app, "demo", "f60f6b23-0697-4e07-a137-2ca86f93a8da")
    assert (row.contact_number, row.contact_source, row.state) == (
        CALLER,
        "caller_id",
        engine.CONTACT_CONFIRMED,
    )


@pytest.mark.parametrize("tool_call_list", ["absent", "empty"])
def test_the_calls_of_tool_with_tool_call_list_are_answered_without_tool_call_list(
    app, client, demo_headers, vapi_payload, tool_call_list
):
    """The SDK requires toolCallList; a message with only toolWithToolCallList's calls is
    answered the same, not with an empty result list (the call would go unanswered)."""
    body = vapi_payload("tool-calls")
    if tool_call_list == "absent":
        del body["message"]["toolCallList"]
    else:
        body["message"]["toolCallList"] = []
    response = client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers)
    assert response.status_code == 200
    [result] = response.get_json()["results"]
    assert result["toolCallId"] == "call_qt4yOBg2iyaCTww6lOKqdIuo"
    assert result["message"]["content"] == NOTED
    body["message"]["toolWithToolCallList"][0].pop("toolCall")
    refused = client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers)
    assert refused.status_code == 400
    assert "toolWithToolCallList items must each hold a toolCall" in refused.get_json()["error"]


def test_string_arguments_payload(app, client, demo_headers, vapi_payload):
    response = client.post(
        "/api/vapi/demo/webhook",
        json=vapi_payload("tool-calls.string-arguments"),
        headers=demo_headers,
    )
    (result,) = response.get_json()["results"]
    assert result["message"]["content"] == read_back("78")


def test_empty_utterance_first_gives_the_opening_then_confirmed(app, tool_call):
    # What `vapi config --mode tool` tells the model to do: open with an empty utterance.
    call = tool_call()
    assert call.sentence("") == OPENING_KNOWN
    assert call.sentence("oui c'est bien ça") == NOTED
    row = stored_call(app, "demo", call_id(call))
    assert (row.contact_number, row.contact_source) == (CALLER, "caller_id")
    assert row.contact_confirmed_at is not None
    assert (row.contact_outcome, row.contact_turns) == ("caller_id_first_ask", 1)


def test_refused_and_replaced_by_a_spoken_number(app, tool_call):
    call = tool_call()
    assert call.sentence("") == OPENING_KNOWN
    assert call.sentence("non") == ASK_OTHER
    said = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"
    assert call.sentence(said, as_string=True) == read_back("78")
    assert call.sentence("oui", as_string=True) == NOTED
    row = stored_call(app, "demo", call_id(call))
    assert (row.state, row.contact_number, row.contact_source) == (
        engine.CONTACT_CONFIRMED,
        SPOKEN,
        "spoken",
    )


def test_number_over_two_turns_without_caller_id(app, tool_call):
    call = tool_call(caller=False)
    assert call.sentence("") == OPENING_UNKNOWN
    assert call.sentence("zéro sept quatre-vingt-un") == CONTINUE
    assert call.sentence("vingt-trois quarante-cinq soixante-sept") == read_back("67")
    assert call.sentence("c'est ça") == NOTED
    assert stored_call(app, "demo", call_id(call)).contact_number == OVER_TWO_TURNS


def test_a_resent_tool_call_id_gets_the_same_sentence_without_advancing(app, tool_call):
    call = tool_call()
    assert call.sentence("", tool_call_id="t-open") == OPENING_KNOWN
    assert call.sentence("non", tool_call_id="t-no") == ASK_OTHER
    # Re-sent: same sentences, even for the opening; the state stays where « non » put it.
    assert call.sentence("", tool_call_id="t-open") == OPENING_KNOWN
    assert call.sentence("non", tool_call_id="t-no") == ASK_OTHER
    assert stored_call(app, "demo", call_id(call)).state == engine.CONTACT_COLLECT
    # An empty utterance with a new id repeats the current question.
    assert call.sentence("", tool_call_id="t-repeat") == ASK_OTHER
    assert call.sentence("06 12 34 56 78", tool_call_id="t-number") == read_back("78")
    assert call.sentence("oui", tool_call_id="t-yes") == NOTED
    assert call.sentence("06 12 34 56 78", tool_call_id="t-number") == read_back("78")
    assert stored_call(app, "demo", call_id(call)).contact_number == SPOKEN


def test_other_tools_get_an_error_result(app, tool_call):
    call = tool_call()
    result = call.say("oui", name="transferCall")
    assert result["name"] == "transferCall" and "error" in result and "result" not in result
    assert stored_call(app, "demo", call_id(call)).conversation is None  # nothing ran


# Arguments as a JSON string are read per tool call, with the checks a body gets.
DEEP_ARGUMENTS = '{"utterance": "oui", "x": ' + "[" * 5000 + "]" * 5000 + "}"
HOSTILE_ARGUMENT_STRINGS = [
    DEEP_ARGUMENTS,
    '{"utterance": "oui", "x": NaN}',
    '{"utterance": "oui", "x": -Infinity}',
    '{"utterance": "o\\u0000ui"}',
    '{"utterance": "\\ud800"}',
    '{"utterance": "oui"} trailing',
]


@pytest.mark.parametrize(
    "arguments",
    ['{"utterance": ', "[1]", {"utterance": 12}, ["oui"], 5, *HOSTILE_ARGUMENT_STRINGS],
)
def test_unreadable_arguments_get_an_error_result(app, tool_call, arguments):
    call = tool_call()
    response = call.post_raw(
        [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "contact_step", "arguments": arguments},
            }
        ]
    )
    assert response.status_code == 200
    (result,) = response.get_json()["results"]
    assert result["toolCallId"] == "c1" and "utterance" in result["error"]


def test_unreadable_arguments_fail_their_tool_call_only(app, tool_call):
    call = tool_call()
    response = call.post_raw(
        [
            {"id": "deep", "function": {"name": "contact_step", "arguments": DEEP_ARGUMENTS}},
            {
                "id": "fine",
                "function": {"name": "contact_step", "arguments": '{"utterance": "oui"}'},
            },
        ]
    )
    assert response.status_code == 200
    deep, fine = response.get_json()["results"]
    assert "utterance" in deep["error"] and "result" not in deep
    assert fine["message"]["content"] == NOTED


def test_a_literal_backslash_u0000_in_an_utterance_is_text(app, tool_call):
    # An escaped backslash then « u0000 »: text, not a NUL.
    result = tool_call().say("oui \\u0000", as_string=True)
    assert "error" not in result


@pytest.mark.parametrize(
    "tool_calls, where",
    [
        ("oui", "toolCallList"),
        (["oui"], "toolCallList[0]"),
        ([{"function": {"name": "contact_step"}}], "toolCallList[0].id"),
        ([{"id": 5, "function": {"name": "contact_step"}}], "toolCallList[0].id"),
        ([{"id": "x", "function": {"name": 5}}], "toolCallList[0].function.name"),
        (
            [{"id": f"t{i}", "function": {"name": "contact_step"}} for i in range(33)],
            "toolCallList must hold at most 32",
        ),
    ],
)
def test_malformed_tool_call_lists_are_refused(app, tool_call, tool_calls, where):
    call = tool_call()
    response = call.post_raw(tool_calls)
    assert response.status_code == 400 and where in response.get_json()["error"]


def test_several_tool_calls_in_one_message_run_in_order(app, tool_call):
    call = tool_call(caller=False)
    response = call.post_raw(
        [
            {
                "id": "a",
                "function": {
                    "name": "contact_step",
                    "arguments": {"utterance": "zéro sept quatre-vingt-un"},
                },
            },
            {"id": "b", "function": {"name": "lookup", "arguments": {}}},
            {
                "id": "c",
                "function": {
                    "name": "contact_step",
                    "arguments": json.dumps(
                        {"utterance": "vingt-trois quarante-cinq soixante-sept"}
                    ),
                },
            },
        ]
    )
    results = response.get_json()["results"]
    assert [r["toolCallId"] for r in results] == ["a", "b", "c"]
    assert results[0]["message"]["content"] == CONTINUE and "error" in results[1]
    assert results[2]["message"]["content"] == read_back("67")


def test_a_number_in_an_unknown_tool_s_name_is_not_echoed(app, tool_call):
    response = tool_call().post_raw(
        [
            {"id": "a", "function": {"name": "rappel-0698761234", "arguments": {}}},
            {"id": "b", "function": {"name": "rappel-698761234", "arguments": {}}},
        ]
    )
    names = [result["name"] for result in response.get_json()["results"]]
    assert names == ["rappel-XXXXXXXX34", "rappel-XXXXXXX34"]


def test_the_tenant_s_tool_name_and_the_shared_url(tenants_app, secrets, vapi_payload):
    tenant = {
        "id": "cabinet",
        "name": "Cabinet",
        "numbers": ["+33180001234"],
        "vapi": {"secret_env": "VAPI_SECRET_DEMO"},
        "wording": {"variant": "short"},
        "contact": {"tool_name": "numero_de_rappel"},
    }
    app = tenants_app(tenant)
    body = vapi_payload("tool-calls")
    body["message"]["call"]["id"] = "call-shared-url"
    body["message"]["toolCallList"][0]["function"]["name"] = "numero_de_rappel"
    headers = {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]}
    response = app.test_client().post("/api/vapi/webhook", json=body, headers=headers)
    (result,) = response.get_json()["results"]
    assert result["message"]["content"] == "C'est noté."  # the short variant
    body["message"]["toolCallList"][0]["function"]["name"] = "contact_step"
    body["message"]["toolCallList"][0]["id"] = "another"
    response = app.test_client().post("/api/vapi/webhook", json=body, headers=headers)
    assert "error" in response.get_json()["results"][0]


def test_without_a_call_id_the_tool_says_why(app, tool_call):
    call = tool_call()
    del call.body["message"]["call"]
    result = call.say("oui")
    assert "call.id" in result["error"]


def test_way_out_in_tool_mode(tenants_app, secrets, vapi_payload):
    tenant = {
        "id": "rappel",
        "name": "Rappel",
        "vapi": {"secret_env": "VAPI_SECRET_DEMO"},
        "contact": {"collect_attempts": 1, "way_out": "callback_without_number"},
    }
    app = tenants_app(tenant)
    body = vapi_payload("tool-calls")
    body["message"]["call"].pop("customer")
    body["message"].pop("customer")
    call = ToolCall(
        app.test_client(), {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]}, body, "c-wo", "rappel"
    )
    assert call.sentence("") == OPENING_UNKNOWN
    ending = call.sentence("je ne sais pas")
    assert ending.startswith("Je n'arrive pas à noter votre numéro, mais votre demande")
    assert stored_call(app, "rappel", "c-wo").state == engine.CONTACT_CALLBACK_NO_NUMBER
