"""The worker's own answers: JSON, closing the connection, quoting nothing a client sent."""

import json

from gunicorn.http import errors as http_errors

# Gunicorn's parse errors, answered without quoting the request: (status, reason, message).
_PARSE_ERRORS = (
    (http_errors.LimitRequestLine, 414, "URI Too Long", "request line too long"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers too large"),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented", "unsupported transfer coding"),
    (http_errors.ExpectationFailed, 417, "Expectation Failed", "unsupported expectation"),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden", "request forbidden"),
    (http_errors.ParseException, 400, "Bad Request", "malformed request"),
)


def json_answer(status, reason, message):
    """A whole HTTP/1.1 answer `{"error": message}` that closes the connection."""
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def answer_to_parse_error(exc):
    """(status, reason, message) for a request gunicorn could not parse, else None.

    None too for gunicorn's errors about the app's own answer: those are the app's fault (500).
    """
    if isinstance(exc, http_errors.InvalidResponseHeader | http_errors.InvalidResponseHeaderName):
        return None
    return next((answer for kind, *answer in _PARSE_ERRORS if isinstance(exc, kind)), None)
