"""Console sessions their operator signed out of (backend/console/access.py), on any worker."""

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from backend.store.db import db
from backend.store.models import EndedSession, utcnow

# How long a console session lives: its cookie is refused past it, and with it its row here.
SESSION_LIFETIME = timedelta(hours=8)


def _digest(session_id):
    return hashlib.sha256(session_id.encode()).hexdigest()


def end_session(session_id):
    """Refuse this session from now on, on every worker (committed at once)."""
    db.session.add(EndedSession(digest=_digest(session_id), ended_at=utcnow()))
    try:
        db.session.commit()
    except IntegrityError:  # ended already (the same cookie signed out twice)
        db.session.rollback()


def has_ended(session_id):
    """Whether this session was signed out of.

    On a connection of its own: the page's session may then set its own isolation level.
    """
    query = select(EndedSession.digest).where(EndedSession.digest == _digest(session_id))
    with db.engine.connect() as connection:
        return connection.execute(query).first() is not None


def purge_ended_sessions(now=None):
    """Delete the rows of sessions past their lifetime (in the caller's transaction); how many."""
    cutoff = (now or utcnow()) - SESSION_LIFETIME
    return db.session.execute(delete(EndedSession).where(EndedSession.ended_at < cutoff)).rowcount
