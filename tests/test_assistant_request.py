"""assistant-request: the assistant with caller-ID variables, or a spoken error; never a 5xx."""

import pytest
from babel.messages.pofile import read_po

from backend import PROJECT_ROOT, prompts
from tests.leaks import assert_no_full_number
from tests.outage import database_down

CALLER = "+33536495614"
CALL_ID = "f60f6b23-0697-4e07-a137-2ca86f93a8da"
PLOMBERIE = "plomberie-dupont"
UNAVAILABLE = "Désolé, notre service est momentanément indisponible. Merci de rappeler plus tard."


def warm(key):
    """The sentence of fr/warm.po (plomberie's variant), read without backend.wording.catalogs."""
    with open(PROJECT_ROOT / "locales/fr/LC_MESSAGES/warm.po", "rb") as handle:
        return {m.context: m.string for m in read_po(handle) if m.id}[key]


@pytest.fixture
def plomberie_headers(secrets):
    return {"X-Vapi-Secret": secrets["VAPI_SECRET_PLOMBERIE"]}


def ask(client, tenant_id, body, headers):
    response = client.post(f"/api/vapi/{tenant_id}/webhook", json=body, headers=headers)
    assert_no_full_number(response.get_data(as_text=True), "an assistant-request answer")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.is_json
    return response.get_json()


def test_plomberie_gets_its_assistant_with_caller_variables(
    app, client, plomberie_headers, vapi_payload, calls_in, log_events
):
    answer = ask(client, PLOMBERIE, vapi_payload("assistant-request"), plomberie_headers)
    assert answer == {
        "assistantId": "asst-plomberie-0001",
        "assistantOverrides": {
            "variableValues": {
                "caller_id_known": True,
                "caller_last_digits": "56 14",
                "contact_prompt": warm(prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID).format(
                    last_two="56 14"
                ),
                "contact_state": "CONTACT_CONFIRM",
            }
        },
    }
    (row,) = calls_in(app)
    assert (row["tenant_id"], row["call_id"], row["caller_number"]) == (PLOMBERIE, CALL_ID, CALLER)
    (event,) = log_events("CALLER_ID_PERSISTED")
    assert (event["msg_type"], event["phone_masked"]) == ("assistant-request", "+33XXXXXXX14")


def test_plomberie_withheld_caller_gets_the_collect_prompt(
    app, client, plomberie_headers, vapi_payload, calls_in
):
    body = vapi_payload("assistant-request")
    body["message"]["call"]["customer"] = {"number": "restricted"}
    body["message"]["customer"] = {"number": "+266696687"}
    variables = ask(client, PLOMBERIE, body, plomberie_headers)["assistantOverrides"][
        "variableValues"
    ]
    assert variables == {
        "caller_id_known": False,
        "caller_last_digits": "",
        "contact_prompt": warm(prompts.VOCAL_CONTACT_NO_CALLER_ID),
        "contact_state": "CONTACT_COLLECT",
    }
    (row,) = calls_in(app)
    assert row["caller_number"] is None


def test_plomberie_national_belgian_number(app, client, plomberie_headers, vapi_payload, calls_in):
    body = vapi_payload("assistant-request")
    body["message"]["call"]["customer"] = {"number": "0470123456"}
    del body["message"]["customer"]
    variables = ask(client, PLOMBERIE, body, plomberie_headers)["assistantOverrides"][
        "variableValues"
    ]
    assert variables["caller_last_digits"] == "34 56"
    (row,) = calls_in(app)
    assert row["caller_number"] == "+32470123456"


def test_the_stored_number_is_the_one_read_out(
    app, client, plomberie_headers, vapi_payload, calls_in
):
    first = vapi_payload("status-update.in-progress.fallback-customer-only")
    assert ask(client, PLOMBERIE, first, plomberie_headers) == {}
    variables = ask(client, PLOMBERIE, vapi_payload("assistant-request"), plomberie_headers)[
        "assistantOverrides"
    ]["variableValues"]
    assert variables["caller_last_digits"] == "54 32"
    (row,) = calls_in(app)
    assert row["caller_number"] == "+33261915432"


def test_demo_without_assistant_gets_the_spoken_error(
    app, client, demo_headers, vapi_payload, calls_in
):
    answer = ask(client, "demo", vapi_payload("assistant-request"), demo_headers)
    assert answer == {"error": UNAVAILABLE}
    (row,) = calls_in(app)
    assert row["caller_number"] == CALLER  # captured all the same


def test_shared_url_routes_assistant_request_by_phone_number_id(
    client, plomberie_headers, vapi_payload
):
    body = vapi_payload("assistant-request")
    body["message"]["phoneNumber"] = {"id": "9c1e7a52-2222-4d3b-8f10-6a7b8c9d0002"}
    body["message"]["call"]["phoneNumberId"] = "9c1e7a52-2222-4d3b-8f10-6a7b8c9d0002"
    response = client.post("/api/vapi/webhook", json=body, headers=plomberie_headers)
    assert response.status_code == 200
    assert response.get_json()["assistantId"] == "asst-plomberie-0001"


@pytest.mark.product_deadlines
def test_broken_database_plomberie_still_gets_its_assistant(
    app, client, plomberie_headers, vapi_payload, log_events
):
    with database_down(app):
        answer = ask(client, PLOMBERIE, vapi_payload("assistant-request"), plomberie_headers)
    assert answer["assistantId"] == "asst-plomberie-0001"
    variables = answer["assistantOverrides"]["variableValues"]
    # The request is the source: the caller hears what they would have without the outage.
    # (plomberie reads four digits)
    assert variables["caller_id_known"] is True and variables["caller_last_digits"] == "56 14"
    assert "56 14" in variables["contact_prompt"]
    assert log_events("DATABASE_UNAVAILABLE")


@pytest.mark.product_deadlines
def test_broken_database_demo_gets_the_spoken_error(app, client, demo_headers, vapi_payload):
    with database_down(app):
        answer = ask(client, "demo", vapi_payload("assistant-request"), demo_headers)
    assert answer == {"error": UNAVAILABLE}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m["call"]["customer"].update(number=33536495614),
        lambda m: m.update(call="not an object"),
        lambda m: m["call"].update(id=""),
    ],
)
def test_odd_assistant_request_is_never_a_5xx(client, plomberie_headers, vapi_payload, mutate):
    body = vapi_payload("assistant-request")
    mutate(body["message"])
    response = client.post(f"/api/vapi/{PLOMBERIE}/webhook", json=body, headers=plomberie_headers)
    assert_no_full_number(response.get_data(as_text=True), "an assistant-request answer")
    assert response.status_code < 500 and response.is_json


def test_assistant_request_without_call_or_customer(client, plomberie_headers):
    body = {"message": {"type": "assistant-request"}}
    variables = ask(client, PLOMBERIE, body, plomberie_headers)["assistantOverrides"][
        "variableValues"
    ]
    assert variables["caller_id_known"] is False
