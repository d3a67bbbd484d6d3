"""`flask --app wsgi vapi config TENANT`: what it prints is what Vapi's API accepts (checked
against vapi-server-sdk's models: no unknown field, no value outside an enum), and it wires the
tenant the way the rest of the suite proves works."""

import json
import os

import pytest

from backend.routes.way_out import END_CALL_TOOL, TRANSFER_CALL_TOOL
from tests.leaks import assert_no_full_number
from tests.servers import flask_command
from tests.vapi_sdk import problems_as, sdk_type

pytestmark = pytest.mark.vapi_sdk

BASE = "https://calls.example.com"
PHONE_NUMBER_MODELS = ("UpdateVapiPhoneNumberDto", "UpdateTwilioPhoneNumberDto")


def tenant(tenant_id, **extra):
    return {"id": tenant_id, "name": f"Cabinet {tenant_id}", **extra}


TENANTS = [
    tenant("fin", vapi={"secret_env": "VAPI_SECRET_DEMO"}, wording={"variant": "warm"}),
    tenant(
        "relais",
        vapi={
            "secret_env": "VAPI_SECRET_DEMO",
            "assistant_id": "asst-relais",
            "secret_header": "X-Key",
        },
        contact={"way_out": "transfer", "transfer_to": "+33180009876", "tool_name": "numero"},
    ),
    tenant(
        "signe",
        vapi={
            "secret_env": "VAPI_SECRET_DEMO",
            "hmac": {
                "payload": "{svix-id}.{timestamp}.{body}",
                "message_id_header": "svix-id",
                "encoding": "base64",
                "prefix": "v1,",
                "algorithm": "sha512",
            },
        },
        contact={"way_out": "callback_without_number"},
    ),
    tenant("muet", vapi={"secret_env": "VAPI_SECRET_DEMO"}, masking={"spoken_digits": 0}),
]


@pytest.fixture
def config_app(tenants_app):
    app = tenants_app(*TENANTS)
    app.config["PUBLIC_BASE_URL"] = BASE
    return app


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["vapi", "config", *args])
    return result


def printed(app, *args):
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    # No number, not even the business's transfer line: Vapi asks the server for it live.
    assert_no_full_number(result.stdout, "vapi config")
    return json.loads(result.stdout)


def sdk_problems(config):
    # POST /credential's body is CreateCustomCredentialDto plus its `provider` discriminant; the
    # SDK models that pair as the custom credential of a CreateAssistantDto's `credentials`.
    credential = {k: v for k, v in config["credential"].items() if k != "provider"}
    assert config["credential"]["provider"] == "custom-credential"
    problems = problems_as(sdk_type("CreateCustomCredentialDto"), credential, "credential")
    problems += problems_as(
        sdk_type("CreateAssistantDtoCredentialsItem_CustomCredential"),
        config["credential"],
        "credential",
    )
    problems += problems_as(sdk_type("CreateAssistantDto"), config["assistant"], "assistant")
    for name in PHONE_NUMBER_MODELS:
        problems += problems_as(sdk_type(name), config["phoneNumber"], f"phoneNumber ({name})")
    return problems


@pytest.mark.parametrize("tenant_id", ["fin", "relais", "signe"])
@pytest.mark.parametrize("mode", ["custom-llm", "tool"])
def test_the_output_is_what_vapi_s_sdk_accepts(config_app, tenant_id, mode):
    config = printed(config_app, tenant_id, "--mode", mode)
    assert sdk_problems(config) == []
    assistant = config["assistant"]
    webhook = f"{BASE}/api/vapi/{tenant_id}/webhook"
    assert config["phoneNumber"]["server"]["url"] == webhook
    assert assistant["server"]["url"] == webhook
    # assistant-request is the phone number's, never an assistant's server message.
    assert "assistant-request" not in assistant["serverMessages"]
    assert {"status-update", "end-of-call-report"} <= set(assistant["serverMessages"])
    assert ("tool-calls" in assistant["serverMessages"]) == (mode == "tool")
    model = assistant["model"]
    if mode == "custom-llm":
        assert model["provider"] == "custom-llm"
        assert model["url"] == f"{BASE}/api/vapi/{tenant_id}"
        assert model["metadataSendMode"] == "variable"
        (key,) = assistant["credentials"]
        assert key["provider"] == "custom-llm"


