"""The contacts of a tenant's calls, for operators: `flask contacts export`.

The export is the one place outside the database that holds full phone numbers: it is written
for the business, on the operator's command. Logs still mask them.
"""

import csv
import io
import itertools
import json
import re
from datetime import datetime

import click
from flask.cli import AppGroup

from backend.logs import client_identifier, log_event
from backend.operators.options import Choice
from backend.store.db import says_database_errors
from backend.store.models import as_utc
from backend.store.reports import contact_calls, has_calls
from backend.tenants.store import tenant_store

COLUMNS = (
    "tenant",
    "call_id",
    "contact_number",
    "contact_source",
    "confirmed_at",
    "state",
    "ended_reason",
    "created_at",
)


def _iso(moment):
    return as_utc(moment).isoformat() if moment else None


def contact_rows(tenant_id, since=None):
    """One dict per call of the tenant where the contact step ran, oldest first.

    `since` (aware datetime) keeps calls confirmed since then, or created since then when
    no number was confirmed.
    """
    for call in contact_calls(tenant_id, since):
        yield {
            "tenant": call.tenant_id,
            "call_id": call.call_id,
            "contact_number": call.contact_number,
            "contact_source": call.contact_source,
            "confirmed_at": _iso(call.contact_confirmed_at),
            "state": call.state,
            "ended_reason": call.ended_reason,
            "created_at": _iso(call.created_at),
        }


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's "CSV injection"):
# text a client sent (a call id, Vapi's ended reason) could start so, after spaces too, or with
# their full-width forms. A plain number, an E.164 number included, is data and stays as it is.
_FORMULA_CHARACTERS = "=+-@\uff1d\uff0b\uff0d\uff20"
_FORMULA_START = (*_FORMULA_CHARACTERS, "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
# A French spreadsheet splits a line on `;`, quotes or not (only a field's first character opens
# them): in `hangup;=cmd|...` the text after the `;` is a cell of its own, and after a line
# break a row of its own. Text after a `;`, `,`, tab or line break that would start a formula
# gets the same ' as a cell's start.
_FORMULA_AFTER_SEPARATOR = re.compile(
    rf"([;,\t\r\n][ \u00a0\u3000]*)(?=[{re.escape(_FORMULA_CHARACTERS)}])"
)


def _cell(value):
    if not isinstance(value, str):
        return "" if value is None else value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    value = _FORMULA_AFTER_SEPARATOR.sub(r"\1'", value)
    if value.lstrip(" \u00a0\u3000").startswith(_FORMULA_START):
        return "'" + value  # shown as text, never run
    return value


def csv_line(values):
    """One CSV line (RFC 4180 quoting, \\r\\n ends); text a spreadsheet would run, read with `,`
    or `;` between cells, is prefixed with '."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(v) for v in values])
    return buffer.getvalue()


def parse_since(value):
    """An ISO date or date-time as aware UTC (a date is its midnight UTC; no zone means UTC)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(
            "must be an ISO date or date-time, like 2026-11-24 or 2026-11-24T09:00:00+01:00"
        ) from error
    try:
        return as_utc(moment)
    except OverflowError as error:  # 9999-12-31T23:59-01:00 is past year 9999 in UTC
        raise click.BadParameter("is out of the years 1 to 9999 once in UTC") from error


contacts_cli = AppGroup(
    "contacts", help="The calls' contacts, confirmed or not, full numbers included (personal data)."
)


@contacts_cli.command("export")
@click.option("--tenant", "tenant_id", required=True, help="Tenant id, as in its YAML file.")
@click.option(
    "--since",
    metavar="DATE",
    help="Only calls confirmed (unconfirmed: created) at or after this ISO date or date-time, UTC.",
)
@click.option(
    "--format",
    "output_format",
    type=Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
)
@says_database_errors
def export_command(tenant_id, since, output_format):
    """Write a tenant's call contacts to stdout, FULL PHONE NUMBERS INCLUDED.

    One row per call where the contact step ran: tenant, call_id, contact_number,
    contact_source (caller_id or spoken), confirmed_at, state, ended_reason, created_at.
    The output is personal data (RGPD): sending it only to the business it belongs to, and
    keeping or deleting it safely, is the operator's job.
    """
    since_moment = parse_since(since) if since else None
    rows = contact_rows(tenant_id, since_moment)
    # Read before anything is written: a database error then leaves stdout empty, not a header
    # that `> contacts.csv` would keep as an export with no contact.
    first = next(rows, None)
    if tenant_store().directory.get(tenant_id) is None:
        named = client_identifier(tenant_id)  # a number typed by mistake is not repeated
        # A tenant removed from the folder keeps its stored calls until they are purged: its
        # business may still need them. An id that never stored any is a typo.
        if first is None and not has_calls(tenant_id):
            raise click.BadParameter(
                f"no tenant {named!r} in the tenants folder, nor any call stored for it",
                param_hint="--tenant",
            )
        click.echo(
            f"tenant {named!r} is not served (its file removed, or refused): its calls follow",
            err=True,
        )
    rows = itertools.chain([first] if first else [], rows)
    if output_format == "csv":
        click.echo(csv_line(COLUMNS), nl=False)
    count = 0
    for row in rows:
        if output_format == "csv":
            click.echo(csv_line(row[c] for c in COLUMNS), nl=False)
        else:
            click.echo(json.dumps(row, ensure_ascii=False))
        count += 1
    log_event("CONTACTS_EXPORTED", tenant=tenant_id, rows=count, format=output_format)


def init_app(app):
    """Register `flask contacts export`."""
    app.cli.add_command(contacts_cli)
