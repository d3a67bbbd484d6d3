"""Tenant YAML files: shipped ones load; invalid ones stop start-up with file:line: key: problem."""

import re
import textwrap

import pytest

from backend import PROJECT_ROOT, create_app
from backend.tenants.config import Tenant, load_tenant_file, load_tenants_dir, parse_tenant_text
from backend.tenants.store import TenantConfigError
from tests.leaks import assert_no_full_number

SHIPPED = PROJECT_ROOT / "tenants"
VARIANTS = {"standard", "short", "warm"}

# The issue's tenant file, character for character.
DEMO_YAML = """\
id: demo                      # the <tenant_id> in URLs
name: Cabinet Démo
locale: fr_FR
region: FR                    # region for national numbers
numbers: ["+33180001234"]     # called numbers routed here from the shared URL
vapi: {secret_env: VAPI_SECRET_DEMO, phone_number_ids: [], assistant_id: null}
masking: {spoken_digits: 2, logged_digits: 2}
wording: {variant: standard}
"""

VALID = """\
id: acme
name: Acme
locale: fr_FR
region: FR
numbers: ["+33180009999"]
vapi:
  secret_env: VAPI_SECRET_ACME
  phone_number_ids: ["pn-acme"]
  assistant_id: null
masking:
  spoken_digits: 2
  logged_digits: 2
wording:
  variant: short
"""


def knows_locale(locale):
    return locale.split("_")[0] == "fr"


def test_shipped_demo_file_is_the_issue_text():
    assert (SHIPPED / "demo.yaml").read_text(encoding="utf-8") == DEMO_YAML


def test_shipped_demo_tenant_loads_as_the_issue_shows(secrets):
    tenant, problems = load_tenant_file(SHIPPED / "demo.yaml", VARIANTS, knows_locale)
    assert problems == []
    assert tenant == Tenant(
        id="demo",
        name="Cabinet Démo",
        locale="fr_FR",
        region="FR",
        numbers=("+33180001234",),
        secret_env="VAPI_SECRET_DEMO",
        phone_number_ids=(),
        assistant_id=None,
        spoken_digits=2,
        logged_digits=2,
        variant="standard",
    )
    assert tenant.secret == secrets["VAPI_SECRET_DEMO"]


def test_shipped_folder_loads_both_tenants(secrets):
    directory, problems = load_tenants_dir(SHIPPED, VARIANTS, knows_locale)
    assert problems == []
    assert sorted(directory.by_id) == ["demo", "plomberie-dupont"]
    plomberie = directory.get("plomberie-dupont")
    assert (plomberie.region, plomberie.locale, plomberie.variant) == ("BE", "fr_BE", "warm")
    assert plomberie.spoken_digits == 4
    assert plomberie.assistant_id == "asst-plomberie-0001"
    assert directory.for_called("+33180001234", set()).id == "demo"
    assert directory.for_called(None, {"9c1e7a52-2222-4d3b-8f10-6a7b8c9d0002"}) is plomberie
    assert directory.for_called("+33999999999", {"nobody"}) is None


def test_valid_file_with_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("VAPI_SECRET_MIN", "s")
    path = tmp_path / "min.yaml"
    path.write_text("id: min\nname: Minimal\nvapi: {secret_env: VAPI_SECRET_MIN}\n")
    tenant, problems = load_tenant_file(path, VARIANTS, knows_locale)
    assert problems == []
    assert (tenant.locale, tenant.region, tenant.variant) == ("fr_FR", "FR", "standard")
    assert (tenant.spoken_digits, tenant.logged_digits) == (2, 2)
    assert (tenant.numbers, tenant.phone_number_ids, tenant.assistant_id) == ((), (), None)


