"""Who is calling and which tenant it is for, read from a parsed body. Plain Python, no Flask."""

import functools
import re

import phonenumbers

# What carriers and Vapi put in place of a withheld caller ID.
WITHHELD_WORDS = frozenset(
    {"", "anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"}
)
# Twilio's keypad spellings: ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED, UNKNOWN.
TWILIO_SENTINELS = frozenset({"+266696687", "+7378742833", "+86282452253", "+2562533", "+8656696"})
_SIP_USER = re.compile(r"^sips?:([^@;]+)", re.IGNORECASE)


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


def extract_customer_phone_from_vapi_payload(body, region="FR"):
    """The caller's E.164 number in a parsed body (edge/messages.py), else None.

    `call.customer.number`, else `customer.number`; never for a web call.
    """
    if body.call_type == "webCall":
        return None
    for raw in body.caller_numbers:
        number = normalize_caller_number(raw, region)
        if number:
            return number
    return None


def called_number_and_ids(body):
    """What names the dialled number: (E.164 or None, set of Vapi phone-number ids)."""
    called = None
    if body.called_number:
        try:
            parsed = phonenumbers.parse(body.called_number, None)
            called = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            called = None
    return called, set(body.phone_number_ids)
