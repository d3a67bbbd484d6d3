"""Tenant YAML files: schema, validation with file:line: key: problem messages. Plain Python."""

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
import yaml

from backend.auth.signatures import ALGORITHMS, ENCODINGS, HmacSettings, payload_problem
from backend.config import secret
from backend.engine.contact import DEFAULT_WAY_OUT, WAY_OUTS
from backend.privacy.masking import mask_phone

_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a tenant file; `severity` is "error" (refused) or "warning" (served)."""

    file: str
    line: int
    key: str
    message: str
    severity: str = "error"

    def __str__(self):
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {self.key}: {prefix}{self.message}"


@dataclass(frozen=True)
class Tenant:
    """One business, as its YAML file describes it."""

    id: str
    name: str
    locale: str
    region: str
    numbers: tuple
    secret_env: str
    phone_number_ids: tuple
    assistant_id: str | None
    spoken_digits: int
    logged_digits: int
    variant: str
    source: str = field(default="", compare=False)
    collect_attempts: int = 3
    tool_name: str = "contact_step"
    way_out: str = DEFAULT_WAY_OUT
    hmac: HmacSettings | None = None  # Vapi's HMAC credential, signed with the same secret
    retention_days: int = 30
    # key -> line in the file, so problems between files can point at the line.
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def secret(self):
        """The secret, read from the environment at each use: a rotation needs no reload."""
        return secret(self.secret_env)


# key -> (type, default, check); a dict is a nested section; REQUIRED: no default.
REQUIRED = object()


def _in_range(low, high):
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}, got {v}"


def _tenant_id(value):
    return None if _TENANT_ID.match(value) else "must be lowercase letters, digits, - or _"


def _env_name(value):
    return None if _ENV_NAME.match(value) else "must be an environment variable name (A-Z, 0-9, _)"


def _region(value):
    if value in phonenumbers.SUPPORTED_REGIONS:
        return None
    return "must be a two-letter region such as FR, BE or CH"


def _one_of(choices):
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}, got {v!r}"


def _header_name(value):
    return None if _HEADER_NAME.match(value) else "must be an HTTP header name, like x-signature"


def _e164_list(values):
    # Items are named by position: a full number never goes into a message or a log line.
    for position, value in enumerate(values, start=1):
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            return f"item {position} is not a valid phone number in E.164 (+ and country code)"
        if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value:
            return f"item {position} must be written in E.164: + and digits, no spaces"
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
        "hmac": {
            "signature_header": (str, "x-signature", _header_name),
            "timestamp_header": (str, "x-timestamp", _header_name),
            "algorithm": (str, "sha256", _one_of(ALGORITHMS)),
            "payload": (str, "{timestamp}.{body}", payload_problem),
            "encoding": (str, "hex", _one_of(ENCODINGS)),
            "prefix": (str, "", None),
            "max_age_seconds": (int, 300, _in_range(1, 3600)),
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
    },
}

_TYPE_NAMES = {str: "a string", int: "a whole number", list: "a list", dict: "a mapping"}


def _type_name(kind):
    if isinstance(kind, tuple):
        return " or ".join("null" if k is type(None) else _TYPE_NAMES[k] for k in kind)
    return _TYPE_NAMES[kind]


def _is_instance(value, kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


class _Checker:
    """Walks one parsed file against SCHEMA, collecting problems with their lines."""

    def __init__(self, name, node):
        self.name = name
        self.problems = []
        self.lines = {}
        self._index(node, "")

    def _index(self, node, prefix):
        if not isinstance(node, yaml.MappingNode):
            return
        seen = set()
        for key_node, value_node in node.value:
            path = f"{prefix}{key_node.value}"
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
                self.problem(path, f"must be {_type_name(kind)}, got {type(value).__name__}")
                values[path] = None if default is REQUIRED else default
                continue
            if kind is list and not all(isinstance(item, str) for item in value):
                self.problem(path, "must be a list of strings")
                continue
            message = check(value) if check and value is not None else None
            if message:
                self.problem(path, message)
            values[path] = value
        return values


def _hmac_settings(data, values):
    """The tenant's HMAC credential when its file has a `vapi.hmac` mapping (even empty)."""
    vapi = data.get("vapi")
    if not isinstance(vapi, dict) or not isinstance(vapi.get("hmac"), dict):
        return None
    return HmacSettings(
        **{name: values[f"vapi.hmac.{name}"] for name in HmacSettings.__dataclass_fields__}
    )


