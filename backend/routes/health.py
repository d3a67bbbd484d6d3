"""Liveness and readiness for the process supervisor and the load balancer."""

import os

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from backend.store.connections import SQLITE_FILE_GONE
from backend.store.schema import schema_state, write_refusal
from backend.tenants.store import tenant_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """The database answers at the code's schema revision, takes a write, and tenants are
    loaded; 503 otherwise (a read-only file or database, a write lock held elsewhere).

    `schema` is the database's revision; `reason` says what is wrong and what to run. `refused`
    lists the edits a live reload refused: the tenant still served from its last good version
    (null when the file serves nothing), or the catalogs kept, with where and why.
    """
    store = tenant_store()
    checks = {"tenants": len(store.directory)}
    reasons = []
    try:
        schema_ready, checks["schema"], schema_reason = schema_state()
        not_writable = write_refusal() if schema_ready else None
        checks["database"] = f"not writable ({not_writable})" if not_writable else "ok"
        if not_writable:
            schema_ready = False
            reasons.append(f"database {checks['database']}")
    except SQLAlchemyError as error:
        schema_ready, checks["schema"], schema_reason = False, None, None
        said = str(getattr(error, "orig", ""))
        gone = said == SQLITE_FILE_GONE  # what only a restart mends: said as it is
        checks["database"] = said if gone else f"unavailable ({type(error).__name__})"
        reasons.append(f"database {checks['database']}")
    if schema_reason:
        reasons.append(schema_reason)
    if not checks["tenants"]:
        reasons.append("no tenant loaded")
    ready = schema_ready and checks["tenants"] > 0
    if reasons:
        checks["reason"] = "; ".join(reasons)
    refused = store.live.refusals()
    if refused:
        checks["refused"] = refused
    # Each worker reloads on its own: which one answered, and a digest of what it serves.
    checks["worker"] = os.getpid()
    checks["config"] = store.live.fingerprint
    response = jsonify({"status": "ready" if ready else "not ready", **checks})
    response.status_code = 200 if ready else 503
    return response
