"""`flask i18n check`: what translators run before shipping a catalog."""

import click
from flask import current_app
from flask.cli import AppGroup

from backend.operators.checks import check_folder
from backend.wording.catalogs import Catalogs

i18n_group = AppGroup("i18n", help="Translation catalogs (see docs/translators.md).")


def _validate(directory):
    catalogs = Catalogs(directory)
    return catalogs.problems + catalogs.gaps, f"{len(catalogs.entries)} catalog(s)"


@i18n_group.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check_command(directory):
    """Check every catalog of DIRECTORY (default: LOCALES_DIR); exit 1 on any problem.

    Fails on a dropped or renamed {placeholder}, a fuzzy or empty entry, an entry for a sentence
    that no longer exists, a sentence missing from a standard catalog (nothing to fall back on),
    and a translation of a source text that has changed since.
    """
    directory = directory or current_app.config["LOCALES_DIR"]
    # Every catalog problem is an error: a gap is served from the source text, but not shipped.
    check_folder(directory, "catalogs", _validate, lambda found: f"{len(found)} problem(s)")


def init_app(app):
    """Register `flask i18n`."""
    app.cli.add_command(i18n_group)
