"""One JSON object per line on stderr, from every logger: the events operators grep for
(CALLER_ID_PERSISTED, ...) and the lines of gunicorn, werkzeug, SQLAlchemy and Alembic alike.

Stderr, so a command's stdout is only its data (`flask contacts export > contacts.csv`), and
gunicorn's workers log beside its own lines.

The app logs with `log_event`, through a structlog bound logger and processors: a request binds
its tenant and call id once (`bind_request`, in a context variable, cleared when the request
ends) and every line it logs carries them. The last step before rendering masks whatever is
shaped like a phone number (backend/log_mask.py): a second line of defence behind the explicit
masking (mask_phone, last_digits), which stays the rule; the tests sweep the lines as they are
before that step, so a call site that forgets still fails.
"""

import contextvars
import hashlib
import hmac
import json
import logging
import re
import sys
import time

import structlog
from flask import current_app

from backend.log_mask import mask_fields, mask_identifier, mask_phone_shaped

LOGGER_NAME = "backend"
logger = logging.getLogger(LOGGER_NAME)

# What a JSON line never shows, not computed for each record (the stdlib's logging HOWTO,
# "Optimization"): the caller's file and line, thread, process and task names. About a tenth of
# what a line costs (callgrind, benchmarks/log_line.py's line).
logging._srcfile = None
logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
logging.logAsyncioTasks = False


# The request's bound fields, one dict in one context variable: structlog.contextvars keeps a
# variable per key and copies the whole context to read them, about 3 µs a request and 1 µs a
# line more. Each thread (gthread) and each task has its own.
_request_fields = contextvars.ContextVar("request_fields", default=None)


def _bound_fields_first(_logger, _method, event_dict):
    """structlog processor: the request's bound fields before the call's own, which win."""
    bound = _request_fields.get()
    return {**bound, **event_dict} if bound else event_dict


def _to_stdlib(_logger, _method, event_dict):
    """The event dict as the record's message, marked for JsonLineFormatter."""
    return (event_dict,), {"extra": {"_structlog": True}}


class _EventLogger(structlog.BoundLoggerBase):
    """A structlog bound logger with log_event's one method, over a stdlib logger.

    structlog.stdlib.BoundLogger cost about 1 µs more a line (a level-filter processor, layers
    of proxy methods, measured with benchmarks/log_line.py): here the level is checked first.
    """

    def log(self, level, event, **fields):
        if self._logger.isEnabledFor(level):
            args, kwargs = self._process_event("log", event, fields)
            self._logger.log(level, *args, **kwargs)


# log_event's path: add the request's bound fields, hand the event dict to the stdlib logger,
# so the app's lines and every library's meet in the same handler; JsonLineFormatter renders.
_events = structlog.wrap_logger(
    logger, processors=[_bound_fields_first, _to_stdlib], wrapper_class=_EventLogger
).bind()  # the bound logger itself, not a proxy that builds it at each call


# Fields that carry an id as a client sent it: a client may put a caller's number there.
CLIENT_IDS = frozenset({"call_id", "msg_type", "turn", "tool_call_id"})


def log_event(event, level=logging.INFO, **fields):
    """Log one event with its structured fields. Never pass a full phone number here.

    Ids a client sent (CLIENT_IDS) are masked if they hold a number (log_mask.mask_identifier).
    """
    for key in CLIENT_IDS.intersection(fields):
        fields[key] = mask_identifier(fields[key])
    _events.log(level, event, **fields)


def bind_request(**fields):
    """Add `fields` (tenant, call_id) to every line logged until the current request ends.

    Ids a client sent (CLIENT_IDS) are masked once here if they hold a number.
    """
    for key in CLIENT_IDS.intersection(fields):
        fields[key] = mask_identifier(fields[key])
    _request_fields.set({**(_request_fields.get() or {}), **fields})


def unbind_request(_error=None):
    """Forget the bound fields: at the end of each request (and of each test)."""
    _request_fields.set(None)


def init_app(app):
    """Send every logger's lines to stderr as JSON, once per process; unbind at request end."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonLineFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLineFormatter())
        root.addHandler(handler)
        if not app.testing:  # pytest records warnings itself
            logging.captureWarnings(True)  # SQLAlchemy's and others' warnings, as lines too
    # The root's level: werkzeug's and Alembic's INFO lines are shown as before; SQLAlchemy
    # sets its own loggers to WARNING.
    root.setLevel(app.config["LOG_LEVEL"])
    app.teardown_request(unbind_request)


# --- rendering -------------------------------------------------------------------------------

_last_second = (0, "1970-01-01T00:00:00")  # formatted once a second: most lines share it


def _timestamp(created):
    global _last_second
    second = int(created)
    cached, text = _last_second
    if cached != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = second, text
    return f"{text}.{int((created - second) * 1000):03d}Z"


def _line(record):
    """ts, level and event first, then the fields; an exception by its type alone."""
    ts, level = _timestamp(record.created), record.levelname.lower()
    if getattr(record, "_structlog", False):
        fields = record.msg  # shared with the record's other handlers: copied, never changed
        line = {"ts": ts, "level": level, "event": fields["event"], **fields}
    else:  # another library's line: its message is the event
        line = {"ts": ts, "level": level, "event": record.getMessage(), "logger": record.name}
    if record.exc_info:
        # The exception type only: messages and tracebacks may quote request data.
        line["exception"] = record.exc_info[0].__name__
    return line


class JsonLineFormatter(logging.Formatter):
    """Any record as one JSON line: log_event's, and other libraries' (their message as event).

    The line goes through structlog processors: the phone-shaped mask, then the JSON renderer.
    `mask=False` renders the line as the call site made it: the tests' sweep reads that.
    """

    def __init__(self, mask=True):
        super().__init__()
        # One encoder for every line: json.dumps with these options builds one per call.
        encoder = json.JSONEncoder(ensure_ascii=False, default=str)
        render = structlog.processors.JSONRenderer(
            serializer=lambda line, **_: encoder.encode(line)
        )
        self.processors = (mask_fields, render) if mask else (render,)

    def format(self, record):
        line = _line(record)
        for processor in self.processors:
            line = processor(None, None, line)
        return line


class MaskedTextFormatter(logging.Formatter):
    """A plain line (gunicorn's access log, in its own format) with phone-shaped runs masked.

    The status and size after the request line (« "GET / HTTP/1.1" 200 4361738 ») are the
    server's, side by side: not a number written with a space, so left as they are.
    """

    def format(self, record):
        line = super().format(record)
        found = _STATUS_AND_SIZE.match(line)
        if found is None:
            return mask_phone_shaped(line)
        start, end = found.span("kept")
        return mask_phone_shaped(line[:start]) + line[start:end] + mask_phone_shaped(line[end:])


# gunicorn's default access line up to its size: fields, then the request line in quotes (a quote
# a client sent is escaped there), then the status and the size.
_STATUS_AND_SIZE = re.compile(r'(?:[^"\\]|\\.)*"(?:[^"\\]|\\.)*" (?P<kept>[1-5]\d\d (?:\d+|-)) ')


# --- correlating calls without the number ------------------------------------------------------

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
