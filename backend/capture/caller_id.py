"""Capture a call's caller ID once and open the contact step with it; logs mask every number."""

from sqlalchemy.exc import SQLAlchemyError

from backend.edge.errors import BadPayload
from backend.engine import contact as engine
from backend.logs import log_event, phone_ref_fields
from backend.privacy.masking import last_digits, mask_phone
from backend.store.calls import (
    NOT_READ,
    UNREACHABLE,
    capture_and_read_conversation,
    capture_caller_number,
    offer_caller_number,
    set_state,
)
from backend.store.db import database_failed
from backend.tenant_routing import extract_customer_phone_from_vapi_payload


def capture_caller_id(tenant, body, msg_type):
    """Store the caller number of a parsed body if the call has none: (the call's number, stored?).

    The number is the stored one (the first valid number of the call). When the database cannot
    be reached, the request is the source: the number it carries, and False.
    """
    call_id, heard = _heard(tenant, body)
    if call_id is None:
        return heard, False
    try:
        number, stored_now = capture_caller_number(tenant.id, call_id, heard, msg_type)
    except SQLAlchemyError as error:
        database_failed(error)
        return heard, False
    if stored_now:
        _log_persisted(tenant, heard, msg_type)
    return number, True


def capture_caller_id_and_conversation(tenant, body, msg_type):
    """capture_caller_id for a turn of the contact step, reading the call's conversation with it.

    (number, StoredConversation); NOT_READ in place of it when the body has no call id. When
    the database could not be reached: the number the request carries, and UNREACHABLE.
    """
    call_id, heard = _heard(tenant, body)
    if call_id is None:
        return heard, NOT_READ
    try:
        return _store_and_read(tenant, call_id, heard, msg_type)
    except SQLAlchemyError as error:
        database_failed(error)
        return heard, UNREACHABLE


def store_caller_id(tenant, body, msg_type, call_waits=False):
    """Store the caller number of a parsed body if the call has none, for a message answered `{}`.

    Nothing is read back: the answer does not depend on it. A database error propagates, so
    the message is not acknowledged. A number without a call id has no call to be kept with:
    BadPayload (400), as a 200 would say it was stored. `call_waits`: the call waits on this
    message's answer (a transfer's destination...): it is answered whatever the body lacks,
    and a body without a number leaves the database alone (the call's row without a number is
    not made), so its answer cannot wait on it.
    """
    call_id, heard = _heard(tenant, body)
    if call_id is None and heard is not None and not call_waits:
        raise BadPayload("message.call.id is missing: the caller's number cannot be kept")
    if call_id is None or (heard is None and call_waits):
        return
    if offer_caller_number(tenant.id, call_id, heard, msg_type):
        _log_persisted(tenant, heard, msg_type)


def store_caller_id_and_read(tenant, body, msg_type):
    """store_caller_id, and what the call then holds: (number, StoredConversation).

    For a body with a call id. A database error propagates, so the message is not acknowledged.
    """
    call_id, heard = _heard(tenant, body)
    return _store_and_read(tenant, call_id, heard, msg_type)


def _store_and_read(tenant, call_id, heard, msg_type):
    number, stored_now, conversation = capture_and_read_conversation(
        tenant.id, call_id, heard, msg_type
    )
    if stored_now:
        _log_persisted(tenant, heard, msg_type)
    return number, conversation


def _heard(tenant, body):
    """(call id, caller number heard in the body)."""
    return body.call_id, extract_customer_phone_from_vapi_payload(body, tenant.region)


def _log_persisted(tenant, heard, msg_type):
    # The call's id comes from the request's bound log context (bound where it was parsed).
    log_event(
        "CALLER_ID_PERSISTED",
        msg_type=msg_type,
        phone_masked=mask_phone(heard, tenant.logged_digits),
        **phone_ref_fields(heard),
    )


def open_contact(tenant, call_id, caller_number, catalogs, record=True):
    """The contact step's first decision for this call, logged and recorded, and its sentence.

    `record`: False when the database just failed this request (nothing more is tried).
    """
    decision = engine.open_contact_step(caller_number, tenant.spoken_digits)
    log_opening(tenant, caller_number, decision)
    if call_id and record:
        try:
            set_state(tenant.id, call_id, decision.state)
        except SQLAlchemyError as error:
            database_failed(error)
    sentence = catalogs.sentence(decision.prompt, tenant.locale, tenant.variant, **decision.params)
    return decision, sentence


def log_opening(tenant, caller_number, decision):
    """CALLER_ID_FOUND (its last digits only) or CALLER_ID_NOT_FOUND, as the step opens."""
    if caller_number:
        log_event(
            "CALLER_ID_FOUND",
            last2=last_digits(caller_number, tenant.logged_digits),
            next=decision.state,
            context=decision.context,
            **phone_ref_fields(caller_number),
        )
    else:
        log_event(
            "CALLER_ID_NOT_FOUND",
            next=decision.state,
            context=decision.context,
        )
