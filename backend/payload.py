"""Typed access to Vapi bodies: any field but `message.type` may be missing, none mistyped."""

import json

from .errors import BadPayload


def read_json_object(request):
    """The request body as a JSON object, or BadPayload saying why not."""
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except UnicodeDecodeError as error:
        raise BadPayload("body is not valid UTF-8") from error
    except (ValueError, RecursionError) as error:
        raise BadPayload("body is not valid JSON") from error
    if not isinstance(body, dict):
        raise BadPayload("body must be a JSON object")
    return body


def field(obj, path, kind, where="body"):
    """`obj[a][b]...` for a dotted `path`, None when missing, BadPayload when of the wrong type."""
    value = obj
    walked = where
    for key in path.split("."):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise BadPayload(f"{walked} must be an object")
        value = value.get(key)
        walked = f"{walked}.{key}"
    if value is not None and not isinstance(value, kind):
        raise BadPayload(f"{walked} must be {_KIND_NAMES.get(kind, 'of another type')}")
    return value


_KIND_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def server_message(body):
    """The `message` object of a Server URL body, with its `type` checked."""
    message = body.get("message")
    if not isinstance(message, dict):
        raise BadPayload("message must be an object")
    if not isinstance(message.get("type"), str) or not message["type"]:
        raise BadPayload("message.type must be a non-empty string")
    return message
