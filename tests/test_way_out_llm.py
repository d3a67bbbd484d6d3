"""The way out in Custom LLM mode, driven by OpenAI's official client (sync and async, streamed
and not): `end` says the sentence then calls Vapi's endCall tool, `transfer` calls transferCall.
"""

import asyncio

import httpx
import pytest
import requests
import yaml

from tests.contact_play import CALLER, NOTED, OPENING_KNOWN, OPENING_UNKNOWN
from tests.leaks import random_id
from tests.schemas import database_at_head
from tests.servers import Gunicorn
from tests.way_out_play import (
    END_SENTENCE,
    TRANSFER_NUMBER,
    tenant,
    transfer_destination_request,
    way_out_tenants,
)


@pytest.fixture
def way_out_app(tenants_app):
    return tenants_app(*way_out_tenants())


def openai_client(app, tenant_id, secret):
    """OpenAI's official client, on the app through httpx's WSGI transport."""
    import openai  # here, not at collection: its import costs each process ~1 s of CPU

    http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://vapi.test")
    return openai.OpenAI(
        base_url=f"http://vapi.test/api/vapi/{tenant_id}",
        api_key=secret,
        http_client=http,
        max_retries=0,
    )


def answer(client, history, extra, stream):
    """The assistant's message for `history`, streamed or not, as Vapi asks for it."""
    if stream:
        with client.chat.completions.stream(
            model="backend", messages=history, extra_body=extra
        ) as events:
            return events.get_final_completion().choices[0].message
    completion = client.chat.completions.create(model="backend", messages=history, extra_body=extra)
    message, finish = completion.choices[0].message, completion.choices[0].finish_reason
    assert finish == ("tool_calls" if message.tool_calls else "stop")
    return message


def conversation(client, extra, stream, utterances):
    """The assistant's messages: the opening (after « Bonjour »), then one per utterance."""
    history = [{"role": "user", "content": "Bonjour, je voudrais un rendez-vous."}]
    answers = []
    for utterance in (None, *utterances):
        if utterance:
            history.append({"role": "user", "content": utterance})
        answers.append(answer(client, history, extra, stream))
        history.append({"role": "assistant", "content": answers[-1].content or ""})
    return answers


def llm_turns(client, call_id, stream):
    """Open the step, then one unusable answer: (opening, final content, final tool calls)."""
    opening, last = conversation(client, {"call": {"id": call_id}}, stream, ["je ne sais pas"])
    return opening.content, last.content, last.tool_calls


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_custom_llm_end_says_the_sentence_then_calls_end_call(way_out_app, secrets, stream):
    client = openai_client(way_out_app, "fin", secrets["VAPI_SECRET_DEMO"])
    opening, content, tool_calls = llm_turns(client, random_id("llm-end"), stream)
    assert opening == OPENING_UNKNOWN
    assert content == END_SENTENCE
    assert [(t.type, t.function.name, t.function.arguments) for t in tool_calls] == [
        ("function", "endCall", "{}")
    ]
    assert tool_calls[0].id


