"""Where an HTTP/1.1 request ends in the bytes received so far. Plain Python.

The buffering worker (backend/serving/worker.py) hands a request to a thread only once all of
it is here. This reads just enough of the head to know the body's length (Content-Length, or
chunked framing walked chunk by chunk); gunicorn's parser still reads and checks the request
itself. Anything this cannot frame (a malformed or conflicting length, an unknown coding, a body
over the limit) is handed over as it is, for the parser or the app to refuse, and the connection
closes after the answer. A chunked body that grows past the limit is `too_large` (413).
"""

from dataclasses import dataclass

HEAD_END = b"\r\n\r\n"
_CRLF = b"\r\n"
_BARE_LF_END = b"\n\n"  # never in a head of CRLF lines: each LF there is followed by a field
# Chunk size lines are a few hex digits and extensions; a longer one is no chunk size.
_MAX_CHUNK_LINE = 8190
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_TOO_LARGE = -2


@dataclass(frozen=True)
class Framing:
    """What the bytes so far hold of the first request in them.

    `end`: the request's length when it is all here (None otherwise); `head_end`: where its
    head ends, once it has; `hand_over`: framing this module does not vouch for (hand over what
    is here and close the connection after); `expects_continue`: the client waits for
    `100 Continue` before it sends its body.
    """

    head_end: int | None = None
    end: int | None = None
    hand_over: bool = False
    expects_continue: bool = False
    too_large: bool = False


NEED_HEAD = Framing()


def _values(head, name):
    """The values of every `name` field (lowercase, with its colon) in a lowercased head, or None.

    Found with `find`, not by splitting every line: this runs in the loop that serves every
    connection of the process.
    """
    values, at = None, head.find(name)
    while at >= 0:
        end = head.find(_CRLF, at + len(name))
        value = head[at + len(name) : end if end >= 0 else len(head)].strip()
        values = [*(values or ()), value]
        at = head.find(name, at + len(name))
    return values


def request_framing(data, max_body):
    """How the first request in `data` (bytes received on a connection) is framed."""
    head_at = data.find(HEAD_END)
    if head_at < 0:
        # Lines ended by a bare LF: a head that never ends in CRLF CRLF, for the parser to refuse
        # now rather than the head's timeout later.
        bare_end = data.find(_BARE_LF_END)
        if bare_end >= 0:
            return Framing(bare_end + 2, bare_end + 2, hand_over=True)
        return NEED_HEAD
    head_end = head_at + len(HEAD_END)
    # Each name after a line end: the request line holds none. A field name with spaces, or a
    # folded line, is refused by gunicorn's parser whatever is read here.
    head = bytes(data[:head_at]).lower()
    lengths = _values(head, b"\r\ncontent-length:")
    codings = _values(head, b"\r\ntransfer-encoding:")
    expects = _values(head, b"\r\nexpect:") == [b"100-continue"]
    if codings is not None:
        if lengths is not None or codings != [b"chunked"]:
            return Framing(head_end, head_end, hand_over=True)  # the parser refuses these
        end = _chunked_end(data, head_end, max_body)
        if end is None:
            return Framing(head_end, expects_continue=expects)
        if end == _TOO_LARGE:
            return Framing(head_end, too_large=True)
        return Framing(head_end, end) if end > 0 else Framing(head_end, head_end, hand_over=True)
    if lengths is None:
        return Framing(head_end, head_end)
    if len(lengths) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
        return Framing(head_end, head_end, hand_over=True)
    length = int(lengths[0])
    if length > max_body:
        # Refused from its head (413): the body is not waited for.
        return Framing(head_end, head_end, hand_over=True)
    if len(data) - head_end < length:
        return Framing(head_end, expects_continue=expects)
    return Framing(head_end, head_end + length)


def _chunked_end(data, at, max_body):
    """Where a chunked body starting at `at` ends; None: not all here; -1: malformed;
    _TOO_LARGE: over `max_body`."""
    size_total = 0
    while True:
        line_end = data.find(_CRLF, at, at + _MAX_CHUNK_LINE + 2)
        if line_end < 0:
            return None if len(data) - at <= _MAX_CHUNK_LINE else -1
        size_text = bytes(data[at:line_end]).split(b";", 1)[0].strip()
        if not size_text or size_text.strip(_HEX_DIGITS):
            return -1
        size = int(size_text, 16)
        size_total += size
        if size_total > max_body:
            return _TOO_LARGE
        at = line_end + 2
        if size == 0:  # the last chunk: trailer lines, if any, then an empty line
            if len(data) < at + 2:
                return None
            if data[at : at + 2] == _CRLF:
                return at + 2
            trailers_end = data.find(HEAD_END, at)
            return None if trailers_end < 0 else trailers_end + 4
        if len(data) < at + size + 2:
            return None
        if data[at + size : at + size + 2] != _CRLF:
            return -1
        at += size + 2
