"""Vapi Server URL: one per tenant, or one shared and routed by the called number."""

from flask import Blueprint, current_app, request

from backend.auth.credentials import require_tenant_auth
from backend.call_record import complete_call_record, record_end
from backend.capture.caller_id import capture_caller_id, open_contact, store_caller_id
from backend.edge.body import request_bytes
from backend.edge.errors import BadPayload
from backend.edge.messages import parse_server_message
from backend.logs import bind_request, log_event
from backend.metrics.http import note_message_type
from backend.privacy.masking import spoken_digits
from backend.prompts import VOCAL_SERVICE_UNAVAILABLE
from backend.routes.message_answers import ANSWERS
from backend.routes.tools import answer_tool_calls
from backend.tenant_routing import tenant_called, tenant_named
from backend.tenants.store import tenant_store

bp = Blueprint("voice", __name__, url_prefix="/api/vapi")

# `{}` as Flask writes it: most messages get it, and building it from a dict cost 5.5 µs a
# request against 2.3 for these bytes.
ACKNOWLEDGED = b"{}\n"


def acknowledged():
    """The answer `{}`: the message is taken (and its caller ID stored)."""
    return current_app.response_class(ACKNOWLEDGED, mimetype="application/json")


@bp.post("/<tenant_id>/webhook")
def tenant_webhook(tenant_id):
    """Server messages for one tenant."""
    tenant = tenant_named(tenant_store().directory, tenant_id)
    require_tenant_auth(tenant, outage_tolerated=_answered_from_the_request)
    return handle_server_message(tenant, _parsed_message())


# What the caller hears, answered from the request when the database is away (never a 5xx,
# docs/vapi-setup.md section 4): a replay check that cannot run must not silence it either.
ANSWERED_FROM_THE_REQUEST = ("assistant-request", "tool-calls")


def _answered_from_the_request():
    """Whether this request is one of those (parsed only when the replay check failed)."""
    try:
        message = parse_server_message(request_bytes(request))
    except BadPayload:
        return False
    return message.type in ANSWERED_FROM_THE_REQUEST


@bp.post("/webhook")
def shared_webhook():
    """Server messages for every tenant, routed by the called number or Vapi phone-number id."""
    # Parsed once, before the tenant is known: the same value is routed, then handled.
    message = _parsed_message()
    tenant = tenant_called(tenant_store().directory, message)
    require_tenant_auth(tenant, outage_tolerated=lambda: message.type in ANSWERED_FROM_THE_REQUEST)
    return handle_server_message(tenant, message)


def _parsed_message():
    """The request's server message; from now on the request's log lines name its call."""
    message = parse_server_message(request_bytes(request))
    bind_request(call_id=message.call_id)
    return message


def handle_server_message(tenant, message):
    """Capture the caller ID any message carries, then answer the message's type."""
    msg_type = message.type
    note_message_type(msg_type)
    handler = MESSAGE_HANDLERS.get(msg_type)
    if handler is not None:
        return handler(tenant, message)
    # Stored before the answer: a 200 means stored, and the call's next request, on any worker,
    # reads it. A database error propagates to a 503 (errors.py), so Vapi may send it again.
    store_caller_id(tenant, message, msg_type)
    if _call_ended(message):
        record_end(tenant, message)
    return acknowledged()


def _call_ended(message):
    # end-of-call-report has its own handler (answer_end_of_call_report), which records the end.
    return message.type in ("status-update", "status_update") and message.status == "ended"


def answer_assistant_request(tenant, message):
    """Fast and never a 5xx: the assistant with the caller-ID variables, or a spoken error."""
    catalogs = tenant_store().catalogs
    try:
        # Never a 5xx: with the database away, the number the request carries (it is the source).
        number, reachable = capture_caller_id(tenant, message, message.type)
        decision, sentence = open_contact(tenant, message.call_id, number, catalogs, reachable)
    except Exception as error:  # noqa: BLE001  (a failed call is worse than a generic answer)
        log_event("ASSISTANT_REQUEST_FAILED", level=40, exception=type(error).__name__)
        return {
            "error": catalogs.sentence(VOCAL_SERVICE_UNAVAILABLE, tenant.locale, tenant.variant)
        }
    if not tenant.assistant_id:
        return {
            "error": catalogs.sentence(VOCAL_SERVICE_UNAVAILABLE, tenant.locale, tenant.variant)
        }
    return {
        "assistantId": tenant.assistant_id,
        "assistantOverrides": {
            "variableValues": {
                "caller_id_known": bool(number),
                "caller_last_digits": spoken_digits(number, tenant.spoken_digits) if number else "",
                "contact_prompt": sentence,
                "contact_state": decision.state,
            }
        },
    }


def answer_end_of_call_report(tenant, message):
    """`{}` once the call's record holds the report: its number, its contact step, its end."""
    complete_call_record(tenant, message, tenant_store().catalogs)
    return acknowledged()


# Message types that need an answer of their own (message_answers.py: the others that expect
# one); all others get `{}`.
MESSAGE_HANDLERS = {
    "assistant-request": answer_assistant_request,
    "end-of-call-report": answer_end_of_call_report,
    "tool-calls": answer_tool_calls,
    **ANSWERS,
}
