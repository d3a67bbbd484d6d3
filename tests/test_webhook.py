"""Vapi server messages over HTTP: every example payload, idempotent capture, routing, bad input."""

import json

import pytest

from tests.leaks import assert_no_full_number
from tests.paths import VAPI_PAYLOADS

CALLER = "+33536495614"
OTHER = "+33261915432"
CALL_ID = "f60f6b23-0697-4e07-a137-2ca86f93a8da"
WEBCALL_ID = "f6ee57e5-6bd5-4ba2-a5d9-17dfb2195be0"
PLOMBERIE_PHONE_NUMBER_ID = "9c1e7a52-2222-4d3b-8f10-6a7b8c9d0002"
CONFIRM_14 = "J'ai un numéro qui se termine par 14. C'est bien le vôtre ? Dites oui ou non."
COLLECT = "Je n'ai pas votre numéro qui s'affiche. Pouvez-vous me le donner ?"

# A call as Vapi plays it: the assistant is asked for, the phone rings, the call runs, Vapi asks
# the Custom LLM, tools are called, late and duplicate messages arrive, the call ends.
CALL_IN_ORDER = [
    "assistant-request",
    "status-update.ringing",
    "status-update.in-progress",
    "assistant.started",
    "speech-update",
    "conversation-update",
    "chat-completions.request",
    "tool-calls",
    "tool-calls.string-arguments",
    "status-update.in-progress.fallback-customer-only",
    "status-update.in-progress.withheld",
    "status-update.in-progress.no-customer",
    "status-update.in-progress.webcall",
    "status-update.ended",
    "end-of-call-report",
]


def answer_text(response):
    """The response body as text, swept for full numbers (RGPD: never in an HTTP answer)."""
    text = response.get_data(as_text=True)
    assert_no_full_number(text, f"the answer to {response.request.path}")
    return text


def post(client, path, body, headers):
    response = client.post(path, json=body, headers=headers)
    answer_text(response)
    return response


def webhook(client, body, headers, tenant="demo"):
    return post(client, f"/api/vapi/{tenant}/webhook", body, headers)


