"""Vapi's Custom LLM endpoint: the engine's sentence, streamed or not, for every wording variant."""

import json

import pytest
from babel.messages.pofile import read_po

from backend import PROJECT_ROOT, prompts
from tests.answers import error_message
from tests.leaks import assert_no_full_number

CALLER = "+33536495614"
CALL_ID = "f60f6b23-0697-4e07-a137-2ca86f93a8da"
SECRET = "variants-secret"
HEADERS = {"Authorization": f"Bearer {SECRET}"}
ISSUE_CONFIRM = (
    "J'ai un numéro qui se termine par {last_two}. C'est bien le vôtre ? Dites oui ou non."
)
ISSUE_COLLECT = "Je n'ai pas votre numéro qui s'affiche. Pouvez-vous me le donner ?"
VARIANT_FILES = {"standard": "messages.po", "short": "short.po", "warm": "warm.po"}


def catalog_text(variant, key):
    """The sentence as translators wrote it in fr/<variant>.po, read without backend.wording."""
    path = PROJECT_ROOT / "locales/fr/LC_MESSAGES" / VARIANT_FILES[variant]
    with open(path, "rb") as handle:
        return {m.context: m.string for m in read_po(handle) if m.id}[key]


def tenant(tenant_id, variant="standard", spoken_digits=2, locale="fr_FR"):
    return {
        "id": tenant_id,
        "name": f"Cabinet {tenant_id}",
        "locale": locale,
        "region": "FR",
        "vapi": {"secret_env": "VAPI_SECRET_VARIANTS"},
        "masking": {"spoken_digits": spoken_digits, "logged_digits": 2},
        "wording": {"variant": variant},
    }


@pytest.fixture
def variants_app(tenants_app, monkeypatch):
    """One tenant per variant, plus tenants reading 0 and 4 digits."""
    monkeypatch.setenv("VAPI_SECRET_VARIANTS", SECRET)
    return tenants_app(
        *(tenant(f"t-{variant}", variant) for variant in VARIANT_FILES),
        tenant("t-four", "standard", spoken_digits=4),
        tenant("t-zero", "short", spoken_digits=0),
    )


def chat_body(vapi_payload, known=True, stream=True):
    body = vapi_payload("chat-completions.request")
    body["stream"] = stream
    if not known:
        del body["call"]["customer"]
        del body["customer"]
    return body


def ask(app, tenant_id, body, headers=HEADERS):
    response = app.test_client().post(
        f"/api/vapi/{tenant_id}/chat/completions", json=body, headers=headers
    )
    assert_no_full_number(response.get_data(as_text=True), "a chat completion answer")
    return response


def sentence_of(response):
    """What the caller hears, from a streamed or a JSON answer (checking either format)."""
    assert response.status_code == 200, response.get_data(as_text=True)
    if response.mimetype == "text/event-stream":
        lines = [line for line in response.get_data(as_text=True).split("\n") if line]
        assert all(line.startswith("data: ") for line in lines), lines
        assert lines[-1] == "data: [DONE]"
        chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
        assert chunks, "no chunk before [DONE]"
        for chunk in chunks:
            assert chunk["object"] == "chat.completion.chunk"
            assert chunk["id"].startswith("chatcmpl-") and isinstance(chunk["created"], int)
            assert len(chunk["choices"]) == 1 and chunk["choices"][0]["index"] == 0
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
        assert len({chunk["id"] for chunk in chunks}) == 1
        return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert response.mimetype == "application/json"
    completion = response.get_json()
    assert completion["object"] == "chat.completion"
    assert completion["id"].startswith("chatcmpl-")
    (choice,) = completion["choices"]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    return choice["message"]["content"]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("variant", sorted(VARIANT_FILES))
def test_known_caller_hears_the_variant_s_confirm_sentence(
    variants_app, vapi_payload, calls_in, variant, stream
):
    response = ask(variants_app, f"t-{variant}", chat_body(vapi_payload, stream=stream))
    assert response.mimetype == ("text/event-stream" if stream else "application/json")
    expected = catalog_text(variant, prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID)
    assert sentence_of(response) == expected.format(last_two="14")
    if variant == "standard":
        assert sentence_of(response) == ISSUE_CONFIRM.format(last_two="14")
    (row,) = calls_in(variants_app)
    assert (row["tenant_id"], row["caller_number"]) == (f"t-{variant}", CALLER)
    assert row["state"] == "CONTACT_CONFIRM"


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("variant", sorted(VARIANT_FILES))
def test_unknown_caller_hears_the_variant_s_collect_sentence(
    variants_app, vapi_payload, calls_in, variant, stream
):
    response = ask(
        variants_app, f"t-{variant}", chat_body(vapi_payload, known=False, stream=stream)
    )
    expected = catalog_text(variant, prompts.VOCAL_CONTACT_NO_CALLER_ID)
    assert sentence_of(response) == expected
    if variant == "standard":
        assert sentence_of(response) == ISSUE_COLLECT
    (row,) = calls_in(variants_app)
    assert row["caller_number"] is None and row["state"] == "CONTACT_COLLECT"


def test_variants_really_differ(variants_app, vapi_payload):
    heard = {
        variant: sentence_of(ask(variants_app, f"t-{variant}", chat_body(vapi_payload)))
        for variant in VARIANT_FILES
    }
    assert len(set(heard.values())) == 3
    assert all("14" in sentence for sentence in heard.values())


