"""Every setting the environment gives, read once when the app is built, checked, in app.config.

`create_app(test_config)` overrides any of them by its app.config key. A wrong value stops
start-up with one line naming the variable (`stop`, from wsgi.py and gunicorn.conf.py), not a
traceback, nor a surprise under load. No other module reads os.environ (tests/test_config.py).
The README's Configuration table lists every variable read here (the same test checks it).
"""

import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from backend.log_mask import mask_phone_shaped
from backend.store.connections import (
    BUSY_TIMEOUT_MS,
    REQUEST_BUDGET_MS,
    STATEMENT_TIMEOUT_MS,
    SYNCHRONOUS_COMMIT,
    SYNCHRONOUS_COMMIT_VALUES,
    sqlalchemy_url,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Gunicorn's master stops when a worker exits with this ("App failed to load") instead of
# starting another; `flask` just exits with it.
APP_LOAD_ERROR = 4
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A token anyone could guess in a few tries protects nothing.
METRICS_TOKEN_MIN_LENGTH = 16


class ConfigError(ValueError):
    """A setting the app cannot run with; the message names it and says what it must be."""


def _whole_number(minimum, what):
    def read(value):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be {what}")
        return value

    return read


def _seconds(value):
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = None
    if isinstance(value, bool) or seconds is None or not 0 < seconds < float("inf"):
        raise ValueError("must be a number of seconds above 0")
    return seconds


def _one_of(choices, normalize=str):
    def read(value):
        if not isinstance(value, str) or normalize(value) not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return normalize(value)

    return read


def _database_url(value):
    """The URL as SQLAlchemy needs it (`postgres://` spelled `postgresql+psycopg://`)."""
    try:
        make_url(value)
    except (ArgumentError, AttributeError, TypeError, ValueError):
        # Not quoted back: a database URL may hold a password.
        raise ValueError(
            "must be a database URL such as sqlite:///calls.db or postgresql://user@host/db"
        ) from None
    return sqlalchemy_url(value)


def _folder(value):
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise ValueError("must be a folder")
    return str(value)


def _optional_text(value):
    if value is not None and not isinstance(value, str):
        raise ValueError("must be text")
    return value or None


def _boolean(value):
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


OPERATOR_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
MIN_TOKEN_LENGTH = 16


def _operator_tokens(value):
    """`alice:TOKEN bob:TOKEN` (spaces or commas between) -> ((name, token), ...).

    A mapping {name: token} is taken too (test_config). Messages never quote a token.
    """
    if isinstance(value, str):
        entries = [entry for entry in re.split(r"[\s,]+", value) if entry]
        # No colon: the name is not quoted back, since it is then the token.
        pairs = [entry.partition(":")[::2] if ":" in entry else (None, None) for entry in entries]
    elif isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, tuple | list):
        pairs = [tuple(pair) for pair in value]
    else:
        raise ValueError("must be name:token pairs separated by spaces")
    for position, (name, token) in enumerate(pairs, start=1):
        if not isinstance(name, str) or not OPERATOR_NAME.fullmatch(name):
            raise ValueError(
                f"entry {position} must be name:token, the name in letters, digits, . _ @ -"
            )
        if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH or re.search(r"\s", token):
            raise ValueError(f"{name}'s token must be {MIN_TOKEN_LENGTH} characters or more")
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("must name each operator once")
    if len({token for _, token in pairs}) != len(pairs):
        raise ValueError("must give each operator a token of their own")
    return tuple(pairs)


def _metrics_token(value):
    value = _optional_text(value)
    if value is not None and len(value) < METRICS_TOKEN_MIN_LENGTH:
        raise ValueError(f"must be at least {METRICS_TOKEN_MIN_LENGTH} characters")
    return value


def _existing_folder_or_none(value):
    if value in (None, ""):
        return None
    if not os.path.isdir(_folder(value)) or not os.access(value, os.W_OK):
        raise ValueError("must be an existing folder this process can write to")
    return str(value)


def _public_base_url(value):
    """Where Vapi reaches this server, as https://host[:port][/prefix], no trailing slash."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be a URL such as https://calls.example.com")
    parsed = urlsplit(value.strip())
    if parsed.scheme not in ("https", "http") or not parsed.hostname or parsed.query:
        raise ValueError("must be a URL such as https://calls.example.com")
    return value.strip().rstrip("/")


def _strict_unless_flask_cli(value):
    # `flask` sets FLASK_RUN_FROM_CLI before it builds the app: commands then run with the valid
    # tenants and report the refused files (backend/tenants/store.py). Set in app.config,
    # TENANTS_STRICT is a bool.
    return value if isinstance(value, bool) else not value


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it goes in app.config, its default, how it is read."""

    variable: str
    key: str
    default: object
    read: Callable  # the environment's text, or a value from test_config -> the value; ValueError


