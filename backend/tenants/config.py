"""Tenant YAML files: read, checked against the schema and against each other. Plain Python."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from backend.auth.signatures import HmacSettings, settings_problems
from backend.config import secret
from backend.engine.contact import DEFAULT_WAY_OUT
from backend.privacy.masking import mask_phone
from backend.problems import Problem, is_error, unreadable_file
from backend.tenants.schema import SCHEMA, TenantChecker


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
    transfer_to: str | None = None  # E.164 number or SIP URI the `transfer` way out goes to
    hmac: HmacSettings | None = None  # Vapi's HMAC credential, signed with the same secret
    secret_header: str | None = None  # a Bearer credential's other headerName
    retention_days: int = 30
    # key -> line in the file, so problems between files can point at the line.
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def secret(self):
        """The secret, read from the environment at each use: a rotation needs no reload."""
        return secret(self.secret_env)


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
        reason = getattr(error, "problem", None) or str(error)
        start = getattr(error, "context_mark", None)
        if start is not None and (mark is None or mark.index >= len(text)):
            # At the end of the file (a quote or bracket never closed): where it was opened.
            mark, reason = start, f"{error.context}, {reason}"
        line = mark.line + 1 if mark else 1
        return None, [Problem(name, line, "(yaml)", f"YAML syntax error: {reason}")]
    except (ValueError, OverflowError) as error:  # `2024-02-30` is a date to YAML, and no date
        message = f"YAML reads a value as a date, and no such date exists ({error}): quote it"
        return None, [Problem(name, _unbuildable_line(text), "(yaml)", message)]
    except Exception as error:  # noqa: BLE001  (`!!timestamp 2024`, nesting past Python's stack)
        message = f"YAML cannot build a value here ({type(error).__name__}): quote or simplify it"
        return None, [Problem(name, _unbuildable_line(text), "(yaml)", message)]
    if not isinstance(data, dict):
        return None, [Problem(name, 1, "(file)", "must be a mapping of keys, like id: demo")]
    checker = TenantChecker(name, node)
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
    if _hmac_settings(data, values) is not None:
        for key, message in settings_problems(values):
            checker.problem(key, message)
    said = {p.key for p in checker.problems}  # a transfer_to refused already says what to fix
    if (
        values["contact.way_out"] == "transfer"
        and "contact.transfer_to" not in said
        and not values["contact.transfer_to"]
    ):
        checker.problem(
            "contact.way_out",
            "transfer needs contact.transfer_to: a phone number in E.164 or a SIP URI",
        )
    if any(is_error(p) for p in checker.problems):
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
        transfer_to=values["contact.transfer_to"],
        hmac=_hmac_settings(data, values),
        secret_header=values["vapi.secret_header"],
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


def _unbuildable_line(text):
    """The line of the first value YAML cannot build in `text` (a date that does not exist),
    else 1."""
    try:
        stack = [yaml.compose(text, Loader=yaml.SafeLoader)]
    except Exception:  # noqa: BLE001  (nested past the stack: no line to give)
        return 1
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(node)
            except Exception:  # noqa: BLE001  (whatever building it raises)
                return node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            stack += [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return 1


def load_tenant_file(path, known_variants=None, knows_locale=None):
    """Read and validate one tenant file: (Tenant or None, [Problem])."""
    try:
        text = Path(path).read_bytes().decode("utf-8")  # whole: an error says its line
    except (OSError, UnicodeDecodeError) as error:
        return None, [unreadable_file(path, error)]
    return parse_tenant_text(text, str(path), known_variants, knows_locale)


def oldest_first(path):
    """A sort key: a file's last change, then its path. Where two files claim one number and
    nothing served decides, the file changed last is the newcomer: its claim is the refused one."""
    try:
        changed = Path(path).stat().st_mtime_ns
    except OSError:  # removed meanwhile: its claim goes last
        changed = float("inf")
    return changed, str(path)


def cross_check(tenants):
    """Problems between files: duplicate ids, a number or phone-number id claimed twice.

    The first tenant of `tenants` to claim a value keeps it: the others' claims are the problems.
    """
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
                # The file's name: tenant files share one folder, shown wherever the line is read.
                message = f"{what} is already claimed by {Path(owner.source).name}"
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
    crossed = cross_check(sorted(tenants, key=lambda t: oldest_first(t.source)))
    refused = {p.file for p in crossed}
    return TenantDirectory([t for t in tenants if t.source not in refused]), problems + crossed
