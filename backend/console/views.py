"""The console's pages: sign-in and sign-out, the tenants, one tenant, its contacts download."""

import threading
from datetime import UTC, date, datetime, timedelta

from babel.numbers import format_decimal
from flask import (
    Response,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError

from backend.console import access, bp
from backend.console.access import operator_required
from backend.console.charts import draw
from backend.console.status import catalog_problems, status_of, tenant_statuses
from backend.log_mask import mask_identifier
from backend.logs import log_event
from backend.operators.contacts import COLUMNS, contact_rows, csv_line
from backend.privacy.masking import mask_phone
from backend.stats.outcomes import daily_outcomes
from backend.store import deadline
from backend.store.reports import recent_calls
from backend.tenants.store import tenant_store
from backend.wording.preview import preview

LAST_CALLS = 20
CHART_DAYS = 30  # the charts' window, ending today (UTC days, as `flask stats` counts them)
# Pages draw with the console's stylesheet only: no script, no frame, no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@bp.before_request
def refuse_forms_without_their_token():
    """Every form posted to the console carries this session's CSRF token, or is refused."""
    access.check_form()


@bp.after_request
def console_headers(response):
    """Pages show personal data (masked) and the download full numbers: never kept in a cache."""
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.errorhandler(CSRFError)
def form_refused(error):
    """A form without its token (or with another session's): nothing done, and said.

    Mostly a page left open while the session changed in another tab: a sign-in form of an
    operator who signed in meanwhile goes to the console, one from before the session began
    asks for the token again, any other form of a signed-out browser goes to the sign-in page.
    """
    signed_in = access.current_operator() is not None
    if request.endpoint == "console.sign_in" and not signed_in:
        configured = bool(current_app.config["CONSOLE_OPERATORS"])
        page = render_template("console/sign_in.html", expired=True, configured=configured)
        answer = make_response(page, 400)
    elif request.endpoint == "console.sign_in" or not signed_in:
        answer = redirect(url_for("console.index" if signed_in else "console.sign_in"))
    else:
        answer = make_response(render_template("console/error.html", reason="csrf"), 400)
    log_event("CONSOLE_FORM_REFUSED", level=30, status=answer.status_code, reason=error.description)
    return answer


@bp.errorhandler(400)
def bad_request(_error):
    """A form value the console cannot read (a date)."""
    return render_template("console/error.html", reason="bad_request"), 400


@bp.errorhandler(404)
def not_found(_error):
    """A tenant the server does not serve."""
    return render_template("console/error.html", reason="not_found"), 404


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """The token form; a right token opens the tenants page, a wrong one is refused (401)."""
    configured = bool(current_app.config["CONSOLE_OPERATORS"])
    if request.method == "POST":
        if access.sign_in(request.form.get("token", "")):
            return redirect(url_for("console.index"))
        return render_template("console/sign_in.html", refused=True, configured=configured), 401
    if access.current_operator():
        return redirect(url_for("console.index"))
    return render_template("console/sign_in.html", refused=False, configured=configured)


@bp.post("/sign-out")
def sign_out():
    """End the session, back to the sign-in page."""
    access.sign_out()
    return redirect(url_for("console.sign_in"))


@bp.get("/")
@operator_required
def index():
    """Every tenant file: valid or refused (and why), secret set or not."""
    served = tenant_store().served
    return render_template(
        "console/index.html",
        statuses=tenant_statuses(served),
        catalog_problems=catalog_problems(served),
    )


def shown_call(call, tenant):
    """A call as the page shows it, numbers masked as the tenant's logs mask them: a number a
    client put in its call id or ended reason too."""
    return {
        "created_at": call.created_at,
        "call_id": mask_identifier(call.call_id),
        "caller": mask_phone(call.caller_number, tenant.logged_digits),
        "state": call.state,
        "contact": mask_phone(call.contact_number, tenant.logged_digits),
        "source": call.contact_source,
        "ended_reason": mask_identifier(call.ended_reason) if call.ended_reason else None,
        "outcome": call.contact_outcome,
        "turns": call.contact_turns,
    }


def outcome_charts(tenant_id):
    """The tenant's outcome charts over the last CHART_DAYS days, from backend/stats."""
    last = datetime.now(UTC).date()
    first = last - timedelta(days=CHART_DAYS - 1)
    since = datetime.combine(first, datetime.min.time(), UTC)
    return draw(daily_outcomes(tenant_id, since=since), first, last)


@bp.get("/tenants/<tenant_id>")
@operator_required
def tenant(tenant_id):
    """One tenant: configuration, outcome charts, last calls, sentences, contacts download."""
    served = tenant_store().served
    status = status_of(served, tenant_id)
    if status is None:
        abort(404)
    example, sentences = preview(status.tenant, served.catalogs)
    calls = [shown_call(call, status.tenant) for call in recent_calls(tenant_id, LAST_CALLS)]
    return render_template(
        "console/tenant.html",
        status=status,
        tenant=status.tenant,
        catalog_problems=catalog_problems(served),
        example=example,
        sentences=sentences,
        calls=calls,
        charts=outcome_charts(tenant_id),
    )


def _since(value):
    """The form's date (YYYY-MM-DD) as its midnight UTC; None when left empty."""
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        abort(400)


_EXPORTING = threading.BoundedSemaphore(1)


@bp.post("/tenants/<tenant_id>/contacts.csv")
@operator_required
def download_contacts(tenant_id):
    """The tenant's contacts as `flask contacts export` writes them: FULL NUMBERS.

    Each download is logged with the operator's name; the answer is never cached.
    """
    if tenant_store().directory.get(tenant_id) is None:
        abort(404)
    since = _since(request.form.get("since"))
    # Not a caller's request: every call of the tenant, read in one go (a file all or nothing),
    # within its own bound, the same waits for locks. One at a time in a process: each holds a
    # thread for seconds, and a worker has two; a double click must not leave callers none.
    if not _EXPORTING.acquire(blocking=False):
        log_event("CONTACTS_EXPORT_BUSY", level=30, tenant=tenant_id, operator=g.operator)
        page = render_template("console/error.html", reason="busy")
        return page, 503, {"Retry-After": "5"}
    try:
        deadline.begin_request(
            current_app.config["CONSOLE_EXPORT_BUDGET_MS"] / 1000,
            current_app.config["DATABASE_BUSY_TIMEOUT_MS"] / 1000,
        )
        rows = list(contact_rows(tenant_id, since))
    finally:
        _EXPORTING.release()
    log_event(
        "CONTACTS_EXPORTED",
        tenant=tenant_id,
        rows=len(rows),
        format="csv",
        operator=g.operator,
        via="console",
    )
    body = csv_line(COLUMNS) + "".join(csv_line(row[c] for c in COLUMNS) for row in rows)
    name = f"contacts-{tenant_id}-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.app_template_filter("number")
def french_number(value):
    """`33,3`: numbers written as the interface's language writes them."""
    return "" if value is None else format_decimal(value, locale="fr_FR")


@bp.app_template_filter("utc")
def utc_time(moment):
    """`01/12/2026 10:42 UTC`; SQLite gives stored times back without their zone (UTC)."""
    if moment is None:
        return ""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{moment:%d/%m/%Y %H:%M} UTC"
