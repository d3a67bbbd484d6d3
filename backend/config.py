"""Every setting the environment gives, read once when the app is built, checked, in app.config.

`create_app(test_config)` overrides any of them by its app.config key. A wrong value stops
start-up with one line naming the variable (`stop`, from wsgi.py and gunicorn.conf.py), not a
traceback, nor a surprise under load. No other module reads os.environ (tests/test_config.py).
The README's Configuration table lists every variable read here (the same test checks it).
"""

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backend import config_values as values
from backend.log_mask import mask_phone_shaped
from backend.store.connections import (
    BUSY_TIMEOUT_MS,
    REQUEST_BUDGET_MS,
    STATEMENT_TIMEOUT_MS,
    SYNCHRONOUS_COMMIT,
    SYNCHRONOUS_COMMIT_VALUES,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Gunicorn's master stops when a worker exits with this ("App failed to load") instead of
# starting another; `flask` just exits with it.
APP_LOAD_ERROR = 4
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A setting the app cannot run with; the message names it and says what it must be."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it goes in app.config, its default, how it is read."""

    variable: str
    key: str
    default: object
    read: Callable  # the environment's text, or a value from test_config -> the value; ValueError


SETTINGS = (
    # A relative SQLite path lives in the instance folder.
    Setting("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "sqlite:///calls.db", values.database_url),
    Setting("TENANTS_DIR", "TENANTS_DIR", str(PROJECT_ROOT / "tenants"), values.folder),
    Setting("LOCALES_DIR", "LOCALES_DIR", str(PROJECT_ROOT / "locales"), values.folder),
    Setting("LOG_LEVEL", "LOG_LEVEL", "INFO", values.one_of(LOG_LEVELS, str.upper)),
    # An end-of-call-report carries the whole transcript: 1 MiB leaves room for long calls.
    Setting(
        "MAX_CONTENT_LENGTH",
        "MAX_CONTENT_LENGTH",
        1024 * 1024,
        values.whole_number(1, "a size in bytes, 1 or more"),
    ),
    # Why these defaults: backend/store/connections.py.
    Setting(
        "DATABASE_STATEMENT_TIMEOUT_MS",
        "DATABASE_STATEMENT_TIMEOUT_MS",
        STATEMENT_TIMEOUT_MS,
        values.whole_number(0, "a whole number of milliseconds (0: no limit)"),
    ),
    Setting(
        "DATABASE_REQUEST_BUDGET_MS",
        "DATABASE_REQUEST_BUDGET_MS",
        REQUEST_BUDGET_MS,
        values.whole_number(1, "a whole number of milliseconds, 1 or more"),
    ),
    # The console's contacts download, an operator's explicit wait for a file: it reads every
    # call of the tenant, far more than a caller's request (100,000 calls: seconds).
    Setting(
        "CONSOLE_EXPORT_BUDGET_MS",
        "CONSOLE_EXPORT_BUDGET_MS",
        10_000,
        values.whole_number(1, "a whole number of milliseconds, 1 or more"),
    ),
    Setting(
        "DATABASE_BUSY_TIMEOUT_MS",
        "DATABASE_BUSY_TIMEOUT_MS",
        BUSY_TIMEOUT_MS,
        values.whole_number(0, "a whole number of milliseconds"),
    ),
    Setting(
        "DATABASE_SYNCHRONOUS_COMMIT",
        "DATABASE_SYNCHRONOUS_COMMIT",
        SYNCHRONOUS_COMMIT,
        values.one_of(SYNCHRONOUS_COMMIT_VALUES),
    ),
    Setting("PHONE_REF_KEY", "PHONE_REF_KEY", None, values.optional_text),
    # The URL Vapi is given for this server: `flask vapi config` builds the URLs it prints from
    # it, and a signed payload's {url} is checked against it (behind a proxy the request's own
    # URL differs).
    Setting("PUBLIC_BASE_URL", "PUBLIC_BASE_URL", None, values.public_base_url),
    # How soon a saved edit of a tenant file or catalog is served (backend/tenants/store.py).
    Setting("CONFIG_RELOAD_INTERVAL_S", "CONFIG_RELOAD_INTERVAL_S", 1.0, values.seconds),
    # Seconds a body may take to arrive once its headers have: a client that announces more
    # bytes than it sends would otherwise hold a worker thread as long as it keeps the connection.
    Setting("BODY_READ_TIMEOUT_S", "BODY_READ_TIMEOUT_S", 10.0, values.seconds),
    # Seconds a request's headers may take to arrive once they start (408 past it), under the
    # buffering worker (backend/serving/worker.py): a slow client costs a buffer, never a thread.
    Setting("REQUEST_HEAD_TIMEOUT_S", "REQUEST_HEAD_TIMEOUT_S", 5.0, values.seconds),
    Setting("FLASK_RUN_FROM_CLI", "TENANTS_STRICT", True, values.strict_unless_flask_cli),
    # Who may sign in to /console (backend/console/): none by default, so the console refuses all.
    Setting("CONSOLE_OPERATORS", "CONSOLE_OPERATORS", (), values.operator_tokens),
    # Signs the console's session cookie and CSRF tokens; unset, derived from the tokens above.
    Setting("CONSOLE_SECRET_KEY", "CONSOLE_SECRET_KEY", None, values.optional_text),
    # The session cookie only over HTTPS; false for a console served on loopback HTTP (tests).
    Setting("CONSOLE_COOKIE_SECURE", "CONSOLE_COOKIE_SECURE", True, values.boolean),
    # /metrics answers only with this token (backend/routes/metrics.py); unset: metrics are off.
    Setting("METRICS_TOKEN", "METRICS_TOKEN", None, values.metrics_token),
    # prometheus-client's multiprocess mode: where each worker writes its values. prometheus_client
    # reads it too, when first imported; gunicorn.conf.py sets it when unset (backend/metrics/).
    Setting(
        "PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROC_DIR", None, values.existing_folder_or_none
    ),
)
# Never quoted back in an error: a database URL may hold a password; the others are secrets.
UNQUOTED = ("DATABASE_URL", "CONSOLE_OPERATORS", "CONSOLE_SECRET_KEY", "METRICS_TOKEN")
# Each tenant's secret lives in the variable its YAML names (`vapi.secret_env`): see secret().
SECRET_VARIABLES = "VAPI_SECRET_*"


def _shown(value):
    text = mask_phone_shaped(str(value))
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _read(setting, value, name):
    try:
        return setting.read(value)
    except ValueError as error:
        shown = "" if setting.variable in UNQUOTED else f", got {_shown(value)}"
        raise ConfigError(f"{name} {error}{shown}") from None


def from_environment(environ=None, whole=False):
    """The settings the environment gives, defaults for the others, by app.config key.

    Raises ConfigError, naming the variable, for a value the app cannot run with; with
    `whole`, for settings that cannot run together too (create_app checks those once
    test_config is applied).
    """
    environ = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS:
        if setting.variable in environ:
            values[setting.key] = _read(setting, environ[setting.variable], setting.variable)
        else:
            values[setting.key] = setting.read(setting.default)
    if whole:
        _check_together(values)
    return values


def check(config):
    """Check and normalize the settings in `config` (app.config, test_config applied).

    Raises ConfigError naming the app.config key.
    """
    for setting in SETTINGS:
        config[setting.key] = _read(setting, config[setting.key], setting.key)
    _check_together(config)


def _check_together(config):
    """What holds only between settings (their keys and variables have the same names)."""
    statement_ms, lock_ms = (
        config["DATABASE_STATEMENT_TIMEOUT_MS"],
        config["DATABASE_BUSY_TIMEOUT_MS"],
    )
    # PostgreSQL's: SQLite has no statement timeout.
    postgresql = not config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    if postgresql and statement_ms and lock_ms >= statement_ms:
        # Else a lock wait ends as a slow statement does, and no lock is found held
        # (backend/store/deadline.py): each request waits its whole statement timeout.
        raise ConfigError(
            f"DATABASE_BUSY_TIMEOUT_MS must be under DATABASE_STATEMENT_TIMEOUT_MS: set it "
            f"below {statement_ms}, got {lock_ms}"
        )


def secret(variable):
    """A tenant's secret: the value of `variable`, the name its YAML gives; None when unset.

    Looked up by name at each use, not read at start-up like the settings above: the names come
    from the tenant files, which change while the app serves (a new tenant brings a new name),
    and a secret rotated in the process's environment applies at the next request.
    """
    return os.environ.get(variable) or None


def metrics_folder(settings):
    """Under gunicorn, before any worker imports prometheus_client: (folder, made here).

    The folder prometheus-client's multiprocess mode writes to: PROMETHEUS_MULTIPROC_DIR, or,
    unset, a new temporary one put in the environment the workers inherit (the library reads
    the variable itself).
    """
    folder = settings["PROMETHEUS_MULTIPROC_DIR"]
    if folder is not None:
        return folder, False
    folder = tempfile.mkdtemp(prefix="vapi-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder, True


def stop(error):
    """Say what is wrong in one line on stderr and exit: no traceback for a wrong setting."""
    print(f"configuration error: {error}", file=sys.stderr, flush=True)
    raise SystemExit(APP_LOAD_ERROR)
