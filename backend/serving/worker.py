"""Gunicorn's gthread worker, with each request read whole before a thread takes it.

`make run` and benchmarks/load.py serve with it (`--worker-class backend.serving.worker.
BufferedThreadWorker`). Gunicorn's own gthread worker hands a connection to a thread as soon
as a byte arrives, and the thread then waits for the rest: 4 clients sending a byte a second
held the 4 threads of 2 processes, and nobody else was answered. Here the main loop, which
already polls every connection, reads what arrives without waiting and frames it
(backend/serving/framing.py); a thread gets the request once all of it is here, from memory.
So slow clients cost a buffer each, never a thread, and the app keeps gthread's threads
(the store's calls block, SQLite and psycopg alike: no event loop to stall).

Deadlines, from the moment each part starts to arrive: the head within REQUEST_HEAD_TIMEOUT_S,
the body within BODY_READ_TIMEOUT_S once the head is here (408, JSON, then closed); a client
that ends its side with less body than announced gets 400. Gunicorn's own error answers (a
malformed request line, headers too large...) are JSON too and quote nothing a client sent.
TLS is terminated in front (the load balancer): this worker reads the socket itself.
"""

import errno
import logging
import selectors
import socket
import time
from functools import partial

from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from backend.config import from_environment
from backend.logs import log_event
from backend.serving.answers import answer_to_parse_error, json_answer
from backend.serving.framing import request_framing

_READ_SIZE = 64 * 1024
# Head bytes held at most: gunicorn's own limits (request line 4094, 100 fields of 8190) fit.
_MAX_HEAD = 64 * 1024
# A thread reads nothing from the socket for a request framed here; for one handed over
# unframed (the parser refuses it, or the app refuses a body over the limit from its head),
# this bounds how long the thread may wait on the socket, and on a client not reading
# its answer.
_THREAD_SOCKET_TIMEOUT_S = 2.0
# After a last answer, how long and how much of what a client still sends is read and dropped.
_LINGER_S, _LINGER_MAX_BYTES = 2.0, 4 * 1024 * 1024
# How often the main loop looks for connections past their deadline (it wakes at least once a
# second anyway): deadlines hold to about a second, at no cost per request.
_EXPIRY_CHECK_S = 0.25


class BufferedConn(TConn):
    """A connection and the bytes received on it that no thread has taken yet."""

    def __init__(self, cfg, sock, client, server):
        super().__init__(cfg, sock, client, server)
        self.received = bytearray()
        self.request = None  # the next request's bytes, for the thread that serves it
        self.deadline = 0.0
        self.phase = "idle"  # idle (no byte of a request yet), head, body; linger (closing)
        self.close_after = False
        self.continued = False
        self.drained = 0

    def init(self):
        """In the serving thread: the parser reads the request from memory first."""
        super().init()
        self.data_ready = True
        if self.request is not None:
            self.parser.unreader.unread(self.request)
            self.request = None
        self.sock.settimeout(_THREAD_SOCKET_TIMEOUT_S)


