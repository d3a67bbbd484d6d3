"""A database out of reach for a while, then back, for in-process tests on either database.

    with database_down(app):
        ...  # every statement the app runs fails as an unreachable database's would

Real failures, not stubs. SQLite: the file is moved away and a folder takes its place, so
the app's connections fail (its check that the path still names the file it opened answers
first; SQLite would say "unable to open database file"). PostgreSQL: another session locks the calls
(and seen_signatures) table, so each statement stops at the app's statement timeout. A missing
table is no outage: the app reads it as a schema not upgraded (tests/test_readiness.py).
"""

import select
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.store.db import db
from tests.servers import free_port

LOCK_HELD_AT_MOST_S = 30  # released by the test, or by itself so the suite never hangs


@contextmanager
def database_down(app):
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        with _sqlite_unreadable(app, Path(url.database)):
            yield
    else:
        with calls_table_locked(url):
            yield
        # The process takes the database for locked for as long as a statement's lock wait
        # after one outlasted it (backend/store/deadline.py): then it is back.
        time.sleep(app.config["DATABASE_BUSY_TIMEOUT_MS"] / 1000 + 0.1)


@contextmanager
def _sqlite_unreadable(app, path):
    def close_pooled_connections():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    close_pooled_connections()
    away = path.with_name(path.name + ".away")
    path.rename(away)
    path.mkdir()
    try:
        yield
    finally:
        close_pooled_connections()
        path.rmdir()
        away.rename(path)


@contextmanager
def calls_table_locked(
    url, tables="calls, seen_signatures, ended_sessions", mode="ACCESS EXCLUSIVE"
):
    """Another session holds an exclusive lock on the app's tables (or `tables`, in `mode`:
    EXCLUSIVE lets reads go on) until the block ends."""
    locked, done = threading.Event(), threading.Event()

    def hold_lock():
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text(f"LOCK TABLE {tables} IN {mode} MODE"))
                locked.set()
                done.wait(timeout=LOCK_HELD_AT_MOST_S)
                connection.rollback()
        finally:
            locked.set()
            engine.dispose()

    locker = threading.Thread(target=hold_lock)
    locker.start()
    try:
        assert locked.wait(timeout=LOCK_HELD_AT_MOST_S), "the calls table was not locked"
        yield
    finally:
        done.set()
        locker.join(timeout=LOCK_HELD_AT_MOST_S)


@contextmanager
def call_row_held(url, call_id):
    """Another session holds the lock on one call's row (SELECT ... FOR UPDATE, a transaction
    left open) until the block ends."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = text("SELECT 1 FROM calls WHERE call_id = :call_id FOR UPDATE")
            assert connection.execute(row, {"call_id": call_id}).first(), "no such call"
            yield
            connection.rollback()
    finally:
        engine.dispose()


class FaultProxy:
    """A TCP proxy of the tests' own between the app and PostgreSQL, on 127.0.0.1, that fails
    on command as a network or a database server does:

        with FaultProxy(5432) as proxy:        # url = proxy.url_for(postgres_url)
            proxy.freeze()    # nothing forwarded, new connections accepted by the kernel and held
            proxy.cut()       # every open connection closed mid-stream (a query in flight too)
            proxy.refuse()    # connections refused, open ones closed (the server is down)
            proxy.restore()   # forwards again; held bytes and connections go through

    One thread relays every connection with select(); commands wait until it applied them.
    """

    TICK_S = 0.02

    @classmethod
    def before(cls, url):
        """A proxy to the server of the database URL `url`."""
        parsed = make_url(url)
        return cls(parsed.port or 5432, parsed.host or "127.0.0.1")

    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.listener = None
        self.pairs = {}  # socket -> the socket it relays to
        self.frozen = False
        self.commands = []  # (what, done event): applied by the relay thread
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._relay, daemon=True)

    def url_for(self, url):
        """`url` (a PostgreSQL URL on the proxied host and port) through this proxy."""
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(False)

    def freeze(self):
        self._command("freeze")

    def cut(self):
        self._command("cut")

    def refuse(self):
        self._command("refuse")

    def restore(self):
        self._command("restore")

    def __enter__(self):
        self._listen()
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.stopping.set()
        self.thread.join(timeout=5)
        self._close_all()
        if self.listener is not None:
            self.listener.close()

    def _command(self, what):
        done = threading.Event()
        with self.lock:
            self.commands.append((what, done))
        assert done.wait(timeout=5), f"the proxy did not {what}"

    def _listen(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.listener = listener

    def _close_all(self):
        for sock in list(self.pairs):
            sock.close()
        self.pairs.clear()

    def _apply(self, what):
        if what == "freeze":
            self.frozen = True
        elif what == "cut":
            self._close_all()
        elif what == "refuse":
            self._close_all()
            if self.listener is not None:
                self.listener.close()
                self.listener = None
        elif what == "restore":
            self.frozen = False
            if self.listener is None:
                self._listen()

    def _relay(self):
        while not self.stopping.is_set():
            with self.lock:
                commands, self.commands = self.commands, []
            for what, done in commands:
                self._apply(what)
                done.set()
            if self.frozen:
                time.sleep(self.TICK_S)
                continue
            watched = list(self.pairs) + ([self.listener] if self.listener else [])
            try:
                readable, _, _ = select.select(watched, [], [], self.TICK_S)
            except (OSError, ValueError):  # a socket closed meanwhile
                continue
            for sock in readable:
                if sock is self.listener:
                    self._accept()
                elif sock in self.pairs:
                    self._forward(sock)

    def _accept(self):
        client, _ = self.listener.accept()
        try:
            server = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()
            return
        self.pairs[client], self.pairs[server] = server, client

    def _forward(self, sock):
        other = self.pairs[sock]
        try:
            data = sock.recv(65536)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        for end in (sock, other):
            self.pairs.pop(end, None)
            end.close()


@contextmanager
def sqlite_write_locked(path, mode="IMMEDIATE"):
    """Another connection holds the SQLite file's write lock (BEGIN IMMEDIATE, or `mode`:
    EXCLUSIVE) until the block ends, as a long write of another process would; readers go on
    (WAL)."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute(f"BEGIN {mode}")
        yield
    finally:
        connection.close()  # rolls the open transaction back
