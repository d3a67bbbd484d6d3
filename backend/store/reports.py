"""The store's reads for operators: contacts to export, the last calls, each call's outcome.

One ORM session query each (backend/store/calls.py holds the call path), committed at the end,
rolled back when it fails.
"""

from contextlib import contextmanager
from typing import NamedTuple

from sqlalchemy import and_, or_, select

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
    with _one_snapshot(), db.session.execute(query.execution_options(yield_per=1000)) as rows:
        for tenant, created, has_number, outcome, turns, confirmed in rows:
            yield CallOutcome(
                tenant, as_utc(created), bool(has_number), outcome, turns, as_utc(confirmed)
            )


@contextmanager
def _one_snapshot():
    """A read in one snapshot, streamed: committed at its end, rolled back when it fails.

    Committing a failed read (a fetch cut by the request's budget) raised PendingRollbackError
    in its place: a 500 where the database error answers 503.
    """
    dialect_of(db.engine).read_in_one_snapshot(db.session)
    try:
        yield
    except BaseException:  # the read failed, or its reader stopped early (GeneratorExit)
        db.session.rollback()
        raise
    db.session.commit()


def has_calls(tenant_id):
    """Whether any call of `tenant_id` is stored, whatever its step."""
    found = db.session.execute(select(Call.id).where(Call.tenant_id == tenant_id).limit(1))
    exists = found.first() is not None
    db.session.commit()
    return exists


def contact_calls(tenant_id, since=None):
    """The tenant's calls where the contact step ran, oldest first, read in one snapshot.

    `since` (aware datetime) keeps calls confirmed since then, or created since then when
    no number was confirmed.
    """
    query = select(Call).where(
        Call.tenant_id == tenant_id,
        or_(Call.state.is_not(None), Call.contact_number.is_not(None)),
    )
    if since is not None:
        query = query.where(
            or_(
                Call.contact_confirmed_at >= since,
                and_(Call.contact_confirmed_at.is_(None), Call.created_at >= since),
            )
        )
    query = query.order_by(Call.created_at, Call.id).execution_options(yield_per=500)
    with _one_snapshot(), db.session.execute(query) as rows:
        yield from rows.scalars()


def recent_calls(tenant_id, limit):
    """The tenant's `limit` most recent calls, newest first (full numbers: mask before showing)."""
    query = (
        select(Call)
        .where(Call.tenant_id == tenant_id)
        .order_by(Call.created_at.desc(), Call.id.desc())
        .limit(limit)
    )
    calls = db.session.execute(query).scalars().all()
    db.session.commit()
    return calls
