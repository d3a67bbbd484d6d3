"""The raw request body, decoded into our shapes with the checks no JSON library makes for us."""

import json
import re
import socket

import msgspec
from flask import abort, current_app
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected
from werkzeug.local import LocalProxy

from backend.edge.errors import BadPayload

_BOM = b"\xef\xbb\xbf"
# Python refuses to read integers longer than this (sys.get_int_max_str_digits): a body holding
# one was refused before msgspec, which skips the fields it does not read without reading them.
_INT_MAX_DIGITS = 4300
# Found by mapping every digit to 0 and looking for the run: 30 times faster than a regex.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * (_INT_MAX_DIGITS + 1)
# One backslash escape of a JSON string, scanned left to right so that `\\u0000` (an escaped
# backslash, then text) is not taken for `\u0000`.
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)")


def request_bytes(request):
    """The raw body; 413 past MAX_CONTENT_LENGTH, also when no Content-Length announced it.

    408 when the body stops arriving and 400 when its chunked framing is malformed (under
    gunicorn, whose socket the request names); 415 for
    a compressed body (Vapi sends plain JSON: gzip would be read as text that is not UTF-8).
    """
    if isinstance(request, LocalProxy):
        # Flask's `request`: each attribute read through the proxy costs about 1 µs, and
        # reading the body takes a dozen.
        request = request._get_current_object()
    encoding = request.environ.get("HTTP_CONTENT_ENCODING")
    if encoding and any(c.strip().lower() not in ("", "identity") for c in encoding.split(",")):
        abort(415, description="a compressed body (Content-Encoding) is not accepted: send JSON")
    sock = request.environ.get("gunicorn.socket")
    if sock is None or "edge.body_read" in request.environ:
        return _read_body(request)
    request.environ["edge.body_read"] = True
    previous = sock.gettimeout()
    sock.settimeout(current_app.config["BODY_READ_TIMEOUT_S"])
    try:
        return _read_body(request)
    except (TimeoutError, ClientDisconnected) as error:
        # werkzeug reports the timeout as a disconnected client: the cause tells them apart.
        if not isinstance(error, TimeoutError) and not isinstance(error.__context__, TimeoutError):
            raise
        # What was read of the body is lost: no next request can be read on this connection.
        sock.shutdown(socket.SHUT_RD)
        abort(408, description="body not received in time")
    except ParseException:
        # gunicorn's reader refused the body's chunked framing (a chunk size that is no number,
        # a chunk without its CRLF): nothing after it on this connection can be read either.
        sock.shutdown(socket.SHUT_RD)
        abort(400, description="the body's chunked framing is malformed")
    finally:
        sock.settimeout(previous)


def _read_body(request):
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A streamed (chunked) body is cut at the limit without a word; reading one byte
        # more makes werkzeug raise its 413 instead of passing on a truncated body.
        request.stream.read(1)
    return raw


def _body_text(raw):
    """The body ready for the JSON decoder: UTF-8 checked, a leading BOM dropped."""
    # msgspec checks the UTF-8 of the strings it reads, not of those it skips.
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadPayload("body is not valid UTF-8") from None
    # JSON is UTF-8 (RFC 8259); a BOM is tolerated, and skipped without a copy.
    return memoryview(raw)[len(_BOM) :] if raw.startswith(_BOM) else raw


def _check_decoded_body(raw):
    """BadPayload for what a decoded body may still hold: a NUL, an integer Python cannot read.

    Both are rare, and found by a scan of the bytes first: only a body with a `\\u0000` escape
    or a run of 4,301 digits is looked at further.
    """
    if b"\\u0000" in raw and any(
        code == b"0000" for code in (m.group(1) for m in _ESCAPE.finditer(raw))
    ):
        # PostgreSQL text columns refuse NUL; so does every log line reader.
        raise BadPayload("body holds a NUL character or an unpaired surrogate escape")
    if len(raw) > _INT_MAX_DIGITS and _LONG_DIGIT_RUN in raw.translate(_DIGITS_TO_ZERO):
        # Inside a string (a transcript) such a run is fine; as a number, Python's json refuses it.
        try:
            json.loads(raw)
        except (ValueError, RecursionError):
            raise BadPayload("body is not valid JSON") from None


def decode(decoder, raw):
    """The body decoded by a msgspec decoder of our shapes, or BadPayload saying what is wrong."""
    try:
        body = decoder.decode(_body_text(raw))
    except msgspec.ValidationError as error:
        raise BadPayload(_field_problem(str(error))) from None
    except msgspec.DecodeError as error:
        if "surrogate" in str(error):
            raise BadPayload("body holds a NUL character or an unpaired surrogate escape") from None
        raise BadPayload("body is not valid JSON") from None
    except RecursionError:
        # Nesting deeper than Python's stack, e.g. 100 000 nested arrays.
        raise BadPayload("body is not valid JSON") from None
    _check_decoded_body(raw)
    return body


# msgspec says "Expected `str | null`, got `int` - at `$.message.call.id`": names of JSON types
# and a path of our own field names, never a value from the body. Reworded as `field` did.
_EXPECTED = re.compile(r"^Expected `([^`]*)`, got `[^`]*`(?: - at `\$(.*)`)?$")
_KIND_NAMES = {
    "object": "an object",
    "array": "an array",
    "str": "a string",
    "bool": "a boolean",
    "int": "an integer",
    "float": "a number",
}


def _field_problem(message):
    expected = _EXPECTED.match(message)
    if expected is None:
        # "Integer value out of range": a number Python's json would refuse too.
        return "body is not valid JSON" if "out of range" in message else "body is not valid"
    kinds, path = expected.groups()
    if not path:
        return "body must be a JSON object"
    # A field that may be null is named by what else it may be.
    kinds = [kind for kind in kinds.split(" | ") if kind != "null"]
    names = [_KIND_NAMES.get(kind, "of another type") for kind in kinds]
    return f"{path.lstrip('.')} must be {' or '.join(names)}"


def json_leaves(value):
    """Every key and scalar inside a JSON value, found with a loop: bodies may nest deeply."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        else:
            yield value
