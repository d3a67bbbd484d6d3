"""Caller-ID capture and contact confirmation behind Vapi voice agents."""

import os
from pathlib import Path

from flask import Flask

from backend.store.connections import sqlalchemy_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None):
    """Build the app: configuration, tenants and catalogs, database, routes."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        # A relative SQLite path lives in the instance folder.
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", "sqlite:///calls.db"),
        TENANTS_DIR=os.environ.get("TENANTS_DIR", str(PROJECT_ROOT / "tenants")),
        LOCALES_DIR=os.environ.get("LOCALES_DIR", str(PROJECT_ROOT / "locales")),
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
        # Seconds between each process's looks for saved edits of tenant files and catalogs.
        CONFIG_RELOAD_INTERVAL_S=float(os.environ.get("CONFIG_RELOAD_INTERVAL_S", 1.0)),
        # An end-of-call-report carries the whole transcript: 1 MiB leaves room for long calls.
        MAX_CONTENT_LENGTH=int(os.environ.get("MAX_CONTENT_LENGTH", 1024 * 1024)),
    )
    if test_config is not None:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.json.ensure_ascii = False  # French sentences stay readable in answers
    os.makedirs(app.instance_path, exist_ok=True)

    from backend import logs
    from backend.edge import errors
    from backend.operators import contacts, i18n, tenants
    from backend.privacy import retention
    from backend.routes import health, llm, voice
    from backend.store import db
    from backend.tenants.store import TenantStore

    logs.init_app(app)
    errors.init_app(app)
    db.init_app(app)
    TenantStore(app)
    tenants.init_app(app)
    i18n.init_app(app)
    contacts.init_app(app)
    retention.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(llm.bp)
    return app
