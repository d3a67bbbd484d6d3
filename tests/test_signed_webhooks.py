"""Vapi's HMAC credential: signatures over the raw body, timestamps, and tenants kept apart."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from sqlalchemy import select

from backend.auth import signatures
from backend.auth.signatures import HmacSettings, verify
from backend.store.db import db
from backend.store.models import Call
from backend.tenants.config import parse_tenant_text

SECRET = "s3cr3t-signing-key"
BODY = b'{"message": {"type": "status-update",  "status": "in-progress"}}'
NOW = 1_763_629_443.0

# Two signing tenants with opposite settings, one on a secret header only.
SIGNED = {
    "id": "signed",
    "name": "Cabinet Signé",
    "numbers": ["+33180005555"],
    "vapi": {"secret_env": "VAPI_SECRET_DEMO", "hmac": {}},
}
CUSTOM = {
    "id": "custom",
    "name": "Cabinet Réglé",
    "numbers": ["+33180006666"],
    "vapi": {
        "secret_env": "VAPI_SECRET_PLOMBERIE",
        "hmac": {
            "signature_header": "X-Vapi-Signature",
            "timestamp_header": "X-Vapi-Timestamp",
            "algorithm": "sha512",
            "payload": "{timestamp}:{body}",
            "encoding": "base64",
            "prefix": "sha512=",
            "max_age_seconds": 60,
        },
    },
}
PLAIN = {
    "id": "plain",
    "name": "Cabinet Simple",
    "numbers": ["+33180007777"],
    "vapi": {"secret_env": "VAPI_SECRET_PLAIN"},
}


def sign(
    secret,
    body,
    stamp,
    algorithm="sha256",
    template="{timestamp}.{body}",
    encoding="hex",
    prefix="",
):
    """What Vapi puts in the signature header, computed here independently of the backend."""
    message = template.encode().replace(b"{timestamp}", stamp.encode()).replace(b"{body}", body)
    digest = hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).digest()
    encoded = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return prefix + encoded


def default_headers(secret, body, stamp=None):
    stamp = stamp or str(int(time.time()))
    return {"x-signature": sign(secret, body, stamp), "x-timestamp": stamp}


def custom_headers(secret, body, stamp=None):
    stamp = stamp or str(int(time.time() * 1000))
    value = sign(secret, body, stamp, "sha512", "{timestamp}:{body}", "base64", "sha512=")
    return {"X-Vapi-Signature": value, "X-Vapi-Timestamp": stamp}


# --- verify(): plain Python ------------------------------------------------------------------


def test_a_signature_made_with_the_secret_over_the_raw_body_is_accepted():
    stamp = str(int(NOW))
    headers = {"X-Signature": sign(SECRET, BODY, stamp), "X-Timestamp": stamp}
    assert verify(headers, BODY, HmacSettings(), SECRET, NOW) == (True, "ok")


def test_the_signature_covers_the_exact_bytes_received():
    stamp = str(int(NOW))
    headers = {"x-signature": sign(SECRET, BODY, stamp), "x-timestamp": stamp}
    # Trailing whitespace is part of what was signed.
    padded = BODY + b"\n"
    padded_headers = {"x-signature": sign(SECRET, padded, stamp), "x-timestamp": stamp}
    assert verify(padded_headers, padded, HmacSettings(), SECRET, NOW) == (True, "ok")
    assert verify(headers, padded, HmacSettings(), SECRET, NOW)[0] is False
    # The same JSON re-encoded, or one byte changed: refused.
    reencoded = json.dumps(json.loads(BODY)).encode()
    assert reencoded != BODY
    assert verify(headers, reencoded, HmacSettings(), SECRET, NOW) == (False, "signature mismatch")
    tampered = BODY.replace(b"in-progress", b"in-progresS")
    assert verify(headers, tampered, HmacSettings(), SECRET, NOW)[0] is False


def test_a_signature_made_with_another_secret_is_refused():
    stamp = str(int(NOW))
    headers = {"x-signature": sign("another", BODY, stamp), "x-timestamp": stamp}
    assert verify(headers, BODY, HmacSettings(), SECRET, NOW) == (False, "signature mismatch")


@pytest.mark.parametrize(
    "age, accepted, reason",
    [
        (0, True, "ok"),
        (299, True, "ok"),
        (301, False, "timestamp too old"),
        (86_400, False, "timestamp too old"),
        (-299, True, "ok"),
        (-301, False, "timestamp in the future"),
        (-86_400 * 365, False, "timestamp in the future"),
    ],
)
@pytest.mark.parametrize("unit", ["seconds", "milliseconds"])
def test_timestamps_older_or_later_than_five_minutes_are_refused(age, accepted, reason, unit):
    moment = NOW - age
    stamp = str(int(moment)) if unit == "seconds" else str(int(moment * 1000))
    headers = {"x-signature": sign(SECRET, BODY, stamp), "x-timestamp": stamp}
    assert verify(headers, BODY, HmacSettings(), SECRET, NOW) == (accepted, reason)


@pytest.mark.parametrize(
    "stamp", ["", "soon", "1763629443e3", "-1763629443", "2025-11-20", "2025-13-20T09:04:03Z"]
)
def test_a_timestamp_that_is_not_epoch_seconds_milliseconds_or_iso_is_refused(stamp):
    headers = {"x-signature": sign(SECRET, BODY, stamp), "x-timestamp": stamp}
    accepted, reason = verify(headers, BODY, HmacSettings(), SECRET, NOW)
    assert not accepted and reason in ("malformed timestamp", "missing timestamp")


@pytest.mark.parametrize("algorithm", ["sha256", "sha512", "sha1"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_every_algorithm_encoding_and_prefix(algorithm, encoding):
    settings = HmacSettings(
        algorithm=algorithm, encoding=encoding, prefix=f"{algorithm}=", payload="{body}|{timestamp}"
    )
    stamp = str(int(NOW))
    value = sign(SECRET, BODY, stamp, algorithm, "{body}|{timestamp}", encoding, f"{algorithm}=")
    headers = {"x-signature": value, "x-timestamp": stamp}
    assert verify(headers, BODY, settings, SECRET, NOW) == (True, "ok")
    # Without its prefix, or signed with the default template: refused.
    bare = {"x-signature": value.removeprefix(f"{algorithm}="), "x-timestamp": stamp}
    assert verify(bare, BODY, settings, SECRET, NOW)[0] is False
    other = sign(SECRET, BODY, stamp, algorithm, encoding=encoding, prefix=f"{algorithm}=")
    assert verify({**headers, "x-signature": other}, BODY, settings, SECRET, NOW)[0] is False


def test_missing_headers_and_garbage_signatures_are_refused():
    stamp = str(int(NOW))
    good = sign(SECRET, BODY, stamp)
    cases = [
        ({"x-timestamp": stamp}, "missing signature"),
        ({"x-signature": good}, "missing timestamp"),
        ({"x-signature": "zz" + good[2:], "x-timestamp": stamp}, "malformed signature"),
        ({"x-signature": good[:-2], "x-timestamp": stamp}, "signature mismatch"),
    ]
    for headers, reason in cases:
        assert verify(headers, BODY, HmacSettings(), SECRET, NOW) == (False, reason)
    headers = {"x-signature": good, "x-timestamp": stamp}
    assert verify(headers, BODY, HmacSettings(), None, NOW) == (False, "secret not configured")


def test_the_comparison_is_constant_time(monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signatures.hmac, "compare_digest", spy)
    stamp = str(int(NOW))
    headers = {"x-signature": sign(SECRET, BODY, stamp), "x-timestamp": stamp}
    assert verify(headers, BODY, HmacSettings(), SECRET, NOW)[0]
    assert len(compared) == 1 and compared[0][0] == compared[0][1]


@pytest.mark.parametrize(
    "hmac_yaml, key, problem",
    [
        ("{algorithm: md5}", "vapi.hmac.algorithm", "must be one of sha256, sha512, sha1"),
        ("{encoding: base32}", "vapi.hmac.encoding", "must be one of hex, base64"),
        ("{payload: '{body}'}", "vapi.hmac.payload", "must contain {timestamp}"),
        ("{payload: '{timestamp}.{path}'}", "vapi.hmac.payload", "may only use the placeholders"),
        ("{include_timestamp: false}", "vapi.hmac.include_timestamp", "cannot be verified safely"),
        ("{payload: '{svix-id}.{timestamp}.{body}'}", "vapi.hmac.payload", "message_id_header"),
        ("{secret_is_base64: yes please}", "vapi.hmac.secret_is_base64", "true or false"),
        ("{max_age_seconds: 0}", "vapi.hmac.max_age_seconds", "must be between 1 and 3600"),
        ("{signature_header: 'x signature'}", "vapi.hmac.signature_header", "HTTP header name"),
        ("{algoritm: sha256}", "vapi.hmac.algoritm", "did you mean algorithm?"),
    ],
)
def test_a_wrong_hmac_setting_is_named_with_its_line(hmac_yaml, key, problem):
    text = f"id: x\nname: X\nvapi:\n  secret_env: VAPI_SECRET_X\n  hmac: {hmac_yaml}\n"
    tenant, problems = parse_tenant_text(text, "x.yaml")
    errors = [str(p) for p in problems if p.severity == "error"]
    assert tenant is None
    assert any(e.startswith(f"x.yaml:5: {key}: ") and problem in e for e in errors), errors


def test_hmac_is_off_unless_configured_and_vapis_defaults_otherwise():
    base = "id: x\nname: X\nvapi:\n  secret_env: VAPI_SECRET_X\n"
    assert parse_tenant_text(base, "x.yaml")[0].hmac is None
    assert parse_tenant_text(base + "  hmac: {}\n", "x.yaml")[0].hmac == HmacSettings()


# --- through HTTP: per-tenant and shared URLs ------------------------------------------------


@pytest.fixture
def signing_app(tenants_app, monkeypatch):
    monkeypatch.setenv("VAPI_SECRET_PLAIN", "test-secret-plain")
    return tenants_app(SIGNED, CUSTOM, PLAIN)


def routed(payload, called):
    payload["message"]["phoneNumber"] = {"number": called}
    payload["message"]["call"].pop("phoneNumberId", None)
    return json.dumps(payload).encode()


def stored_number(app, tenant_id, call_id):
    with app.app_context():
        row = db.session.execute(
            select(Call).where(Call.tenant_id == tenant_id, Call.call_id == call_id)
        ).scalar_one_or_none()
        return row.caller_number if row else None


def test_a_signed_webhook_is_served_on_the_tenant_url(signing_app, secrets, vapi_payload):
    client = signing_app.test_client()
    payload = vapi_payload("status-update.in-progress")
    # Unusual spacing: the signature is over these bytes, not over a re-encoding.
    body = json.dumps(payload, indent=3).encode()
    answer = client.post(
        "/api/vapi/signed/webhook",
        data=body,
        content_type="application/json",
        headers=default_headers(secrets["VAPI_SECRET_DEMO"], body),
    )
    assert answer.status_code == 200 and answer.get_json() == {}
    assert stored_number(signing_app, "signed", payload["message"]["call"]["id"]) == "+33536495614"

    custom = client.post(
        "/api/vapi/custom/webhook",
        data=body,
        content_type="application/json",
        headers=custom_headers(secrets["VAPI_SECRET_PLOMBERIE"], body),
    )
    assert custom.status_code == 200


def test_refused_signatures_get_a_401_json_and_a_log_line(
    signing_app, secrets, vapi_payload, no_full_number_in_logs
):
    client = signing_app.test_client()
    body = json.dumps(vapi_payload("status-update.in-progress")).encode()
    secret = secrets["VAPI_SECRET_DEMO"]
    old = str(int(time.time()) - 301)
    cases = {
        "missing signature": {},
        "timestamp too old": default_headers(secret, body, old),
        "signature mismatch": default_headers(secret, body + b" "),
    }
    for reason, headers in cases.items():
        answer = client.post(
            "/api/vapi/signed/webhook", data=body, content_type="application/json", headers=headers
        )
        assert answer.status_code == 401, reason
        assert answer.get_json() == {"error": "missing or invalid credentials"}
        assert any(
            '"AUTH_REJECTED"' in line and f'"reason": "{reason}"' in line
            for line in no_full_number_in_logs
        ), reason
    with signing_app.app_context():
        assert db.session.execute(select(Call)).first() is None


def test_a_signing_tenant_still_accepts_its_secret_header(signing_app, secrets, vapi_payload):
    answer = signing_app.test_client().post(
        "/api/vapi/signed/webhook",
        json=vapi_payload("status-update.in-progress"),
        headers={"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]},
    )
    assert answer.status_code == 200


def test_one_tenants_secret_never_opens_another_tenants_url(signing_app, secrets, vapi_payload):
    client = signing_app.test_client()
    body = json.dumps(vapi_payload("status-update.in-progress")).encode()
    demo, plomberie = secrets["VAPI_SECRET_DEMO"], secrets["VAPI_SECRET_PLOMBERIE"]
    wrong = [
        ("/api/vapi/signed/webhook", default_headers(plomberie, body)),
        ("/api/vapi/signed/webhook", {"X-Vapi-Secret": plomberie}),
        ("/api/vapi/signed/webhook", {"Authorization": "Bearer test-secret-plain"}),
        ("/api/vapi/custom/webhook", custom_headers(demo, body)),
        ("/api/vapi/custom/webhook", {"Authorization": f"Bearer {demo}"}),
        ("/api/vapi/plain/webhook", default_headers("test-secret-plain", body)),
        ("/api/vapi/plain/webhook", {"X-Vapi-Secret": demo}),
    ]
    for url, headers in wrong:
        answer = client.post(url, data=body, content_type="application/json", headers=headers)
        assert answer.status_code == 401, (url, headers)
    right = [
        ("/api/vapi/signed/webhook", default_headers(demo, body)),
        ("/api/vapi/custom/webhook", custom_headers(plomberie, body)),
        ("/api/vapi/plain/webhook", {"Authorization": "Bearer test-secret-plain"}),
    ]
    for url, headers in right:
        answer = client.post(url, data=body, content_type="application/json", headers=headers)
        assert answer.status_code == 200, url


def test_on_the_shared_url_the_body_names_the_tenant_whose_credentials_count(
    signing_app, secrets, vapi_payload
):
    client = signing_app.test_client()
    demo, plomberie = secrets["VAPI_SECRET_DEMO"], secrets["VAPI_SECRET_PLOMBERIE"]
    to_signed = routed(vapi_payload("status-update.in-progress"), "+33180005555")
    to_custom = routed(vapi_payload("status-update.in-progress"), "+33180006666")
    to_plain = routed(vapi_payload("status-update.in-progress"), "+33180007777")
    wrong = [
        (to_signed, default_headers(plomberie, to_signed)),
        (to_signed, {"X-Vapi-Secret": plomberie}),
        (to_custom, custom_headers(demo, to_custom)),
        (to_custom, default_headers(plomberie, to_custom)),  # right secret, wrong scheme
        (to_plain, {"X-Vapi-Secret": demo}),
        (to_plain, default_headers("test-secret-plain", to_plain)),
    ]
    for body, headers in wrong:
        answer = client.post(
            "/api/vapi/webhook", data=body, content_type="application/json", headers=headers
        )
        assert answer.status_code == 401 and answer.get_json()["error"]
    right = [
        (to_signed, default_headers(demo, to_signed)),
        (to_custom, custom_headers(plomberie, to_custom)),
        (to_plain, {"X-Vapi-Secret": "test-secret-plain"}),
    ]
    for body, headers in right:
        answer = client.post(
            "/api/vapi/webhook", data=body, content_type="application/json", headers=headers
        )
        assert answer.status_code == 200
    # Signed for one tenant, then re-routed to another by editing the called number: refused.
    body = routed(vapi_payload("status-update.in-progress"), "+33180005555")
    headers = default_headers(demo, body)
    moved = body.replace(b"+33180005555", b"+33180007777")
    answer = client.post(
        "/api/vapi/webhook", data=moved, content_type="application/json", headers=headers
    )
    assert answer.status_code == 401


def test_the_chat_completions_url_accepts_a_signed_request(signing_app, secrets, vapi_payload):
    payload = vapi_payload("chat-completions.request")
    payload["stream"] = False
    body = json.dumps(payload).encode()
    client = signing_app.test_client()
    answer = client.post(
        "/api/vapi/signed/chat/completions",
        data=body,
        content_type="application/json",
        headers=default_headers(secrets["VAPI_SECRET_DEMO"], body),
    )
    assert answer.status_code == 200
    refused = client.post(
        "/api/vapi/signed/chat/completions",
        data=body,
        content_type="application/json",
        headers=default_headers(secrets["VAPI_SECRET_PLOMBERIE"], body),
    )
    assert refused.status_code == 401
