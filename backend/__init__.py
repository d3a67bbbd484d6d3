"""Caller-ID capture and contact confirmation behind Vapi voice agents."""

import os

from flask import Flask

from backend import config
from backend.config import PROJECT_ROOT  # noqa: F401  (where the shipped files are)


class App(Flask):
    """Flask, with the sync check of each view and hook made once, not at every request.

    Flask asks `inspect.iscoroutinefunction` of the view and of each hook (ten here) at every
    request; the answer for a function never changes. ensure_sync is Flask's documented
    override for how views run.
    """

    # Functions made per request (after_this_request's) are checked each time, not kept.
    _SYNC_CACHE_SIZE = 256

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_of = {}

    def ensure_sync(self, func):
        sync = self._sync_of.get(func)
        if sync is None:
            sync = super().ensure_sync(func)
            if len(self._sync_of) < self._SYNC_CACHE_SIZE:
                self._sync_of[func] = sync
        return sync


def create_app(test_config=None):
    """Build the app: configuration, tenants and catalogs, database, routes.

    A setting the app cannot run with raises config.ConfigError, naming it.
    """
    app = App(__name__, instance_relative_config=True)
    app.config.from_mapping(config.from_environment())
    if test_config is not None:
        app.config.update(test_config)
    config.check(app.config)
    app.json.ensure_ascii = False  # French sentences stay readable in answers
    os.makedirs(app.instance_path, exist_ok=True)

    from backend import console, logs
    from backend.edge import errors
    from backend.metrics import http as request_metrics
    from backend.operators import contacts, i18n, stats, tenants, vapi
    from backend.privacy import retention
    from backend.routes import health, llm, metrics, voice
    from backend.store import db
    from backend.tenants.store import TenantStore

    logs.init_app(app)
    errors.init_app(app)
    request_metrics.init_app(app)
    db.init_app(app)
    TenantStore(app)
    tenants.init_app(app)
    i18n.init_app(app)
    contacts.init_app(app)
    vapi.init_app(app)
    retention.init_app(app)
    stats.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(llm.bp)
    console.init_app(app)
    app.register_blueprint(metrics.bp)
    return app