def streamed_sentence(text):
    """The `delta.content` of a server-sent-events answer, concatenated."""
    events = [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    return "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)


def test_the_replay_covers_every_example_payload():
    assert sorted(CALL_IN_ORDER) == sorted(p.stem for p in VAPI_PAYLOADS.glob("*.json"))


def test_replay_every_payload_of_a_call(
    app, client, demo_headers, vapi_payload, calls_in, log_events
):
    for name in CALL_IN_ORDER:
        body = vapi_payload(name)
        if name == "chat-completions.request":
            response = post(client, "/api/vapi/demo/chat/completions", body, demo_headers)
            assert response.status_code == 200, name
            assert response.mimetype == "text/event-stream"
            assert streamed_sentence(response.get_data(as_text=True)) == CONFIRM_14
            continue
        response = webhook(client, body, demo_headers)
        assert response.status_code == 200, (name, response.get_json())
        assert response.is_json, name
        if name == "assistant-request":
            assert set(response.get_json()) == {"error"}
        elif not name.startswith("tool-calls"):  # tool-calls answers belong to the conversation
            assert response.get_json() == {}, name

    rows = {row["call_id"]: row for row in calls_in(app)}
    assert set(rows) == {CALL_ID, WEBCALL_ID}
    call = rows[CALL_ID]
    assert call["tenant_id"] == "demo"
    assert call["caller_number"] == CALLER
    assert call["caller_msg_type"] == "assistant-request"
    assert call["ended_reason"] == "customer-ended-call"
    assert call["ended_at"] is not None
    assert call["created_at"] is not None and call["updated_at"] is not None
    assert rows[WEBCALL_ID]["caller_number"] is None

    persisted = log_events("CALLER_ID_PERSISTED")
    assert len(persisted) == 1
    (event,) = persisted
    assert event["tenant"] == "demo"
    assert event["call_id"] == CALL_ID
    assert event["msg_type"] == "assistant-request"
    assert event["phone_masked"] == "+33XXXXXXX14"
    found = log_events("CALLER_ID_FOUND")
    assert found and all(e["call_id"] == CALL_ID for e in found)
    assert {(e["last2"], e["next"], e["context"]) for e in found} == {
        ("14", "CONTACT_CONFIRM", "QUALIF_CONTACT")
    }


def test_first_valid_number_wins(app, client, demo_headers, vapi_payload, calls_in, log_events):
    first = webhook(client, vapi_payload("status-update.in-progress"), demo_headers)
    assert first.status_code == 200 and first.get_json() == {}
    later = vapi_payload("status-update.in-progress.fallback-customer-only")
    assert later["message"]["customer"]["number"] == OTHER
    for _ in range(2):
        assert webhook(client, later, demo_headers).status_code == 200
    (row,) = calls_in(app)
    assert row["caller_number"] == CALLER
    assert row["caller_msg_type"] == "status-update"
    assert [e["phone_masked"] for e in log_events("CALLER_ID_PERSISTED")] == ["+33XXXXXXX14"]
    # The chat completion reads the stored number, not the one its own body carries.
    chat = vapi_payload("chat-completions.request")
    chat["call"]["customer"]["number"] = OTHER
    chat["customer"]["number"] = OTHER
    chat["stream"] = False
    answer = post(client, "/api/vapi/demo/chat/completions", chat, demo_headers)
    assert answer.get_json()["choices"][0]["message"]["content"] == CONFIRM_14


def test_the_fallback_number_first_is_kept(app, client, demo_headers, vapi_payload, calls_in):
    webhook(client, vapi_payload("status-update.in-progress.fallback-customer-only"), demo_headers)
    webhook(client, vapi_payload("status-update.in-progress"), demo_headers)
    webhook(client, vapi_payload("end-of-call-report"), demo_headers)
    (row,) = calls_in(app)
    assert row["caller_number"] == OTHER


@pytest.mark.parametrize(
    "name", ["status-update.in-progress.withheld", "status-update.in-progress.no-customer"]
)
def test_withheld_call_stores_no_number_and_collects(
    app, client, demo_headers, vapi_payload, calls_in, log_events, name
):
    response = webhook(client, vapi_payload(name), demo_headers)
    assert response.status_code == 200 and response.get_json() == {}
    (row,) = calls_in(app)
    assert row["call_id"] == CALL_ID and row["caller_number"] is None
    chat = vapi_payload("chat-completions.request")
    chat["call"]["customer"] = {"number": "anonymous"}
    del chat["customer"]
    response = post(client, "/api/vapi/demo/chat/completions", chat, demo_headers)
    assert streamed_sentence(response.get_data(as_text=True)) == COLLECT
    assert log_events("CALLER_ID_PERSISTED") == []
    (not_found,) = log_events("CALLER_ID_NOT_FOUND")
    assert not_found["call_id"] == CALL_ID
    assert (not_found["next"], not_found["context"]) == ("CONTACT_COLLECT", "QUALIF_CONTACT")
    (row,) = calls_in(app)
    assert row["caller_number"] is None and row["state"] == "CONTACT_COLLECT"


def test_a_later_valid_number_fills_an_empty_slot(
    app, client, demo_headers, vapi_payload, calls_in, log_events
):
    webhook(client, vapi_payload("status-update.in-progress.withheld"), demo_headers)
    webhook(client, vapi_payload("tool-calls"), demo_headers)
    (row,) = calls_in(app)
    assert row["caller_number"] == CALLER
    (event,) = log_events("CALLER_ID_PERSISTED")
    assert event["msg_type"] == "tool-calls"


def test_web_call_has_a_row_without_number(app, client, demo_headers, vapi_payload, calls_in):
    body = vapi_payload("status-update.in-progress.webcall")
    body["message"]["customer"] = {"number": CALLER}
    assert webhook(client, body, demo_headers).get_json() == {}
    (row,) = calls_in(app)
    assert row["call_id"] == WEBCALL_ID and row["caller_number"] is None


@pytest.mark.parametrize("payload", ["status-update.in-progress", "end-of-call-report"])
def test_a_number_without_a_call_id_is_refused_not_acknowledged(
    app, client, demo_headers, vapi_payload, calls_in, payload
):
    body = vapi_payload(payload)
    del body["message"]["call"]["id"]
    response = webhook(client, body, demo_headers)
    assert response.status_code == 400 and "call.id is missing" in response.get_json()["error"]
    assert calls_in(app) == []
    # Without a number, nothing is lost: acknowledged as before.
    body["message"]["call"].pop("customer", None)
    body["message"].pop("customer", None)
    assert webhook(client, body, demo_headers).status_code == 200


def test_end_reason_comes_from_the_message_not_the_stale_call(
    app, client, demo_headers, vapi_payload, calls_in
):
    report = vapi_payload("end-of-call-report")
    report["message"]["endedReason"] = "assistant-ended-call"
    report["message"]["call"]["endedReason"] = "stale-snapshot"
    assert report["message"]["call"]["status"] == "ringing"
    assert webhook(client, report, demo_headers).get_json() == {}
    (row,) = calls_in(app)
    assert row["ended_reason"] == "assistant-ended-call"
    assert row["ended_at"] is not None
    assert row["caller_number"] == CALLER


def test_first_end_reason_is_kept(app, client, demo_headers, vapi_payload, calls_in):
    webhook(client, vapi_payload("status-update.ended"), demo_headers)
    (first,) = calls_in(app)
    report = vapi_payload("end-of-call-report")
    report["message"]["endedReason"] = "silence-timed-out"
    webhook(client, report, demo_headers)
    (row,) = calls_in(app)
    assert row["ended_reason"] == "customer-ended-call"
    assert row["ended_at"] == first["ended_at"]


def test_an_end_without_reason_leaves_room_for_the_report(
    app, client, demo_headers, vapi_payload, calls_in
):
    ended = vapi_payload("status-update.ended")
    del ended["message"]["endedReason"]
    webhook(client, ended, demo_headers)
    (first,) = calls_in(app)
    assert first["ended_at"] is not None
    webhook(client, vapi_payload("end-of-call-report"), demo_headers)
    (row,) = calls_in(app)
    assert row["ended_reason"] == "customer-ended-call"
    assert row["ended_at"] == first["ended_at"]


def test_status_updates_other_than_ended_do_not_end_the_call(
    app, client, demo_headers, vapi_payload, calls_in
):
    for name in ("status-update.ringing", "status-update.in-progress", "assistant.started"):
        webhook(client, vapi_payload(name), demo_headers)
    (row,) = calls_in(app)
    assert row["ended_at"] is None and row["ended_reason"] is None


def test_status_update_with_underscore_type_is_captured(
    app, client, demo_headers, vapi_payload, calls_in
):
    body = vapi_payload("status-update.in-progress")
    body["message"]["type"] = "status_update"
    assert webhook(client, body, demo_headers).get_json() == {}
    (row,) = calls_in(app)
    assert row["caller_number"] == CALLER


def test_unknown_message_type_gets_an_empty_answer(client, demo_headers):
    body = {"message": {"type": "some-future-message", "anything": [1, 2]}}
    response = webhook(client, body, demo_headers)
    assert response.status_code == 200 and response.get_json() == {}


def test_national_number_uses_the_tenant_region(
    app, client, demo_headers, vapi_payload, calls_in, log_events
):
    body = vapi_payload("status-update.in-progress")
    body["message"]["call"]["customer"]["number"] = "0536495614"
    webhook(client, body, demo_headers)
    (row,) = calls_in(app)
    assert row["caller_number"] == CALLER
    assert log_events("CALLER_ID_PERSISTED")[0]["phone_masked"] == "+33XXXXXXX14"


def test_same_call_id_under_two_tenants_is_two_calls(
    app, client, demo_headers, secrets, vapi_payload, calls_in
):
    webhook(client, vapi_payload("status-update.in-progress"), demo_headers)
    plomberie = {"Authorization": f"Bearer {secrets['VAPI_SECRET_PLOMBERIE']}"}
    webhook(
        client,
        vapi_payload("status-update.in-progress.fallback-customer-only"),
        plomberie,
        tenant="plomberie-dupont",
    )
    rows = {row["tenant_id"]: row for row in calls_in(app)}
    assert rows["demo"]["caller_number"] == CALLER
    assert rows["plomberie-dupont"]["caller_number"] == OTHER


def test_unknown_tenant_is_a_json_404(client, demo_headers, vapi_payload, log_events):
    response = webhook(client, vapi_payload("status-update.in-progress"), demo_headers, "nobody")
    assert response.status_code == 404 and "error" in response.get_json()
    (event,) = log_events("TENANT_NOT_FOUND")
    assert (event["route"], event["tenant"]) == ("tenant", "nobody")


# The shared Server URL: routed by the called number or the Vapi phone-number id.


def shared(client, body, headers):
    return post(client, "/api/vapi/webhook", body, headers)


def test_shared_url_routes_by_called_number(app, client, demo_headers, vapi_payload, calls_in):
    response = shared(client, vapi_payload("status-update.in-progress"), demo_headers)
    assert response.status_code == 200 and response.get_json() == {}
    (row,) = calls_in(app)
    assert (row["tenant_id"], row["caller_number"]) == ("demo", CALLER)


def plomberie_body(vapi_payload, where):
    body = vapi_payload("status-update.in-progress")
    message = body["message"]
    del message["phoneNumber"]
    del message["call"]["phoneNumberId"]
    if where == "call.phoneNumberId":
        message["call"]["phoneNumberId"] = PLOMBERIE_PHONE_NUMBER_ID
    else:
        message["phoneNumber"] = {"id": PLOMBERIE_PHONE_NUMBER_ID, "number": None}
    return body


@pytest.mark.parametrize("where", ["call.phoneNumberId", "phoneNumber.id"])
def test_shared_url_routes_by_phone_number_id(app, client, secrets, vapi_payload, calls_in, where):
    headers = {"X-Vapi-Secret": secrets["VAPI_SECRET_PLOMBERIE"]}
    response = shared(client, plomberie_body(vapi_payload, where), headers)
    assert response.status_code == 200 and response.get_json() == {}
    (row,) = calls_in(app)
    assert (row["tenant_id"], row["caller_number"]) == ("plomberie-dupont", CALLER)


@pytest.mark.parametrize("where", ["call.phoneNumberId", "phoneNumber.id"])
def test_shared_url_one_tenant_s_secret_does_not_open_another(
    app, client, demo_headers, vapi_payload, calls_in, where
):
    response = shared(client, plomberie_body(vapi_payload, where), demo_headers)
    assert response.status_code == 401 and "error" in response.get_json()
    assert calls_in(app) == []


def test_shared_url_demo_number_refuses_the_plomberie_secret(
    app, client, secrets, vapi_payload, calls_in
):
    headers = {"X-Vapi-Secret": secrets["VAPI_SECRET_PLOMBERIE"]}
    response = shared(client, vapi_payload("status-update.in-progress"), headers)
    assert response.status_code == 401
    assert calls_in(app) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.update(phoneNumber={"id": "pn-nobody", "number": "+33199999999"}, call={}),
        lambda m: m.update(phoneNumber=None, call={"id": "c1", "phoneNumberId": "pn-nobody"}),
        lambda m: m.pop("phoneNumber") and m["call"].pop("phoneNumberId"),
    ],
)
def test_shared_url_without_a_match_is_a_logged_json_404(
    app, client, demo_headers, vapi_payload, calls_in, log_events, mutate
):
    body = vapi_payload("status-update.in-progress")
    mutate(body["message"])
    response = shared(client, body, demo_headers)
    assert response.status_code == 404
    assert response.get_json() == {"error": "no tenant for this phone number"}
    (event,) = log_events("TENANT_NOT_FOUND")
    assert event["route"] == "shared"
    assert calls_in(app) == []


