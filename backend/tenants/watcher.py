"""The thread that applies saved tenant and catalog edits, so no caller's request waits on one.

One per process, started by the first request the process serves: a thread does not survive a
fork, so under gunicorn each worker starts its own, with `--preload` (the app built in the
master, then forked) as without (the app built in each worker). A CLI command serves no request
and starts none. A daemon thread: it ends with its process, and also once its app is gone, as
it holds its store only by a weak reference between two checks. Gunicorn's master runs one too,
on a plain function (backend/tenants/boot.py).
"""

import inspect
import threading
import time
import weakref

from backend.process import current_pid


class Watcher:
    """Calls `check` every `interval` seconds in a daemon thread of its own; a bound method is
    held weakly (its app may go), a plain function for good."""

    def __init__(self, check, interval):
        self._check = weakref.WeakMethod(check) if inspect.ismethod(check) else lambda: check
        self.interval = float(interval)
        self.checks = 0  # checks done in this process, for whoever waits for the first one
        self.thread = None
        self._pid = None  # the process that started `thread`
        self._lock = threading.Lock()

    def ensure_started(self):
        """Start the thread if this process has none yet; never waits for a check."""
        if self._pid == current_pid():
            return
        with self._lock:
            if self._pid == current_pid():
                return
            self.thread = threading.Thread(
                target=self._run,
                name="tenant-config-reload",
                daemon=True,
            )
            self.thread.start()
            self._pid = current_pid()

    def stop(self):
        """End the thread at its next look, whether or not its app is gone."""
        self._check = lambda: None

    def _run(self):
        """Check at once (a late-forked worker may hold an old copy), then every `interval`."""
        while (check := self._check()) is not None:
            check()
            self.checks += 1
            del check  # between checks only the weak reference remains: the app may go
            time.sleep(self.interval)
