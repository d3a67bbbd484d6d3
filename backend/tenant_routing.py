"""Who is calling and which tenant it is for, read from a parsed body. Plain Python, no Flask."""

from backend.phones import format_e164, normalize_caller_number


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
    called = format_e164(body.called_number) if body.called_number else None
    return called, set(body.phone_number_ids)