def test_shared_url_web_call_has_no_tenant(client, demo_headers, vapi_payload):
    body = vapi_payload("status-update.in-progress.webcall")
    assert shared(client, body, demo_headers).status_code == 404


def test_shared_url_bad_body_is_a_400(client, demo_headers):
    for raw in (b"nope", b"[]", b'{"message": "x"}', b'{"message": {"type": ""}}'):
        response = client.post(
            "/api/vapi/webhook", data=raw, headers=demo_headers, content_type="application/json"
        )
        assert response.status_code == 400 and "error" in response.get_json(), raw


# Bad input: a JSON 400, never a 500, nothing stored lost.

BAD_BODIES = [
    (b"not json", "body is not valid JSON"),
    (b"", "body is not valid JSON"),
    (b"\xff\xfe{}", "UTF-8"),
    (b"[]", "body must be a JSON object"),
    (b'[{"message": {"type": "status-update"}}]', "body must be a JSON object"),
    (b'"status-update"', "body must be a JSON object"),
    (b"{}", "message must be an object"),
    (b'{"message": null}', "message must be an object"),
    (b'{"message": []}', "message must be an object"),
    (b'{"message": "status-update"}', "message must be an object"),
    (b'{"message": {}}', "message.type"),
    (b'{"message": {"type": 3}}', "message.type"),
    (b'{"message": {"type": ["status-update"]}}', "message.type"),
    (b'{"message": {"type": null}}', "message.type"),
]


