"""`flask i18n check`: what translators run before shipping a catalog."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from backend.tenants.store import show, shown
from backend.wording.catalogs import Catalogs

i18n_group = AppGroup("i18n", help="Translation catalogs (see docs/translators.md).")


@i18n_group.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check_command(directory):
    """Check every catalog of DIRECTORY (default: LOCALES_DIR); exit 1 on any problem.

    Fails on a dropped or renamed {placeholder}, a fuzzy or empty entry, an entry for a sentence
    that no longer exists, and a sentence missing from a standard catalog (nothing to fall back on).
    """
    directory = directory or current_app.config["LOCALES_DIR"]
    if not Path(directory).is_dir():
        click.echo(f"{shown(directory)}:1: (folder): not a folder of catalogs")
        raise SystemExit(1)
    catalogs = Catalogs(directory)
    problems = catalogs.problems + catalogs.gaps
    for problem in sorted(problems, key=lambda p: (p.file, p.line)):
        click.echo(show(problem))
    click.echo(
        f"{len(catalogs.entries)} catalog(s) in {shown(directory)}: {len(problems)} problem(s)"
    )
    if problems:
        raise SystemExit(1)


def init_app(app):
    """Register `flask i18n`."""
    app.cli.add_command(i18n_group)
