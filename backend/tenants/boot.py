"""Strict when a server starts, lenient when gunicorn starts a worker while the server runs.

A deploy with a broken tenant file or catalog must not come up half-configured: a server's start
stops on one. Under gunicorn that start is the master's: gunicorn.conf.py's `on_starting` calls
`check_at_start` once, before the master binds or forks, and keeps what it loaded, brought up to
date as a live reload would: every reload interval (`when_ready` starts a thread) and before each
fork (`pre_fork`). Each worker it forks, at start or
later (one killed, out of memory, past max_requests, after a HUP), inherits that and loads the
folders from it as a live reload does (backend/tenants/store.py): a file that broke since is
refused, logged and listed in /readyz, and every other tenant is served. Were a
later worker to apply the strict rule itself, a file the running workers already refuse would
stop every tenant: gunicorn shuts the whole server down when a worker fails to boot.

Without gunicorn.conf.py's master (an app built by tests, another server), create_app applies
the strict rule itself; the Flask CLI is lenient (TENANTS_STRICT).
"""

import os

from backend.problems import is_error
from backend.tenants.live import LiveConfiguration
from backend.tenants.watcher import Watcher


class TenantConfigError(RuntimeError):
    """A tenant file or catalog is invalid; the message lists each `file:line: key: problem`."""

    def __init__(self, errors):
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in errors))
        self.errors = errors


# The master's LiveConfiguration: the last good version (its `served`) the workers it forks
# start from, kept up to date. Inherited by fork only: no other process sees it.
_live = None
_watcher = None  # the master's own reload thread, once started


def check_at_start(tenants_dir, locales_dir):
    """In gunicorn's master, once: TenantConfigError when a tenant file or catalog is invalid.

    Warnings (a secret variable not set) are left to the workers, which log them as they boot.
    """
    global _live
    live = LiveConfiguration(tenants_dir, locales_dir)
    problems, _ = live.load()
    errors = [p for p in problems if is_error(p)]
    if errors:
        raise TenantConfigError(errors)
    _live = live


def refresh_before_fork():
    """In gunicorn's master: the edits since, applied as a live reload applies them (a file
    broken since keeps its last good version), so that a new worker starts from what the
    running ones serve, not from the server's start. Files are read only when their metadata
    changed; a reload that fails keeps what the master had."""
    if _live is None:
        return
    try:
        _live.check()
    except Exception:  # noqa: BLE001  (the worker's own load says what is wrong)
        return


def checked_at_start(tenants_dir, locales_dir):
    """In a worker forked by a master that checked these folders at start: what it loaded, as
    last brought up to date.

    None anywhere else: the app then starts under the strict rule (or the CLI's lenient one).
    """
    live = _live
    if live is None or (live.tenants_dir, live.locales_dir) != (str(tenants_dir), str(locales_dir)):
        return None
    return live.served


def watch_in_master(interval_s):
    """In gunicorn's master once it is ready: the same refresh every `interval_s`, as each worker
    reloads, so that a file edited, then broken, is forked at its edit, not at the start.

    The thread's loads hold the LiveConfiguration's lock, and so does every fork: a worker is
    never forked in the middle of one (with a lock of its own, OpenSSL's for a hash, held by a
    thread that does not exist in the child), and it starts from a whole version.
    """
    global _watcher
    if _live is None or _watcher is not None:
        return
    lock = _live.lock
    os.register_at_fork(
        before=lock.acquire, after_in_parent=lock.release, after_in_child=lock.release
    )
    _watcher = Watcher(refresh_before_fork, interval_s)
    _watcher.ensure_started()
