"""Vapi's HMAC credential: check a request's signature and timestamp. Plain Python, no Flask.

Every option of Vapi's `HmacAuthenticationPlan` (vapi-server-sdk 3.0): algorithm, signature and
timestamp headers, signature prefix and encoding, `payloadFormat` with {body}, {timestamp},
{method}, {url} and {svix-id} (the `messageIdHeader`'s value, Svix-style), `secretIsBase64`,
and `includeTimestamp`. Only `includeTimestamp: false` is refused (schema check): with no signed
time, a captured request could be replayed forever.
"""

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHMS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512, "sha1": hashlib.sha1}
ENCODINGS = ("hex", "base64")
PLACEHOLDERS = ("{timestamp}", "{body}", "{method}", "{url}", "{svix-id}")
REQUIRED_PLACEHOLDERS = ("{timestamp}", "{body}")
_PLACEHOLDER = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")")
# Epoch seconds with an optional fraction; 13 digits also covers milliseconds.
_EPOCH = re.compile(r"^\d{1,13}(?:\.\d{1,9})?$")
# ISO-8601 as JavaScript's toISOString() writes it, or with an offset: 2026-11-20T09:14:03.123Z.
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
# Past this, a timestamp is in milliseconds (1e11 seconds is in the year 5138).
_MILLISECONDS_FROM = 1e11
# Svix-style headers hold several space-separated signatures (a key rotation): a few at most.
_MAX_SIGNATURES = 8


@dataclass(frozen=True)
class HmacSettings:
    """How a tenant's Vapi HMAC credential signs requests (Vapi's defaults)."""

    signature_header: str = "x-signature"
    timestamp_header: str = "x-timestamp"
    algorithm: str = "sha256"
    payload: str = "{timestamp}.{body}"
    encoding: str = "hex"
    prefix: str = ""
    max_age_seconds: int = 300
    secret_is_base64: bool = False
    message_id_header: str | None = None
    include_timestamp: bool = True


def payload_problem(template):
    """Why a signed-payload template cannot be used, or None."""
    rest = _PLACEHOLDER.sub("", template)
    if "{" in rest or "}" in rest:
        return "may only use the placeholders " + ", ".join(PLACEHOLDERS)
    missing = [p for p in REQUIRED_PLACEHOLDERS if p not in template]
    if missing:
        # Without the timestamp a captured request could be replayed forever; without the body
        # it could carry anything.
        return f"must contain {' and '.join(missing)}"
    return None


def settings_problems(values):
    """(key, problem) for settings that only make sense together; `values` by dotted key."""
    problems = []
    if values.get("vapi.hmac.include_timestamp") is False:
        problems.append(
            (
                "vapi.hmac.include_timestamp",
                "false cannot be verified safely: with no signed time a captured request could "
                "be replayed forever; keep Vapi's default, true",
            )
        )
    if "{svix-id}" in (values.get("vapi.hmac.payload") or "") and not values.get(
        "vapi.hmac.message_id_header"
    ):
        problems.append(("vapi.hmac.payload", "{svix-id} needs vapi.hmac.message_id_header"))
    return problems


def signed_bytes(template, values):
    """The bytes the sender signed: the template with each placeholder's bytes put in."""
    return b"".join(
        values[piece] if piece in values else piece.encode("utf-8")
        for piece in _PLACEHOLDER.split(template)
    )


def _header(headers, name):
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _decode(value, encoding):
    try:
        if encoding == "hex":
            return binascii.unhexlify(value)
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def timestamp_seconds(value):
    """A timestamp header in epoch seconds, or None.

    Epoch seconds or milliseconds (told apart by size), or ISO-8601 (no zone means UTC).
    """
    if _EPOCH.match(value):
        seconds = float(value)
        return seconds / 1000 if seconds >= _MILLISECONDS_FROM else seconds
    if not _ISO.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def signing_key(settings, secret):
    """The HMAC key: the secret's bytes, or what its base64 text decodes to; None if it cannot."""
    if not settings.secret_is_base64:
        return secret.encode("utf-8")
    return _decode(secret.strip(), "base64")


def _fresh(settings, stamp, now):
    if not stamp:
        return "missing timestamp"
    seconds = timestamp_seconds(stamp)
    if seconds is None:
        return "malformed timestamp"
    if now - seconds > settings.max_age_seconds:
        return "timestamp too old"
    if seconds - now > settings.max_age_seconds:
        return "timestamp in the future"
    return None


def _presented(signature, settings):
    """The decoded signatures of the header (one, or Svix's space-separated list), or a reason."""
    decoded = []
    for piece in signature.split()[:_MAX_SIGNATURES]:
        if piece[: len(settings.prefix)].lower() != settings.prefix.lower():
            continue
        value = _decode(piece[len(settings.prefix) :], settings.encoding)
        if value is not None:
            decoded.append(value)
    if decoded:
        return decoded, None
    prefixed = any(p.lower().startswith(settings.prefix.lower()) for p in signature.split())
    return None, "malformed signature" if prefixed else "signature without its prefix"


def verify(headers, raw_body, settings, secret, now, method="POST", urls=()):
    """(True, "ok") when the request is signed with `secret` within the allowed age, else
    (False, reason). `headers` is any mapping, `raw_body` the bytes as received, `now` epoch s,
    `urls` what {url} may stand for (the URL Vapi was given, as this server knows it)."""
    mac, reason = signed_mac(headers, raw_body, settings, secret, now, method, urls)
    return mac is not None, reason


def signed_mac(headers, raw_body, settings, secret, now, method="POST", urls=()):
    """verify(), with the MAC that matched in place of True: (bytes, "ok") or (None, reason).

    The MAC names the signed bytes whatever the header's spelling (prefix case, other Svix
    signatures next to it): what a replay check keys on.
    """
    if not secret:
        return None, "secret not configured"
    key = signing_key(settings, secret)
    if key is None:
        return None, "secret is not base64 (vapi.hmac.secret_is_base64)"
    signature = _header(headers, settings.signature_header)
    if not signature:
        return None, "missing signature"
    stamp = _header(headers, settings.timestamp_header)
    stale = _fresh(settings, stamp, now)
    if stale:
        return None, stale
    values = {"{timestamp}": stamp.encode("utf-8"), "{body}": raw_body}
    values["{method}"] = method.encode("ascii")
    if "{svix-id}" in settings.payload:
        message_id = _header(headers, settings.message_id_header or "")
        if not message_id:
            return None, "missing message id"
        values["{svix-id}"] = message_id.encode("utf-8")
    presented, reason = _presented(signature, settings)
    if presented is None:
        return None, reason
    matched = None
    digest = ALGORITHMS[settings.algorithm]
    for url in (urls or ("",)) if "{url}" in settings.payload else ("",):
        expected = hmac.new(
            key, signed_bytes(settings.payload, {**values, "{url}": url.encode()}), digest
        ).digest()
        for candidate in presented:
            # compare_digest: the time taken does not tell how many leading bytes matched.
            if hmac.compare_digest(expected, candidate):
                matched = expected
    return (matched, "ok") if matched is not None else (None, "signature mismatch")
