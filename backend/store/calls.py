"""Call rows: created once, caller number written once, by atomic statements."""

import threading
from contextlib import contextmanager, nullcontext
from functools import cache

from sqlalchemy import bindparam, exists, false, func, select, true, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from backend.store.db import db, first_row_by_driver
from backend.store.models import Call, utcnow

CALLS = Call.__table__
# In place of a conversation text that was not read (the database could not be reached).
NOT_READ = object()


# The hot statements are built once per dialect, on the table, with bound parameters: building
# an ORM upsert per request cost more than running it (profiled under the load benchmark).
@cache
def _call_insert(dialect_name):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    now = bindparam("now", type_=CALLS.c.created_at.type)
    return dialect.insert(CALLS).values(
        tenant_id=bindparam("tenant", type_=CALLS.c.tenant_id.type),
        call_id=bindparam("call", type_=CALLS.c.call_id.type),
        created_at=now,
        updated_at=now,
    )


@cache
def _capture_statement(dialect_name):
    # The row is proposed only while the call holds no number: a call's later messages then
    # only read, where ON CONFLICT DO UPDATE would lock the row (a write) even to change nothing.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    now = bindparam("now", type_=CALLS.c.created_at.type)
    proposed = {
        "tenant_id": bindparam("tenant", type_=CALLS.c.tenant_id.type),
        "call_id": bindparam("call", type_=CALLS.c.call_id.type),
        "caller_number": bindparam("number", type_=CALLS.c.caller_number.type),
        "caller_msg_type": bindparam("msg_type", type_=CALLS.c.caller_msg_type.type),
        "created_at": now,
        "updated_at": now,
    }
    held = exists().where(_THIS_CALL, CALLS.c.caller_number.is_not(None))
    insert = dialect.insert(CALLS).from_select(
        list(proposed),
        select(*(value.label(name) for name, value in proposed.items())).where(~held),
    )
    return insert.on_conflict_do_update(
        index_elements=[CALLS.c.tenant_id, CALLS.c.call_id],
        set_={
            "caller_number": insert.excluded.caller_number,
            "caller_msg_type": insert.excluded.caller_msg_type,
            "updated_at": insert.excluded.updated_at,
        },
        where=CALLS.c.caller_number.is_(None),
    )


@cache
def _ensure_statement(dialect_name):
    return _call_insert(dialect_name).on_conflict_do_nothing(
        index_elements=[CALLS.c.tenant_id, CALLS.c.call_id]
    )


_THIS_CALL = (CALLS.c.tenant_id == bindparam("tenant")) & (CALLS.c.call_id == bindparam("call"))
_STORED_NUMBER = select(CALLS.c.caller_number).where(_THIS_CALL)
_NUMBER_AND_CONVERSATION = select(CALLS.c.caller_number, CALLS.c.conversation).where(_THIS_CALL)
_SET_STATE = (
    update(CALLS)
    .where(_THIS_CALL)
    .values(
        state=bindparam("new_state"), updated_at=bindparam("now", type_=CALLS.c.updated_at.type)
    )
)


# SQLite takes one writer at a time: a worker's threads queue here and wake as soon as the
# writer is done, instead of in SQLite's busy handler, which sleeps 1 to 100 ms between tries.
_SQLITE_WRITER = threading.Lock()


@contextmanager
def _single_statements():
    """A pooled connection that commits each statement by itself; SQLite's writers queue here."""
    writers = _SQLITE_WRITER if db.engine.dialect.name == "sqlite" else nullcontext()
    with writers, db.engine.connect() as connection:
        yield connection


@cache
def _offer_and_read_back(offering, with_conversation):
    """PostgreSQL: the offer and the read-back in one round trip.

    Rows of (held number, stored now[, conversation]). The read-back runs on the statement's
    snapshot: a row another worker committed after it started is missed, and no row comes
    back; the caller reads again then.
    """
    offer = _capture_statement("postgresql") if offering else _ensure_statement("postgresql")
    read = [CALLS.c.caller_number, CALLS.c.conversation][: 2 if with_conversation else 1]
    offered = offer.returning(*read).cte("offered")
    return union_all(
        select(offered.c.caller_number, true() if offering else false(), *offered.c[1:]),
        select(read[0], false(), *read[1:]).where(_THIS_CALL, ~exists(offered.select())),
    )


def capture_caller_number(tenant_id, call_id, number, msg_type):
    """Offer `number` to the call: (the number the call holds, True when this offer stored it).

    One INSERT ... ON CONFLICT DO UPDATE ... WHERE caller_number IS NULL: the database decides
    which of several concurrent messages wins, so no worker can overwrite another's number. With
    `number` None the row is only created; the held number is read back either way.
    """
    params = _capture_params(tenant_id, call_id, number, msg_type)
    with _single_statements() as connection:
        if connection.dialect.name == "postgresql":
            row = first_row_by_driver(connection, _offer_and_read_back(bool(number), False), params)
            if row is not None:
                return row[0], row[1]
        else:  # SQLite has no INSERT in a WITH clause; both statements stay in this process
            if _offer_on_sqlite(connection, params) and number:
                return number, True
        return connection.execute(_STORED_NUMBER, params).scalar_one_or_none(), False


