"""Which tenant a request is for, and who is calling, read from a parsed body. Plain Python."""

from backend.phones import format_e164, normalize_caller_number


class UnknownTenant(LookupError):
    """No served tenant for a request (a JSON 404, backend/edge/errors.py).

    `route`: "tenant" (the id in a per-tenant URL) or "shared" (the shared URL's called number
    and phone-number ids); `ids`: what the request named, as the client sent it.
    """

    def __init__(self, message, route, ids):
        super().__init__(message)
        self.route, self.ids = route, ids


def tenant_named(directory, tenant_id):
    """The tenant of a per-tenant URL's id, else UnknownTenant."""
    tenant = directory.get(tenant_id)
    if tenant is None:
        raise UnknownTenant("unknown tenant", "tenant", (tenant_id,))
    return tenant


def tenant_called(directory, body):
    """The tenant owning the number a parsed body called or one of its phone-number ids, else
    UnknownTenant."""
    called, phone_number_ids = called_number_and_ids(body)
    tenant = directory.for_called(called, phone_number_ids)
    if tenant is None:
        raise UnknownTenant("no tenant for this phone number", "shared", phone_number_ids)
    return tenant


# Vapi's call types (Call.type) whose customer number no phone network gave: a browser's or an
# app's call, or audio streamed over Vapi's websocket transport. Their `customer` is what the
# integrating client wrote, so the caller is asked for a number, never told one.
CALLS_WITHOUT_NETWORK_NUMBER = frozenset({"webCall", "vapi.websocketCall"})


def extract_customer_phone_from_vapi_payload(body, region="FR"):
    """The caller's E.164 number in a parsed body (edge/messages.py), else None.

    `call.customer.number`, else `customer.number`, else the user part of their `sipUri`
    (sip:+33...@host); never for a web or websocket call.
    """
    if body.call_type in CALLS_WITHOUT_NETWORK_NUMBER:
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
