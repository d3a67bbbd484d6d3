"""Gunicorn's settings for `make run` and the tests' servers: its own lines as the app's JSON.

`gunicorn wsgi:app` reads this file from the working directory by itself; from elsewhere,
`--config /path/to/gunicorn.conf.py`. Workers, threads, the worker class and the address stay
on the command line (`make run` names backend.serving.worker.BufferedThreadWorker).
"""

import shutil
from pathlib import Path

from gunicorn import glogging

from backend.config import ConfigError, from_environment, metrics_folder, stop
from backend.logs import JsonLineFormatter, MaskedTextFormatter
from backend.tenants.boot import (
    TenantConfigError,
    check_at_start,
    refresh_before_fork,
    watch_in_master,
)

# A wrong setting stops the master before it binds or starts a worker: one line, not one per
# worker (wsgi.py stops a worker the same way when this file is not used).
# (Names here are gunicorn's settings when they match one: hence no `config` module name, and
# this file's own names start with an underscore.)
try:
    _settings = from_environment(whole=True)
except ConfigError as error:
    stop(error)

# prometheus-client's multiprocess mode: each worker writes its metric values to its own files
# in this folder, and /metrics sums them. The variable must be set before a worker imports
# prometheus_client (workers import the app after this file ran in the master, and inherit its
# environment); unset, a folder of this server's own, removed when it stops.
_metrics_folder, _made_metrics_folder = metrics_folder(_settings)
_metrics_dir = Path(_metrics_folder)


def on_starting(server):
    """A new server starts: its tenant files and catalogs checked, its metrics from zero.

    Only here, in the master, once (a HUP reads this file again, but runs no on_starting):

    - An invalid tenant file or catalog stops the server before it binds or forks a worker,
      with one message listing each `file:line: key: problem`. The workers gunicorn starts
      later (crash, max_requests, HUP) load as a live reload does instead, from what this
      check loaded, kept up to date (when_ready, pre_fork): a file refused since costs
      that file, not every tenant (backend/tenants/boot.py).
    - The last run's metric files would add their counts to this one's; workers that gunicorn
      replaces keep their files, so counters summed over the folder never go back.
    """
    try:
        check_at_start(_settings["TENANTS_DIR"], _settings["LOCALES_DIR"])
    except TenantConfigError as error:
        # Stopped before gunicorn's own exit path: what it would remove, removed here.
        on_exit(server)
        if server.pidfile is not None:
            server.pidfile.unlink()
        stop(error)
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)


def when_ready(server):
    """Listening, workers starting: the master keeps its tenant files and catalogs up to date
    from now on, as the workers do, for the workers it forks later (backend/tenants/boot.py)."""
    watch_in_master(_settings["CONFIG_RELOAD_INTERVAL_S"])


def pre_fork(server, worker):
    """A worker is about to start: the tenant files and catalogs it inherits, brought up to
    date (backend/tenants/boot.py), so that it serves what the running workers serve."""
    refresh_before_fork()


def child_exit(server, worker):
    """A worker exited: prometheus-client drops its live gauges' files (counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_dir))


def on_exit(server):
    """Remove the folder this server made for itself."""
    if _made_metrics_folder:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


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
