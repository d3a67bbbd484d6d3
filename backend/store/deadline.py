"""A request's share of time for the database, so a frozen, refused or locked one cannot hold it.

The server-side statement timeout cannot help when the server is unreachable or frozen: the
answer never comes. So the client bounds its own waits. Each request gets a budget for its
database work, counted from its first statement (a slow upload is not the database's time):
no statement starts once it is spent, a PostgreSQL wait (connect, query) is cut when it runs
out, and SQLite's lock waits are bounded by the busy timeout and by it. Outside a request (an
operator's command) nothing is bounded here: the timeouts in connections.py apply.

After a wait was cut, the process takes the database for unreachable for a moment and fails its
statements at once, instead of every request spending its whole budget on the same frozen
server (each answer then comes in milliseconds, not at the budget's end); the first request
after that moment tries again.
"""

import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import waiting
from psycopg.adapt import AdaptersMap
from sqlalchemy.exc import OperationalError

# How long the database is taken for unreachable after a wait was cut.
UNREACHABLE_FOR_S = 1.0


class DeadlinePassed(Exception):
    """The request's database time is spent, or the database was just found unreachable."""


class _Budget:
    __slots__ = ("seconds", "lock_wait", "deadline")

    def __init__(self, seconds, lock_wait):
        self.seconds, self.lock_wait, self.deadline = seconds, lock_wait, None


class _Away:
    """Until when each database is taken for away, for every thread of the process."""

    def __init__(self):
        self.until, self.lock = {}, threading.Lock()

    def mark(self, key, seconds):
        with self.lock:
            self.until[key] = time.monotonic() + seconds

    def now(self, key):
        return time.monotonic() < self.until.get(key, 0.0)

    def forget(self):
        with self.lock:
            self.until.clear()


_request = ContextVar("database_budget", default=None)
_unreachable = _Away()  # PostgreSQL servers, by (host, port)
_write_locked = _Away()  # SQLite files another process locks, by path
_locked = _Away()  # PostgreSQL databases where a lock held elsewhere outlasted a wait, by URL


def server(host, port):
    """The key of a PostgreSQL server, as a URL or a connection names it."""
    return str(host), int(port or 5432)


def forget_outages():
    """Take every database for reachable and unlocked again, whatever was found a moment ago.

    For a process that starts over on other work: the tests, where one test's outage must not
    fail the next test's statements.
    """
    _unreachable.forget()
    _write_locked.forget()
    _locked.forget()


def begin_request(seconds, lock_wait=0.0):
    """Give the current request `seconds` of database time, counted from its first statement.

    `lock_wait`: how long a statement waits for a lock held elsewhere (SQLite's busy timeout,
    PostgreSQL's lock_timeout). On SQLite, it is kept out of the time `holding`'s lock is waited
    for; on both, a database found locked fails statements at once for that long.
    """
    _request.set(_Budget(seconds, lock_wait))


def end_request():
    """The request is answered: this thread's later work (none, or a command) is unbounded."""
    _request.set(None)


def remaining():
    """Seconds left for this request's database work; None outside a request."""
    budget = _request.get()
    if budget is None:
        return None
    now = time.monotonic()
    if budget.deadline is None:
        budget.deadline = now + budget.seconds
    return budget.deadline - now


def check(url=None):
    """Seconds left (None: unbounded); OperationalError when none are, or when the PostgreSQL
    server of `url` (a URL) was found unreachable a moment ago.

    Called before each statement and connection of the call path.
    """
    left = remaining()
    if left is not None:
        if left <= 0:
            raise timed_out("the request's database time is spent")
        if url is not None and _unreachable.now(server(url.host, url.port)):
            raise timed_out("the database was unreachable a moment ago")
        if url is not None and _locked.now(url):
            raise timed_out("a lock held elsewhere outlasted a statement's wait a moment ago")
    return left


