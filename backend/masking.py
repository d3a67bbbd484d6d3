"""RGPD masking: what may be spoken or logged of a phone number. Plain Python."""

import phonenumbers


def last_digits(e164, count):
    """The last `count` digits of a number ("" for 0)."""
    digits = "".join(ch for ch in e164 or "" if ch.isdigit())
    return digits[-count:] if count > 0 else ""


def spoken_digits(e164, count):
    """The last `count` digits grouped as French pairs from the right: 4 -> "56 14", 3 -> "6 14"."""
    tail = last_digits(e164, count)
    pairs = []
    while tail:
        pairs.insert(0, tail[-2:])
        tail = tail[:-2]
    return " ".join(pairs)


def mask_phone(e164, shown):
    """`+33612345614` -> `+33XXXXXXX14`: country code kept, only the last `shown` digits left."""
    if not e164:
        return None
    try:
        parsed = phonenumbers.parse(e164, None)
        country, national = (
            str(parsed.country_code),
            phonenumbers.national_significant_number(parsed),
        )
    except phonenumbers.NumberParseException:
        country, national = "", "".join(ch for ch in e164 if ch.isdigit())
    hidden = max(len(national) - shown, 0)
    return f"+{country}" + "X" * hidden + national[hidden:]
