"""Every credential form Vapi's dashboard offers, configured per tenant, over HTTP: a Bearer
credential under another header name, with or without its prefix, and HMAC with each option of
Vapi's HmacAuthenticationPlan. Tampered, replayed-too-late and stale requests are refused.

Signatures are computed here independently of the backend, from the SDK's description of each
option (vapi.types.HmacAuthenticationPlan).
"""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from vapi.types import BearerAuthenticationPlan, HmacAuthenticationPlan

from tests.leaks import random_id

SECRET = "test-secret-demo"  # VAPI_SECRET_DEMO in the tests' environment
B64_KEY = bytes(range(32))
B64_SECRET = base64.b64encode(B64_KEY).decode()
PUBLIC = "https://calls.example.com"


def tenant(tenant_id, secret_env="VAPI_SECRET_DEMO", **vapi):
    return {"id": tenant_id, "name": tenant_id, "vapi": {"secret_env": secret_env, **vapi}}


TENANTS = [
    tenant("bearer-x", secret_header="X-Api-Key"),
    tenant("hmac-method-url", hmac={"payload": "{method}\n{url}\n{timestamp}\n{body}"}),
    tenant(
        "hmac-svix",
        secret_env="VAPI_SECRET_SVIX",
        hmac={
            "signature_header": "svix-signature",
            "timestamp_header": "svix-timestamp",
            "message_id_header": "svix-id",
            "payload": "{svix-id}.{timestamp}.{body}",
            "encoding": "base64",
            "prefix": "v1,",
            "secret_is_base64": True,
        },
    ),
]


@pytest.fixture
def forms_app(tenants_app, monkeypatch, secrets):
    monkeypatch.setenv("VAPI_SECRET_SVIX", B64_SECRET)
    app = tenants_app(*TENANTS)
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    return app


def body_bytes(vapi_payload):
    payload = vapi_payload("status-update.in-progress")
    payload["message"]["call"]["id"] = random_id("cred")
    return json.dumps(payload).encode()


def post(app, tenant_id, body, headers):
    headers = {"Content-Type": "application/json", **headers}
    return app.test_client().post(f"/api/vapi/{tenant_id}/webhook", data=body, headers=headers)


def bearer_headers(plan):
    """What Vapi sends for a BearerAuthenticationPlan (headerName, bearerPrefixEnabled)."""
    prefix = "Bearer " if plan.bearer_prefix_enabled is not False else ""
    return {plan.header_name or "Authorization": prefix + plan.token}


@pytest.mark.parametrize("prefix", [True, False])
@pytest.mark.parametrize("header", [None, "X-Api-Key", "x-api-key"])
def test_a_bearer_credential_with_any_header_and_prefix(forms_app, vapi_payload, header, prefix):
    plan = BearerAuthenticationPlan(token=SECRET, header_name=header, bearer_prefix_enabled=prefix)
    response = post(forms_app, "bearer-x", body_bytes(vapi_payload), bearer_headers(plan))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_header_name_only_counts_for_the_tenant_that_configured_it(forms_app, vapi_payload):
    response = post(forms_app, "hmac-method-url", body_bytes(vapi_payload), {"X-Api-Key": SECRET})
    assert response.status_code == 401
    wrong = post(forms_app, "bearer-x", body_bytes(vapi_payload), {"X-Api-Key": "Bearer nope"})
    assert wrong.status_code == 401


def vapi_signature(plan, key, body, stamp, method="POST", url="", message_id=""):
    """The signature header's value, as the plan describes it."""
    values = {
        "{body}": body,
        "{timestamp}": stamp.encode(),
        "{method}": method.encode(),
        "{url}": url.encode(),
        "{svix-id}": message_id.encode(),
    }
    payload = (plan.payload_format or "{timestamp}.{body}").encode()
    for placeholder, value in values.items():
        payload = payload.replace(placeholder.encode(), value)
    digest = hmac.new(key, payload, getattr(hashlib, plan.algorithm)).digest()
    text = digest.hex() if (plan.signature_encoding or "hex") == "hex" else base64.b64encode(digest)
    return (plan.signature_prefix or "") + (text if isinstance(text, str) else text.decode())


METHOD_URL = HmacAuthenticationPlan(
    secret_key=SECRET, algorithm="sha256", payload_format="{method}\n{url}\n{timestamp}\n{body}"
)
SVIX = HmacAuthenticationPlan(
    secret_key=B64_SECRET,
    algorithm="sha256",
    signature_header="svix-signature",
    timestamp_header="svix-timestamp",
    message_id_header="svix-id",
    payload_format="{svix-id}.{timestamp}.{body}",
    signature_encoding="base64",
    signature_prefix="v1,",
    secret_is_base_64=True,
)


