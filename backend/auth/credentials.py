"""Which requests a tenant accepts: its secret (header or Bearer) or a request signed with it."""

import hmac
import time

from flask import abort, request

from backend.auth.signatures import verify
from backend.edge.body import request_bytes
from backend.logs import bind_request, log_event


def presented_secret():
    """The credential the request carries: `X-Vapi-Secret`, else `Authorization: Bearer`."""
    secret = request.headers.get("X-Vapi-Secret")
    if secret:
        return secret
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _secret_matches(expected):
    presented = presented_secret()
    # compare_digest on bytes: constant time whatever the characters.
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def require_tenant_auth(tenant):
    """Abort with 401 unless the request carries this tenant's secret or is signed with it.

    A tenant with `vapi.hmac` accepts both: the secret is the same, and a signed request
    never carries it, so keeping the header path costs nothing to a tenant that signs.
    Every request for a tenant comes here first: its log lines name the tenant from now on.
    """
    bind_request(tenant=tenant.id)
    expected = tenant.secret
    if expected is None:
        reason = "secret not configured"
    elif _secret_matches(expected):
        return
    elif tenant.hmac is None:
        reason = "missing or wrong secret"
    else:
        # The raw bytes as received: the signature covers them, not a re-encoding.
        raw_body = request_bytes(request)
        signed, reason = verify(request.headers, raw_body, tenant.hmac, expected, time.time())
        if signed:
            return
    log_event("AUTH_REJECTED", level=30, reason=reason, path=request.path)
    abort(401, description="missing or invalid credentials")
