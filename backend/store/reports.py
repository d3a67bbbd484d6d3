"""The store's reads for statistics: what each call's contact step came to, no number read.

Operator-side like the export (backend/store/calls.py holds the call path): one ORM session
query, read in one snapshot, rows streamed.
"""

from typing import NamedTuple

from sqlalchemy import select

from backend.store.db import db
from backend.store.dialects import dialect_of
from backend.store.models import Call, as_utc


class CallOutcome(NamedTuple):
    """One call where the contact step opened, as statistics need it (times aware UTC)."""

    tenant_id: str
    created_at: object  # datetime: the call's first message
    has_caller_id: bool
    outcome: str | None  # backend/engine/outcomes.py; None while the step goes on
    turns: int | None
    confirmed_at: object  # datetime or None


def call_outcomes(tenant_id=None, since=None, until=None):
    """CallOutcome of each call whose contact step opened, by tenant then first message.

    `tenant_id`: that tenant only; `since`/`until` (aware datetimes): calls first seen in
    [since, until). Whether the call has a caller ID is read, never the number.
    """
    query = select(
        Call.tenant_id,
        Call.created_at,
        Call.caller_number.is_not(None),
        Call.contact_outcome,
        Call.contact_turns,
        Call.contact_confirmed_at,
    ).where(Call.state.is_not(None))
    if tenant_id is not None:
        query = query.where(Call.tenant_id == tenant_id)
    if since is not None:
        query = query.where(Call.created_at >= since)
    if until is not None:
        query = query.where(Call.created_at < until)
    query = query.order_by(Call.tenant_id, Call.created_at, Call.id)
    dialect_of(db.engine).read_in_one_snapshot(db.session)
    try:
        for tenant, created, has_number, outcome, turns, confirmed in db.session.execute(
            query.execution_options(yield_per=1000)
        ):
            yield CallOutcome(
                tenant, as_utc(created), bool(has_number), outcome, turns, as_utc(confirmed)
            )
    finally:
        db.session.commit()