def test_the_way_out_tools_and_messages(config_app):
    end = printed(config_app, "fin")["assistant"]
    assert end["model"]["tools"] == [{"type": "endCall"}] and END_CALL_TOOL == "endCall"
    transfer = printed(config_app, "relais", "--mode", "tool")["assistant"]
    assert {"type": "transferCall", "destinations": []} in transfer["model"]["tools"]
    assert TRANSFER_CALL_TOOL == "transferCall"
    assert "transfer-destination-request" in transfer["serverMessages"]
    # Custom LLM mode: the answers end the call once the step is over, whatever the way out.
    callback = printed(config_app, "signe")["assistant"]
    assert callback["model"]["tools"] == [{"type": "endCall"}]
    assert printed(config_app, "signe", "--mode", "tool")["assistant"]["model"]["tools"][1:] == []
    relais = printed(config_app, "relais")["assistant"]["model"]["tools"]
    assert relais == [{"type": "endCall"}, {"type": "transferCall", "destinations": []}]


def test_the_contact_tool_carries_the_caller_number_as_a_static_parameter(config_app):
    tools = printed(config_app, "relais", "--mode", "tool")["assistant"]["model"]["tools"]
    (contact,) = [t for t in tools if t["type"] == "function"]
    assert contact["function"]["name"] == "numero"
    assert contact["function"]["parameters"]["required"] == ["utterance"]
    assert contact["parameters"] == [{"key": "caller_number", "value": "{{customer.number}}"}]
    assert contact["server"]["url"] == f"{BASE}/api/vapi/relais/webhook"


def test_tool_mode_opens_the_step_with_an_empty_utterance(config_app):
    # The engine asks its question on an empty first call (tests/test_tool_calls.py); words on
    # a first call answer a question the assistant was given by assistant-request.
    model = printed(config_app, "relais", "--mode", "tool")["assistant"]["model"]
    (contact,) = [t for t in model["tools"] if t["type"] == "function"]
    assert "first with an empty utterance" in contact["function"]["description"]
    utterance = contact["function"]["parameters"]["properties"]["utterance"]
    assert "empty to start the step" in utterance["description"]
    (prompt,) = model["messages"]
    assert "appelez d'abord l'outil numero avec un texte vide" in prompt["content"]


def test_credentials_match_the_tenant_file(config_app, secrets):
    bearer = printed(config_app, "relais")["credential"]["authenticationPlan"]
    assert bearer == {
        "type": "bearer",
        "token": "<value of VAPI_SECRET_DEMO>",
        "bearerPrefixEnabled": True,
        "headerName": "X-Key",
    }
    signed = printed(config_app, "signe", "--with-secret")["credential"]["authenticationPlan"]
    assert signed["type"] == "hmac" and signed["secretKey"] == secrets["VAPI_SECRET_DEMO"]
    assert (signed["algorithm"], signed["signatureEncoding"], signed["signaturePrefix"]) == (
        "sha512",
        "base64",
        "v1,",
    )
    assert signed["payloadFormat"] == "{svix-id}.{timestamp}.{body}"
    assert signed["messageIdHeader"] == "svix-id" and signed["includeTimestamp"] is True


def test_the_safety_net_uses_the_number_only_when_present_in_the_tenant_s_wording(config_app):
    def prompt(*args):
        return printed(config_app, *args, "--mode", "tool")["assistant"]["model"]["messages"][0]

    warm = prompt("fin")["content"].splitlines()[-1]
    standard = prompt("relais")["content"].splitlines()[-1]
    for line in (warm, standard):
        assert line.startswith("{% if customer.number %}") and line.endswith("{% endif %}")
        assert "{{customer.number}}" in line
    assert warm != standard and "Par discrétion" in warm
    # A tenant whose agent reads no digit: the model is told to read none either.
    silent = prompt("muet")["content"].splitlines()[-1]
    assert "Ne lisez aucun de ses chiffres" in silent and "derniers chiffres" not in silent
    assert "customer.number" not in prompt("fin", "--no-safety-net")["content"]
    # Custom LLM mode: the backend is the model, no line carries the number.
    assert "messages" not in printed(config_app, "fin")["assistant"]["model"]


def test_errors_are_said_on_stderr(config_app, tenants_app, monkeypatch):
    unknown = run(config_app, "nobody")
    assert unknown.exit_code == 1 and "nobody" in unknown.stderr and unknown.stdout == ""
    config_app.config["PUBLIC_BASE_URL"] = None
    assert "PUBLIC_BASE_URL" in run(config_app, "fin").stderr
    config_app.config["PUBLIC_BASE_URL"] = BASE
    monkeypatch.delenv("VAPI_SECRET_DEMO")
    unset = run(config_app, "fin", "--with-secret")
    assert unset.exit_code == 1 and "VAPI_SECRET_DEMO" in unset.stderr


def test_the_operator_s_command_on_the_shipped_demo(tmp_path):
    env = {
        **os.environ,
        "PUBLIC_BASE_URL": BASE + "/",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}",
    }
    result = flask_command(["vapi", "config", "demo"], env)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert sdk_problems(config) == []
    assert config["assistant"]["model"]["url"] == f"{BASE}/api/vapi/demo"
