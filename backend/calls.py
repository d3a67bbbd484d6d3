"""Call rows: created once, caller number written once, by single atomic statements."""

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from .db import db
from .models import Call, utcnow


def _insert():
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(Call)


def capture_caller_number(tenant_id, call_id, number, msg_type):
    """Store the caller number if the call has none yet; True when this call stored it.

    One INSERT ... ON CONFLICT DO UPDATE ... WHERE caller_number IS NULL: the database decides
    which of several concurrent messages wins, so no worker can overwrite another's number.
    """
    now = utcnow()
    statement = _insert().values(
        tenant_id=tenant_id,
        call_id=call_id,
        caller_number=number,
        caller_msg_type=msg_type,
        created_at=now,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Call.tenant_id, Call.call_id],
        set_={
            "caller_number": statement.excluded.caller_number,
            "caller_msg_type": statement.excluded.caller_msg_type,
            "updated_at": now,
        },
        where=Call.caller_number.is_(None),
    ).returning(Call.id)
    stored = db.session.execute(statement).first() is not None
    db.session.commit()
    return stored


def ensure_call(tenant_id, call_id):
    """Create the call's row if it does not exist yet."""
    now = utcnow()
    statement = _insert().values(
        tenant_id=tenant_id, call_id=call_id, created_at=now, updated_at=now
    )
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["tenant_id", "call_id"]))
    db.session.commit()


def get_call(tenant_id, call_id):
    """The call's row, or None; the read transaction ends here."""
    row = db.session.execute(
        select(Call).where(Call.tenant_id == tenant_id, Call.call_id == call_id)
    ).scalar_one_or_none()
    db.session.commit()
    return row


def record_call_end(tenant_id, call_id, reason):
    """Keep the first end reason Vapi gives for the call and when it came."""
    ensure_call(tenant_id, call_id)
    db.session.execute(
        update(Call)
        .where(Call.tenant_id == tenant_id, Call.call_id == call_id, Call.ended_at.is_(None))
        .values(ended_reason=reason, ended_at=utcnow(), updated_at=utcnow())
    )
    db.session.commit()


def set_state(tenant_id, call_id, state):
    """Record where the contact step stands."""
    db.session.execute(
        update(Call)
        .where(Call.tenant_id == tenant_id, Call.call_id == call_id)
        .values(state=state, updated_at=utcnow())
    )
    db.session.commit()
