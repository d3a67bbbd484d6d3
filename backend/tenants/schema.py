"""The tenant file schema: each key's type, default and check, and the walk that applies it.

Plain Python. Problems name the line of the key they are about (`file:line: key: problem`).
"""

import difflib
import re

import yaml

from backend import phones
from backend.auth.signatures import ALGORITHMS, ENCODINGS, payload_problem
from backend.engine.contact import DEFAULT_WAY_OUT, WAY_OUTS
from backend.log_mask import mask_phone_shaped
from backend.problems import Problem

_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")

# key -> (type, default, check); a dict is a nested section; REQUIRED: no default.
REQUIRED = object()


# The longest freshness window of a signed request: backend/store/replays.py keeps what it saw
# for twice this.
LONGEST_MAX_AGE_SECONDS = 3600


# A value quoted back goes through mask_phone_shaped: a number typed in the wrong field (the
# transfer number as `way_out`) must not reach /readyz, `tenants check` or a log line whole.


def _in_range(low, high):
    return lambda v: (
        None if low <= v <= high else f"must be between {low} and {high}, got {_quoted(v)}"
    )


def _quoted(value):
    return mask_phone_shaped(repr(value))


def _tenant_id(value):
    if _TENANT_ID.fullmatch(value):
        return None
    return "must be 1 to 63 lowercase letters, digits, - or _, starting with a letter or digit"


def _env_name(value):
    return None if _ENV_NAME.match(value) else "must be an environment variable name (A-Z, 0-9, _)"


def _region(value):
    return None if phones.is_region(value) else "must be a two-letter region such as FR, BE or CH"


def _one_of(choices):
    return lambda v: (
        None if v in choices else f"must be one of {', '.join(choices)}, got {_quoted(v)}"
    )


def _header_name(value):
    return None if _HEADER_NAME.match(value) else "must be an HTTP header name, like x-signature"


def _not_text(items):
    """Which item of a list is not a string, and why, without quoting it (it may be a number)."""
    position, item = next((i, x) for i, x in enumerate(items, 1) if not isinstance(x, str))
    if isinstance(item, int | float) and not isinstance(item, bool):
        return f"item {position} is not in quotes"
    return f"item {position} is not a string"


def _e164_list(values):
    # Items are named by position: a full number never goes into a message or a log line.
    for position, value in enumerate(values, start=1):
        e164 = phones.valid_e164(value)
        if e164 is None:
            return f"item {position} is not a valid phone number in E.164 (+ and country code)"
        if e164 != value:
            return f"item {position} must be written in E.164: + and digits, no spaces"
    return None


def _transfer_destination(value):
    # The value is not quoted back: it is a phone number, even when it is a wrong one.
    if value.lower().startswith(("sip:", "sips:")):
        return (
            None
            if phones.is_sip_uri(value)
            else "must be a SIP URI like sip:accueil@pbx.example.fr"
        )
    e164 = phones.valid_e164(value)
    if e164 is None:
        return "must be a valid phone number in E.164 (+ and country code) or a SIP URI (sip:...)"
    if e164 != value:
        return "must be written in E.164: + and digits, no spaces"
    return None


def _tool_name(value):
    if _TOOL_NAME.match(value):
        return None
    return "must be a function name: letters, digits, _ or -, at most 64"


SCHEMA = {
    "id": (str, REQUIRED, _tenant_id),
    "name": (str, REQUIRED, None),
    "locale": (str, "fr_FR", None),
    "region": (str, "FR", _region),
    "numbers": (list, [], _e164_list),
    "vapi": {
        "secret_env": (str, REQUIRED, _env_name),
        "phone_number_ids": (list, [], None),
        "assistant_id": ((str, type(None)), None, None),
        "secret_header": ((str, type(None)), None, _header_name),
        "hmac": {
            "signature_header": (str, "x-signature", _header_name),
            "timestamp_header": (str, "x-timestamp", _header_name),
            "algorithm": (str, "sha256", _one_of(ALGORITHMS)),
            "payload": (str, "{timestamp}.{body}", payload_problem),
            "encoding": (str, "hex", _one_of(ENCODINGS)),
            "prefix": (str, "", None),
            "max_age_seconds": (int, 300, _in_range(1, LONGEST_MAX_AGE_SECONDS)),
            "secret_is_base64": (bool, False, None),
            "message_id_header": ((str, type(None)), None, _header_name),
            "include_timestamp": (bool, True, None),
        },
    },
    "retention": {
        "days": (int, 30, _in_range(1, 3650)),
    },
    "masking": {
        "spoken_digits": (int, 2, _in_range(0, 4)),
        "logged_digits": (int, 2, _in_range(0, 4)),
    },
    "wording": {
        "variant": (str, "standard", None),
    },
    "contact": {
        "collect_attempts": (int, 3, _in_range(1, 10)),
        "tool_name": (str, "contact_step", _tool_name),
        "way_out": (str, DEFAULT_WAY_OUT, _one_of(tuple(WAY_OUTS))),
        "transfer_to": ((str, type(None)), None, _transfer_destination),
    },
}