def problems_of(tmp_path, text, name="acme.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    tenant, problems = load_tenant_file(path, VARIANTS, knows_locale)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert tenant is None, "an invalid file must not give a tenant"
    for message in errors:
        assert re.match(rf"^{re.escape(str(path))}:\d+: \S+: .+", message), message
        assert_no_full_number(message, "a tenant problem")
    return errors


def test_a_yaml_error_on_the_last_line_without_a_newline_is_on_that_line():
    text = "id: acme\nname: Acme\nvapi:\n  secret_env: VAPI_SECRET_ACME\n bad: indent"
    (problem,) = parse_tenant_text(text, "acme.yaml")[1]
    assert (problem.line, problem.key) == (5, "(yaml)")


def test_a_number_listed_twice_is_a_warning_and_the_tenant_serves(tmp_path, acme_secret):
    path = tmp_path / "acme.yaml"
    twice = 'numbers: ["+33180009999", "+33180009999"]'
    path.write_text(VALID.replace('numbers: ["+33180009999"]', twice), encoding="utf-8")
    tenant, problems = load_tenant_file(path, VARIANTS, knows_locale)
    assert tenant is not None and tenant.numbers == ("+33180009999", "+33180009999")
    assert [str(p) for p in problems] == [f"{path}:5: numbers: warning: item 2 repeats item 1"]


def test_a_file_not_in_utf8_says_where_and_what_to_do(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_bytes(VALID.replace("name: Acme", "name: Café Acme").encode("latin-1"))
    tenant, problems = load_tenant_file(path, VARIANTS, knows_locale)
    assert tenant is None
    assert [str(p) for p in problems] == [
        f"{path}:2: (file): not UTF-8 (byte 0xe9 on this line): save the file as UTF-8"
    ]


@pytest.fixture
def acme_secret(monkeypatch):
    monkeypatch.setenv("VAPI_SECRET_ACME", "acme-secret")


@pytest.mark.parametrize(
    "old, new, line, key, problem",
    [
        ("name: Acme", "name: [Acme", 3, "(yaml)", "YAML syntax error"),
        ("  variant: short", "  variant: short\n   bad: indent", 15, "(yaml)", "YAML syntax error"),
        ("name: Acme", "name: Acme\nsince: 2024-02-30", 3, "(yaml)", "no such date exists"),
        ("name: Acme", "name: Acme\nsince: !!timestamp 2024", 3, "(yaml)", "cannot build a value"),
        ("name: Acme", "name: " + "[" * 5000 + "]" * 5000, 1, "(yaml)", "cannot build a value"),
        ("masking:", "maskin:", 10, "maskin", "unknown key, did you mean masking?"),
        ("  logged_digits: 2", "  loged_digits: 2", 12, "masking.loged_digits", "did you mean"),
        ("  variant: short", "  varient: short", 14, "wording.varient", "did you mean variant?"),
        (
            "  spoken_digits: 2",
            "  spoken_digits: 5",
            11,
            "masking.spoken_digits",
            "between 0 and 4",
        ),
        ("  spoken_digits: 2", "  spoken_digits: -1", 11, "masking.spoken_digits", "between"),
        ("  logged_digits: 2", "  logged_digits: 9", 12, "masking.logged_digits", "between"),
        ("  spoken_digits: 2", "  spoken_digits: two", 11, "masking.spoken_digits", "whole"),
        ("  spoken_digits: 2", "  spoken_digits: true", 11, "masking.spoken_digits", "whole"),
        ("  spoken_digits: 2", "  spoken_digits: 2.5", 11, "masking.spoken_digits", "whole"),
        ('numbers: ["+33180009999"]', 'numbers: "+33180009999"', 5, "numbers", "a list"),
        ('numbers: ["+33180009999"]', "numbers: [33180009999]", 5, "numbers", "item 1 is not in"),
        ('numbers: ["+33180009999"]', "numbers: [null]", 5, "numbers", "item 1 is not a string"),
        ("name: Acme", "name: 'Acme", 2, "(yaml)", "while scanning a quoted scalar"),
        ('numbers: ["+33180009999"]', 'numbers: ["0180009999"]', 5, "numbers", "E.164"),
        ('numbers: ["+33180009999"]', 'numbers: ["+33 1 80 00 99 99"]', 5, "numbers", "E.164"),
        ('numbers: ["+33180009999"]', 'numbers: ["+33000000000"]', 5, "numbers", "E.164"),
        ("name: Acme", "name: 12", 2, "name", "must be a string"),
        ("name: Acme", "name:", 2, "name", "must be a string"),
        ("id: acme", "id: Acme Corp", 1, "id", "lowercase"),
        ("id: acme", "id: -acme", 1, "id", "starting with a letter or digit"),
        ("id: acme", "id: " + "a" * 64, 1, "id", "1 to 63"),
        ("id: acme", "id: |\n  acme", 1, "id", "1 to 63"),  # a block keeps its newline
        ("region: FR", "region: XX", 4, "region", "region"),
        ("locale: fr_FR", "locale: de_DE", 3, "locale", "no catalog"),
        ("  variant: short", "  variant: shorter", 14, "wording.variant", "unknown variant"),
        ("  secret_env: VAPI_SECRET_ACME", "  secret_env: 12", 7, "vapi.secret_env", "string"),
        ("  secret_env: VAPI_SECRET_ACME", "  secret_env: acme", 7, "vapi.secret_env", "variable"),
        ("  assistant_id: null", "  assistant_id: 12", 9, "vapi.assistant_id", "string or null"),
        (
            '  phone_number_ids: ["pn-acme"]',
            "  phone_number_ids: pn",
            8,
            "vapi.phone_number_ids",
            "",
        ),
        ("vapi:\n", "vapi: 3\nold_vapi:\n", 6, "vapi", "must be a mapping"),
        ("wording:\n  variant: short", "wording: short", 13, "wording", "must be a mapping"),
        ("id: acme\n", "id: acme\nid: again\n", 2, "id", "duplicate key"),
    ],
)
def test_invalid_file_names_line_key_and_problem(
    tmp_path, acme_secret, old, new, line, key, problem
):
    assert old in VALID
    errors = problems_of(tmp_path, VALID.replace(old, new, 1))
    assert errors, "the file should be refused"
    wanted = f"{tmp_path / 'acme.yaml'}:{line}: {key}: "
    assert any(e.startswith(wanted) and problem in e for e in errors), errors


@pytest.mark.parametrize(
    "text, key",
    [
        ("name: Acme\nvapi: {secret_env: VAPI_SECRET_ACME}\n", "id"),
        ("id: acme\nvapi: {secret_env: VAPI_SECRET_ACME}\n", "name"),
        ("id: acme\nname: Acme\n", "vapi.secret_env"),
        ("id: acme\nname: Acme\nvapi: {phone_number_ids: []}\n", "vapi.secret_env"),
        ("id: acme\nname: Acme\nvapi: 3\n", "vapi.secret_env"),
        ("id: acme\nname: Acme\nvapi: {secret_env: [A]}\n", "vapi.secret_env"),
    ],
)
def test_missing_required_key(tmp_path, acme_secret, text, key):
    errors = problems_of(tmp_path, text)
    assert any(f": {key}: " in e and ("required" in e or "must be" in e) for e in errors), errors


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n", "42\n"])
def test_file_that_is_not_a_mapping(tmp_path, text):
    errors = problems_of(tmp_path, text)
    assert errors == [
        f"{tmp_path / 'acme.yaml'}:1: (file): must be a mapping of keys, like id: demo"
    ]


def test_number_problem_names_the_item_not_the_number(tmp_path, acme_secret):
    text = VALID.replace('["+33180009999"]', '["+33180009999", "+33 1 80 00 12 34"]')
    (error,) = problems_of(tmp_path, text)
    assert "item 2" in error
    assert "80 00 12 34" not in error


@pytest.mark.parametrize(
    "section, value",
    [
        ("contact:\n  way_out: ", '"+33612345678"'),
        ("contact:\n  collect_attempts: ", "33612345678"),
    ],
)
def test_a_number_in_the_wrong_field_is_not_quoted_back_whole(
    tmp_path, acme_secret, section, value
):
    (error,) = problems_of(tmp_path, VALID + section + value + "\n")
    assert "612345678" not in error and "78" in error
    assert_no_full_number(error, "a tenant file problem")


def write(folder, name, text):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_duplicate_id_across_files(tmp_path, acme_secret):
    write(tmp_path, "a.yaml", VALID)
    write(tmp_path, "b.yaml", VALID.replace("+33180009999", "+33180008888").replace("pn-acme", "x"))
    directory, problems = load_tenants_dir(tmp_path, VARIANTS, knows_locale)
    messages = [str(p) for p in problems]
    assert any(
        m.startswith(f"{tmp_path / 'b.yaml'}:1: id: ") and "a.yaml" in m for m in messages
    ), messages
    # The second claimant is refused; the first keeps serving.
    assert directory.get("acme").source == str(tmp_path / "a.yaml")


def test_same_number_claimed_twice(tmp_path, acme_secret):
    write(tmp_path, "a.yaml", VALID)
    write(tmp_path, "b.yaml", VALID.replace("id: acme", "id: other").replace("pn-acme", "pn-b"))
    directory, problems = load_tenants_dir(tmp_path, VARIANTS, knows_locale)
    (problem,) = problems
    message = str(problem)
    assert message.startswith(f"{tmp_path / 'b.yaml'}:5: numbers: ")
    assert "already claimed" in message and "a.yaml" in message
    assert "+33XXXXXXX99" in message  # which number, masked
    assert_no_full_number(message, "a tenant problem")
    assert directory.get("other") is None
    assert directory.for_called("+33180009999", set()).id == "acme"


def test_same_phone_number_id_claimed_twice(tmp_path, acme_secret):
    write(tmp_path, "a.yaml", VALID)
    write(tmp_path, "b.yaml", VALID.replace("id: acme", "id: other").replace('"+33180009999"', ""))
    _, problems = load_tenants_dir(tmp_path, VARIANTS, knows_locale)
    messages = [str(p) for p in problems]
    assert any(":8: vapi.phone_number_ids: " in m and "pn-acme" in m for m in messages), messages


def test_unset_secret_variable_is_a_warning_only(tmp_path, monkeypatch):
    monkeypatch.delenv("VAPI_SECRET_ACME", raising=False)
    write(tmp_path, "acme.yaml", VALID)
    tenant, problems = load_tenant_file(tmp_path / "acme.yaml", VARIANTS, knows_locale)
    assert tenant is not None and tenant.secret is None
    (problem,) = problems
    assert problem.severity == "warning"
    assert str(problem) == (
        f"{tmp_path / 'acme.yaml'}:7: vapi.secret_env: "
        "warning: VAPI_SECRET_ACME is not set: this tenant refuses every request"
    )


def app_config(tmp_path, tenants_dir):
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'calls.db'}",
        "TENANTS_DIR": str(tenants_dir),
    }


