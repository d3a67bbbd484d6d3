"""One JSON object per line on stderr: the events operators grep for (CALLER_ID_PERSISTED, ...).

Stderr, so a command's stdout is only its data (`flask contacts export > contacts.csv`), and
gunicorn's workers log beside its own lines.
"""

import hashlib
import hmac
import json
import logging
import sys
import time

from flask import current_app

LOGGER_NAME = "backend"
logger = logging.getLogger(LOGGER_NAME)


class JsonLineFormatter(logging.Formatter):
    """Render a record as one JSON line; structured fields come from `extra={"fields": {...}}`."""

    def format(self, record):
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            # The exception type only: messages and tracebacks may quote request data.
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, default=str)


def init_app(app):
    """Send the backend's events to stderr as JSON lines, once per process."""
    if not any(getattr(h, "_backend_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLineFormatter())
        handler._backend_json = True
        logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    logger.propagate = app.testing  # tests read records through pytest's caplog too


def log_event(event, level=logging.INFO, **fields):
    """Log one event with its structured fields. Never pass a full phone number here."""
    logger.log(level, event, extra={"fields": fields})


PHONE_REF_LENGTH = 12  # hex characters: 48 bits, no collision in practice among one's callers


def phone_ref(e164, key):
    """A keyed pseudonym of a number (HMAC-SHA256 with `key`), or None without a key.

    Support correlates calls by it; without the key it cannot be turned back into the number.
    """
    if not key or not e164:
        return None
    digest = hmac.new(key.encode("utf-8"), e164.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:PHONE_REF_LENGTH]


def phone_ref_fields(e164):
    """`{"phone_ref": ...}` to add to a log line when the app has a PHONE_REF_KEY, else `{}`."""
    ref = phone_ref(e164, current_app.config["PHONE_REF_KEY"])
    return {"phone_ref": ref} if ref else {}


def client_identifier(value, limit=64):
    """An id a client sent (URL tenant, phone-number id), fit for a log line.

    A misconfigured URL or id may hold a phone number: with six digits or more, not logged.
    """
    text = str(value)
    return text[:limit] if sum(ch.isdigit() for ch in text) < 6 else "(digits)"
