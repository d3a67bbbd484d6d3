"""What SQLite and PostgreSQL do differently, in one place: the capture's path, locks, commits.

backend/store/calls.py asks `dialect_of(engine)` and never tests a dialect's name itself. Every
statement is SQLAlchemy Core, built once (statements.py); `run` executes the call path's by the
driver, compiled once (backend/store/driver.py says why).
"""

import threading
from contextlib import contextmanager

from psycopg import errors as psycopg_errors
from sqlalchemy import exists, false, select, text, true, union_all
from sqlalchemy.dialects import postgresql, sqlite

from backend.store import deadline, driver, statements
from backend.store.statements import CALLS, READ_NUMBER, READ_TURN, SEEN, THIS_CALL


class _Dialect:
    """What both do alike: the call path's statements, run by the driver on a pooled connection."""

    prepare = False  # as server-side prepared statements

    def reading(self, engine):
        """A pooled connection for statements that only read (driver.pooled)."""
        return driver.pooled(engine)

    def writing(self, engine):
        """A pooled connection for statements that write."""
        return self.reading(engine)

    def run(self, pooled, statement, params):
        """Run a prebuilt statement by the driver (backend/store/driver.py): its first row."""
        return driver.first_row(self._execute(pooled, statement, params))

    def _execute(self, pooled, statement, params):
        return driver.execute(pooled, statement, params, prepare=self.prepare)

    def _first_row(self, engine, statement, params):
        with self.writing(engine) as pooled:
            return self.run(pooled, statement, params)

    def capture_turn(self, engine, params):
        """(held number, stored now, conversation, version): a read first, a write if needed.

        A write only when the call has no row, or no number and the offer is one: a call's
        later turns, which Vapi sends once its status-update stored the number, only read
        (on PostgreSQL a SELECT takes no row lock and writes no WAL). None when the write
        missed what another worker wrote meanwhile: read it again.
        """
        with self.reading(engine) as pooled:  # a read: no SQLite writer lock
            row = self.run(pooled, READ_TURN, params)
        if row is not None and (row[0] or not params["number"]):
            return row[0], False, row[1], row[2]
        return self._offer_for_turn(engine, params, row)


class SQLite(_Dialect):
    """One file, one writer at a time: the process's writers queue on a lock of their own."""

    def __init__(self):
        self.offer = statements.offer_number(sqlite.insert)
        self.ensure = statements.ensure_call(sqlite.insert)
        self.note = statements.note_signature(sqlite.insert)
        # A worker's threads queue here and wake as soon as the writer is done, instead of in
        # SQLite's busy handler, which sleeps 1 to 100 ms between tries.
        self.writer = threading.Lock()

    @contextmanager
    def writing(self, engine):
        """A pooled connection for statements that write; the process's other writers wait."""
        with deadline.holding(self.writer, engine.url.database), driver.pooled(engine) as pooled:
            yield pooled

    def offer_number(self, engine, params):
        """The offer alone: True when it changed a row (created it, or gave it the number)."""
        with self.writing(engine) as pooled:
            return self._offer(pooled, params)

    def capture_number(self, engine, params):
        """(held number, stored now): the offer, then the read-back when it did not store."""
        with self.writing(engine) as pooled:
            if self._offer(pooled, params) and params["number"]:
                return params["number"], True
            row = self.run(pooled, READ_NUMBER, params)
            return row[0] if row else None, False

    def _offer_for_turn(self, engine, params, row):
        """The offer, then what the read found (no SQLite INSERT in a WITH clause)."""
        with self.writing(engine) as pooled:
            if self._offer(pooled, params) and params["number"]:
                return (params["number"], True, *(row[1:] if row else (None, 0)))
        return None  # another worker wrote it meanwhile: read it again

    def note_signature(self, engine, params):
        """True when the signature was not seen before (its row inserted now)."""
        with self.writing(engine) as pooled:
            return self._execute(pooled, self.note, params).rowcount == 1

    def _offer(self, pooled, params):
        offer = self.offer if params["number"] else self.ensure
        return self._execute(pooled, offer, params).rowcount == 1

    def read_in_one_snapshot(self, session):
        """A single SELECT already reads one snapshot while it streams."""

    def durable_transaction(self, session):
        """Erasure's checkpoint syncs the file (after_delete)."""

    def before_delete(self, session):
        # Deleted rows' bytes are overwritten in the file's pages, not left in free ones.
        session.execute(text("PRAGMA secure_delete = ON"))

    def after_delete(self, session):
        """Zero what the WAL still holds of deleted rows (a committed session)."""
        session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        session.commit()


