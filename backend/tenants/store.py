"""The tenants and catalogs an app serves: loaded at start-up, reloaded live, checked from the CLI.

Start-up stops on an invalid file, except when the Flask CLI builds the app (`flask --app wsgi
...` sets FLASK_RUN_FROM_CLI before it imports wsgi.py): then the valid tenants load and the
refused files are logged, so `tenants check`, `i18n check` and the other commands can run and
say what is wrong (`flask run` too: the development server serves the valid tenants).
`TENANTS_STRICT` in the config overrides that choice.
"""

import logging
import os
from pathlib import Path

from flask import current_app

from backend.logs import log_event
from backend.problems import is_error
from backend.tenants.live import LiveConfiguration


class TenantConfigError(RuntimeError):
    """A tenant file or catalog is invalid; the message lists each `file:line: key: problem`."""


class TenantStore:
    """What the app serves now: `directory` (tenants by id and number) and `catalogs`."""

    def __init__(self, app=None):
        self.live = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        """Load the tenants and catalogs, and reload them on change."""
        self.live = LiveConfiguration(app.config["TENANTS_DIR"], app.config["LOCALES_DIR"])
        problems, _ = self.live.load()
        strict = app.config.get("TENANTS_STRICT", not os.environ.get("FLASK_RUN_FROM_CLI"))
        errors = [p for p in problems if is_error(p)]
        if strict and errors:
            for problem in errors:
                log_event("TENANT_CONFIG_PROBLEM", level=logging.ERROR, problem=str(problem))
            raise TenantConfigError(
                "invalid configuration:\n" + "\n".join(f"  {p}" for p in errors)
            )
        self._log(problems)
        app.extensions["tenants"] = self
        if app.config.get("TENANTS_RELOAD", True):
            app.before_request(self.reload_if_changed)

    @property
    def directory(self):
        """Tenants by id, called number and phone-number id."""
        return self.live.directory

    @property
    def catalogs(self):
        """The catalogs sentences come from."""
        return self.live.catalogs

    def reload_if_changed(self):
        """Before each request: at most once a second, apply the edits saved since."""
        try:
            result = self.live.check()
        except Exception as error:  # noqa: BLE001  (a failed reload must not fail the call)
            log_event(
                "TENANT_CONFIG_RELOAD_FAILED", level=logging.ERROR, exception=type(error).__name__
            )
            return
        if result is None:
            return
        problems, changed = result
        self._log(problems)
        if changed:
            log_event(
                "TENANT_CONFIG_RELOADED",
                tenants=len(self.live.directory),
                refused=sorted(Path(p).name for p in self.live.refused),
            )

    def _log(self, problems):
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
            else:
                # A secret variable not set: served, but the tenant refuses every request.
                log_event("TENANT_CONFIG_PROBLEM", level=logging.WARNING, problem=str(problem))


def tenant_store():
    """The TenantStore of the current app."""
    return current_app.extensions["tenants"]
