"""One row per (tenant, call): caller number, contact step, how the call ended; and the signed
requests and console sessions that may not be used again."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.store.db import db


def utcnow():
    """Now, in UTC."""
    return datetime.now(UTC)


def as_utc(moment):
    """Aware UTC (None stays None): SQLite gives stored times back without their zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Call(db.Model):
    __tablename__ = "calls"
    __table_args__ = (UniqueConstraint("tenant_id", "call_id", name="uq_calls_tenant_call"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique (tenant_id, call_id) index serves tenant lookups too, and
    # with a second one PostgreSQL's cached plans could pick it for a call's row, then filter
    # every call of the tenant (measured: a repeat message cost 0.5 ms at 3,000 calls).
    tenant_id: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(String(128))
    # The caller ID in E.164, written once: the first valid number heard for the call wins.
    caller_number: Mapped[str | None] = mapped_column(String(32))
    caller_msg_type: Mapped[str | None] = mapped_column(String(64))
    # Where the contact step stands (CONTACT_CONFIRM, CONTACT_COLLECT, CONTACT_CONFIRMED, ...).
    state: Mapped[str | None] = mapped_column(String(32))
    # The engine's memory between turns, as JSON (digits heard so far, attempts, turns answered).
    conversation: Mapped[str | None] = mapped_column(Text)
    contact_number: Mapped[str | None] = mapped_column(String(32))
    contact_source: Mapped[str | None] = mapped_column(String(16))
    contact_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(String(128))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Bumped by each write of the conversation: a turn stores its own only over the version it
    # read (compare-and-set). Last, where its migration added it; a server default only, as
    # the prebuilt inserts (statements.py) name every value they send.
    conversation_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # How the contact step ended (backend/engine/outcomes.py), written by the turn that finished
    # it, or `unfinished` by the call's end message; and the caller turns it took. The time to
    # a confirmed contact is contact_confirmed_at - created_at (the call's first message).
    contact_outcome: Mapped[str | None] = mapped_column(String(32))
    contact_turns: Mapped[int | None] = mapped_column(Integer)


class SeenSignature(db.Model):
    """A signed request already accepted: the same one again is a replay (issue 16).

    Kept in the database, not in a worker's memory, so a replay sent to another gunicorn worker
    or instance is refused too. No phone number, no body: a digest of the tenant and the MAC.
    """

    __tablename__ = "seen_signatures"

    # sha256 hex of tenant id and the MAC that matched: the unique key the INSERT conflicts on.
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When it was accepted: `flask purge` deletes rows past every tenant's freshness window.
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class EndedSession(db.Model):
    """A console session its operator signed out of: its cookie is refused from then on.

    The cookie is signed, not stored: without this row a copy of it would open the console
    until it expires. A digest of the session's id is kept, not the id.
    """

    __tablename__ = "ended_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When it was signed out of: `flask purge` deletes rows past a session's lifetime.
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
