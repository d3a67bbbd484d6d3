"""The store on the call path: every read and write a request makes of the calls table.

Each function runs one or two prebuilt statements (backend/store/statements.py), each committed
by itself and bounded by the connection's timeouts, so a 200 means stored. What operators read
is in reports.py, what they delete in erasure.py; what SQLite and PostgreSQL do differently
lives in backend/store/dialects.py.
"""

from typing import NamedTuple

from backend.engine.outcomes import UNFINISHED
from backend.store.db import db
from backend.store.dialects import dialect_of
from backend.store.models import utcnow
from backend.store.statements import (
    READ_CONVERSATION,
    READ_TURN,
    RECORD_END,
    REPLACE_CONVERSATION,
    SET_STATE,
)

# In place of a conversation not read yet: the turn reads it.
NOT_READ = object()
# In place of a conversation the database could not give: the turn is planned from the request.
UNREACHABLE = object()


class StoredConversation(NamedTuple):
    """A call's conversation text (None: none yet) and the version it was stored at."""

    text: str | None
    version: int


NO_CONVERSATION = StoredConversation(None, 0)


def capture_caller_number(tenant_id, call_id, number, msg_type):
    """Offer `number` to the call: (the number the call holds, True when this offer stored it).

    One INSERT ... ON CONFLICT DO UPDATE ... WHERE caller_number IS NULL: the database decides
    which of several concurrent messages wins, so no worker can overwrite another's number. With
    `number` None the row is only created; the held number is read back either way.
    """
    params = _capture_params(tenant_id, call_id, number, msg_type)
    return dialect_of(db.engine).capture_number(db.engine, params)


def offer_caller_number(tenant_id, call_id, number, msg_type):
    """Offer `number` as capture_caller_number does, reading nothing back: True when stored now.

    For a message whose answer does not depend on the number: one statement without the
    read-back (PostgreSQL: no CTE), and none more when the call already holds one.
    """
    params = _capture_params(tenant_id, call_id, number, msg_type)
    return dialect_of(db.engine).offer_number(db.engine, params) and number is not None


def capture_and_read_conversation(tenant_id, call_id, number, msg_type):
    """capture_caller_number, and the call's StoredConversation read with it: (number, new?, it).

    For a turn of the contact step, which needs both: a read, and a write only when the call's
    row or number is missing (on PostgreSQL the write reads back in the same round trip).
    """
    params = _capture_params(tenant_id, call_id, number, msg_type)
    dialect = dialect_of(db.engine)
    row = dialect.capture_turn(db.engine, params)
    if row is None:  # another worker wrote it meanwhile
        with dialect.reading(db.engine) as pooled:
            read = dialect.run(pooled, READ_TURN, params)
        row = (read[0], False, *read[1:]) if read else (None, False, *NO_CONVERSATION)
    held, stored_now, text, version = row
    return held, stored_now, StoredConversation(text, version)


def _capture_params(tenant_id, call_id, number, msg_type):
    return {
        "tenant": tenant_id,
        "call": call_id,
        "number": number,
        "msg_type": msg_type,
        "now": utcnow(),
    }


def read_conversation(tenant_id, call_id):
    """The call's StoredConversation; creates the call's row if missing."""
    params = {"tenant": tenant_id, "call": call_id}
    dialect = dialect_of(db.engine)
    with dialect.reading(db.engine) as pooled:  # a read: no SQLite writer lock
        row = dialect.run(pooled, READ_CONVERSATION, params)
    if row is None:
        ensure_call(tenant_id, call_id)
        with dialect.reading(db.engine) as pooled:  # another worker may have written it meanwhile
            row = dialect.run(pooled, READ_CONVERSATION, params)
    return StoredConversation(*row) if row else NO_CONVERSATION


class StepEnding(NamedTuple):
    """How a turn ended the contact step: outcome (backend/engine/outcomes.py), turns, contact.

    `contact`: (number, source) of a contact confirmed by this turn, else None.
    """

    outcome: str
    turns: int
    contact: tuple[str, str] | None = None


def replace_conversation(tenant_id, call_id, read_version, new_text, state, ending=None):
    """Store `new_text` if the conversation is still at `read_version`; True when stored.

    The stored version is bumped: of two writers that read the same version, one stores.
    `ending`: the StepEnding of a turn that finished the step, kept with the call by the same
    statement.
    """
    params = {
        "tenant": tenant_id,
        "call": call_id,
        "read_version": read_version,
        "conversation": new_text,
        "new_state": state,
        "now": utcnow(),
    }
    kind = None
    if ending is not None:
        params["outcome"], params["turns"] = ending.outcome, ending.turns
        kind = "finished"
        if ending.contact is not None:
            params["contact_number"], params["contact_source"] = ending.contact
            kind = "confirmed"
    dialect = dialect_of(db.engine)
    with dialect.writing(db.engine) as pooled:
        return dialect.run(pooled, REPLACE_CONVERSATION[kind], params) is not None


def ensure_call(tenant_id, call_id):
    """Create the call's row if it does not exist yet (committed at once)."""
    params = {"tenant": tenant_id, "call": call_id, "now": utcnow()}
    dialect = dialect_of(db.engine)
    with dialect.writing(db.engine) as pooled:
        dialect.run(pooled, dialect.ensure, params)


def record_call_end(tenant_id, call_id, reason):
    """Keep when the call first ended and the first end reason Vapi gives (None: not given).

    The first end of a call whose contact step opened and did not finish marks its outcome
    `unfinished`: True when this call did so (to count it once).
    """
    params = {
        "tenant": tenant_id,
        "call": call_id,
        "reason": reason,
        "now": utcnow(),
        "unfinished": UNFINISHED,
    }
    dialect = dialect_of(db.engine)
    with dialect.writing(db.engine) as pooled:
        dialect.run(pooled, dialect.ensure, params)
        row = dialect.run(pooled, RECORD_END, params)
    return bool(row and row[0])


def set_state(tenant_id, call_id, state):
    """Record where the contact step stands."""
    params = {"tenant": tenant_id, "call": call_id, "new_state": state, "now": utcnow()}
    dialect = dialect_of(db.engine)
    with dialect.writing(db.engine) as pooled:
        dialect.run(pooled, SET_STATE, params)