@pytest.mark.parametrize(
    "old, new, key, problem",
    [
        ("name: Acme", "name: [Acme", "(yaml)", "YAML syntax error"),
        ("masking:", "maskin:", "maskin", "did you mean masking?"),
        ("  spoken_digits: 2", "  spoken_digits: 5", "masking.spoken_digits", "between 0 and 4"),
        ('numbers: ["+33180009999"]', 'numbers: ["0180009999"]', "numbers", "E.164"),
    ],
)
def test_create_app_stops_on_a_broken_folder(tmp_path, acme_secret, old, new, key, problem):
    folder = tmp_path / "tenants"
    write(folder, "good.yaml", DEMO_YAML)
    write(folder, "acme.yaml", VALID.replace(old, new))
    with pytest.raises(TenantConfigError) as raised:
        create_app(app_config(tmp_path, folder))
    message = str(raised.value)
    assert f"{folder / 'acme.yaml'}:" in message
    assert f": {key}: " in message and problem in message
    assert "good.yaml" not in message
    assert_no_full_number(message, "the start-up error")


def test_create_app_stops_on_a_number_claimed_twice(tmp_path, acme_secret, secrets):
    folder = tmp_path / "tenants"
    write(folder, "demo.yaml", DEMO_YAML)
    write(folder, "acme.yaml", VALID.replace("+33180009999", "+33180001234"))
    with pytest.raises(TenantConfigError) as raised:
        create_app(app_config(tmp_path, folder))
    message = str(raised.value)
    assert "numbers" in message and "already claimed" in message
    assert_no_full_number(message, "the start-up error")