class BufferedThreadWorker(ThreadWorker):
    """gthread, but a thread serves a request only once the main loop has read all of it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.cfg.is_ssl:
            raise RuntimeError("BufferedThreadWorker reads plain sockets: terminate TLS in front")
        settings = from_environment()
        self.head_timeout = settings["REQUEST_HEAD_TIMEOUT_S"]
        self.body_timeout = settings["BODY_READ_TIMEOUT_S"]
        self.max_body = settings["MAX_CONTENT_LENGTH"]
        self.buffering = set()
        self.next_expiry_check = 0.0
        self.stop_capped = False

    def accept(self, listener):
        """A new connection waits in the poller for its first request."""
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = BufferedConn(self.cfg, client_sock, client_addr, listener.getsockname())
        self._await_request(conn, idle_for=self.head_timeout)

    def _await_request(self, conn, idle_for):
        conn.phase, conn.continued = "idle", False
        conn.deadline = time.monotonic() + idle_for
        self.buffering.add(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        if conn.received:  # pipelined: the next request may be here already, whole or not
            self._advance(conn)

    def _on_readable(self, conn, sock):
        try:
            data = sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if conn.phase == "linger":  # answered: what still comes is dropped
            conn.drained += len(data)
            if not data or conn.drained > _LINGER_MAX_BYTES:
                self._drop(conn)
            return
        if not data:  # the client ended its side
            if conn.phase == "body":
                # Cut before the length its Content-Length or its chunks announced.
                self._refuse(conn, 400, "Bad Request", "body shorter than announced")
            else:
                self._drop(conn)
            return
        conn.received += data
        self._advance(conn)

    def _advance(self, conn):
        """Hand the first request over once it is all here (or refuse it)."""
        framing = request_framing(conn.received, self.max_body)
        now = time.monotonic()
        if framing.head_end is None:
            if len(conn.received) > _MAX_HEAD:
                self._refuse(conn, 431, "Request Header Fields Too Large", "headers too large")
            elif conn.phase == "idle":
                conn.phase, conn.deadline = "head", now + self.head_timeout
            return
        if framing.too_large:
            self._refuse(conn, 413, "Content Too Large", f"body larger than {self.max_body} bytes")
            return
        if framing.end is None:
            if conn.phase != "body":
                conn.phase, conn.deadline = "body", now + self.body_timeout
            if framing.expects_continue and not conn.continued:
                conn.continued = True
                self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        if conn in self.buffering:
            self.buffering.discard(conn)
            self.poller.unregister(conn.sock)
        # Unframed, all that came is handed over: the connection closes after this answer.
        end = len(conn.received) if framing.hand_over else framing.end
        conn.request = bytes(conn.received[:end])
        del conn.received[:end]
        conn.close_after = framing.hand_over
        conn.data_ready = True
        self.enqueue_req(conn)

    def handle_request(self, req, conn):
        """In a thread: a request handed over unframed is answered `Connection: close`."""
        if conn.close_after:
            req.must_close = True
        return super().handle_request(req, conn)

    def finish_request(self, conn, fs):
        """Back from a thread: wait for the connection's next request, or close it."""
        try:
            keep = fs.result() if not fs.cancelled() else False
        except Exception:
            keep = False
        if keep is True and not conn.close_after and self.alive and conn.parser is not None:
            try:
                conn.received[:0] = conn.parser.unreader.take_buffered()
                conn.sock.setblocking(False)
            except OSError:
                self._drop(conn)
                return
            self._await_request(conn, idle_for=self.cfg.keepalive)
            return
        self._linger(conn)

    def murder_keepalived(self, force=False):
        """Also close the connections whose request did not arrive in time (408 when begun)."""
        super().murder_keepalived(force)
        now = time.monotonic()
        if not self.alive and not self.stop_capped:
            # Stopping: no connection waits longer than gunicorn's own kept-alive ones do.
            self.stop_capped = True
            for conn in self.buffering:
                conn.deadline = min(conn.deadline, now + STOP_KEEPALIVE_LINGER)
        if now < self.next_expiry_check and not force:
            return
        self.next_expiry_check = now + _EXPIRY_CHECK_S
        for conn in [c for c in self.buffering if force or c.deadline <= now]:
            if conn.phase in ("idle", "linger"):
                self._drop(conn)
            else:
                part = "headers" if conn.phase == "head" else "body"
                self._refuse(conn, 408, "Request Timeout", f"{part} not received in time")

    def _send(self, conn, data):
        try:
            conn.sock.send(data)
        except OSError:
            pass

    def _refuse(self, conn, status, reason, message):
        # The app's event for a request it refuses (the route is not read yet).
        log_event("REQUEST_REJECTED", level=logging.WARNING, status=status, reason=message)
        self._send(conn, json_answer(status, reason, message))
        self._linger(conn)

    def _linger(self, conn):
        """Answered, closing: end our side, then drop what the client still sends for a moment
        (RFC 9112 9.6): closing with its bytes unread would reset the connection, and the
        client could lose the answer. Gunicorn's close_graceful does this blocking."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(conn)
            return
        conn.phase, conn.deadline = "linger", time.monotonic() + _LINGER_S
        conn.received.clear()
        if conn not in self.buffering:
            self.buffering.add(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _drop(self, conn):
        if conn in self.buffering:
            self.buffering.discard(conn)
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        self.nr_conns -= 1
        conn.close()

    def handle_error(self, req, client, addr, exc):
        """Gunicorn's answer to a request it cannot parse, as JSON, quoting nothing sent."""
        answer = answer_to_parse_error(exc)
        if answer is None:
            self.log.exception("Error handling request")
            answer = 500, "Internal Server Error", "internal error"
        else:
            self.log.warning("Invalid request: %s", type(exc).__name__)
        try:
            client.settimeout(0)
            client.send(json_answer(*answer))
        except OSError:
            self.log.debug("Failed to send error message.")
