"""Strict when a server starts, lenient when gunicorn starts a worker while the server runs.

A deploy with a broken tenant file or catalog must not come up half-configured: a server's start
stops on one. Under gunicorn that start is the master's: gunicorn.conf.py's `on_starting` calls
`check_at_start` once, before the master binds or forks, and keeps what it loaded. Each worker
it forks, at start or later (one killed, out of memory, past max_requests, after a HUP), inherits
that and loads the folders from it as a live reload does (backend/tenants/store.py): a file that
broke since is refused, logged and listed in /readyz, and every other tenant is served. Were a
later worker to apply the strict rule itself, a file the running workers already refuse would
stop every tenant: gunicorn shuts the whole server down when a worker fails to boot.

Without gunicorn.conf.py's master (an app built by tests, another server), create_app applies
the strict rule itself; the Flask CLI is lenient (TENANTS_STRICT).
"""

from backend.problems import is_error
from backend.tenants.live import LiveConfiguration


class TenantConfigError(RuntimeError):
    """A tenant file or catalog is invalid; the message lists each `file:line: key: problem`."""

    def __init__(self, errors):
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in errors))
        self.errors = errors


# What gunicorn's master loaded when the server started (a Served): the last good version the
# workers it forks start from. Inherited by fork only, so no other process ever sees it.
_checked_at_start = None


def check_at_start(tenants_dir, locales_dir):
    """In gunicorn's master, once: TenantConfigError when a tenant file or catalog is invalid.

    Warnings (a secret variable not set) are left to the workers, which log them as they boot.
    """
    global _checked_at_start
    live = LiveConfiguration(tenants_dir, locales_dir)
    problems, _ = live.load()
    errors = [p for p in problems if is_error(p)]
    if errors:
        raise TenantConfigError(errors)
    _checked_at_start = live.served


def checked_at_start(tenants_dir, locales_dir):
    """In a worker forked by a master that checked these folders at start: what it loaded.

    None anywhere else: the app then starts under the strict rule (or the CLI's lenient one).
    """
    served = _checked_at_start
    if served is None or (served.tenants_dir, served.locales_dir) != (
        str(tenants_dir),
        str(locales_dir),
    ):
        return None
    return served
