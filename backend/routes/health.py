"""Liveness and readiness for the process supervisor and the load balancer."""

import os

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..db import db
from ..tenants import tenant_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """The database answers and tenants are loaded; 503 otherwise.

    `refused` lists the edits a live reload refused: the tenant still served from its last good
    version (null when the file serves nothing), or the catalogs kept, with where and why.
    """
    store = tenant_store()
    checks = {"tenants": len(store.directory)}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        db.session.rollback()
        checks["database"] = f"unavailable ({type(error).__name__})"
    ready = checks["database"] == "ok" and checks["tenants"] > 0
    refused = store.live.refusals()
    if refused:
        checks["refused"] = refused
    # Each worker reloads on its own: which one answered, and a digest of what it serves.
    checks["worker"] = os.getpid()
    checks["config"] = store.live.fingerprint
    response = jsonify({"status": "ready" if ready else "not ready", **checks})
    response.status_code = 200 if ready else 503
    return response