def test_create_app_serves_a_tenant_whose_secret_is_unset(tmp_path, monkeypatch, secrets):
    monkeypatch.delenv("VAPI_SECRET_ACME", raising=False)
    folder = tmp_path / "tenants"
    write(folder, "acme.yaml", VALID)
    app = create_app(app_config(tmp_path, folder))
    assert app.extensions["tenants"].directory.get("acme").secret is None


@pytest.mark.parametrize(
    "contact, problem",
    [
        ("  way_out: transfer\n", "contact.way_out: transfer needs contact.transfer_to"),
        ('  way_out: transfer\n  transfer_to: "01 80 00 98 76"\n', "contact.transfer_to: must"),
        ('  way_out: transfer\n  transfer_to: "+33 1 80 00 98 76"\n', "written in E.164"),
        ('  way_out: transfer\n  transfer_to: "+33000000000"\n', "valid phone number"),
        ("  way_out: transfer\n  transfer_to: sip:pbx.example.fr\n", "must be a SIP URI"),
        ('  way_out: transfer\n  transfer_to: "sip:a b@pbx.fr"\n', "must be a SIP URI"),
        ("  way_out: transfer\n  transfer_to: 33180009876\n", "must be a string or null"),
    ],
)
def test_a_transfer_needs_a_valid_destination(tmp_path, acme_secret, contact, problem):
    errors = problems_of(tmp_path, VALID + "contact:\n" + contact)
    assert any(problem in e for e in errors), errors
    # The destination is never quoted back, even a wrong one.
    assert not any("80 00 98 76" in e or "80009876" in e for e in errors), errors


@pytest.mark.parametrize(
    "destination", ["+33180009876", "sip:accueil@pbx.example.fr:5061;transport=tls"]
)
def test_a_transfer_destination_is_a_number_or_a_sip_uri(tmp_path, acme_secret, destination):
    path = tmp_path / "acme.yaml"
    text = VALID + f'contact:\n  way_out: transfer\n  transfer_to: "{destination}"\n'
    path.write_text(text, encoding="utf-8")
    tenant, problems = load_tenant_file(path, VARIANTS, knows_locale)
    assert problems == [] and tenant.transfer_to == destination


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            VALID + "contact:\n  way_out: transfer\n  transfer_to: 0612345670\n",
            "contact.transfer_to",
        ),
        (VALID.replace("name: Acme", "name: 12"), "name"),
    ],
    ids=["unquoted-number", "unquoted-name"],
)
def test_a_number_where_text_goes_is_told_to_go_in_quotes_once(tmp_path, acme_secret, text, key):
    """YAML reads `transfer_to: 0612345670` as a number: one problem, saying what to do."""
    errors = problems_of(tmp_path, text)
    assert [e for e in errors if f"{key}: " in e and "put it in quotes" in e], errors
    assert not any("transfer needs" in e for e in errors), errors
    assert not any("12345670" in e for e in errors), errors
