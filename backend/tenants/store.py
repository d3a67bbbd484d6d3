"""The tenants and catalogs an app serves: loaded at start-up, reloaded live, checked from the CLI.

Start-up stops on an invalid file, except when the Flask CLI builds the app (`flask --app wsgi
...` sets FLASK_RUN_FROM_CLI before it imports wsgi.py): then the valid tenants load and the
refused files are logged, so `tenants check`, `i18n check` and the other commands can run and
say what is wrong (`flask run` too: the development server serves the valid tenants).
`TENANTS_STRICT` in the config overrides that choice. Under gunicorn the server's start is
checked once, in its master, and its workers load as a live reload does
(backend/tenants/boot.py).
"""

import logging
import os
import time
from pathlib import Path

from flask import current_app, g, has_request_context

from backend.logs import log_event
from backend.metrics.families import count_reload
from backend.problems import is_error
from backend.tenants.boot import TenantConfigError, checked_at_start
from backend.tenants.live import LiveConfiguration
from backend.tenants.watcher import Watcher

# How often each process looks at the files' metadata: a saved edit applies within this delay.
RELOAD_INTERVAL_S = 1.0


class TenantStore:
    """What the app serves now: `directory` (tenants by id and number) and `catalogs`.

    A request reads one version throughout: the one served when it started, whatever a reload
    swaps in meanwhile. Reloads run in a thread of each process (backend/tenants/watcher.py).
    """

    def __init__(self, app=None):
        self.live = None
        self.watcher = None
        self._unsaid = []  # start-up warnings a CLI-built app says when it serves
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        """Load the tenants and catalogs, and reload them on change."""
        self.live = LiveConfiguration(app.config["TENANTS_DIR"], app.config["LOCALES_DIR"])
        # A gunicorn worker: its master checked the server's start. What the master loaded is
        # the last good version, and this load refuses what broke since, as a reload does.
        started = checked_at_start(self.live.tenants_dir, self.live.locales_dir)
        if started is not None:
            self.live.served = started
        problems = self._first_load(started)
        strict = app.config["TENANTS_STRICT"]
        errors = [p for p in problems if is_error(p)]
        if strict and errors and started is None:
            for problem in errors:
                log_event("TENANT_CONFIG_PROBLEM", level=logging.ERROR, problem=str(problem))
            raise TenantConfigError(errors)
        # Built by the Flask CLI, the app runs a command: a warning about serving (an unset
        # secret) would precede every command's output, and `tenants check` says it. Under
        # `flask run`, which serves, it is said at the first request.
        self._log(problems, warnings=strict)
        if not strict:
            self._unsaid = [p for p in problems if not is_error(p)]
            app.before_request(self._say_serving_warnings)
        app.extensions["tenants"] = self
        app.before_request(self.pin_served)
        if app.config.get("TENANTS_RELOAD", True):
            interval = app.config.get("CONFIG_RELOAD_INTERVAL_S", RELOAD_INTERVAL_S)
            self.watcher = Watcher(self.reload_if_changed, interval)
            # Started by a request, not here: a thread started before gunicorn forks its
            # workers (--preload) would not run in them.
            app.before_request(self.watcher.ensure_started)

    def _first_load(self, started):
        """The problems of the first load. In a worker of a checking master, a load that fails
        outright keeps what the master loaded: a worker that cannot boot stops the whole server."""
        try:
            return self.live.load()[0]
        except Exception as error:  # noqa: BLE001  (as a failed reload: serve the last good)
            if started is None:
                raise
            self.live.served = started
            log_event(
                "TENANT_CONFIG_RELOAD_FAILED", level=logging.ERROR, exception=type(error).__name__
            )
            return []

    def _say_serving_warnings(self):
        unsaid, self._unsaid = self._unsaid, []
        self._log(unsaid)

    @property
    def served(self):
        """What this request reads (the version of its start), else what is served now."""
        if not has_request_context():
            return self.live.served
        return g.setdefault("tenants_served", self.live.served)

    def pin_served(self):
        """At request start: take the one reference to what this request reads throughout."""
        g.setdefault("tenants_served", self.live.served)  # returns None: Flask goes on

    @property
    def directory(self):
        """Tenants by id, called number and phone-number id."""
        return self.served.directory

    @property
    def catalogs(self):
        """The catalogs sentences come from."""
        return self.served.catalogs

    def reload_if_changed(self):
        """In the reload thread: apply the edits saved since the last check."""
        try:
            started = time.perf_counter()
            before = self.live.served
            result = self.live.check()
            if result is None:
                return
            problems, changed = result
            self._log(problems)
            self._count(before, self.live.served, problems)
        except Exception as error:  # noqa: BLE001  (a failed reload must not stop the reloads)
            log_event(
                "TENANT_CONFIG_RELOAD_FAILED", level=logging.ERROR, exception=type(error).__name__
            )
            return
        if changed:
            log_event(
                "TENANT_CONFIG_RELOADED",
                tenants=len(self.live.directory),
                refused=sorted(Path(p).name for p in self.live.refused),
                config=self.live.fingerprint,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                worker=os.getpid(),
            )

    @staticmethod
    def _count(before, after, problems):
        """Metrics: the tenant files and catalogs this reload applied, and the edits it refused
        (each once, as logged: `problems` are the ones not reported before)."""
        refused = {p.file for p in problems if is_error(p)}
        catalogs_refused = {file for file in refused if file.startswith(after.locales_dir)}
        count_reload("catalog", False, len(catalogs_refused))
        count_reload("tenant", False, len(refused - catalogs_refused))
        old_entries = before.catalogs.entries if before.catalogs is not None else None
        count_reload("catalog", True, int(after.catalogs.entries != old_entries))
        applied = [
            path
            for path, tenant in after.tenants.items()
            if path not in after.refused and before.tenants.get(path) != tenant
        ]
        count_reload("tenant", True, len(applied))

    def _log(self, problems, warnings=True):
        for problem in problems:
            if is_error(problem):
                log_event(
                    "TENANT_CONFIG_REJECTED",
                    level=logging.WARNING,
                    file=problem.file,
                    line=problem.line,
                    key=problem.key,
                    problem=problem.message,
                    still_serving=self.live.serving_refused(problem.file),
                )
            elif warnings:
                # A secret variable not set: served, but the tenant refuses every request.
                log_event("TENANT_CONFIG_PROBLEM", level=logging.WARNING, problem=str(problem))


def tenant_store():
    """The TenantStore of the current app."""
    return current_app.extensions["tenants"]
