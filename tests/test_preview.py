"""`flask tenants preview ID`: every sentence, in the tenant's variant and locale, masked."""

import os
import re
import shutil
import subprocess
import sys

import phonenumbers
import pytest

from backend import create_app
from backend.privacy.masking import spoken_digits
from backend.prompts import SOURCE_TEXT
from backend.wording.catalogs import Catalogs
from backend.wording.preview import _Examples, example_number, fill
from tests.leaks import assert_no_full_number, watch
from tests.paths import ROOT


@pytest.fixture
def preview(secrets, tmp_path):
    """Run `flask tenants preview ID` in-process on a tenants folder (default: the shipped one)."""

    def run(tenant_id, tenants_dir=ROOT / "tenants"):
        config = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db",
            "TENANTS_DIR": str(tenants_dir),
            "TENANTS_STRICT": False,  # as under `flask --app wsgi`
        }
        result = create_app(config).test_cli_runner().invoke(args=["tenants", "preview", tenant_id])
        assert_no_full_number(result.output, "the preview")
        return result

    return run


def sentences(output):
    """{key: (catalog, sentence)} from the preview's output."""
    found = re.findall(r"^((?:VOCAL|PROMPT)_\w+)  \[(.*)\]\n  (.*)$", output, flags=re.M)
    return {key: (origin, sentence) for key, origin, sentence in found}


def example_digits(region, count):
    return spoken_digits(example_number(region), count)


def test_demo_shows_every_sentence_in_standard(preview):
    watch(example_number("FR"))
    result = preview("demo")
    assert result.exit_code == 0, result.output
    assert "demo (Cabinet Démo): locale fr_FR, variant standard, reads 2 digit(s)" in result.output
    assert re.search(r"Example caller number: \+33X+\d\d\n", result.output)
    shown = sentences(result.output)
    # Every key, whatever others add, but those only a tenant reading no digit says.
    assert list(shown) == [key for key in SOURCE_TEXT if not key.endswith("_NO_DIGITS")]
    catalogs = Catalogs(ROOT / "locales")
    digits = example_digits("FR", 2)
    for key, (origin, sentence) in shown.items():
        template, where = catalogs.lookup(key, "fr_FR", "standard")
        assert origin == (where or "source text, backend/prompts.py")
        masked = re.search(r"\+33X+\d\d", result.output).group()
        assert sentence == template.replace("{last_two}", digits).replace("{caller_number}", masked)
        assert "{" not in sentence
    assert digits in shown["VOCAL_CONTACT_CONFIRM_CALLER_ID"][1]


def test_plomberie_shows_warm_wording_and_four_digits(preview):
    watch(example_number("BE"))
    result = preview("plomberie-dupont")
    assert result.exit_code == 0, result.output
    assert "locale fr_BE, variant warm, reads 4 digit(s)" in result.output
    shown = sentences(result.output)
    origin, sentence = shown["VOCAL_CONTACT_CONFIRM_CALLER_ID"]
    assert origin == "fr/warm.po"
    digits = example_digits("BE", 4)
    assert re.fullmatch(r"\d\d \d\d", digits) and digits in sentence


def tenant_file(folder, **changes):
    folder.mkdir(exist_ok=True)
    text = (ROOT / "tenants" / "demo.yaml").read_text(encoding="utf-8")
    for old, new in changes.items():
        text = re.sub(rf"{old}: [^,}}\n]+", f"{old}: {new}", text)
    (folder / "demo.yaml").write_text(text, encoding="utf-8")


def test_regional_override_shows_in_the_preview(preview, tmp_path):
    tenant_file(tmp_path / "tenants", locale="fr_BE", region="BE")
    result = preview("demo", tmp_path / "tenants")
    assert result.exit_code == 0, result.output
    shown = sentences(result.output)
    assert shown["VOCAL_CONTACT_CONFIRM_OK"][0] == "fr_BE/messages.po"
    assert shown["VOCAL_CONTACT_NO_CALLER_ID"][0] == "fr/messages.po"
    regional = Catalogs(ROOT / "locales").template("VOCAL_CONTACT_CONFIRM_OK", "fr_BE", "standard")
    assert shown["VOCAL_CONTACT_CONFIRM_OK"][1] == regional


def test_no_digit_tenant(preview, tmp_path):
    tenant_file(tmp_path / "tenants", spoken_digits=0)
    result = preview("demo", tmp_path / "tenants")
    assert result.exit_code == 0, result.output
    assert "reads 0 digit(s)" in result.output
    assert "{" not in result.output.split("Example caller number")[1]
    # Only what the agent can say: each sentence reading digits gives way to its twin.
    shown = sentences(result.output)
    assert "VOCAL_CONTACT_CONFIRM_CALLER_ID_NO_DIGITS" in shown
    assert "VOCAL_CONTACT_CONFIRM_CALLER_ID" not in shown
    twins = [key for key in SOURCE_TEXT if key.endswith("_NO_DIGITS")]
    assert len(twins) == 5 and all(key in shown for key in twins)
    assert not any(key + "_NO_DIGITS" in SOURCE_TEXT for key in shown)


def test_unknown_tenant_fails(preview):
    result = preview("nobody")
    assert result.exit_code == 1
    assert "No valid tenant 'nobody'" in result.output


def test_broken_tenant_says_why(preview, tmp_path):
    tenant_file(tmp_path / "tenants", spoken_digits=9)
    result = preview("demo", tmp_path / "tenants")
    assert result.exit_code == 1
    path = tmp_path / "tenants" / "demo.yaml"
    assert f"{path}:7: masking.spoken_digits: must be between 0 and 4, got 9" in result.output


def test_broken_catalog_is_flagged_in_the_preview(preview, tmp_path, monkeypatch):
    locales = tmp_path / "locales"
    shutil.copytree(ROOT / "locales", locales)
    base = locales / "fr" / "LC_MESSAGES" / "messages.po"
    text = base.read_text(encoding="utf-8")
    base.write_text(text.replace("se termine par {last_two}.", "se termine par XX."))
    monkeypatch.setenv("LOCALES_DIR", str(locales))
    result = preview("demo")
    assert result.exit_code == 0
    assert "Catalog problem (a running service refuses this edit)" in result.output
    assert "VOCAL_CONTACT_CONFIRM_CALLER_ID: placeholders differ: missing {last_two}" in (
        result.output
    )


def test_placeholders_others_add_never_crash():
    values = _Examples(last_two="14")
    assert fill("{last_two} et {new_thing}", values) == "14 et {new_thing}"
    assert fill("{last_two:>4}", values) == "  14"
    assert fill("{0} {", values) == "{0} {"  # a broken template is shown as it is


def test_example_number_is_valid_for_each_region():
    for region in ("FR", "BE", "CH"):
        assert phonenumbers.is_valid_number(phonenumbers.parse(example_number(region)))


def test_the_real_cli_previews(secrets):
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "wsgi"]
        + ["tenants", "preview", "plomberie-dupont"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "sqlite:///:memory:"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "VOCAL_CONTACT_CONFIRM_OK  [fr/warm.po]" in result.stdout
    assert_no_full_number(result.stdout, "the preview")
