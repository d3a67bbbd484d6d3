"""Where a Vapi body says who is calling and which tenant it is for. Plain Python, no Flask."""

from backend.edge.body import field
from backend.edge.errors import BadPayload
from backend.phones import format_e164, normalize_caller_number


def vapi_message(payload):
    """What holds `call` and `customer`: `message` in server messages, the body in LLM calls."""
    if not isinstance(payload, dict):
        raise BadPayload("body must be a JSON object")
    message = payload.get("message")
    return message if isinstance(message, dict) else payload


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
    called = format_e164(raw_called) if raw_called else None
    ids = {
        value
        for value in (
            field(message, "call.phoneNumberId", str),
            field(message, "phoneNumber.id", str),
        )
        if value
    }
    return called, ids
