"""Write-behind for the captures no answer waits on: queued per process, written in batches.

Vapi ignores what we answer to a status-update, a speech-update or a conversation-update, and the
call's later messages carry the caller's number again. So such a message only queues its
capture, and one thread per process writes what queued within LINGER_S in one transaction: one
commit (PostgreSQL: one round trip) for many messages instead of one each. Captures an answer
depends on (assistant-request, tool-calls, chat completions) and a call's last messages are
written before answering, as before. The queue is bounded: when full, a request writes its own
capture. Queued captures are written before the process exits; a killed process loses them, and
the call's next message brings its number again.
"""

import atexit
import os
import queue
import threading
import weakref

from flask import current_app

from .calls import capture_caller_numbers
from .db import DATABASE_UNAVAILABLE_ERRORS
from .logs import log_event

BATCH_SIZE = 64
# After a capture arrives, the writer waits this long for others to write with it. Each batch has
# a fixed cost (a transaction, PostgreSQL's round trip, the thread waking): under load without the
# wait, batches held 3 to 5 captures and the writer spent 95 to 115 us of CPU per capture; with
# it, about 20 captures and 40 (PostgreSQL) to 60 us (SQLite). Nothing waits for these rows but
# the call's later messages, which carry the number again.
LINGER_S = 0.005
IDLE_EXIT_S = 1.0  # an idle writer thread ends; the next capture starts another
EXIT_FLUSH_S = 5.0


class CaptureWriter:
    """One app's queue of captures in this process, and the thread that writes them."""

    def __init__(self, app, size):
        self.app, self.size = app, size
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()  # queueing and the thread's start and end, together
        self._queued = 0
        self._hurry = threading.Event()  # set: write without waiting for more (LINGER_S)
        self._thread, self._pid = None, None

    def offer(self, capture, on_stored):
        """Queue `capture` (tenant, call, number, msg_type); False when full: write it yourself.

        `on_stored(capture)` runs in the writer thread once the capture stored its number.
        """
        with self._lock:
            if self._queued >= self.size:
                return False
            if not self._running_here():
                self._thread = threading.Thread(target=self._run, name="capture-writer")
                self._thread.daemon = True  # atexit flushes it first
                self._pid = os.getpid()
                self._thread.start()
            self._queued += 1
            self._queue.put((capture, on_stored))
            if self._queued >= self.size:
                self._hurry.set()
        return True

    def flush(self, timeout=EXIT_FLUSH_S):
        """Wait until every capture queued so far is written or given up; False on timeout."""
        with self._lock:
            if not self._running_here():
                return True
            done = threading.Event()
            self._queue.put(done)
            self._hurry.set()
        return done.wait(timeout)

    def _running_here(self):
        # A thread started before this process was forked does not run in it.
        return self._thread is not None and self._pid == os.getpid()

    def _run(self):
        while True:
            batch, flushes = self._next_batch()
            if batch is None:
                return
            if batch:
                self._write(batch)
            for done in flushes:
                done.set()

    def _next_batch(self):
        """(captures, flush events) queued within LINGER_S of the first; None: idle."""
        try:
            item = self._queue.get(timeout=IDLE_EXIT_S)
        except queue.Empty:
            with self._lock:
                if self._queue.empty():
                    self._thread = None
                    return None, []
            item = self._queue.get()
        if not isinstance(item, threading.Event):
            # Others queue meanwhile. One wait per batch: waking for each capture would cost
            # the GIL back and forth with the request threads.
            self._hurry.wait(LINGER_S)
        self._hurry.clear()  # a flush or a full queue from now on cuts the next wait short
        batch, flushes = [], []
        while True:
            if isinstance(item, threading.Event):
                flushes.append(item)
            else:
                batch.append(item)
            if len(batch) == BATCH_SIZE:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        with self._lock:
            self._queued -= len(batch)
        return batch, flushes

    def _write(self, batch):
        captures = [capture for capture, _ in batch]
        try:
            with self.app.app_context():
                stored = capture_caller_numbers([(t.id, c, n, m) for t, c, n, m in captures])
                for (capture, on_stored), stored_now in zip(batch, stored, strict=True):
                    if stored_now:
                        on_stored(capture)
        except Exception as error:  # noqa: BLE001  (the thread must outlive any one batch)
            unavailable = isinstance(error, DATABASE_UNAVAILABLE_ERRORS)
            log_event(
                "DATABASE_UNAVAILABLE" if unavailable else "CAPTURES_NOT_WRITTEN",
                level=40,
                exception=type(error).__name__,
                captures_lost=len(batch),
            )


_WRITERS = weakref.WeakSet()


@atexit.register
def _flush_every_writer():
    # gunicorn's workers exit through sys.exit, which runs atexit: a graceful stop or restart
    # writes what its worker queued.
    for writer in list(_WRITERS):
        writer.flush()


def init_app(app):
    """Give `app` its capture queue: at most CAPTURE_QUEUE_SIZE captures (0: none queued)."""
    size = app.config["CAPTURE_QUEUE_SIZE"]
    if size < 0:
        raise ValueError("CAPTURE_QUEUE_SIZE must be 0 or more")
    writer = CaptureWriter(app, size)
    app.extensions["capture_writer"] = writer
    _WRITERS.add(writer)


def queue_capture(capture, on_stored):
    """Queue a capture with the current app's writer; False when it must be written now."""
    return current_app.extensions["capture_writer"].offer(capture, on_stored)


def flush_captures(app):
    """Wait until `app`'s queued captures are written or given up; False on timeout."""
    return app.extensions["capture_writer"].flush()
