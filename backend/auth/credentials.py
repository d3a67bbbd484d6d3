"""Which requests a tenant accepts: its secret in a header (any form Vapi's credentials send) or a
request signed with it."""

import hmac
import time

from flask import abort, after_this_request, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import Unauthorized

from backend.auth.signatures import signed_mac
from backend.edge.body import request_bytes
from backend.logs import bind_request, log_event
from backend.store.db import database_failed, database_unavailable, schema_missing_answer
from backend.store.replays import first_sight, seen_before, surely_not_noted
from backend.store.schema import SchemaMissing

# Where Vapi puts a secret: the legacy secret header, and a Bearer credential's default header.
SECRET_HEADERS = ("X-Vapi-Secret", "Authorization")
_REFUSED = "missing or invalid credentials"
_BEARER = "bearer "


def presented_secret():
    """The one credential the request carries: `X-Vapi-Secret`, else `Authorization: Bearer`.

    For the metrics token (backend/routes/metrics.py); tenants accept more forms (below).
    """
    secret = request.headers.get("X-Vapi-Secret")
    if secret:
        return secret
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def presented_secrets(extra_header=None):
    """Every value the request may carry the secret as.

    Vapi's Bearer credential (BearerAuthenticationPlan) sends `<headerName>: Bearer <token>`, or
    `<headerName>: <token>` with `bearerPrefixEnabled: false`; `headerName` defaults to
    Authorization and is the tenant's `vapi.secret_header` otherwise. Both forms are read from
    each header: a value matches only if it is the whole secret, so neither weakens the other.
    """
    names = SECRET_HEADERS + ((extra_header,) if extra_header else ())
    headers = request.headers  # read through Flask's proxy once
    for name in names:
        value = headers.get(name, "").strip()
        if not value:
            continue
        yield value
        if value[: len(_BEARER)].lower() == _BEARER and value[len(_BEARER) :].strip():
            yield value[len(_BEARER) :].strip()


def _secret_matches(expected, extra_header):
    wanted = expected.encode()
    matched = False
    for presented in presented_secrets(extra_header):
        # compare_digest on bytes: constant time whatever the characters.
        matched |= hmac.compare_digest(presented.encode(), wanted)
    return matched


def signed_urls():
    """What {url} of a signed payload may be: the URL Vapi was given (PUBLIC_BASE_URL and this
    path), and the URL as this server received it (no proxy in between)."""
    path = request.full_path.rstrip("?")
    urls = []
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        urls.append(base + path)
    if request.url not in urls:
        urls.append(request.url)
    return tuple(urls)


def _replay_reason(tenant, mac, outage_tolerated):
    """None for a signed request not served before, "replayed" for one that was.

    Seen by the database (backend/store/replays.py), so on any worker or instance. A request is
    noted only once served (`_noted_once_served`): one answered 5xx is sent again by Vapi with
    the same bytes, and must then be served, whatever the database did meanwhile. Under an
    outage the error goes to the app's handler (503 with Retry-After), unless
    `outage_tolerated()` says this request must never be a 5xx.
    """
    try:
        if seen_before(tenant.id, mac):
            return "replayed"
    except SQLAlchemyError as error:
        if not _tolerated(outage_tolerated):
            raise
        _replay_unchecked(error)
    after_this_request(_noted_once_served(tenant.id, mac, outage_tolerated))
    return None


def _tolerated(outage_tolerated):
    """Whether this request must never be a 5xx, so goes on without the replay check.

    What the caller hears (an assistant-request is the call ringing, a turn a sentence): a
    5xx drops the call or leaves silence. The signature is valid and fresh; only a replay
    within the window goes unseen while the database is away, and what it leads to is
    idempotent (a number offered again, a turn said again).
    """
    return outage_tolerated is not None and outage_tolerated()


def _replay_unchecked(error):
    """Log that the replay check, or the note of a served request, could not run; the request
    goes on."""
    try:
        database_failed(error, check="replay")
    except SchemaMissing:
        pass  # logged by database_failed; the same reasoning holds


def _noted_once_served(tenant_id, mac, outage_tolerated):
    """After the answer: a request served (below 500) is noted, so its bytes are a replay from
    now on. Of copies served at once, those noted after the first are answered as replays (401,
    what they led to is idempotent). A 5xx notes nothing: the same bytes again are served.

    A note the database refused (a lock, a read-only database) wrote nothing: 503, and Vapi's
    retry is served and noted. One that may have been written after all (the insert sent, then
    the wait for its answer cut, or the connection lost) keeps the answer, logged: a 503 would
    make Vapi's retry a replay (401, for good) though everything was stored. Only a copy within
    the window may then go unseen, and what it leads to is idempotent. Requests the caller
    waits on keep their answer in any case (`_tolerated`).
    """

    def note(response):
        if response.status_code >= 500:
            return response
        try:
            if first_sight(tenant_id, mac):
                return response
        except SQLAlchemyError as error:
            if surely_not_noted(error) and not _tolerated(outage_tolerated):
                return _served_not_noted(error)
            _replay_unchecked(error)
            return response
        log_event("AUTH_REJECTED", level=30, reason="replayed", path=request.path)
        return current_app.make_response(current_app.handle_user_exception(Unauthorized(_REFUSED)))

    return note


def _served_not_noted(error):
    """503 for a request served but surely not noted: Vapi's retry is served and noted (what
    the first stored stays stored, and offering it again changes nothing)."""
    try:
        answer = database_unavailable(error, check="replay")
    except SchemaMissing:
        answer = schema_missing_answer()
    return current_app.make_response(answer)


def require_tenant_auth(tenant, outage_tolerated=None):
    """Abort with 401 unless the request carries this tenant's secret or is signed with it.

    A tenant with `vapi.hmac` accepts both: the secret is the same, and a signed request
    never carries it, so keeping the header path costs nothing to a tenant that signs.
    A signed request is accepted once: the same one again is refused as replayed.
    `outage_tolerated`: says whether this request accepts a signature the replay check could
    not run for (the database away) rather than answering 503.
    Every request for a tenant comes here first: its log lines name the tenant from now on.
    """
    bind_request(tenant=tenant.id)
    expected = tenant.secret
    if expected is None:
        reason = "secret not configured"
    elif _secret_matches(expected, tenant.secret_header):
        return
    elif tenant.hmac is None:
        reason = "missing or wrong secret"
    else:
        # The raw bytes as received: the signature covers them, not a re-encoding.
        raw_body = request_bytes(request)
        mac, reason = signed_mac(
            request.headers,
            raw_body,
            tenant.hmac,
            expected,
            time.time(),
            method=request.method,
            urls=signed_urls(),
        )
        if mac is not None:
            reason = _replay_reason(tenant, mac, outage_tolerated)
            if reason is None:
                return
    log_event("AUTH_REJECTED", level=30, reason=reason, path=request.path)
    abort(401, description=_REFUSED)