@pytest.mark.parametrize("raw, error", BAD_BODIES)
def test_bad_body_is_a_json_400(client, demo_headers, raw, error):
    response = client.post(
        "/api/vapi/demo/webhook", data=raw, headers=demo_headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert error in response.get_json()["error"]


def mistyped(vapi_payload, name, mutate):
    body = vapi_payload(name)
    mutate(body["message"])
    return body


MISTYPED = [
    ("status-update.in-progress", lambda m: m.update(call="f60f6b23")),
    ("status-update.in-progress", lambda m: m.update(call=[CALL_ID])),
    ("status-update.in-progress", lambda m: m["call"].update(customer="+33536495614")),
    ("status-update.in-progress", lambda m: m["call"]["customer"].update(number=33536495614)),
    ("status-update.in-progress", lambda m: m["customer"].update(number=33536495614)),
    ("status-update.in-progress", lambda m: m.update(customer=[CALLER])),
    ("status-update.in-progress", lambda m: m["call"].update(id=12)),
    ("status-update.in-progress", lambda m: m["call"].update(id="")),
    ("status-update.ended", lambda m: m.update(status=3)),
    ("end-of-call-report", lambda m: m.update(endedReason={"reason": "x"})),
]


@pytest.mark.parametrize("name, mutate", MISTYPED)
def test_wrong_types_are_a_json_400_and_lose_nothing(
    app, client, demo_headers, vapi_payload, calls_in, name, mutate
):
    webhook(client, vapi_payload("status-update.in-progress"), demo_headers)
    (before,) = calls_in(app)
    response = webhook(client, mistyped(vapi_payload, name, mutate), demo_headers)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]
    (after,) = calls_in(app)
    assert after["caller_number"] == before["caller_number"] == CALLER
    assert after["ended_reason"] is None and after["ended_at"] is None
    # The service still answers the call afterwards.
    assert webhook(client, vapi_payload("assistant.started"), demo_headers).status_code == 200


def test_too_large_body_is_a_json_413(app, client, demo_headers):
    pad = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    body = {"message": {"type": "conversation-update", "pad": pad}}
    response = client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers)
    assert response.status_code == 413 and response.is_json


def test_wrong_method_is_a_json_405(client, demo_headers):
    response = client.get("/api/vapi/demo/webhook", headers=demo_headers)
    assert response.status_code == 405 and response.is_json


@pytest.mark.parametrize("endpoint", ["webhook", "chat/completions"])
def test_a_phone_number_as_tenant_id_is_not_logged(client, demo_headers, log_events, endpoint):
    # A Server URL misconfigured with the caller's number in place of the tenant id.
    response = client.post(f"/api/vapi/{CALLER}/{endpoint}", json={}, headers=demo_headers)
    assert response.status_code == 404 and response.is_json
    (event,) = log_events("TENANT_NOT_FOUND")
    assert event["route"] == "tenant"
