"""`flask tenants check` and `flask tenants preview`: for whoever edits tenant files."""

import click
from flask import current_app
from flask.cli import AppGroup

from backend.operators.checks import check_folder, served_tenant_or_exit, show
from backend.problems import Problem, is_error
from backend.tenants.config import load_tenants_dir
from backend.tenants.store import tenant_store
from backend.wording.catalogs import Catalogs
from backend.wording.preview import preview

tenants_group = AppGroup("tenants", help="Tenant files: check them, preview what the agent says.")


def _tally(problems):
    errors = sum(1 for p in problems if is_error(p))
    return f"{errors} error(s), {len(problems) - errors} warning(s)"


@tenants_group.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check_command(directory):
    """Validate every tenant file of DIRECTORY (default: TENANTS_DIR); exit 1 on any error."""

    def validate(folder):
        catalogs = Catalogs(current_app.config["LOCALES_DIR"])
        tenants, problems = load_tenants_dir(folder, catalogs.variants, catalogs.knows_locale)
        if not current_app.config.get("PUBLIC_BASE_URL"):
            problems += _url_without_public_base(tenants.by_id.values())
        return problems, f"{len(tenants)} tenant(s) valid"

    directory = directory or current_app.config["TENANTS_DIR"]
    check_folder(directory, "tenant files", validate, _tally)


def _url_without_public_base(tenants):
    """A signed {url} is checked against the URL as received: behind a proxy it differs."""
    return [
        Problem(
            t.source,
            t.lines.get("vapi.hmac.payload", 1),
            "vapi.hmac.payload",
            "{url} is checked against the URL this server receives: set PUBLIC_BASE_URL to the "
            "URL Vapi is given when a proxy stands in between",
            severity="warning",
        )
        for t in tenants
        if t.hmac is not None and "{url}" in t.hmac.payload
    ]


@tenants_group.command("preview")
@click.argument("tenant_id")
def preview_command(tenant_id):
    """Print every sentence TENANT_ID's agent can say, in its variant and locale."""
    store = tenant_store()
    tenant = served_tenant_or_exit(store, tenant_id)
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


def init_app(app):
    """Register `flask tenants`."""
    app.cli.add_command(tenants_group)
