"""Gunicorn's settings for `make run` and the tests' servers: its own lines as the app's JSON.

`gunicorn wsgi:app` reads this file from the working directory by itself; from elsewhere,
`--config /path/to/gunicorn.conf.py`. Workers, threads and the address stay on the command line.
"""

from gunicorn import glogging

from backend.config import ConfigError, from_environment, stop
from backend.logs import JsonLineFormatter, MaskedTextFormatter

# A wrong setting stops the master before it binds or starts a worker: one line, not one per
# worker (wsgi.py stops a worker the same way when this file is not used).
# (Names here are gunicorn's settings when they match one: hence no `config` module name.)
try:
    from_environment()
except ConfigError as error:
    stop(error)


class JsonLogger(glogging.Logger):
    """Gunicorn's error log in the app's JSON lines, masked; its access log (off unless asked
    for, on stdout) keeps its own format, masked too: a request line may quote a number."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonLineFormatter())
        for handler in self.access_log.handlers:
            handler.setFormatter(MaskedTextFormatter(self.access_fmt))


logger_class = JsonLogger