def capture_and_read_conversation(tenant_id, call_id, number, msg_type):
    """capture_caller_number, and the call's conversation text read with it (None if none yet).

    For a turn of the contact step, which needs both: one round trip on PostgreSQL; on SQLite
    a read first, and a write only when the call has no row, or no number and `number` is one
    (a call's later turns then never wait for SQLite's only writer).
    """
    params = _capture_params(tenant_id, call_id, number, msg_type)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            row = first_row_by_driver(connection, _offer_and_read_back(bool(number), True), params)
        if row is not None:
            return tuple(row)
    else:
        with db.engine.connect() as connection:  # a read: no SQLite writer lock
            row = connection.execute(_NUMBER_AND_CONVERSATION, params).first()
        if row is not None and (row[0] or not number):
            return row[0], False, row[1]
        with _single_statements() as connection:
            if _offer_on_sqlite(connection, params) and number:
                return number, True, row[1] if row is not None else None
    with db.engine.connect() as connection:  # another worker wrote it meanwhile
        held, conversation = connection.execute(_NUMBER_AND_CONVERSATION, params).one()
    return held, False, conversation


def _capture_params(tenant_id, call_id, number, msg_type):
    return {
        "tenant": tenant_id,
        "call": call_id,
        "number": number,
        "msg_type": msg_type,
        "now": utcnow(),
    }


def _offer_on_sqlite(connection, params):
    """Offer the number (or only create the row, without one); True when a row changed."""
    offer = _capture_statement("sqlite") if params["number"] else _ensure_statement("sqlite")
    return connection.execute(offer, params).rowcount == 1


_CONVERSATION = select(CALLS.c.conversation).where(_THIS_CALL)


def read_conversation(tenant_id, call_id):
    """The call's stored conversation text (None if none yet); creates the call's row if missing."""
    params = {"tenant": tenant_id, "call": call_id}
    with db.engine.connect() as connection:  # a read: no SQLite writer lock
        row = _first_row(connection, _CONVERSATION, params)
    if row is None:
        ensure_call(tenant_id, call_id)
        with db.engine.connect() as connection:  # another worker may have written it meanwhile
            row = connection.execute(_CONVERSATION, params).one()
    return row[0]


@cache
def _conversation_update(with_contact):
    values = {
        "conversation": bindparam("conversation", type_=CALLS.c.conversation.type),
        "state": bindparam("new_state", type_=CALLS.c.state.type),
        "updated_at": bindparam("now", type_=CALLS.c.updated_at.type),
    }
    if with_contact:
        values |= {
            "contact_number": bindparam("contact_number", type_=CALLS.c.contact_number.type),
            "contact_source": bindparam("contact_source", type_=CALLS.c.contact_source.type),
            "contact_confirmed_at": bindparam("now", type_=CALLS.c.contact_confirmed_at.type),
        }
    old = bindparam("old_conversation", type_=CALLS.c.conversation.type)
    unchanged = CALLS.c.conversation.is_not_distinct_from(old)
    return update(CALLS).where(_THIS_CALL, unchanged).values(values).returning(CALLS.c.id)


def replace_conversation(tenant_id, call_id, old_text, new_text, state, contact=None):
    """Store `new_text` if the call's conversation is still `old_text`; True when stored.

    `contact`: (number, source) of a contact confirmed by this turn, kept with the call.
    """
    params = {
        "tenant": tenant_id,
        "call": call_id,
        "old_conversation": old_text,
        "conversation": new_text,
        "new_state": state,
        "now": utcnow(),
    }
    if contact is not None:
        params["contact_number"], params["contact_source"] = contact
    statement = _conversation_update(contact is not None)
    with _single_statements() as connection:
        return _first_row(connection, statement, params) is not None


def _first_row(connection, statement, params):
    # PostgreSQL: by the driver, as a prepared statement (db.first_row_by_driver says why).
    if connection.dialect.name == "postgresql":
        return first_row_by_driver(connection, statement, params)
    return connection.execute(statement, params).first()


def ensure_call(tenant_id, call_id):
    """Create the call's row if it does not exist yet (committed at once)."""
    params = {"tenant": tenant_id, "call": call_id, "now": utcnow()}
    with _single_statements() as connection:
        connection.execute(_ensure_statement(db.engine.dialect.name), params)


def record_call_end(tenant_id, call_id, reason):
    """Keep when the call first ended and the first end reason Vapi gives (None: not given)."""
    ensure_call(tenant_id, call_id)
    now = utcnow()
    # An end without a reason leaves the reason open for a later message (the report) to fill.
    db.session.execute(
        update(Call)
        .where(Call.tenant_id == tenant_id, Call.call_id == call_id, Call.ended_reason.is_(None))
        .values(ended_reason=reason, ended_at=func.coalesce(Call.ended_at, now), updated_at=now)
    )
    db.session.commit()


def set_state(tenant_id, call_id, state):
    """Record where the contact step stands."""
    params = {"tenant": tenant_id, "call": call_id, "new_state": state, "now": utcnow()}
    with _single_statements() as connection:
        connection.execute(_SET_STATE, params)
