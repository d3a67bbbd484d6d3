"""Signed requests already accepted, so that the same one is accepted once (issue 16).

A signature is fresh for `vapi.hmac.max_age_seconds` either side of its timestamp: within that
window only its row here tells a replay from the first sight, on any worker or instance.
"""

import hashlib
import sqlite3
from datetime import timedelta

from sqlalchemy import delete

from backend.store.db import db
from backend.store.deadline import DeadlinePassed
from backend.store.dialects import dialect_of
from backend.store.models import SeenSignature, utcnow
from backend.store.statements import SIGNATURE_SEEN
from backend.tenants.schema import LONGEST_MAX_AGE_SECONDS

# A timestamp is fresh from max_age before it to max_age after it: a row seen at any moment of
# that span is needed until its end, at most twice the window later.
KEEP_FOR = timedelta(seconds=2 * LONGEST_MAX_AGE_SECONDS)


def signature_digest(tenant_id, mac):
    """What is stored of a signed request: sha256 of its tenant and the MAC that matched."""
    return hashlib.sha256(tenant_id.encode() + b"\0" + mac).hexdigest()


def seen_before(tenant_id, mac):
    """True when this tenant served this MAC already (one SELECT)."""
    engine = db.engine
    dialect = dialect_of(engine)
    with dialect.reading(engine) as pooled:
        params = {"digest": signature_digest(tenant_id, mac)}
        return dialect.run(pooled, SIGNATURE_SEEN, params) is not None


def first_sight(tenant_id, mac):
    """Note this tenant served this MAC: True the first time, False when another copy of the
    request was noted first (one INSERT)."""
    engine = db.engine
    params = {"digest": signature_digest(tenant_id, mac), "now": utcnow()}
    return dialect_of(engine).note_signature(engine, params)


def surely_not_noted(error):
    """Whether a failed `first_sight` certainly wrote nothing: the database refused the insert
    (SQLite runs in the process; PostgreSQL answered with an SQLSTATE), or it was never sent
    (the request's time was spent). A wait cut or a connection lost after it was sent may have
    seen it committed."""
    cause = getattr(error, "orig", None)
    return (
        isinstance(cause, sqlite3.Error | DeadlinePassed)
        or getattr(cause, "sqlstate", None) is not None
    )


def delete_seen_before(cutoff):
    """Delete the signatures seen before `cutoff` (in the caller's transaction); how many."""
    return db.session.execute(delete(SeenSignature).where(SeenSignature.seen_at < cutoff)).rowcount


def purge_seen(now=None):
    """Delete the signatures no freshness window can still accept again; how many."""
    return delete_seen_before((now or utcnow()) - KEEP_FOR)
