"""Which requests a tenant accepts: its secret, from the environment, compared in constant time."""

import hmac

from flask import abort, request

from .logs import log_event


def presented_secret():
    """The credential the request carries: `X-Vapi-Secret`, else `Authorization: Bearer`."""
    secret = request.headers.get("X-Vapi-Secret")
    if secret:
        return secret
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_tenant_auth(tenant):
    """Abort with 401 unless the request carries this tenant's secret."""
    expected = tenant.secret
    presented = presented_secret()
    # compare_digest on bytes: constant time whatever the characters.
    if (
        expected is None
        or presented is None
        or not hmac.compare_digest(presented.encode(), expected.encode())
    ):
        reason = "secret not configured" if expected is None else "missing or wrong secret"
        log_event("AUTH_REJECTED", level=30, tenant=tenant.id, reason=reason, path=request.path)
        abort(401, description="missing or invalid credentials")
