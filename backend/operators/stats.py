"""`flask stats`: what the contact step achieved, per tenant and per day (UTC).

The rows come from backend/stats/outcomes.py; this module only prints them. No phone number
is read: the output can go to the business or a dashboard as it is.
"""

import json

import click
from flask.cli import with_appcontext

from backend.logs import client_identifier
from backend.operators.contacts import csv_line, parse_since
from backend.operators.options import Choice
from backend.stats.outcomes import COLUMNS, daily_outcomes
from backend.store.db import says_database_errors
from backend.tenants.store import tenant_store

# Text table: (heading, value of a DayOutcomes row).
TABLE = (
    ("tenant", lambda r: r.tenant),
    ("day", lambda r: r.day.isoformat()),
    ("calls", lambda r: str(r.calls)),
    ("caller ID", lambda r: f"{r.percent(r.with_caller_id):.1f}%"),
    ("first ask", lambda r: f"{r.percent(r.confirmed_first_ask):.1f}%"),
    ("by voice", lambda r: f"{r.percent(r.collected_by_voice):.1f}%"),
    ("way out", lambda r: f"{r.percent(r.way_out):.1f}%"),
    ("unfinished", lambda r: f"{r.percent(r.unfinished):.1f}%"),
    ("in progress", lambda r: str(r.in_progress)),
    ("median turns", lambda r: _number(r.median_turns)),
    ("median s", lambda r: _number(r.median_seconds)),
)


def _number(value):
    return "-" if value is None else f"{value:g}"


def text_table(rows):
    """The rows as an aligned text table, headings first (text left, numbers right)."""
    cells = [[heading for heading, _ in TABLE]] + [[value(r) for _, value in TABLE] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(TABLE))]
    lines = []
    for line in cells:
        padded = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def csv_text(rows):
    """The rows as CSV: every count, its percentage, the medians (one line per tenant and day)."""
    return csv_line(COLUMNS) + "".join(csv_line(r.as_dict()[c] for c in COLUMNS) for r in rows)


@click.command("stats")
@click.option("--tenant", "tenant_id", help="Tenant id, as in its YAML file (default: every one).")
@click.option("--since", metavar="DATE", help="Only calls first seen from this ISO date on, UTC.")
@click.option(
    "--format",
    "output_format",
    type=Choice(["text", "csv", "json"]),
    default="text",
    show_default=True,
)
@with_appcontext
@says_database_errors
def stats_command(tenant_id, since, output_format):
    """Per tenant and per day (UTC): calls where the contact step opened, % with a caller ID,
    % confirmed at the first ask, % collected by voice, % way out, % unfinished, median turns
    and seconds to a confirmed contact. No phone number is printed.
    """
    if tenant_id is not None and tenant_store().directory.get(tenant_id) is None:
        named = client_identifier(tenant_id)  # a number typed by mistake is not repeated
        raise click.BadParameter(
            f"no tenant {named!r} in the tenants folder", param_hint="--tenant"
        )
    rows = daily_outcomes(tenant_id, parse_since(since) if since else None)
    if output_format == "json":
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1))
    elif output_format == "csv":
        click.echo(csv_text(rows), nl=False)
    elif rows:
        click.echo(text_table(rows))
    else:
        click.echo("No call with a contact step in this period.")


def init_app(app):
    """Register `flask stats`."""
    app.cli.add_command(stats_command)
