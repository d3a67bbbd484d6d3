"""Each tenant's secret, from its environment variable: header or Bearer (with or without its
prefix, under the tenant's header name too), else a JSON 401."""

import pytest

from tests.answers import error_message
from tests.leaks import assert_no_full_number

ENDPOINTS = [
    ("/api/vapi/demo/webhook", "status-update.in-progress"),
    ("/api/vapi/webhook", "status-update.in-progress"),
    ("/api/vapi/demo/chat/completions", "chat-completions.request"),
]


def call(client, path, body, headers):
    response = client.post(path, json=body, headers=headers)
    assert_no_full_number(response.get_data(as_text=True), "an answer")
    return response


def assert_refused(response, secret=None):
    assert response.status_code == 401
    assert response.is_json
    assert error_message(response) == "missing or invalid credentials"
    if secret:
        assert secret not in response.get_data(as_text=True)


@pytest.mark.parametrize("path, payload", ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Vapi-Secret": "wrong"},
        {"X-Vapi-Secret": "test-secret-demo-but-longer"},
        {"X-Vapi-Secret": "test-secret-dem"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic test-secret-demo"},
        {"Authorization": "Bearer Bearer test-secret-demo"},
        {"X-Other-Header": "test-secret-demo"},
        {"X-Vapi-Secret": "test-secret-plomberie"},
        {"Authorization": "Bearer test-secret-plomberie"},
    ],
)
def test_missing_or_wrong_secret_is_a_json_401(
    app, client, vapi_payload, calls_in, log_events, path, payload, headers
):
    response = call(client, path, vapi_payload(payload), headers)
    assert_refused(response)
    assert calls_in(app) == []
    (event,) = log_events("AUTH_REJECTED")
    assert event["tenant"] == "demo"


@pytest.mark.parametrize("path, payload", ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [
        {"X-Vapi-Secret": "test-secret-demo"},
        {"x-vapi-secret": "test-secret-demo"},
        {"Authorization": "Bearer test-secret-demo"},
        {"Authorization": "bearer test-secret-demo"},
        {"X-Vapi-Secret": "", "Authorization": "Bearer test-secret-demo"},
        # Vapi's Bearer credential with `bearerPrefixEnabled: false`.
        {"Authorization": "test-secret-demo"},
    ],
)
def test_header_or_bearer_is_accepted(
    app, client, secrets, vapi_payload, calls_in, path, payload, headers
):
    assert secrets["VAPI_SECRET_DEMO"] == "test-secret-demo"
    response = call(client, path, vapi_payload(payload), headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    (row,) = calls_in(app)
    assert row["tenant_id"] == "demo"


def test_one_tenant_s_secret_does_not_open_another(client, secrets, vapi_payload):
    body = vapi_payload("status-update.in-progress")
    plomberie = {"X-Vapi-Secret": secrets["VAPI_SECRET_PLOMBERIE"]}
    demo = {"Authorization": f"Bearer {secrets['VAPI_SECRET_DEMO']}"}
    assert_refused(call(client, "/api/vapi/demo/webhook", body, plomberie))
    assert_refused(call(client, "/api/vapi/plomberie-dupont/webhook", body, demo))
    assert call(client, "/api/vapi/plomberie-dupont/webhook", body, plomberie).status_code == 200


@pytest.mark.parametrize("unset", ["delete", "empty"])
@pytest.mark.parametrize("path, payload", ENDPOINTS)
def test_tenant_with_unset_secret_refuses_everything(
    app, client, monkeypatch, vapi_payload, calls_in, log_events, unset, path, payload
):
    if unset == "delete":
        monkeypatch.delenv("VAPI_SECRET_DEMO")
    else:
        monkeypatch.setenv("VAPI_SECRET_DEMO", "")
    for headers in (
        {},
        {"X-Vapi-Secret": "test-secret-demo"},
        {"X-Vapi-Secret": ""},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer test-secret-demo"},
    ):
        assert_refused(call(client, path, vapi_payload(payload), headers))
    assert calls_in(app) == []
    reasons = {event["reason"] for event in log_events("AUTH_REJECTED")}
    assert reasons == {"secret not configured"}


def test_unset_secret_does_not_affect_other_tenants(client, monkeypatch, secrets, vapi_payload):
    monkeypatch.delenv("VAPI_SECRET_DEMO")
    headers = {"X-Vapi-Secret": secrets["VAPI_SECRET_PLOMBERIE"]}
    body = vapi_payload("status-update.in-progress")
    assert call(client, "/api/vapi/plomberie-dupont/webhook", body, headers).status_code == 200


def test_secret_rotation_needs_no_restart(client, monkeypatch, vapi_payload):
    body = vapi_payload("status-update.in-progress")
    monkeypatch.setenv("VAPI_SECRET_DEMO", "rotated-secret")
    assert_refused(
        call(client, "/api/vapi/demo/webhook", body, {"X-Vapi-Secret": "test-secret-demo"})
    )
    response = call(client, "/api/vapi/demo/webhook", body, {"X-Vapi-Secret": "rotated-secret"})
    assert response.status_code == 200


def test_auth_is_checked_before_the_body_is_read(client):
    response = client.post(
        "/api/vapi/demo/webhook", data=b"not json", content_type="application/json"
    )
    assert_refused(response)


def test_unknown_tenant_is_404_not_401(client):
    response = client.post("/api/vapi/nobody/chat/completions", json={})
    assert response.status_code == 404 and response.is_json


def test_health_needs_no_secret(client):
    assert client.get("/healthz").status_code == 200