def test_four_spoken_digits_are_read_as_pairs(variants_app, vapi_payload):
    sentence = sentence_of(ask(variants_app, "t-four", chat_body(vapi_payload)))
    assert sentence == ISSUE_CONFIRM.format(last_two="56 14")


def test_zero_spoken_digits_reads_no_digit(variants_app, vapi_payload):
    sentence = sentence_of(ask(variants_app, "t-zero", chat_body(vapi_payload, stream=False)))
    assert sentence == catalog_text("short", prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID_NO_DIGITS)
    assert not any(ch.isdigit() for ch in sentence)


def test_the_chat_body_s_caller_number_is_captured(
    app, client, demo_headers, vapi_payload, calls_in, log_events
):
    body = vapi_payload("chat-completions.request")
    response = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
    assert_no_full_number(response.get_data(as_text=True), "a chat completion answer")
    assert sentence_of(response) == ISSUE_CONFIRM.format(last_two="14")
    (row,) = calls_in(app)
    assert (row["call_id"], row["caller_number"]) == (CALL_ID, CALLER)
    assert row["caller_msg_type"] == "chat-completions"
    (event,) = log_events("CALLER_ID_PERSISTED")
    assert (event["msg_type"], event["phone_masked"]) == ("chat-completions", "+33XXXXXXX14")
    (found,) = log_events("CALLER_ID_FOUND")
    assert (found["last2"], found["next"], found["context"]) == (
        "14",
        "CONTACT_CONFIRM",
        "QUALIF_CONTACT",
    )


def test_customer_only_at_the_top_of_the_chat_body(
    app, client, demo_headers, vapi_payload, calls_in
):
    body = vapi_payload("chat-completions.request")
    del body["call"]["customer"]
    body["customer"]["number"] = "+33261915432"
    response = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
    assert_no_full_number(response.get_data(as_text=True), "a chat completion answer")
    assert sentence_of(response) == ISSUE_CONFIRM.format(last_two="32")
    (row,) = calls_in(app)
    assert row["caller_number"] == "+33261915432"


def test_stream_missing_answers_json(client, demo_headers, vapi_payload):
    body = vapi_payload("chat-completions.request")
    del body["stream"]
    response = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
    assert response.mimetype == "application/json"
    assert sentence_of(response) == ISSUE_CONFIRM.format(last_two="14")


def test_a_body_without_call_still_answers(app, client, demo_headers, calls_in):
    body = {"model": "backend", "stream": True, "messages": [{"role": "user", "content": "Allô"}]}
    response = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
    assert sentence_of(response) == ISSUE_COLLECT
    assert calls_in(app) == []


def test_a_known_caller_without_call_id_hears_the_opening_every_time(
    app, client, demo_headers, vapi_payload, calls_in, log_events
):
    # No call id: no turn can be remembered, so a « oui » cannot be tied to the question.
    body = vapi_payload("chat-completions.request")
    del body["call"]["id"]
    for said in ("Allô", "Oui"):
        body["messages"].append({"role": "user", "content": said})
        response = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
        assert sentence_of(response) == ISSUE_CONFIRM.format(last_two="14")
    assert calls_in(app) == []
    assert [e["next"] for e in log_events("CALLER_ID_FOUND")] == ["CONTACT_CONFIRM"] * 2


def test_chat_answer_echoes_the_model_name(client, demo_headers, vapi_payload):
    body = vapi_payload("chat-completions.request")
    body["stream"] = False
    body["model"] = "gpt-4o"
    response = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
    assert response.get_json()["model"] == "gpt-4o"


def test_a_number_in_the_model_name_is_not_echoed(client, demo_headers, vapi_payload):
    body = vapi_payload("chat-completions.request")
    for stream in (False, True):
        body["stream"], body["model"] = stream, "modele-+33698761234"
        response = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
        answer = response.get_data(as_text=True)
        assert "modele-+XXXXXXXXX34" in answer and "698761234" not in answer


BAD_CHAT = [
    (b"not json", "JSON"),
    (b"[]", "object"),
    (b'[{"model": "backend"}]', "object"),
    (b'{"messages": "hello"}', "messages"),
    (b'{"messages": {"role": "user"}}', "messages"),
    (b'{"stream": "true"}', "stream"),
    (b'{"stream": 1}', "stream"),
    (b'{"call": "f60f"}', "call"),
    (b'{"call": {"customer": {"number": 33536495614}}}', "number"),
    (b'{"customer": {"number": 33536495614}}', "number"),
    (b'{"customer": "+33536495614"}', "customer"),
    (b'{"call": {"id": 7}}', "call.id"),
]


@pytest.mark.parametrize("raw, error", BAD_CHAT)
def test_bad_chat_body_is_a_json_400_and_loses_nothing(
    app, client, demo_headers, vapi_payload, calls_in, raw, error
):
    body = vapi_payload("chat-completions.request")
    body["stream"] = False
    client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
    (before,) = calls_in(app)
    response = client.post(
        "/api/vapi/demo/chat/completions",
        data=raw,
        headers=demo_headers,
        content_type="application/json",
    )
    assert_no_full_number(response.get_data(as_text=True), "a 400 answer")
    assert response.status_code == 400
    assert error in error_message(response)
    (after,) = calls_in(app)
    assert after["caller_number"] == before["caller_number"] == CALLER
    assert after["state"] == before["state"]