@contextmanager
def holding(lock, path):
    """Hold `lock`, this process's writer lock for the SQLite file at `path`, waited for no
    longer than the request's time allows.

    The request's lock wait reserve is kept for what follows (the busy timeout), so the wait for
    this lock and the statement's own wait end within the request's time. When a statement under
    it waited the whole busy timeout for the file (another process holds its write lock far
    longer than any write of ours), this process's writes fail at once for as long again, rather
    than each spending its request's time on the same lock; reads go on. (As long, not longer: a
    busy timeout under a burst of our own writes costs little.)
    """
    left = check()
    if left is not None:
        if _write_locked.now(path):
            raise timed_out("another process held the database file's write lock a moment ago")
        left -= _request.get().lock_wait
    if not lock.acquire(timeout=-1 if left is None else max(left, 0)):
        raise timed_out("the lock was held by others for the request's time")
    try:
        yield
    except OperationalError as error:
        # SQLITE_BUSY and its extended codes: the busy timeout ran out.
        if left is not None and getattr(error.orig, "sqlite_errorcode", 0) & 0xFF == 5:
            _write_locked.mark(path, _request.get().lock_wait)
        raise
    finally:
        lock.release()


@contextmanager
def lock_waits_watched(url, table_locked):
    """PostgreSQL: when a statement under it waited the whole lock_timeout for a table (another
    connection holds it far longer than any statement of ours: a migration altering it, a
    LOCK TABLE), this process's statements to the database at `url` fail at once for as long
    again, rather than each spending a request's time in the same queue; `check` says so. As
    `holding` does for an SQLite file, reads included.

    A wait for one row (a transaction left open on one call's row) fails that statement alone.
    The server names the row it waited for in the error's context, but not for a statement
    queued behind another's wait for the same row: then `table_locked()` asks.
    """
    try:
        yield
    except OperationalError as error:
        budget, cause = _request.get(), error.orig
        if (
            budget is not None
            and isinstance(cause, pg_errors.LockNotAvailable)
            and cause.diag.context is None
            and table_locked()
        ):
            _locked.mark(url, budget.lock_wait)
        raise


def cut_after(waited, key):
    """A wait of `waited` s for the server `key` was cut. When it had at least half the
    request's budget, the server should have answered, if only with its statement timeout: it
    is taken for unreachable, and this process's statements to it fail at once for
    UNREACHABLE_FOR_S. A short wait cut at the end of a budget that a slow statement spent says
    nothing of the server.
    """
    budget = _request.get()
    if budget is not None and waited >= budget.seconds / 2:
        _unreachable.mark(key, UNREACHABLE_FOR_S)


def timed_out(reason):
    """The error for a request whose database time ran out: an outage's (a 503, or a fallback)."""
    return OperationalError(None, None, DeadlinePassed(reason), hide_parameters=True)


class BoundedConnection(psycopg.Connection):
    """A psycopg connection whose waits end at the request's deadline (psycopg pinned: 3.3).

    psycopg waits for the server in `wait` (queries, commits) and in `connect`; a frozen server
    or a proxy that stops forwarding would hold them until the kernel gives up, minutes later.
    A cut wait leaves the protocol mid-exchange: the connection is closed, and the pool drops it
    (SQLAlchemy sees it closed, a disconnect).
    """

    def wait(self, gen, interval=0.1, timeout=None):
        left = remaining()
        if left is None:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, max(left, 0.001))
        except pg_errors._WaitTimeout:
            key = server(self.info.host, self.info.port)
            self.close()
            cut_after(left, key)
            raise pg_errors.ConnectionTimeout("no answer within the request's time") from None

    @classmethod
    def connect(cls, conninfo="", **kwargs):
        """As psycopg's, but the handshake gives up at the request's deadline.

        libpq and psycopg take at least 2 s for `connect_timeout`: too long for a caller.
        Outside a request, psycopg's own connect runs unchanged.
        """
        left = check()
        if left is None:
            return super().connect(conninfo, **kwargs)
        autocommit = kwargs.pop("autocommit", False)
        context = kwargs.pop("context", None)  # SQLAlchemy passes its adapters
        params = cls._get_connection_params(conninfo, **kwargs)
        key = server(params.get("host"), params.get("port"))
        if _unreachable.now(key):
            raise pg_errors.ConnectionTimeout("the server was unreachable a moment ago")
        try:
            connection = waiting.wait_conn(
                cls._connect_gen(psycopg.conninfo.make_conninfo("", **params)),
                interval=0.1,
                timeout=max(left, 0.001),
            )
        except pg_errors._WaitTimeout:
            cut_after(left, key)
            raise pg_errors.ConnectionTimeout("no connection within the request's time") from None
        # What psycopg's connect does after the handshake, for the arguments SQLAlchemy passes.
        connection._autocommit = bool(autocommit)
        if context is not None:
            connection._adapters = AdaptersMap(context.adapters)
        return connection