SETTINGS = (
    # A relative SQLite path lives in the instance folder.
    Setting("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "sqlite:///calls.db", _database_url),
    Setting("TENANTS_DIR", "TENANTS_DIR", str(PROJECT_ROOT / "tenants"), _folder),
    Setting("LOCALES_DIR", "LOCALES_DIR", str(PROJECT_ROOT / "locales"), _folder),
    Setting("LOG_LEVEL", "LOG_LEVEL", "INFO", _one_of(LOG_LEVELS, str.upper)),
    # An end-of-call-report carries the whole transcript: 1 MiB leaves room for long calls.
    Setting(
        "MAX_CONTENT_LENGTH",
        "MAX_CONTENT_LENGTH",
        1024 * 1024,
        _whole_number(1, "a size in bytes, 1 or more"),
    ),
    # Why these defaults: backend/store/connections.py.
    Setting(
        "DATABASE_STATEMENT_TIMEOUT_MS",
        "DATABASE_STATEMENT_TIMEOUT_MS",
        STATEMENT_TIMEOUT_MS,
        _whole_number(0, "a whole number of milliseconds (0: no limit)"),
    ),
    Setting(
        "DATABASE_REQUEST_BUDGET_MS",
        "DATABASE_REQUEST_BUDGET_MS",
        REQUEST_BUDGET_MS,
        _whole_number(1, "a whole number of milliseconds, 1 or more"),
    ),
    Setting(
        "DATABASE_BUSY_TIMEOUT_MS",
        "DATABASE_BUSY_TIMEOUT_MS",
        BUSY_TIMEOUT_MS,
        _whole_number(0, "a whole number of milliseconds"),
    ),
    Setting(
        "DATABASE_SYNCHRONOUS_COMMIT",
        "DATABASE_SYNCHRONOUS_COMMIT",
        SYNCHRONOUS_COMMIT,
        _one_of(SYNCHRONOUS_COMMIT_VALUES),
    ),
    Setting("PHONE_REF_KEY", "PHONE_REF_KEY", None, _optional_text),
    # The URL Vapi is given for this server: `flask vapi config` builds the URLs it prints from
    # it, and a signed payload's {url} is checked against it (behind a proxy the request's own
    # URL differs).
    Setting("PUBLIC_BASE_URL", "PUBLIC_BASE_URL", None, _public_base_url),
    # How soon a saved edit of a tenant file or catalog is served (backend/tenants/store.py).
    Setting("CONFIG_RELOAD_INTERVAL_S", "CONFIG_RELOAD_INTERVAL_S", 1.0, _seconds),
    # Seconds a body may take to arrive once its headers have: a client that announces more
    # bytes than it sends would otherwise hold a worker thread as long as it keeps the connection.
    Setting("BODY_READ_TIMEOUT_S", "BODY_READ_TIMEOUT_S", 10.0, _seconds),
    # Seconds a request's headers may take to arrive once they start (408 past it), under the
    # buffering worker (backend/serving/worker.py): a slow client costs a buffer, never a thread.
    Setting("REQUEST_HEAD_TIMEOUT_S", "REQUEST_HEAD_TIMEOUT_S", 5.0, _seconds),
    Setting("FLASK_RUN_FROM_CLI", "TENANTS_STRICT", True, _strict_unless_flask_cli),
    # Who may sign in to /console (backend/console/): none by default, so the console refuses all.
    Setting("CONSOLE_OPERATORS", "CONSOLE_OPERATORS", (), _operator_tokens),
    # Signs the console's session cookie and CSRF tokens; unset, derived from the tokens above.
    Setting("CONSOLE_SECRET_KEY", "CONSOLE_SECRET_KEY", None, _optional_text),
    # The session cookie only over HTTPS; false for a console served on loopback HTTP (tests).
    Setting("CONSOLE_COOKIE_SECURE", "CONSOLE_COOKIE_SECURE", True, _boolean),
    # /metrics answers only with this token (backend/routes/metrics.py); unset: metrics are off.
    Setting("METRICS_TOKEN", "METRICS_TOKEN", None, _metrics_token),
    # prometheus-client's multiprocess mode: where each worker writes its values. prometheus_client
    # reads it too, when first imported; gunicorn.conf.py sets it when unset (backend/metrics/).
    Setting("PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROC_DIR", None, _existing_folder_or_none),
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


def from_environment(environ=None):
    """The settings the environment gives, defaults for the others, by app.config key.

    Raises ConfigError, naming the variable, for a value the app cannot run with.
    """
    environ = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS:
        if setting.variable in environ:
            values[setting.key] = _read(setting, environ[setting.variable], setting.variable)
        else:
            values[setting.key] = setting.read(setting.default)
    return values


def check(config):
    """Check and normalize the settings in `config` (app.config, test_config applied).

    Raises ConfigError naming the app.config key.
    """
    for setting in SETTINGS:
        config[setting.key] = _read(setting, config[setting.key], setting.key)


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
