"""RGPD: `flask purge` drops calls past their tenant's retention, `flask erase` a number's calls.

Both delete whole call rows: a row kept with its number blanked would still hold the call id,
which Vapi maps back to the number, and a column added later could not be forgotten by mistake.
Both print and log counts, and at most a masked number, never a full one.
"""

import json
import re
from datetime import timedelta

import click
from flask.cli import with_appcontext

from backend.edge.body import json_leaves
from backend.logs import client_identifier, log_event
from backend.phones import national_forms, normalize_caller_number
from backend.privacy.masking import mask_phone
from backend.store import erasure
from backend.store.db import says_database_errors
from backend.store.models import utcnow
from backend.store.replays import KEEP_FOR, purge_seen
from backend.store.sessions import SESSION_LIFETIME, purge_ended_sessions
from backend.tenants.schema import SCHEMA
from backend.tenants.store import tenant_store

# Rows of a tenant whose file is gone follow the default of the tenant file.
DEFAULT_RETENTION_DAYS = SCHEMA["retention"]["days"][1]
DEFAULT_REGION = SCHEMA["region"][1]
# A caller may hang up mid-dictation: this many leading digits of the number count as a trace.
PARTIAL_DIGITS = 6
_DIGIT_RUN = re.compile(r"\+?\d(?:[\d .\-/()]*\d)?")


def purge_expired(directory, now=None):
    """Delete the calls older than their tenant's retention: [(tenant id, days, known, count)]."""
    now = now or utcnow()
    report = []
    with erasure.transaction():
        for tenant_id in erasure.tenant_ids():
            tenant = directory.get(tenant_id)
            days = tenant.retention_days if tenant else DEFAULT_RETENTION_DAYS
            # A call's age runs from its first message: calls last minutes, not days.
            count = erasure.delete_calls_created_before(tenant_id, now - timedelta(days=days))
            report.append((tenant_id, days, tenant is not None, count))
    return report


def _digit_runs(conversation):
    """The digit runs of every string in a stored conversation (its whole text if unreadable)."""
    try:
        stored = json.loads(conversation)
    except (ValueError, RecursionError):  # a row edited by hand: nested past the parser's depth
        stored = conversation
    runs = []
    for value in json_leaves(stored):
        if isinstance(value, str):
            runs += [re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(value)]
        elif isinstance(value, int) and not isinstance(value, bool):
            runs.append(str(abs(value)))
    return runs


def _said_in(conversation, e164):
    """True when the conversation holds the number, or the start of it as dictated."""
    significant, national = national_forms(e164)
    full = (e164[1:], national)
    for run in _digit_runs(conversation):
        if significant in run:
            return True
        if len(run) >= PARTIAL_DIGITS and any(form.startswith(run) for form in full):
            return True
    return False


def readings(phone, regions):
    """How `phone` reads in each of `regions`: {E.164: [regions reading it so]}, sorted.

    Written nationally, the same digits are different numbers in different regions (« 0470 12
    34 56 » is French +33 4... and Belgian +32 470...), and a caller of one region may call a
    tenant of another: erasure looks for every reading, not only the tenant's own.
    """
    found = {}
    for region in sorted(regions):
        e164 = normalize_caller_number(phone, region)
        if e164 is not None:
            found.setdefault(e164, []).append(region)
    return dict(sorted(found.items()))


def erase_number(numbers, only_tenant=None):
    """Delete every call holding any of `numbers` (E.164) in any tenant (`only_tenant`: that
    one): [(tenant id, masked number, by column, by conversation)], rows that deleted calls.

    Every number is looked for in every tenant, whatever its region: an erasure request errs
    on the side of erasing, never silently missing a row kept by a tenant of another region.
    """
    report = []
    with erasure.transaction():
        for tenant_id in erasure.tenant_ids(only_tenant):
            for e164 in numbers:
                by_column = erasure.delete_calls_with_number(tenant_id, e164)
                said = erasure.delete_calls_where_conversation(
                    tenant_id, lambda conversation, e164=e164: _said_in(conversation, e164)
                )
                if by_column or said:
                    report.append((tenant_id, mask_phone(e164, 2), by_column, said))
    return report


