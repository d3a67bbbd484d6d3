"""`flask vapi config TENANT`: the JSON to give Vapi for a tenant (docs/vapi-setup.md)."""

import json

import click
from flask import current_app
from flask.cli import AppGroup

from backend.operators.checks import served_tenant_or_exit
from backend.operators.options import Choice
from backend.operators.vapi_config import vapi_config
from backend.tenants.store import tenant_store

vapi_group = AppGroup("vapi", help="What to set in Vapi for a tenant.")


@vapi_group.command("config")
@click.argument("tenant_id")
@click.option(
    "--mode",
    type=Choice(["custom-llm", "tool"]),
    default="custom-llm",
    show_default=True,
    help="custom-llm: this server is the model; tool: Vapi's model calls the contact tool.",
)
@click.option(
    "--with-secret",
    is_flag=True,
    help="Put the tenant's secret in the output (from its variable) instead of a placeholder.",
)
@click.option(
    "--no-safety-net",
    is_flag=True,
    help="Tool mode: leave out the system-prompt line that gives the model the caller's number.",
)
def config_command(tenant_id, mode, with_secret, no_safety_net):
    """Print, as JSON, what to create in Vapi for TENANT_ID: credential, phone number, assistant.

    URLs start with PUBLIC_BASE_URL. Without --with-secret the secret is a placeholder naming
    its variable: the output can be shared without it.
    """
    store = tenant_store()
    tenant = served_tenant_or_exit(store, tenant_id)
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        click.echo("Set PUBLIC_BASE_URL to the URL Vapi reaches this server at.", err=True)
        raise SystemExit(1)
    secret = f"<value of {tenant.secret_env}>"
    if with_secret:
        if not tenant.secret:
            click.echo(f"{tenant.secret_env} is not set in this environment.", err=True)
            raise SystemExit(1)
        secret = tenant.secret
    output = vapi_config(tenant, store.catalogs, base, secret, mode, not no_safety_net)
    click.echo(json.dumps(output, ensure_ascii=False, indent=2))


def init_app(app):
    """Register `flask vapi`."""
    app.cli.add_command(vapi_group)
