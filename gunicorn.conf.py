"""Gunicorn's settings for `make run` and the tests' servers.

`gunicorn wsgi:app` reads this file from the working directory by itself; from elsewhere,
`--config /path/to/gunicorn.conf.py`. Workers, threads and the address stay on the command line.
"""

from backend.config import ConfigError, from_environment, stop

# A wrong setting stops the master before it binds or starts a worker: one line, not one per
# worker (wsgi.py stops a worker the same way when this file is not used).
# (Names here are gunicorn's settings when they match one: hence no `config` module name.)
try:
    from_environment()
except ConfigError as error:
    stop(error)