def iso(moment):
    return (
        datetime.fromtimestamp(moment, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


STAMPS = {
    "seconds": lambda moment: str(int(moment)),
    "milliseconds": lambda moment: str(int(moment * 1000)),
    "iso-8601": iso,
}


def method_url_headers(body, stamp, url=f"{PUBLIC}/api/vapi/hmac-method-url/webhook"):
    signature = vapi_signature(METHOD_URL, SECRET.encode(), body, stamp, url=url)
    return {"x-signature": signature, "x-timestamp": stamp}


def svix_headers(body, stamp, message_id="msg_2Kx1"):
    signature = vapi_signature(SVIX, B64_KEY, body, stamp, message_id=message_id)
    return {"svix-id": message_id, "svix-timestamp": stamp, "svix-signature": signature}


@pytest.mark.parametrize("unit", sorted(STAMPS))
def test_method_and_url_in_the_payload_with_every_timestamp_form(forms_app, vapi_payload, unit):
    body = body_bytes(vapi_payload)
    stamp = STAMPS[unit](time.time())
    response = post(forms_app, "hmac-method-url", body, method_url_headers(body, stamp))
    assert response.status_code == 200, response.get_data(as_text=True)
    # The URL as this server received it also counts (no proxy in between).
    local = method_url_headers(body, stamp, "http://localhost/api/vapi/hmac-method-url/webhook")
    assert post(forms_app, "hmac-method-url", body, local).status_code == 200
    other = method_url_headers(body, stamp, f"{PUBLIC}/api/vapi/bearer-x/webhook")
    assert post(forms_app, "hmac-method-url", body, other).status_code == 401


@pytest.mark.parametrize("unit", sorted(STAMPS))
def test_svix_style_with_a_base64_secret(forms_app, vapi_payload, unit):
    body = body_bytes(vapi_payload)
    headers = svix_headers(body, STAMPS[unit](time.time()))
    assert post(forms_app, "hmac-svix", body, headers).status_code == 200
    # Several signatures (a key being rotated): one good one is enough, for a new message.
    fresh = svix_headers(body, headers["svix-timestamp"], message_id="msg_3Lz2")
    rotated = {**fresh, "svix-signature": "v1,AAAA " + fresh["svix-signature"]}
    assert post(forms_app, "hmac-svix", body, rotated).status_code == 200
    # The first message again, spelled with another signature next to it: still a replay.
    replayed = {**headers, "svix-signature": "v1,AAAA " + headers["svix-signature"]}
    assert post(forms_app, "hmac-svix", body, replayed).status_code == 401
    # Signed with the base64 text itself rather than the key it decodes to: refused.
    stamp = headers["svix-timestamp"]
    text_key = vapi_signature(SVIX, B64_SECRET.encode(), body, stamp, message_id="msg_2Kx1")
    wrong_key = {**headers, "svix-signature": text_key}
    assert post(forms_app, "hmac-svix", body, wrong_key).status_code == 401


def refused(app, tenant_id, body, headers, log_events, reason):
    response = post(app, tenant_id, body, headers)
    assert response.status_code == 401
    assert log_events("AUTH_REJECTED")[-1]["reason"] == reason


def test_tampered_requests_are_refused(forms_app, vapi_payload, log_events):
    body = body_bytes(vapi_payload)
    stamp = str(int(time.time()))
    good = svix_headers(body, stamp)
    tampered = body.replace(b"in-progress", b"in-progres ")
    refused(forms_app, "hmac-svix", tampered, good, log_events, "signature mismatch")
    other_id = {**good, "svix-id": "msg_other"}
    refused(forms_app, "hmac-svix", body, other_id, log_events, "signature mismatch")
    later = {**good, "svix-timestamp": str(int(stamp) + 1)}
    refused(forms_app, "hmac-svix", body, later, log_events, "signature mismatch")
    no_id = {k: v for k, v in good.items() if k != "svix-id"}
    refused(forms_app, "hmac-svix", body, no_id, log_events, "missing message id")
    url = f"{PUBLIC}/api/vapi/hmac-method-url/webhook"
    as_get = vapi_signature(METHOD_URL, SECRET.encode(), body, stamp, method="GET", url=url)
    headers = {"x-signature": as_get, "x-timestamp": stamp}
    refused(forms_app, "hmac-method-url", body, headers, log_events, "signature mismatch")


@pytest.mark.parametrize("unit", sorted(STAMPS))
def test_stale_and_replayed_requests_are_refused(forms_app, vapi_payload, log_events, unit):
    body = body_bytes(vapi_payload)
    # A request captured six minutes ago and sent again: its signed time gives it away.
    captured = STAMPS[unit](time.time() - 360)
    refused(
        forms_app, "hmac-svix", body, svix_headers(body, captured), log_events, "timestamp too old"
    )
    headers = method_url_headers(body, captured)
    refused(forms_app, "hmac-method-url", body, headers, log_events, "timestamp too old")
    future = STAMPS[unit](time.time() + 360)
    headers = svix_headers(body, future)
    refused(forms_app, "hmac-svix", body, headers, log_events, "timestamp in the future")
