"""Vapi's HMAC credential: check a request's signature and timestamp. Plain Python, no Flask."""

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

ALGORITHMS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512, "sha1": hashlib.sha1}
ENCODINGS = ("hex", "base64")
PLACEHOLDERS = ("{timestamp}", "{body}")
_PLACEHOLDER = re.compile(r"(\{timestamp\}|\{body\})")
# Epoch seconds with an optional fraction; 13 digits also covers milliseconds.
_TIMESTAMP = re.compile(r"^\d{1,13}(?:\.\d{1,9})?$")
# Past this, a timestamp is in milliseconds (1e11 seconds is in the year 5138).
_MILLISECONDS_FROM = 1e11


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


def payload_problem(template):
    """Why a signed-payload template cannot be used, or None."""
    rest = _PLACEHOLDER.sub("", template)
    if "{" in rest or "}" in rest:
        return "may only use the placeholders {timestamp} and {body}"
    missing = [p for p in PLACEHOLDERS if p not in template]
    if missing:
        # Without the timestamp a captured request could be replayed forever.
        return f"must contain {' and '.join(missing)}"
    return None


def signed_bytes(template, timestamp, raw_body):
    """The bytes the sender signed: the template with the timestamp and the raw body put in."""
    parts = []
    for piece in _PLACEHOLDER.split(template):
        if piece == "{body}":
            parts.append(raw_body)
        elif piece == "{timestamp}":
            parts.append(timestamp.encode("ascii"))
        else:
            parts.append(piece.encode("utf-8"))
    return b"".join(parts)


def _digest(settings, secret, timestamp, raw_body):
    return hmac.new(
        secret.encode("utf-8"),
        signed_bytes(settings.payload, timestamp, raw_body),
        ALGORITHMS[settings.algorithm],
    ).digest()


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
    """A timestamp header in epoch seconds (it may be given in milliseconds), or None."""
    if not _TIMESTAMP.match(value):
        return None
    seconds = float(value)
    return seconds / 1000 if seconds >= _MILLISECONDS_FROM else seconds


def verify(headers, raw_body, settings, secret, now):
    """(True, "ok") when the request is signed with `secret` within the allowed age, else
    (False, reason). `headers` is any mapping, `raw_body` the bytes as received, `now` epoch s."""
    if not secret:
        return False, "secret not configured"
    signature = _header(headers, settings.signature_header)
    if not signature:
        return False, "missing signature"
    stamp = _header(headers, settings.timestamp_header)
    if not stamp:
        return False, "missing timestamp"
    seconds = timestamp_seconds(stamp)
    if seconds is None:
        return False, "malformed timestamp"
    if now - seconds > settings.max_age_seconds:
        return False, "timestamp too old"
    if seconds - now > settings.max_age_seconds:
        return False, "timestamp in the future"
    if signature[: len(settings.prefix)].lower() != settings.prefix.lower():
        return False, "signature without its prefix"
    presented = _decode(signature[len(settings.prefix) :].strip(), settings.encoding)
    if presented is None:
        return False, "malformed signature"
    expected = _digest(settings, secret, stamp, raw_body)
    # compare_digest: the time taken does not tell how many leading bytes matched.
    if not hmac.compare_digest(expected, presented):
        return False, "signature mismatch"
    return True, "ok"
