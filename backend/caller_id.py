"""Capture a call's caller ID once and open the contact step with it; logs mask every number."""

from sqlalchemy.exc import SQLAlchemyError

from . import engine
from .calls import capture_caller_number, ensure_call, get_call, set_state
from .db import db
from .logs import log_event
from .masking import last_digits, mask_phone
from .tenant_routing import call_id_of, extract_customer_phone_from_vapi_payload


def _database_failed(error, tenant, call_id):
    db.session.rollback()
    log_event(
        "DATABASE_UNAVAILABLE",
        level=40,
        tenant=tenant.id,
        call_id=call_id,
        exception=type(error).__name__,
    )


def capture_caller_id(tenant, payload, msg_type):
    """Store the caller number this body carries if the call has none; returns the call's number.

    The returned number is the stored one (the first valid number of the call), or the one heard
    here when the database cannot be reached.
    """
    call_id = call_id_of(payload)
    heard = extract_customer_phone_from_vapi_payload(payload, tenant.region)
    if call_id is None:
        return heard
    try:
        if heard and capture_caller_number(tenant.id, call_id, heard, msg_type):
            log_event(
                "CALLER_ID_PERSISTED",
                tenant=tenant.id,
                call_id=call_id,
                msg_type=msg_type,
                phone_masked=mask_phone(heard, tenant.logged_digits),
            )
            return heard
        if not heard:
            ensure_call(tenant.id, call_id)
        row = get_call(tenant.id, call_id)
    except SQLAlchemyError as error:
        _database_failed(error, tenant, call_id)
        return None  # a number we cannot check is never read out
    return row.caller_number if row else heard


def open_contact(tenant, call_id, caller_number, catalogs):
    """The contact step's first decision for this call and the sentence the agent says."""
    decision = engine.open_contact_step(caller_number, tenant.spoken_digits)
    if caller_number:
        log_event(
            "CALLER_ID_FOUND",
            tenant=tenant.id,
            call_id=call_id,
            last2=last_digits(caller_number, tenant.logged_digits),
            next=decision.state,
            context=decision.context,
        )
    else:
        log_event(
            "CALLER_ID_NOT_FOUND",
            tenant=tenant.id,
            call_id=call_id,
            next=decision.state,
            context=decision.context,
        )
    if call_id:
        try:
            set_state(tenant.id, call_id, decision.state)
        except SQLAlchemyError as error:
            _database_failed(error, tenant, call_id)
    sentence = catalogs.sentence(decision.prompt, tenant.locale, tenant.variant, **decision.params)
    return decision, sentence
