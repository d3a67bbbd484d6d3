"""Entry point for gunicorn (`gunicorn wsgi:app`) and `flask --app wsgi`."""

from backend import create_app
from backend.config import ConfigError, stop

try:
    app = create_app()
except ConfigError as error:
    stop(error)
