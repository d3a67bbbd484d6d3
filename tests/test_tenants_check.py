"""`flask tenants check`: every kind of broken tenant file, reported as file:line: key: problem."""

import os
import subprocess
import sys

import pytest

from backend import create_app
from backend.tenants.schema import SCHEMA
from backend.tenants.store import TenantConfigError
from tests.leaks import assert_no_full_number, watch
from tests.paths import ROOT

TYPED = "+33612345670"  # a caller's number pasted into a tenant file as a key
watch(TYPED)

VALID = """\
id: acme
name: Acme
locale: fr_FR
region: FR
numbers: ["+33180009999"]
vapi:
  secret_env: VAPI_SECRET_DEMO
  phone_number_ids: ["pn-acme"]
masking:
  spoken_digits: 2
wording:
  variant: short
"""


@pytest.fixture
def cli(secrets, tmp_path):
    """Run `flask tenants ...` in-process on an app with the shipped tenants (SQLite file)."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db"})
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["tenants", *map(str, args)])


def write(folder, name, text):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def check_one(cli, tmp_path, text):
    path = write(tmp_path / "tenants", "acme.yaml", text)
    return path, cli("check", path.parent)


def test_shipped_tenants_pass(cli):
    result = cli("check")
    assert result.exit_code == 0, result.output
    assert "2 tenant(s) valid" in result.output and "0 error(s)" in result.output


def test_valid_file_passes(cli, tmp_path):
    _, result = check_one(cli, tmp_path, VALID)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (VALID.replace("masking:", "maskng:"), 9, "maskng", "unknown key, did you mean masking?"),
        (VALID.replace("  spoken_digits: 2", "  spoken_digit: 2"), 10, "masking.spoken_digit",
         "unknown key, did you mean spoken_digits?"),
        (VALID.replace("spoken_digits: 2", "spoken_digits: deux"), 10, "masking.spoken_digits",
         "must be a whole number, got str"),
        (VALID.replace("spoken_digits: 2", "spoken_digits: 7"), 10, "masking.spoken_digits",
         "must be between 0 and 4, got 7"),
        (VALID.replace("numbers: [", "numbers: ['0180009999', "), 5, "numbers",
         "item 1 is not a valid phone number"),
        (VALID.replace("variant: short", "variant: chaleureux"), 12, "wording.variant",
         "unknown variant, choose one of short, standard, warm"),
        (VALID.replace("locale: fr_FR", "locale: de_DE"), 3, "locale", "no catalog"),
        (VALID.replace("name: Acme\n", ""), 1, "name", "is required"),
        (VALID.replace("vapi:\n", "vapi: [\n"), 8, "(yaml)", "YAML syntax error"),
        (VALID.replace("region: FR", "region: FR\n\tregion: BE"), 5, "(yaml)", "YAML syntax error"),
        ("- just\n- a list\n", 1, "(file)", "must be a mapping"),
    ],
    ids=["misspelt-section", "misspelt-key", "type", "range", "number", "variant", "locale",
         "required", "yaml-bracket", "yaml-tab", "not-a-mapping"],
)  # fmt: skip
def test_each_problem_is_reported_where_it_is(cli, tmp_path, text, line, key, message):
    path, result = check_one(cli, tmp_path, text)
    assert result.exit_code == 1, result.output
    assert f"{path}:{line}: {key}: {message}" in result.output, result.output
    assert "0 tenant(s) valid" in result.output


def test_claims_between_files_are_refused(cli, tmp_path):
    folder = tmp_path / "tenants"
    write(folder, "a.yaml", VALID)
    twin = VALID.replace("name: Acme", "name: Acme bis")
    write(folder, "b.yaml", twin)
    other_id = VALID.replace("id: acme", "id: other").replace('"pn-acme"', '"pn-other"')
    write(folder, "c.yaml", other_id)
    same_pn = VALID.replace("id: acme", "id: third").replace("+33180009999", "+33180007777")
    write(folder, "d.yaml", same_pn)
    result = cli("check", folder)
    assert result.exit_code == 1
    out = result.output
    assert f"{folder / 'b.yaml'}:1: id: tenant id is already claimed by a.yaml" in out
    assert f"{folder / 'b.yaml'}:5: numbers: number +33XXXXXXX99 is already claimed" in out
    assert f"{folder / 'c.yaml'}:5: numbers: number +33XXXXXXX99 is already claimed" in out
    assert f"{folder / 'd.yaml'}:8: vapi.phone_number_ids: 'pn-acme' is already claimed" in out
    assert "+33180009999" not in out  # a number in a message is masked


def test_a_clash_blames_the_file_changed_last_whatever_its_name(cli, tmp_path):
    """An operator adds `0-new.yaml` claiming `z-old.yaml`'s number: the newcomer is refused,
    as the running server refuses it, though its name sorts first."""
    folder = tmp_path / "tenants"
    write(folder, "z-old.yaml", VALID)
    newcomer = VALID.replace("id: acme", "id: newcomer").replace('"pn-acme"', '"pn-new"')
    write(folder, "0-new.yaml", newcomer)
    old = (folder / "z-old.yaml").stat().st_mtime_ns
    os.utime(folder / "0-new.yaml", ns=(old + 10**9, old + 10**9))
    result = cli("check", folder)
    assert result.exit_code == 1
    assert (
        f"{folder / '0-new.yaml'}:5: numbers: number +33XXXXXXX99 is already claimed by z-old"
        in (result.output)
    )
    assert "z-old.yaml:5" not in result.output
    assert "1 tenant(s) valid" in result.output


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (VALID + f"{TYPED}: 1\n", 13, "XXXXXXXXX70"),  # YAML reads it as an int
        (VALID.replace("  spoken_digits: 2", f"  spoken_digits: 2\n  {TYPED}: 1"), 11,
         "masking.XXXXXXXXX70"),
        (VALID + "'06 12 34 56 70': 1\n", 13, "XX XX XX XX 70"),
        (VALID + f"id2: {TYPED}\n{TYPED}: 1\n", 14, "XXXXXXXXX70"),
    ],
    ids=["int-key", "nested-int-key", "spaced-key", "after-a-value"],
)  # fmt: skip
def test_a_number_typed_as_a_key_is_masked_at_its_line(cli, tmp_path, text, line, key):
    path, result = check_one(cli, tmp_path, text)
    assert result.exit_code == 1, result.output
    assert f"{path}:{line}: {key}: unknown key" in result.output, result.output
    assert_no_full_number(result.output, "`flask tenants check` output")


def test_unset_secret_is_a_warning_only(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("VAPI_SECRET_DEMO")
    path, result = check_one(cli, tmp_path, VALID)
    assert result.exit_code == 0, result.output
    assert f"{path}:7: vapi.secret_env: warning: VAPI_SECRET_DEMO is not set" in result.output
    assert "0 error(s), 1 warning(s)" in result.output


def test_missing_folder_fails(cli, tmp_path):
    result = cli("check", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert "not a folder of tenant files" in result.output


def test_editor_files_are_not_tenants(cli, tmp_path):
    folder = tmp_path / "tenants"
    write(folder, "acme.yaml", VALID)
    write(folder, ".#acme.yaml", "broken: [")
    write(folder, "acme.yaml~", "broken: [")
    result = cli("check", folder)
    assert result.exit_code == 0, result.output


def flask_cli(*args, env):
    """The real `flask --app wsgi ...`, as an operator runs it."""
    return subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_real_cli_reports_a_broken_configured_folder(tmp_path, secrets):
    """`flask --app wsgi` builds the app before any command: a broken file must not stop it."""
    folder = tmp_path / "tenants"
    write(folder, "acme.yaml", VALID.replace("masking:", "maskng:"))
    env = {"TENANTS_DIR": str(folder), "DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
    result = flask_cli("tenants", "check", env=env)
    assert result.returncode == 1, result.stderr
    assert f"{folder / 'acme.yaml'}:9: maskng: unknown key, did you mean masking?" in result.stdout
    assert "Traceback" not in result.stderr
    result = flask_cli("tenants", "check", str(ROOT / "tenants"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_serving_start_up_stops_on_a_broken_file(tmp_path, secrets, monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    folder = tmp_path / "tenants"
    write(folder, "acme.yaml", VALID.replace("masking:", "maskng:"))
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db"}
    with pytest.raises(TenantConfigError, match="acme.yaml:9: maskng: unknown key"):
        create_app({**config, "TENANTS_DIR": str(folder)})


def schema_keys(schema, prefix=""):
    """Every key a tenant file can set, as `section.key`."""
    for key, spec in schema.items():
        if isinstance(spec, dict):
            yield from schema_keys(spec, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_every_schema_key_is_documented():
    """docs/tenants.md has a row for every key, including those added later."""
    reference = (ROOT / "docs" / "tenants.md").read_text(encoding="utf-8")
    missing = [key for key in schema_keys(SCHEMA) if f"| `{key}` |" not in reference]
    assert not missing, f"add these keys to docs/tenants.md: {missing}"


def test_hmac_settings_that_cannot_be_verified_safely_say_why(cli, tmp_path):
    unsafe = VALID.replace("masking:", "  hmac: {include_timestamp: false}\nmasking:", 1)
    _, result = check_one(cli, tmp_path, unsafe)
    assert result.exit_code == 1
    assert "acme.yaml:9: vapi.hmac.include_timestamp: false cannot be verified safely" in (
        result.output
    )
    assert "replayed forever" in result.output


def test_a_signed_url_without_public_base_url_is_a_warning(cli, tmp_path):
    text = VALID.replace(
        "masking:", '  hmac:\n    payload: "{method} {url} {timestamp} {body}"\nmasking:', 1
    )
    _, result = check_one(cli, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "acme.yaml:10: vapi.hmac.payload: warning: {url} is checked against" in result.output
    assert "PUBLIC_BASE_URL" in result.output
