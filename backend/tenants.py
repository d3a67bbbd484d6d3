"""The tenants and catalogs an app serves, loaded at start-up; start-up stops on an invalid file."""

from flask import current_app

from .i18n import Catalogs
from .logs import log_event
from .tenant_config import load_tenants_dir


class TenantConfigError(RuntimeError):
    """A tenant file or catalog is invalid; the message lists each `file:line: key: problem`."""


def load_configuration(tenants_dir, locales_dir):
    """(TenantDirectory, Catalogs, [problems]) for two folders."""
    catalogs = Catalogs(locales_dir)
    directory, problems = load_tenants_dir(tenants_dir, catalogs.variants, catalogs.knows_locale)
    return directory, catalogs, list(catalogs.problems) + problems


class TenantStore:
    """What the app serves now: `directory` (tenants by id and number) and `catalogs`."""

    def __init__(self, app=None):
        self.directory = None
        self.catalogs = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        directory, catalogs, problems = load_configuration(
            app.config["TENANTS_DIR"], app.config["LOCALES_DIR"]
        )
        errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
        for problem in problems:
            log_event(
                "TENANT_CONFIG_PROBLEM", level=30 if problem in errors else 20, problem=str(problem)
            )
        if errors:
            raise TenantConfigError(
                "invalid configuration:\n" + "\n".join(f"  {p}" for p in errors)
            )
        self.directory, self.catalogs = directory, catalogs
        app.extensions["tenants"] = self


def tenant_store():
    """The TenantStore of the current app."""
    return current_app.extensions["tenants"]