@pytest.mark.parametrize("tenant_id", ["fin", "relais", "signe"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_custom_llm_ends_the_call_once_the_contact_is_confirmed(
    tenants_app, secrets, stream, tenant_id
):
    """The backend is the whole model here: nothing can follow the step, whatever its way out."""
    app = tenants_app(*way_out_tenants(), tenant("signe", "callback_without_number"))
    client = openai_client(app, tenant_id, secrets["VAPI_SECRET_DEMO"])
    extra = {"call": {"id": random_id("llm-ok"), "customer": {"number": CALLER}}}
    said = [
        (message.content, [t.function.name for t in message.tool_calls or []])
        for message in conversation(client, extra, stream, ["oui", "merci, au revoir"])
    ]
    assert said == [(OPENING_KNOWN, []), (NOTED, ["endCall"]), (NOTED, ["endCall"])]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_custom_llm_transfer_calls_transfer_call(way_out_app, secrets, stream):
    client = openai_client(way_out_app, "relais", secrets["VAPI_SECRET_DEMO"])
    _, content, tool_calls = llm_turns(client, random_id("llm-tr"), stream)
    # The destination's message says the sentence (transfer-destination-request): not twice.
    assert not content
    assert [(t.function.name, t.function.arguments) for t in tool_calls] == [("transferCall", "{}")]


@pytest.mark.parametrize("tenant_id, tool", [("fin", "endCall"), ("relais", "transferCall")])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_the_way_out_tool_s_result_is_not_answered_with_the_tool_again(
    way_out_app, secrets, stream, tenant_id, tool
):
    """Vapi ran the tool and asks the model to go on (OpenAI's function-calling flow): a
    transfer that failed came back to a new transferCall, for ever; an end to its goodbye."""
    client = openai_client(way_out_app, tenant_id, secrets["VAPI_SECRET_DEMO"])
    extra = {"call": {"id": random_id("llm-after")}}
    history = [{"role": "user", "content": "Bonjour"}]
    history.append({"role": "assistant", "content": answer(client, history, extra, stream).content})
    history.append({"role": "user", "content": "je ne sais pas"})
    way_out = answer(client, history, extra, stream)
    [called] = way_out.tool_calls
    assert called.function.name == tool
    history.append(way_out.model_dump(exclude_none=True))
    result = {"role": "tool", "tool_call_id": called.id, "content": "Transfer failed."}
    history.append(result)
    for _ in range(2):  # asked again: the same
        after = answer(client, history, extra, stream)
        assert not after.content and not after.tool_calls
    for trailing in ({"role": "assistant", "content": ""}, {"role": "system", "content": "x"}):
        after = answer(client, [*history, trailing], extra, stream)  # whatever follows it
        assert not after.content and not after.tool_calls
    history += [{"role": "assistant", "content": ""}, {"role": "user", "content": "allô ?"}]
    again = answer(client, history, extra, stream)  # the caller speaks: the step as it ended
    assert [t.function.name for t in again.tool_calls] == [tool]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_custom_llm_turns_before_the_way_out_call_no_tool(way_out_app, secrets, stream):
    client = openai_client(way_out_app, "fin", secrets["VAPI_SECRET_DEMO"])
    extra = {"call": {"id": random_id("llm-plain")}}
    messages = [{"role": "user", "content": "Bonjour"}]
    if stream:
        with client.chat.completions.stream(
            model="backend", messages=messages, extra_body=extra
        ) as events:
            completion = events.get_final_completion()
    else:
        completion = client.chat.completions.create(
            model="backend", messages=messages, extra_body=extra
        )
    choice = completion.choices[0]
    assert choice.message.content == OPENING_UNKNOWN
    assert not choice.message.tool_calls and choice.finish_reason == "stop"


@pytest.mark.slow
@pytest.mark.vapi_sdk  # tests/vapi_sdk.py
def test_over_real_http_on_two_workers(database_url, tmp_path, vapi_payload):
    """Gunicorn, two workers, real HTTP: OpenAI's client (sync streamed, async not) plays a
    call to the way out; Vapi's transfer-destination-request then gets the destination."""
    import openai  # as in openai_client

    folder = tmp_path / "tenants"
    folder.mkdir()
    for data in (tenant("fin", "end"), tenant("relais", "transfer", TRANSFER_NUMBER)):
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        (folder / f"{data['id']}.yaml").write_text(text, encoding="utf-8")
    env = {"DATABASE_URL": database_url, "TENANTS_DIR": str(folder), "VAPI_SECRET_DEMO": "gw"}
    database_at_head(env["DATABASE_URL"])
    server = Gunicorn("wsgi:app", env=env, workers=2, ready_path="/readyz")
    server.start(timeout=60)
    try:
        sync = openai.OpenAI(base_url=f"{server.url}/api/vapi/fin", api_key="gw", max_retries=0)
        _, content, tool_calls = llm_turns(sync, random_id("gw-end"), stream=True)
        assert content == END_SENTENCE
        assert [t.function.name for t in tool_calls] == ["endCall"]

        async def transfer_turns():
            client = openai.AsyncOpenAI(
                base_url=f"{server.url}/api/vapi/relais", api_key="gw", max_retries=0
            )
            call_id = random_id("gw-tr")
            extra = {"call": {"id": call_id}}
            history = [{"role": "user", "content": "Bonjour"}]
            await client.chat.completions.create(
                model="backend", messages=history, extra_body=extra
            )
            history += [
                {"role": "assistant", "content": OPENING_UNKNOWN},
                {"role": "user", "content": "je ne sais pas"},
            ]
            answer = await client.chat.completions.create(
                model="backend", messages=history, extra_body=extra
            )
            await client.close()
            return call_id, answer.choices[0]

        call_id, choice = asyncio.run(transfer_turns())
        assert choice.finish_reason == "tool_calls"
        assert choice.message.tool_calls[0].function.name == "transferCall"
        asked = requests.post(
            f"{server.url}/api/vapi/relais/webhook",
            json=transfer_destination_request(vapi_payload, call_id),
            headers={"X-Vapi-Secret": "gw"},
            timeout=10,
        )
        assert asked.json()["destination"]["number"] == TRANSFER_NUMBER
    finally:
        server.cleanup()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_refusals_are_openai_errors_the_client_reads(way_out_app, secrets, stream):
    """OpenAI's client reads an error object into the exception it raises: its type, its
    message (the client raised the right classes before, with the body as a string)."""
    import openai

    extra = {"call": {"id": random_id("llm-err")}}
    history = [{"role": "user", "content": "Bonjour"}]
    wrong = openai_client(way_out_app, "fin", "not-the-secret")
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.chat.completions.create(
            model="backend", messages=history, extra_body=extra, stream=stream
        )
    assert refused.value.type == "authentication_error"
    assert refused.value.body["message"] == "missing or invalid credentials"
    client = openai_client(way_out_app, "fin", secrets["VAPI_SECRET_DEMO"])
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="backend", messages=history, extra_body={"call": {"id": 7}}, stream=stream
        )
    assert bad.value.type == "invalid_request_error"
    assert bad.value.body["message"] == "call.id must be a string"
    unknown = openai_client(way_out_app, "nobody", secrets["VAPI_SECRET_DEMO"])
    with pytest.raises(openai.NotFoundError) as missing:
        unknown.chat.completions.create(model="backend", messages=history, stream=stream)
    assert missing.value.type == "not_found_error"
