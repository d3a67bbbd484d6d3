"""RGPD masking: what may be spoken or logged of a phone number. Plain Python.

However many digits a tenant reads aloud or logs (`masking.spoken_digits`, `logged_digits`, up
to 4), at most half of a number's national digits are shown: a short numbering plan (Tokelau's
4 digits, Niue's fixed lines) is never shown whole. French numbers (9 digits) show all 4.
"""

import re

from backend.phones import country_and_national, split_country_code

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def shown_count(e164, count):
    """How many of a number's last digits may be shown when `count` are asked for: at most
    half of its national digits."""
    if not e164 or count <= 0:
        return 0
    _country, national = _split_e164(e164) or _split_parsed(e164)
    return min(count, len(national) // 2)


def last_digits(e164, count):
    """The last `count` digits of a number ("" for 0), at most half of its national digits."""
    count = shown_count(e164, count)
    digits = "".join(ch for ch in e164 or "" if ch.isdigit())
    return digits[-count:] if count > 0 else ""


def spoken_digits(e164, count):
    """The last `count` digits grouped as French pairs from the right: 4 -> "56 14", 3 -> "6 14".

    At most half of the number's national digits (shown_count).
    """
    tail = last_digits(e164, count)
    pairs = []
    while tail:
        pairs.insert(0, tail[-2:])
        tail = tail[:-2]
    return " ".join(pairs)


def mask_phone(e164, shown):
    """`+33612345614` -> `+33XXXXXXX14`: country code kept, only the last `shown` digits left
    (at most half of the national digits)."""
    if not e164:
        return None
    country, national = _split_e164(e164) or _split_parsed(e164)
    hidden = len(national) - min(max(shown, 0), len(national) // 2)
    return f"+{country}" + "X" * hidden + national[hidden:]


def _split_e164(e164):
    """(country code, national number) of a number as phonenumbers formats E.164, else None.

    What parsing gives, for 1 µs instead of 14: it runs for each number logged. Country codes
    are 1 to 3 digits and none is the start of another. A national part starting with 0 is
    parsed (a trunk prefix typed after the code); another prefix left in (+1 1...) only masks
    one digit more.
    """
    split = split_country_code(e164[1:]) if _E164.fullmatch(e164) else None
    if split is None:
        return None
    country, _, national = split
    return None if national.startswith("0") else (country, national)


def _split_parsed(text):
    return country_and_national(text) or ("", "".join(ch for ch in text if ch.isdigit()))
