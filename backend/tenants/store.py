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

import click
from flask import current_app
from flask.cli import AppGroup

from backend.logs import log_event
from backend.tenants.config import load_tenants_dir
from backend.tenants.live import LiveConfiguration, is_error
from backend.wording.catalogs import Catalogs
from backend.wording.preview import preview


class TenantConfigError(RuntimeError):
    """A tenant file or catalog is invalid; the message lists each `file:line: key: problem`."""


class TenantStore:
    """What the app serves now: `directory` (tenants by id and number) and `catalogs`."""

    def __init__(self, app=None):
        self.live = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        """Load the tenants and catalogs, reload them on change, register `flask tenants`."""
        self.live = LiveConfiguration(app.config["TENANTS_DIR"], app.config["LOCALES_DIR"])
        problems, _ = self.live.load()
        strict = app.config["TENANTS_STRICT"]
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
        app.cli.add_command(tenants_group)

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


def shown(path):
    """A path as the operator typed it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def show(problem):
    """`file:line: key: problem`, the file relative to the current folder."""
    return str(problem).replace(problem.file, shown(problem.file), 1)


tenants_group = AppGroup("tenants", help="Tenant files: check them, preview what the agent says.")


@tenants_group.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check_command(directory):
    """Validate every tenant file of DIRECTORY (default: TENANTS_DIR); exit 1 on any error."""
    directory = directory or current_app.config["TENANTS_DIR"]
    if not Path(directory).is_dir():
        click.echo(f"{shown(directory)}:1: (folder): not a folder of tenant files")
        raise SystemExit(1)
    catalogs = Catalogs(current_app.config["LOCALES_DIR"])
    tenants, problems = load_tenants_dir(directory, catalogs.variants, catalogs.knows_locale)
    for problem in sorted(problems, key=lambda p: (p.file, p.line)):
        click.echo(show(problem))
    errors = sum(1 for p in problems if is_error(p))
    warnings = len(problems) - errors
    click.echo(
        f"{len(tenants)} tenant(s) valid in {shown(directory)}: "
        f"{errors} error(s), {warnings} warning(s)"
    )
    if errors:
        raise SystemExit(1)


@tenants_group.command("preview")
@click.argument("tenant_id")
def preview_command(tenant_id):
    """Print every sentence TENANT_ID's agent can say, in its variant and locale."""
    store = tenant_store()
    tenant = store.directory.get(tenant_id)
    if tenant is None:
        # On stderr: stdout holds only a preview, so `> preview.txt` never saves an error.
        click.echo(f"No valid tenant {tenant_id!r} in {shown(store.live.tenants_dir)}.", err=True)
        for problems in store.live.refused.values():
            for problem in problems:
                click.echo(show(problem), err=True)
        raise SystemExit(1)
    example, sentences = preview(tenant, store.catalogs)
    click.echo(
        f"{tenant.id} ({tenant.name}): locale {tenant.locale}, variant {tenant.variant}, "
        f"reads {tenant.spoken_digits} digit(s), logs {tenant.logged_digits}"
    )
    click.echo(f"Example caller number: {example}")
    for problem in store.live.catalog_refusal:
        click.echo(f"Catalog problem (a running service refuses this edit): {show(problem)}")
    for key, origin, sentence in sentences:
        click.echo(f"\n{key}  [{origin or 'source text, backend/prompts.py'}]\n  {sentence}")
