"""The operators' console at /console: sign in with a token, then what each tenant's agent does.

Server-rendered pages (Jinja) and one stylesheet, all served by this blueprint: no script, nothing
from a CDN, so the pages work on a phone and under a strict Content-Security-Policy. The interface
is French, from the Babel catalog in locales/console/ (backend/console/language.py).

access.py: operators, sessions and CSRF; views.py: the pages; status.py: a tenant's configuration;
charts.py: the outcome charts, drawn as SVG on the server from backend/stats.
"""

from flask import Blueprint

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)


def init_app(app):
    """Sessions and CSRF for the console, its catalog, and its pages under /console."""
    from backend.console import access, language, views  # noqa: F401  (views registers routes)

    access.init_app(app)
    language.init_app(app)
    app.register_blueprint(bp)