@click.command("purge")
@with_appcontext
@says_database_errors
def purge_command():
    """Delete call data older than each tenant's retention.days (default 30), and the signed
    requests seen before any freshness window could accept them again."""
    store = tenant_store()
    if store.live.refused:
        # A refused file may raise its tenant's retention: purging by the default could lose data.
        raise click.ClickException(
            "tenant files are refused (see `flask tenants check`): fix them before purging"
        )
    total = 0
    for tenant_id, days, known, count in purge_expired(store.directory):
        total += count
        origin = "" if known else " (tenant not configured: default retention)"
        click.echo(f"{tenant_id}: {count} call(s) older than {days} days deleted{origin}")
        log_event("RETENTION_PURGED", tenant=tenant_id, days=days, configured=known, deleted=count)
    click.echo(f"purge: {total} call(s) deleted")
    with erasure.transaction():
        seen = purge_seen()
        ended = purge_ended_sessions()
    hours = KEEP_FOR // timedelta(hours=1)
    click.echo(f"purge: {seen} seen signature(s) older than {hours} hours deleted")
    log_event("SIGNATURES_PURGED", deleted=seen)
    hours = SESSION_LIFETIME // timedelta(hours=1)
    click.echo(f"purge: {ended} ended console session(s) older than {hours} hours deleted")
    log_event("ENDED_SESSIONS_PURGED", deleted=ended)


@click.command("erase")
@with_appcontext
@click.option("--phone", required=True, help="The number, in any format (06 12 34 56 14, +33…).")
@click.option("--tenant", "tenant_id", default=None, help="Only this tenant's calls.")
@says_database_errors
def erase_command(phone, tenant_id):
    """Delete every call that holds a phone number (caller ID, contact, what was said)."""
    directory = tenant_store().directory
    tenant = directory.get(tenant_id) if tenant_id is not None else None
    if tenant_id is not None and tenant is None:
        if not erasure.has_calls(tenant_id):
            # A mistyped id would erase nothing and say so as a success.
            raise click.BadParameter(
                f"{client_identifier(tenant_id)!r} is not configured and holds no call",
                param_hint="--tenant",
            )
        click.echo(f"{tenant_id}: not configured, its calls are searched all the same")
    # Every region served, whichever tenant is named: its calls may come from any of them.
    regions = {t.region for t in directory.by_id.values()} | {DEFAULT_REGION}
    numbers = readings(phone, regions)
    if not numbers:
        # Never echo the value: it may be a real number with a typo.
        raise click.BadParameter("not a valid phone number", param_hint="--phone")
    # Which numbers were looked for, masked: an operator sees what a national number was read as.
    read_as = ", ".join(f"{mask_phone(e164, 2)} ({'/'.join(rs)})" for e164, rs in numbers.items())
    click.echo(f"erase: read as {read_as}")
    report = erase_number(list(numbers), tenant_id)
    for erased_tenant, masked, by_column, by_conversation in report:
        click.echo(
            f"{erased_tenant}: {by_column + by_conversation} call(s) deleted holding {masked}"
            f" ({by_column} by caller ID or contact number, {by_conversation} by conversation)"
        )
        log_event(
            "ERASURE_DONE",
            tenant=erased_tenant,
            phone_masked=masked,
            by_number=by_column,
            by_conversation=by_conversation,
        )
    total = sum(by_column + by_conversation for *_, by_column, by_conversation in report)
    click.echo(f"erase: {total} call(s) deleted")
    if not report:
        log_event("ERASURE_DONE", tenant=tenant_id, by_number=0, by_conversation=0)


def init_app(app):
    """Register `flask purge` and `flask erase`."""
    app.cli.add_command(purge_command)
    app.cli.add_command(erase_command)
