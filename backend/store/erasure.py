"""The store's deletions for operators (purge, erase): one ORM session transaction a command."""

from contextlib import contextmanager

from sqlalchemy import delete, select

from backend.store.db import db
from backend.store.dialects import dialect_of
from backend.store.models import Call

# Deletes by id, this many at a time: a statement's parameters stay few.
DELETE_BATCH = 500


@contextmanager
def transaction():
    """One transaction for purge or erase, committed durably at the end, deleted bytes wiped."""
    dialect = dialect_of(db.engine)
    dialect.durable_transaction(db.session)
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    dialect.after_delete(db.session)


def tenant_ids(only=None):
    """The tenants that have calls stored, sorted (`only`: that one, if it has any)."""
    query = select(Call.tenant_id).distinct()
    if only is not None:
        query = query.where(Call.tenant_id == only)
    return sorted(db.session.execute(query).scalars())


def has_calls(tenant_id):
    """Whether the tenant has calls stored: read before a command's transaction, and ended."""
    try:
        return bool(tenant_ids(only=tenant_id))
    finally:
        db.session.close()  # the transaction after sets its own isolation level


def _delete_calls(condition):
    dialect_of(db.engine).before_delete(db.session)
    return db.session.execute(delete(Call).where(condition)).rowcount


def delete_calls_created_before(tenant_id, cutoff):
    """Delete the tenant's calls first seen before `cutoff`; how many."""
    return _delete_calls((Call.tenant_id == tenant_id) & (Call.created_at < cutoff))


def delete_calls_with_number(tenant_id, e164):
    """Delete the tenant's calls whose caller or contact number is `e164`; how many."""
    held = (Call.caller_number == e164) | (Call.contact_number == e164)
    return _delete_calls((Call.tenant_id == tenant_id) & held)


def delete_calls_where_conversation(tenant_id, holds):
    """Delete the tenant's calls whose conversation text `holds(text)` is true of; how many.

    What the caller said lives in the conversation's JSON: read in Python, not in SQL.
    """
    rows = db.session.execute(
        select(Call.id, Call.conversation).where(
            Call.tenant_id == tenant_id, Call.conversation.is_not(None)
        )
    )
    found = [row_id for row_id, conversation in rows if holds(conversation)]
    for start in range(0, len(found), DELETE_BATCH):
        _delete_calls(Call.id.in_(found[start : start + DELETE_BATCH]))
    return len(found)
