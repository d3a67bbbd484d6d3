"""The call path's statements, built once on the table with bound parameters.

Building an ORM statement per request cost more than running it (profiled under the load
benchmark). The two upserts take a dialect's INSERT: backend/store/dialects.py builds them.
"""

from sqlalchemy import (
    Integer,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    select,
    update,
)

from backend.store.models import Call, SeenSignature

CALLS = Call.__table__
SEEN = SeenSignature.__table__


def _param(name, column):
    return bindparam(name, type_=column.type)


THIS_CALL = (CALLS.c.tenant_id == bindparam("tenant")) & (CALLS.c.call_id == bindparam("call"))
READ_NUMBER = select(CALLS.c.caller_number).where(THIS_CALL)
# A turn's read: the number, and the conversation with the version it was stored at.
READ_TURN = select(CALLS.c.caller_number, CALLS.c.conversation, CALLS.c.conversation_version)
READ_TURN = READ_TURN.where(THIS_CALL)
READ_CONVERSATION = select(CALLS.c.conversation, CALLS.c.conversation_version).where(THIS_CALL)
SET_STATE = (
    update(CALLS)
    .where(THIS_CALL)
    .values(state=bindparam("new_state"), updated_at=_param("now", CALLS.c.updated_at))
)


def ensure_call(insert):
    """Create the call's row, without a number, unless it exists: with `insert`, a dialect's."""
    now = _param("now", CALLS.c.created_at)
    row = insert(CALLS).values(
        tenant_id=_param("tenant", CALLS.c.tenant_id),
        call_id=_param("call", CALLS.c.call_id),
        created_at=now,
        updated_at=now,
    )
    return row.on_conflict_do_nothing(index_elements=[CALLS.c.tenant_id, CALLS.c.call_id])


def offer_number(insert):
    """Create the call's row with the number, or give it the number if it holds none.

    The row is proposed only while the call holds no number: a call's later messages then only
    read, where ON CONFLICT DO UPDATE would lock the row (a write) even to change nothing.
    """
    now = _param("now", CALLS.c.created_at)
    proposed = {
        "tenant_id": _param("tenant", CALLS.c.tenant_id),
        "call_id": _param("call", CALLS.c.call_id),
        "caller_number": _param("number", CALLS.c.caller_number),
        "caller_msg_type": _param("msg_type", CALLS.c.caller_msg_type),
        "created_at": now,
        "updated_at": now,
    }
    held = exists().where(THIS_CALL, CALLS.c.caller_number.is_not(None))
    row = insert(CALLS).from_select(
        list(proposed),
        select(*(value.label(name) for name, value in proposed.items())).where(~held),
    )
    return row.on_conflict_do_update(
        index_elements=[CALLS.c.tenant_id, CALLS.c.call_id],
        set_={
            "caller_number": row.excluded.caller_number,
            "caller_msg_type": row.excluded.caller_msg_type,
            "updated_at": row.excluded.updated_at,
        },
        where=CALLS.c.caller_number.is_(None),
    )


def _replace_conversation(ending):
    """`ending`: None while the step goes on; "finished" or "confirmed" when this turn ends it."""
    values = {
        "conversation": _param("conversation", CALLS.c.conversation),
        # A literal 1, not a bound one: PostgreSQL's driver path passes only the named values.
        "conversation_version": CALLS.c.conversation_version + literal_column("1", Integer),
        "state": _param("new_state", CALLS.c.state),
        "updated_at": _param("now", CALLS.c.updated_at),
    }
    if ending is not None:
        # The outcome rides on the turn's own write: no statement more on the call path.
        values |= {
            "contact_outcome": _param("outcome", CALLS.c.contact_outcome),
            "contact_turns": _param("turns", CALLS.c.contact_turns),
        }
    if ending == "confirmed":
        values |= {
            "contact_number": _param("contact_number", CALLS.c.contact_number),
            "contact_source": _param("contact_source", CALLS.c.contact_source),
            "contact_confirmed_at": _param("now", CALLS.c.contact_confirmed_at),
        }
    # Compare-and-set on an integer: comparing the whole stored JSON text cost its length.
    read_version = _param("read_version", CALLS.c.conversation_version)
    unchanged = CALLS.c.conversation_version == read_version
    return update(CALLS).where(THIS_CALL, unchanged).values(values).returning(CALLS.c.id)


# By how the turn leaves the step: going on (None), finished without a contact, or confirmed.
REPLACE_CONVERSATION = {
    ending: _replace_conversation(ending) for ending in (None, "finished", "confirmed")
}
# An end without a reason leaves the reason open for a later message (the report) to fill.
# The call's first end marks a contact step that opened and never finished `unfinished`, in the
# same statement (SET reads the row as it was); the row it returns says whether this one did.
_FIRST_END = CALLS.c.ended_at.is_(None)
_UNFINISHED = _param("unfinished", CALLS.c.contact_outcome)
RECORD_END = (
    update(CALLS)
    .where(THIS_CALL, CALLS.c.ended_reason.is_(None))
    .values(
        ended_reason=_param("reason", CALLS.c.ended_reason),
        ended_at=func.coalesce(CALLS.c.ended_at, _param("now", CALLS.c.ended_at)),
        updated_at=_param("now", CALLS.c.updated_at),
        contact_outcome=case(
            (
                _FIRST_END & CALLS.c.state.is_not(None) & CALLS.c.contact_outcome.is_(None),
                _UNFINISHED,
            ),
            else_=CALLS.c.contact_outcome,
        ),
    )
    # After the update: `unfinished` with this statement's own end time means marked now.
    .returning(
        (CALLS.c.contact_outcome == _UNFINISHED)
        & (CALLS.c.ended_at == _param("now", CALLS.c.ended_at))
    )
)


def note_signature(insert):
    """Remember a signed request's digest unless it is there: with `insert`, a dialect's.

    One statement, atomic on the unique key: of two workers given the same request at once,
    exactly one inserts the row (the other's conflict inserts nothing).
    """
    row = insert(SEEN).values(
        digest=_param("digest", SEEN.c.digest), seen_at=_param("now", SEEN.c.seen_at)
    )
    return row.on_conflict_do_nothing(index_elements=[SEEN.c.digest])


SIGNATURE_SEEN = select(SEEN.c.digest).where(SEEN.c.digest == _param("digest", SEEN.c.digest))
