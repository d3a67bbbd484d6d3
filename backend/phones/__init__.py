"""Phone numbers: parse, validate, write in E.164, tell a withheld caller ID. Plain Python.

The one place that calls `phonenumbers` for capture, tenant files, masking, erasure and the
preview. Validity is read from each region's metadata compiled once (compiled.py), as
`phonenumbers.is_valid_number` reads it, in a third of its time: the capture checks every new
caller's number, the engine's phone parser many readings of an utterance
(dialing.py). tests/test_phones.py checks the two agree.
"""

import functools
import re

import phonenumbers
from phonenumbers import phonenumberutil as _util

from backend.phones.compiled import compiled_region
from backend.phones.dialing import e164_if_valid
from backend.phones.regions import OVERSEAS, split_country_code  # noqa: F401  (for callers)

# What carriers and Vapi put in place of a withheld caller ID.
WITHHELD_WORDS = frozenset(
    {"", "anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"}
)
# Twilio's keypad spellings: ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED, UNKNOWN.
TWILIO_SENTINELS = frozenset({"+266696687", "+7378742833", "+86282452253", "+2562533", "+8656696"})

_SIP_USER = re.compile(r"^sips?:([^@;]+)", re.IGNORECASE)
# A SIP URI a call can be transferred to (RFC 3261's sip:user@host[:port][;params]), no spaces.
_SIP_URI = re.compile(
    r"^sips?:[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+@[A-Za-z0-9.\-]+(?::\d{1,5})?(?:;[^\s;]+)*$",
    re.IGNORECASE,
)
_E164 = phonenumbers.PhoneNumberFormat.E164
_FORMATTING = re.compile(r"[\s.\-]")  # what separates the digits of a number written out
_NATIONAL = re.compile(r"0[1-9][0-9]+")  # a trunk 0, then the number: no 00 (international)
_PLUS_DIGITS = re.compile(r"\+([1-9][0-9]{1,16})")
_NOT_STRIPPED = frozenset(
    {
        _util.ValidationResult.TOO_SHORT,
        _util.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        _util.ValidationResult.INVALID_LENGTH,
    }
)


def is_region(code):
    """True for a region `phonenumbers` knows, such as FR, BE or CH."""
    return code in phonenumbers.SUPPORTED_REGIONS


def parse(text, region=None):
    """The parsed number, or None when `text` is not one (`region`: how a national one is read)."""
    number = _parse_plus_digits(text)
    if number is not None:
        return number
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _parse_plus_digits(text):
    """`phonenumbers.parse(text)` for text already "+" and digits (what Vapi sends), faster.

    The steps `parse` takes for such text, in its own functions, without its clean-up of free
    text (punctuation, letters, extensions): 2 to 4 times faster, and every new call's number
    goes through it. None when `text` is not that shape or not a number: `parse` then decides.
    tests/test_phones.py checks the two agree on every country code.
    """
    match = _PLUS_DIGITS.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    digits = match.group(1)
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if len(national) < _util._MIN_LENGTH_FOR_NSN:
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumbers.region_code_for_country_code(country_code)
    )
    # As `parse`: a national prefix or carrier code is dropped when what is left may be a number.
    _carrier, stripped, _ = _util._maybe_strip_national_prefix_carrier_code(national, metadata)
    if _util._test_number_length(stripped, metadata) not in _NOT_STRIPPED:
        national = stripped
    if len(national) > _util._MAX_LENGTH_FOR_NSN:
        return None
    number = phonenumbers.PhoneNumber(country_code=country_code)
    _util._set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


def format_e164(text, region=None):
    """`text` written in E.164, valid or not; None when it does not parse."""
    number = parse(text, region)
    return None if number is None else phonenumbers.format_number(number, _E164)


def valid_e164(text, region=None):
    """`text` written in E.164 when it is a valid number, else None."""
    number = parse(text, region)
    if number is None or not is_valid(number):
        return None
    return phonenumbers.format_number(number, _E164)


def is_valid(number):
    """phonenumbers.is_valid_number(number), by the compiled metadata where one region has the
    number's country code (the others: phonenumbers tells the region from the number first)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(number.country_code, ())
    compiled = compiled_region(regions[0]) if len(regions) == 1 else None
    if compiled is None:
        return phonenumbers.is_valid_number(number)
    return compiled.valid(phonenumbers.national_significant_number(number))


def is_sip_uri(text):
    """True for a SIP URI with a user and a host, such as sip:accueil@pbx.example.fr."""
    return bool(_SIP_URI.match(text))


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
    number = sip.group(1) if sip else text
    # Written nationally, it is read as the speech parser reads the same digits (dialing.py):
    # a region sharing the plan comes first for its ranges (0692 is Réunion's +262, 0596
    # Martinique's +596, where phonenumbers alone gives +33 or nothing). Any other way of
    # writing it (+, 00, (0), tel:) is phonenumbers' to read.
    digits = _FORMATTING.sub("", number)
    national = e164_if_valid(digits, region) if _NATIONAL.fullmatch(digits) else None
    e164 = national or valid_e164(number, region)
    return None if e164 in TWILIO_SENTINELS else e164


# Where a number written nationally in a log line or an id is looked for (tests/leaks.py too).
_NATIONAL_REGIONS = ("FR", "BE", "CH", *OVERSEAS["FR"])


def is_whole_number(digits, plus=False, bare=True, loose=False):
    """True when a run of digits is a whole valid phone number as written.

    Written whole: after a `+` (`plus`) or `00`, national with its trunk 0 in France (overseas
    included), Belgium or Switzerland, or (`bare`) E.164 without its `+`, 10 digits or more.
    `loose` also takes a national number without its 0 (612345678).
    """
    if plus:
        return valid_e164("+" + digits) is not None
    if digits.startswith("00"):
        return valid_e164("+" + digits[2:]) is not None
    if bare and len(digits) >= 10 and valid_e164("+" + digits) is not None:
        return True
    if digits.startswith("0") or loose:
        return any(valid_e164(digits, region) is not None for region in _NATIONAL_REGIONS)
    return False


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
