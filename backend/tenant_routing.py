"""Where a Vapi body says who is calling and which tenant it is for. Plain Python, no Flask."""

import functools
import re

import phonenumbers

from backend.edge.body import field
from backend.edge.errors import BadPayload

# What carriers and Vapi put in place of a withheld caller ID.
WITHHELD_WORDS = frozenset(
    {"", "anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"}
)
# Twilio's keypad spellings: ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED, UNKNOWN.
TWILIO_SENTINELS = frozenset({"+266696687", "+7378742833", "+86282452253", "+2562533", "+8656696"})
_SIP_USER = re.compile(r"^sips?:([^@;]+)", re.IGNORECASE)


def vapi_message(payload):
    """What holds `call` and `customer`: `message` in server messages, the body in LLM calls."""
    if not isinstance(payload, dict):
        raise BadPayload("body must be a JSON object")
    message = payload.get("message")
    return message if isinstance(message, dict) else payload


def normalize_caller_number(raw, region="FR"):
    """E.164 for a real caller number, None for anything withheld, malformed or not valid."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.lower() in WITHHELD_WORDS or text in TWILIO_SENTINELS or len(text) > 64:
        return None
    return _e164(text, region)


# A call's messages carry the same raw number again and again: parse each one once per worker.
# Bounded, in memory only (never logged).
@functools.lru_cache(maxsize=4096)
def _e164(text, region):
    sip = _SIP_USER.match(text)
    if sip:
        text = sip.group(1)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None if e164 in TWILIO_SENTINELS else e164


def extract_customer_phone_from_vapi_payload(payload, region="FR"):
    """The caller's E.164 number: `call.customer.number`, else `customer.number`, else None."""
    message = vapi_message(payload)
    if field(message, "call.type", str) == "webCall":
        return None
    # Both read first: a mistyped field is refused whichever one carries the number.
    candidates = [field(message, path, str) for path in ("call.customer.number", "customer.number")]
    for raw in candidates:
        number = normalize_caller_number(raw, region)
        if number:
            return number
    return None


def call_id_of(payload):
    """Vapi's call id, or None when the message is not about a call."""
    call_id = field(vapi_message(payload), "call.id", str)
    if call_id is not None and not 0 < len(call_id) <= 128:
        raise BadPayload("call.id must be 1 to 128 characters")
    return call_id


def called_number_and_ids(payload):
    """What names the dialled number: (E.164 or None, set of Vapi phone-number ids)."""
    message = vapi_message(payload)
    raw_called = field(message, "phoneNumber.number", str)
    called = None
    if raw_called:
        try:
            parsed = phonenumbers.parse(raw_called, None)
            called = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            called = None
    ids = {
        value
        for value in (
            field(message, "call.phoneNumberId", str),
            field(message, "phoneNumber.id", str),
        )
        if value
    }
    return called, ids
