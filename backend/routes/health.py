"""Liveness and readiness for the process supervisor and the load balancer."""

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
    """The database answers and tenants are loaded; 503 otherwise."""
    checks = {"tenants": len(tenant_store().directory)}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        db.session.rollback()
        checks["database"] = f"unavailable ({type(error).__name__})"
    ready = checks["database"] == "ok" and checks["tenants"] > 0
    response = jsonify({"status": "ready" if ready else "not ready", **checks})
    response.status_code = 200 if ready else 503
    return response
