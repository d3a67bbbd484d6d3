"""Phone numbers: parse, validate, write in E.164, tell a withheld caller ID. Plain Python.

The one place that calls `phonenumbers` for capture, tenant files, masking, erasure and the
preview; the engine's fast validity check reads its metadata (backend/engine/nlu/dialing.py).
"""

import functools
import re

import phonenumbers

# What carriers and Vapi put in place of a withheld caller ID.
WITHHELD_WORDS = frozenset(
    {"", "anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"}
)
# Twilio's keypad spellings: ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED, UNKNOWN.
TWILIO_SENTINELS = frozenset({"+266696687", "+7378742833", "+86282452253", "+2562533", "+8656696"})
# A national 0XXXXXXXXX may belong to an overseas department/collectivity sharing the
# French 10-digit plan (Saint-Pierre-et-Miquelon is left out: its 6-digit national
# numbers would make truncated French numbers look valid).
OVERSEAS = {"FR": ("RE", "YT", "GP", "BL", "MF", "MQ", "GF")}

_SIP_USER = re.compile(r"^sips?:([^@;]+)", re.IGNORECASE)
_E164 = phonenumbers.PhoneNumberFormat.E164


def is_region(code):
    """True for a region `phonenumbers` knows, such as FR, BE or CH."""
    return code in phonenumbers.SUPPORTED_REGIONS


def parse(text, region=None):
    """The parsed number, or None when `text` is not one (`region`: how a national one is read)."""
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def format_e164(text, region=None):
    """`text` written in E.164, valid or not; None when it does not parse."""
    number = parse(text, region)
    return None if number is None else phonenumbers.format_number(number, _E164)


def valid_e164(text, region=None):
    """`text` written in E.164 when it is a valid number, else None."""
    number = parse(text, region)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, _E164)


def is_withheld(text):
    """True for what stands in for a withheld caller ID: a word, or a Twilio sentinel."""
    return text.lower() in WITHHELD_WORDS or text in TWILIO_SENTINELS


def normalize_caller_number(raw, region="FR"):
    """E.164 for a real caller number, None for anything withheld, malformed or not valid."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if is_withheld(text) or len(text) > 64:
        return None
    return _caller_e164(text, region)


# A call's messages carry the same raw number again and again: parse each one once per worker.
# Bounded, in memory only (never logged).
@functools.lru_cache(maxsize=4096)
def _caller_e164(text, region):
    sip = _SIP_USER.match(text)
    e164 = valid_e164(sip.group(1) if sip else text, region)
    return None if e164 in TWILIO_SENTINELS else e164


def split_country_code(digits):
    """(country code, its regions, the rest) of the digits after "+", or None without a code."""
    for size in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size] or 0))
        if regions:
            return digits[:size], regions, digits[size:]
    return None


def country_and_national(text):
    """(country code, national significant number) of a number, or None when it does not parse."""
    number = parse(text)
    if number is None:
        return None
    return str(number.country_code), phonenumbers.national_significant_number(number)


def national_forms(e164):
    """(national significant number, digits as dialled at home) of an E.164 number.

    For France: ("612345614", "0612345614").
    """
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.national_significant_number(number), re.sub(r"\D", "", national)


def example_mobile(region):
    """A valid mobile number of the region in E.164 (never a real caller's), or None."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    return None if number is None else phonenumbers.format_number(number, _E164)
