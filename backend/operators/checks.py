"""What the `check` commands share: validate a folder, print its problems, exit 1 on errors."""

import os
from pathlib import Path

import click

from backend.logs import client_identifier
from backend.problems import fails_check


def shown(path):
    """A path as the operator typed it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def show(problem):
    """`file:line: key: problem`, the file relative to the current folder."""
    return str(problem).replace(problem.file, shown(problem.file), 1)


def check_folder(directory, holding, validate, tally):
    """Validate a folder and print `file:line: key: problem` sorted, then a summary line.

    `holding` names what the folder holds ("tenant files"); `validate(directory)` returns
    ([Problem], what validated: "2 tenant(s) valid"); `tally([Problem])` counts them for the
    summary. Exits 1 when the folder is not one, or on any error.
    """
    if not Path(directory).is_dir():
        click.echo(f"{shown(directory)}:1: (folder): not a folder of {holding}")
        raise SystemExit(1)
    problems, validated = validate(directory)
    for problem in sorted(problems, key=lambda p: (p.file, p.line)):
        click.echo(show(problem))
    click.echo(f"{validated} in {shown(directory)}: {tally(problems)}")
    if any(fails_check(p) for p in problems):
        raise SystemExit(1)


def served_tenant_or_exit(store, tenant_id):
    """The tenant `store` serves as `tenant_id`; else its problems on stderr, and exit 1.

    On stderr: a command's stdout holds only its data, so `> file` never saves an error.
    """
    tenant = store.directory.get(tenant_id)
    if tenant is None:
        named = client_identifier(tenant_id)  # a number typed by mistake is not repeated
        click.echo(f"No valid tenant {named!r} in {shown(store.live.tenants_dir)}.", err=True)
        for problems in store.live.refused.values():
            for problem in problems:
                click.echo(show(problem), err=True)
        raise SystemExit(1)
    return tenant