def parse_tenant_text(text, name, known_variants=None, knows_locale=None):
    """Validate one tenant file's text: (Tenant or None, [Problem]).

    `known_variants` (a set) and `knows_locale` (a predicate) come from the catalogs.
    """
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(error, "problem", None) or str(error)
        return None, [Problem(name, line, "(yaml)", f"YAML syntax error: {reason}")]
    if not isinstance(data, dict):
        return None, [Problem(name, 1, "(file)", "must be a mapping of keys, like id: demo")]
    checker = _Checker(name, node)
    values = checker.section(data, SCHEMA)
    if known_variants is not None and values["wording.variant"] not in known_variants:
        choices = ", ".join(sorted(known_variants))
        checker.problem("wording.variant", f"unknown variant, choose one of {choices}")
    if knows_locale is not None and not knows_locale(values["locale"]):
        checker.problem("locale", "no catalog for this locale or its language in locales/")
    if values["vapi.secret_env"] and not secret(values["vapi.secret_env"]):
        checker.problem(
            "vapi.secret_env",
            f"{values['vapi.secret_env']} is not set: this tenant refuses every request",
            severity="warning",
        )
    if any(p.severity == "error" for p in checker.problems):
        return None, checker.problems
    tenant = Tenant(
        id=values["id"],
        name=values["name"],
        locale=values["locale"],
        region=values["region"],
        numbers=tuple(values["numbers"]),
        secret_env=values["vapi.secret_env"],
        phone_number_ids=tuple(values["vapi.phone_number_ids"]),
        assistant_id=values["vapi.assistant_id"],
        spoken_digits=values["masking.spoken_digits"],
        logged_digits=values["masking.logged_digits"],
        variant=values["wording.variant"],
        collect_attempts=values["contact.collect_attempts"],
        tool_name=values["contact.tool_name"],
        way_out=values["contact.way_out"],
        hmac=_hmac_settings(data, values),
        retention_days=values["retention.days"],
        source=name,
        lines=checker.lines,
    )
    return tenant, checker.problems


def tenant_files(directory):
    """The tenant files of a folder, in a stable order."""
    folder = Path(directory)
    # Hidden files are editors' locks and backups (.#demo.yaml), not tenants.
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
    )


def unreadable(error):
    """Why a file or folder cannot be read, without its path: that goes to /readyz, and the
    problem names the file already."""
    if isinstance(error, OSError):
        return f"cannot be read: {error.strerror or type(error).__name__}"
    return f"cannot be read: {error}"


def load_tenant_file(path, known_variants=None, knows_locale=None):
    """Read and validate one tenant file: (Tenant or None, [Problem])."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(str(path), 1, "(file)", unreadable(error))]
    return parse_tenant_text(text, str(path), known_variants, knows_locale)


def cross_check(tenants):
    """Problems between files: duplicate ids, a number or phone-number id claimed twice."""
    problems = []
    claimed = {}
    for tenant in tenants:
        claims = [("id", tenant.id)]
        claims += [("numbers", n) for n in tenant.numbers]
        claims += [("vapi.phone_number_ids", i) for i in tenant.phone_number_ids]
        for key, value in claims:
            owner = claimed.setdefault((key, value), tenant)
            if owner is not tenant:
                what = {"id": "tenant id", "numbers": f"number {mask_phone(value, 2)}"}.get(
                    key, repr(value)
                )
                message = f"{what} is already claimed by {owner.source}"
                problems.append(Problem(tenant.source, tenant.lines.get(key, 1), key, message))
    return problems


class TenantDirectory:
    """Tenants by id, by called number and by Vapi phone-number id."""

    def __init__(self, tenants):
        self.by_id = {t.id: t for t in tenants}
        self.by_number = {n: t for t in tenants for n in t.numbers}
        self.by_phone_number_id = {i: t for t in tenants for i in t.phone_number_ids}

    def __len__(self):
        return len(self.by_id)

    def get(self, tenant_id):
        """The tenant with this id, or None."""
        return self.by_id.get(tenant_id)

    def for_called(self, called_number, phone_number_ids):
        """The tenant that owns the called number or one of the phone-number ids, or None."""
        if called_number in self.by_number:
            return self.by_number[called_number]
        for phone_number_id in phone_number_ids:
            if phone_number_id in self.by_phone_number_id:
                return self.by_phone_number_id[phone_number_id]
        return None


def load_tenants_dir(directory, known_variants=None, knows_locale=None):
    """Every tenant of a folder: (TenantDirectory of the valid ones, [Problem] for all)."""
    tenants, problems = [], []
    for path in tenant_files(directory):
        tenant, found = load_tenant_file(path, known_variants, knows_locale)
        problems += found
        if tenant:
            tenants.append(tenant)
    crossed = cross_check(tenants)
    refused = {p.file for p in crossed}
    return TenantDirectory([t for t in tenants if t.source not in refused]), problems + crossed