class PostgreSQL(_Dialect):
    """Many writers: the offer and the read-back go in one round trip, by the driver."""

    prepare = True

    def __init__(self):
        self.ensure = statements.ensure_call(postgresql.insert)
        self.offer = statements.offer_number(postgresql.insert)
        self.offer_returning = self.offer.returning(CALLS.c.id)
        self.ensure_returning = self.ensure.returning(CALLS.c.id)
        self.note = statements.note_signature(postgresql.insert).returning(SEEN.c.digest)
        # By (whether a number is offered, whether the conversation is read with it).
        self.read_back = {
            (offering, turn): _offer_and_read_back(
                self.offer if offering else self.ensure, offering, turn
            )
            for offering in (False, True)
            for turn in (False, True)
        }

    @contextmanager
    def reading(self, engine):
        """A pooled connection, unless its server was found unreachable, or its database
        locked, a moment ago."""
        deadline.check(engine.url)
        with driver.pooled(engine) as pooled:
            with deadline.lock_waits_watched(engine.url, lambda: _tables_locked(pooled)):
                yield pooled

    def offer_number(self, engine, params):
        """The offer alone, one statement: True when it changed a row."""
        offer = self.offer_returning if params["number"] else self.ensure_returning
        return self._first_row(engine, offer, params) is not None

    def note_signature(self, engine, params):
        """True when the signature was not seen before: a row comes back only if inserted."""
        return self._first_row(engine, self.note, params) is not None

    def capture_number(self, engine, params):
        row = self._first_row(engine, self.read_back[bool(params["number"]), False], params)
        if row is not None:
            return row[0], row[1]
        row = self._first_row(engine, READ_NUMBER, params)
        return row[0] if row else None, False

    def _offer_for_turn(self, engine, params, _row):
        """The offer and the read-back in one round trip."""
        row = self._first_row(engine, self.read_back[bool(params["number"]), True], params)
        return None if row is None else tuple(row)

    def read_in_one_snapshot(self, session):
        """A server-side cursor needs a transaction, and every row then comes from one moment."""
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    def durable_transaction(self, session):
        """An erasure must survive a crash of the database server: its commit waits for the disk.

        Its statements are not cut by the call path's statement timeout: a purge's DELETE of a
        large backlog takes seconds (300,000 rows were refused at 500 ms on a loaded machine).
        """
        session.connection(execution_options={"isolation_level": "READ COMMITTED"})
        session.execute(text("SET LOCAL synchronous_commit = on"))
        session.execute(text("SET LOCAL statement_timeout = 0"))

    def before_delete(self, session):
        """Nothing: a vacuum reuses dead rows' space."""

    def after_delete(self, session):
        """Nothing: see before_delete."""


# Granted at once unless another connection holds (or waits for) the tables themselves, whatever
# rows it holds: the call path's writes take this mode.
_TABLES_FREE = "LOCK TABLE calls, seen_signatures IN ROW EXCLUSIVE MODE NOWAIT"


def _tables_locked(pooled):
    """PostgreSQL: whether another connection holds the call path's tables themselves. Three
    short round trips (BEGIN, LOCK, ROLLBACK), only after a lock wait ran out with no row named
    (deadline.lock_waits_watched)."""
    connection = pooled.connection.driver_connection
    try:
        with connection.transaction():
            connection.execute(_TABLES_FREE)
    except psycopg_errors.LockNotAvailable:
        return True
    except psycopg_errors.Error:  # unknown (the request's time spent...): the statement alone
        return False
    return False


def _offer_and_read_back(offer, offering, with_conversation):
    """PostgreSQL: the offer and the read-back in one round trip (a CTE).

    `offering`: `offer` offers a number (else it only creates the row). Rows of (held number,
    stored now[, conversation, version]). The read-back runs on the statement's snapshot: a row
    another worker committed after it started is missed, and no row comes back; the caller
    reads again then.
    """
    read = [CALLS.c.caller_number, CALLS.c.conversation, CALLS.c.conversation_version]
    read = read[: 3 if with_conversation else 1]
    offered = offer.returning(*read).cte("offered")
    return union_all(
        select(offered.c.caller_number, true() if offering else false(), *offered.c[1:]),
        select(read[0], false(), *read[1:]).where(THIS_CALL, ~exists(offered.select())),
    )


DIALECTS = {"sqlite": SQLite(), "postgresql": PostgreSQL()}


def dialect_of(engine):
    """What `engine`'s database does its own way."""
    return DIALECTS[engine.dialect.name]
