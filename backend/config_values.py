"""How each setting's text is read and checked, by kind of value: backend/config.py's readers.

Each takes the environment's text (or a value test_config gives) and returns the value, or
raises ValueError saying what it must be. Nothing here reads the environment.
"""

import os
import re
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from backend.store.connections import sqlalchemy_url

# A token anyone could guess in a few tries protects nothing.
METRICS_TOKEN_MIN_LENGTH = 16


def whole_number(minimum, what):
    def read(value):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be {what}")
        return value

    return read


def seconds(value):
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = None
    if isinstance(value, bool) or seconds is None or not 0 < seconds < float("inf"):
        raise ValueError("must be a number of seconds above 0")
    return seconds


def one_of(choices, normalize=str):
    def read(value):
        if not isinstance(value, str) or normalize(value) not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return normalize(value)

    return read


# The databases and drivers the app is built and tested with.
_DATABASES = {"sqlite": ("", "pysqlite"), "postgresql": ("psycopg",)}


def database_url(value):
    """The URL as SQLAlchemy needs it (`postgres://` spelled `postgresql+psycopg://`)."""
    try:
        converted = sqlalchemy_url(value)
        url = make_url(converted)
    except (ArgumentError, AttributeError, TypeError, ValueError):
        # Not quoted back: a database URL may hold a password.
        raise ValueError(
            "must be a database URL such as sqlite:///calls.db or postgresql://user@host/db"
        ) from None
    database, _, driver = url.drivername.partition("+")  # not the dialect's: none may exist
    if driver not in _DATABASES.get(database, ()):
        # Only its scheme is said: a typo there (postgresq://) would otherwise surface as a
        # traceback about a missing module, from the first worker that connects.
        raise ValueError(
            f"must start with sqlite:// or postgresql:// (or postgres://), not {url.drivername}://"
        )
    return converted


def folder(value):
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise ValueError("must be a folder")
    return str(value)


def optional_text(value):
    if value is not None and not isinstance(value, str):
        raise ValueError("must be text")
    return value or None


def boolean(value):
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


def operator_tokens(value):
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


def metrics_token(value):
    value = optional_text(value)
    if value is not None and len(value) < METRICS_TOKEN_MIN_LENGTH:
        raise ValueError(f"must be at least {METRICS_TOKEN_MIN_LENGTH} characters")
    return value


def existing_folder_or_none(value):
    if value in (None, ""):
        return None
    if not os.path.isdir(folder(value)) or not os.access(value, os.W_OK):
        raise ValueError("must be an existing folder this process can write to")
    return str(value)


def public_base_url(value):
    """Where Vapi reaches this server, as https://host[:port][/prefix], no trailing slash."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be a URL such as https://calls.example.com")
    parsed = urlsplit(value.strip())
    if parsed.scheme not in ("https", "http") or not parsed.hostname or parsed.query:
        raise ValueError("must be a URL such as https://calls.example.com")
    return value.strip().rstrip("/")


def strict_unless_flask_cli(value):
    # `flask` sets FLASK_RUN_FROM_CLI before it builds the app: commands then run with the valid
    # tenants and report the refused files (backend/tenants/store.py). Set in app.config,
    # TENANTS_STRICT is a bool.
    return value if isinstance(value, bool) else not value
