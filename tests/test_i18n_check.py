"""`flask i18n check`, the Babel workflow on a copy of the catalogs, and the locale fallback."""

import os
import re
import shutil
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from backend import create_app
from backend.prompts import SOURCE_TEXT
from backend.wording.catalogs import Catalogs
from tests.leaks import assert_no_full_number
from tests.paths import ROOT

CONFIRM = "VOCAL_CONTACT_CONFIRM_CALLER_ID"


@pytest.fixture
def locales(tmp_path):
    """A copy of the shipped catalogs to break."""
    copy = tmp_path / "locales"
    shutil.copytree(ROOT / "locales", copy)
    return copy


@pytest.fixture
def check(secrets, tmp_path):
    """Run `flask i18n check [DIR]` in-process."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db"})
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["i18n", "check", *map(str, args)])


def entry_line(path, key):
    """The line babel reports for an entry: its msgid, right after the msgctxt."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines.index(f'msgctxt "{key}"') + 2


def edit_msgstr(path, key, change):
    """Apply `change` to the msgstr of the entry `key` (single-line msgstr)."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf'(msgctxt "{key}"\nmsgid "(?:[^"\\]|\\.)*"\nmsgstr ")(.*)(")')
    match = pattern.search(text)
    assert match, f"{key} not found in {path}"
    new = text[: match.start(2)] + change(match.group(2)) + text[match.end(2) :]
    path.write_text(new, encoding="utf-8")


def test_shipped_catalogs_pass(check):
    result = check()
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.replace("{last_two}", "vos chiffres"),
         "placeholders differ: missing {last_two} (this sentence takes {last_two})"),
        (lambda s: s.replace("{last_two}", "{derniers}"),
         "placeholders differ: missing {last_two}; unknown {derniers} (this sentence takes"),
        (lambda s: s.replace("{last_two}", "{last_two"),
         "broken placeholder"),
        (lambda s: s.replace("{last_two}", "{last_two!r}"),
         "write {last_two} alone: nothing after its name (no ! or :)"),
        (lambda s: s.replace("{last_two}", "{last_two:>20}"),
         "write {last_two} alone"),
        (lambda s: "", "empty translation"),
    ],
    ids=["dropped", "renamed", "unbalanced", "conversion", "format", "empty"],
)  # fmt: skip
def test_a_broken_entry_fails_where_it_is(check, locales, change, message):
    short = locales / "fr" / "LC_MESSAGES" / "short.po"
    edit_msgstr(short, CONFIRM, change)
    result = check(locales)
    assert result.exit_code == 1, result.output
    assert f"{short}:{entry_line(short, CONFIRM)}: {CONFIRM}: {message}" in result.output


def test_a_translation_of_an_older_source_text_fails_the_check_but_is_served(check, locales):
    warm = locales / "fr" / "LC_MESSAGES" / "warm.po"
    text = warm.read_text(encoding="utf-8")
    source = SOURCE_TEXT[CONFIRM].replace('"', '\\"')
    older = text.replace(
        f'msgctxt "{CONFIRM}"\nmsgid "{source}"', f'msgctxt "{CONFIRM}"\nmsgid "Old."'
    )
    assert older != text
    warm.write_text(older, encoding="utf-8")
    result = check(locales)
    assert result.exit_code == 1, result.output
    line = entry_line(warm, CONFIRM)
    assert f"{warm}:{line}: {CONFIRM}: the source text changed since this translation" in (
        result.output
    )
    catalogs = Catalogs(locales)
    assert catalogs.problems == []  # not refused: a running service serves it
    assert catalogs.template(CONFIRM, "fr_FR", "warm") != SOURCE_TEXT[CONFIRM]


def test_a_catalog_not_in_utf8_says_where_and_what_to_do(check, locales):
    warm = locales / "fr" / "LC_MESSAGES" / "warm.po"
    text = warm.read_text(encoding="utf-8")
    warm.write_bytes(text.encode("latin-1", errors="replace"))
    first = next(i for i, char in enumerate(text) if ord(char) > 127)  # its first accent
    line = text[:first].count("\n") + 1
    result = check(locales)
    assert result.exit_code == 1
    message = "(file): not UTF-8 (byte 0x"
    assert f"{warm}:{line}: {message}" in result.output and "save the file as UTF-8" in (
        result.output
    )


@pytest.mark.parametrize("name", ["warm.po", "messages.po"], ids=["variant", "standard"])
def test_a_fuzzy_entry_fails_where_it_is(check, locales, name):
    catalog = locales / "fr" / "LC_MESSAGES" / name
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(text.replace(f'msgctxt "{CONFIRM}"', f'#, fuzzy\nmsgctxt "{CONFIRM}"'))
    result = check(locales)
    assert result.exit_code == 1
    assert f"{catalog}:{entry_line(catalog, CONFIRM)}: {CONFIRM}: fuzzy" in result.output
    # In the standard catalog too, it is there, refused: not also said missing.
    assert f"{CONFIRM}: missing" not in result.output


@pytest.mark.parametrize(
    ("key", "shown"),
    [("VOCAL_GONE", "VOCAL_GONE"), ("+33612345670", "+XXXXXXXXX70")],
    ids=["removed", "a-number-masked"],
)
def test_an_entry_for_a_removed_sentence_fails(check, locales, key, shown):
    """A key prompts.py does not have; a number pasted as one is masked in the problem."""
    regional = locales / "fr_BE" / "LC_MESSAGES" / "messages.po"
    with regional.open("a", encoding="utf-8") as handle:
        handle.write(f'\nmsgctxt "{key}"\nmsgid "Au revoir."\nmsgstr "Salut."\n')
    result = check(locales)
    assert result.exit_code == 1
    line = entry_line(regional, key)
    assert f"{regional}:{line}: {shown}: no such sentence in prompts.py" in result.output
    assert_no_full_number(result.output, "`flask i18n check` output")


def test_a_sentence_missing_from_the_standard_catalog_fails(check, locales):
    base = locales / "fr" / "LC_MESSAGES" / "messages.po"
    text = base.read_text(encoding="utf-8")
    start = text.index('msgctxt "VOCAL_CONTACT_CONFIRM_NO"')
    end = text.index("\n\n", start)
    base.write_text(text[:start] + text[end + 2 :], encoding="utf-8")
    result = check(locales)
    assert result.exit_code == 1
    assert f"{base}:1: VOCAL_CONTACT_CONFIRM_NO: missing" in result.output


def test_a_variant_may_leave_sentences_to_standard(check, locales):
    """Variants and regional catalogs hold overrides only: fewer entries is no problem."""
    short = locales / "fr" / "LC_MESSAGES" / "short.po"
    text = short.read_text(encoding="utf-8")
    start = text.index('msgctxt "VOCAL_CONTACT_CONFIRM_NO"')
    short.write_text(text[:start] + text[text.index("\n\n", start) + 2 :], encoding="utf-8")
    assert not [
        p for p in Catalogs(locales).problems + Catalogs(locales).gaps if p.file == str(short)
    ]


def test_a_locale_without_its_standard_catalog_fails(check, locales):
    (locales / "de" / "LC_MESSAGES").mkdir(parents=True)
    orphan = locales / "de" / "LC_MESSAGES" / "short.po"
    shutil.copy(locales / "fr" / "LC_MESSAGES" / "short.po", orphan)
    result = check(locales)
    assert result.exit_code == 1
    assert f"{orphan}:1: (file): no standard catalog" in result.output


@pytest.mark.parametrize(
    ("added", "message"),
    [
        ('msgstr "Encore ?"', "a second msgstr in one entry"),
        ('"Oui ou non ?', "text must sit between two double quotes"),
        ("Oui ou non ?", "not a .po line"),
    ],
    ids=["second-msgstr", "open-quote", "bare-text"],
)
@pytest.mark.parametrize("name", ["short.po", "messages.po"], ids=["variant", "standard"])
def test_a_syntax_error_fails_with_its_line_alone(check, locales, added, message, name):
    catalog = locales / "fr" / "LC_MESSAGES" / name
    lines = catalog.read_text(encoding="utf-8").splitlines()
    line = entry_line(catalog, CONFIRM) + 2  # right after the entry's msgstr
    lines.insert(line - 1, added)
    catalog.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = check(locales)
    assert result.exit_code == 1
    assert f"{catalog}:{line}: (syntax): {message}" in result.output, result.output
    # The file could not be read: its sentences are not reported missing one by one.
    assert "missing" not in result.output and "1 problem(s)" in result.output, result.output


def test_regional_catalog_overrides_one_sentence_then_falls_back():
    """fr_BE -> fr -> source text, with the shipped fr_BE catalog that overrides one sentence."""
    catalogs = Catalogs(ROOT / "locales")
    belgian = catalogs.lookup("VOCAL_CONTACT_CONFIRM_OK", "fr_BE", "standard")
    french = catalogs.lookup("VOCAL_CONTACT_CONFIRM_OK", "fr_FR", "standard")
    assert belgian[1] == "fr_BE/messages.po" and french[1] == "fr/messages.po"
    assert belgian[0] != french[0]
    # Every other sentence falls back to fr.
    other = catalogs.lookup("VOCAL_CONTACT_NO_CALLER_ID", "fr_BE", "standard")
    assert other == catalogs.lookup("VOCAL_CONTACT_NO_CALLER_ID", "fr", "standard")
    assert other[1] == "fr/messages.po"


def test_source_text_is_the_last_fallback(locales):
    for po in locales.glob("*/LC_MESSAGES/*.po"):
        if 'msgctxt "VOCAL_CONTACT_CONFIRM_OK"' in po.read_text(encoding="utf-8"):
            edit_msgstr(po, "VOCAL_CONTACT_CONFIRM_OK", lambda s: "")
    # An empty entry is refused at load and the lookup goes on to the source text.
    catalogs = Catalogs(locales)
    assert catalogs.lookup("VOCAL_CONTACT_CONFIRM_OK", "fr_BE", "warm") == (
        SOURCE_TEXT["VOCAL_CONTACT_CONFIRM_OK"],
        None,
    )


def entries(path):
    with open(path, "rb") as handle:
        return {m.context: m.string for m in read_po(handle) if m.id}


def pybabel(*args):
    command = [os.path.join(os.path.dirname(sys.executable), "pybabel"), *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_babel_workflow_runs_on_a_copy(locales, check, tmp_path):
    """The documented commands: extract the template, update the base catalog, compile, check."""
    template = tmp_path / "messages.pot"
    extract = pybabel(
        "extract", "-F", "babel.cfg", "-k", "N_:1c,2", "--no-default-keywords",
        "--project=vapi-caller-id", "--add-comments=TRANSLATORS:", "--sort-by-file",
        "-o", template, ".",
    )  # fmt: skip
    assert extract.returncode == 0, extract.stderr
    assert set(entries(template)) == set(SOURCE_TEXT)
    base = locales / "fr" / "LC_MESSAGES" / "messages.po"
    before = entries(base)
    update = pybabel(
        "update", "--no-fuzzy-matching", "--width=100", "-i", template, "-o", base, "-l", "fr"
    )
    assert update.returncode == 0, update.stderr
    after = entries(base)
    assert set(after) == set(SOURCE_TEXT)
    assert all(after[key] == text for key, text in before.items() if key in SOURCE_TEXT)
    compiled = pybabel("compile", "-d", locales, "-D", "messages", "-l", "fr")
    assert compiled.returncode == 0, compiled.stderr
    assert (locales / "fr" / "LC_MESSAGES" / "messages.mo").is_file()
    # .mo files are ignored by the app (it reads .po), so compiling changes nothing it serves.
    result = check(locales)
    new_keys = set(SOURCE_TEXT) - set(before)
    assert (result.exit_code == 0) == (not new_keys), result.output


@pytest.mark.parametrize("name", ["short.po", "messages.po"], ids=["variant", "standard"])
def test_a_sentence_entered_twice_fails_at_its_second_entry(check, locales, name):
    """babel keeps one of the two: a translator editing the other would see no effect."""
    catalog = locales / "fr" / "LC_MESSAGES" / name
    text = catalog.read_text(encoding="utf-8")
    start = text.index(f'msgctxt "{CONFIRM}"')
    entry = text[start : text.index("\n\n", start) + 2]
    catalog.write_text(text + "\n" + entry.replace("oui ou non", "oui ou bien non"), "utf-8")
    second = text.count("\n") + 2
    result = check(locales)
    assert result.exit_code == 1
    assert f"{catalog}:{second}: {CONFIRM}: this sentence is in the file twice (also line" in (
        result.output
    ), result.output
