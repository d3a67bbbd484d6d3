"""One JSON object per line on stdout: the events operators grep for (CALLER_ID_PERSISTED, ...)."""

import json
import logging
import sys
import time

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
    """Send the backend's events to stdout as JSON lines, once per process."""
    if not any(getattr(h, "_backend_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonLineFormatter())
        handler._backend_json = True
        logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    logger.propagate = app.testing  # tests read records through pytest's caplog too


def log_event(event, level=logging.INFO, **fields):
    """Log one event with its structured fields. Never pass a full phone number here."""
    logger.log(level, event, extra={"fields": fields})