_TYPE_NAMES = {
    str: "a string",
    int: "a whole number",
    list: "a list",
    dict: "a mapping",
    bool: "true or false",
}


def _wrong_type(kind, value):
    """Why `value` is not `kind`. A number where text goes is told to go in quotes, not quoted
    back: YAML reads `transfer_to: 0612345670` as a number, and it may be a phone number."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    expected = " or ".join("null" if k is type(None) else _TYPE_NAMES[k] for k in kinds)
    if str in kinds and isinstance(value, int | float) and not isinstance(value, bool):
        return f"must be {expected}: put it in quotes, YAML reads it as a number"
    return f"must be {expected}, got {type(value).__name__}"


def _is_instance(value, kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def _key_as_parsed(key_node, constructor):
    """A key as the parsed data holds it, which `section` names problems by: YAML reads
    `+33612345670:` as the int 33612345670, `0x10:` as 16. Its text when it cannot be built
    alone (a merge key, `<<`)."""
    try:
        return constructor.construct_object(key_node)
    except yaml.YAMLError:
        return key_node.value


class TenantChecker:
    """Walks one parsed file against SCHEMA, collecting problems with their lines."""

    def __init__(self, name, node):
        self.name = name
        self.problems = []
        self.lines = {}
        self._index(node, "")

    def _index(self, node, prefix):
        if not isinstance(node, yaml.MappingNode):
            return
        seen, constructor = set(), yaml.constructor.SafeConstructor()
        for key_node, value_node in node.value:
            path = f"{prefix}{_key_as_parsed(key_node, constructor)}"
            if path in seen:
                self.problem(path, "duplicate key", line=key_node.start_mark.line + 1)
            seen.add(path)
            self.lines[path] = key_node.start_mark.line + 1
            self._index(value_node, path + ".")

    def problem(self, key, message, severity="error", line=None):
        if line is None:
            parent = key
            while parent and parent not in self.lines:
                parent = parent.rpartition(".")[0]
            line = self.lines.get(parent, 1)
        self.problems.append(Problem(self.name, line, key, message, severity))

    def section(self, data, schema, prefix=""):
        values = {}
        for key in data:
            if key not in schema:
                path = f"{prefix}{key}"
                hint = difflib.get_close_matches(str(key), list(schema), n=1)
                self.problem(path, "unknown key" + (f", did you mean {hint[0]}?" if hint else ""))
        for key, spec in schema.items():
            path = f"{prefix}{key}"
            value = data.get(key)
            if isinstance(spec, dict):
                if value is None:
                    value = {}
                if not isinstance(value, dict):
                    self.problem(path, "must be a mapping")
                    value = {}
                values.update(self.section(value, spec, path + "."))
                continue
            kind, default, check = spec
            if key not in data:
                if default is REQUIRED:
                    self.problem(path, "is required")
                values[path] = None if default is REQUIRED else default
                continue
            if not _is_instance(value, kind):
                self.problem(path, _wrong_type(kind, value))
                values[path] = None if default is REQUIRED else default
                continue
            if kind is list and not all(isinstance(item, str) for item in value):
                self.problem(path, f"must be a list of strings: {_not_text(value)}")
                continue
            message = check(value) if check and value is not None else None
            if message:
                self.problem(path, message)
            elif kind is list and len(set(value)) < len(value):
                # Harmless, and a file that served before must not stop a server: a warning.
                again = next(i for i, item in enumerate(value) if item in value[:i])
                first = value.index(value[again]) + 1
                self.problem(path, f"item {again + 1} repeats item {first}", severity="warning")
            values[path] = value
        return values
