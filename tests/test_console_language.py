"""The console speaks French: every sentence of its templates is in its catalog, translated.

`make i18n` refreshes locales/console/ from the templates, then runs this file.
"""

import re

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from backend.console.language import CONSOLE_LOCALES, catalog_path, load_translations
from tests.paths import ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
METHOD_MAP = [("backend/console/templates/**.html", "jinja2")]


def template_sentences():
    """Every msgid the console's templates mark for translation."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), METHOD_MAP):
        found.add(message if isinstance(message, str) else message[0])
    return found


def read(path, locale=None):
    with open(path, "rb") as handle:
        return read_po(handle, locale=locale)


def test_every_sentence_of_the_templates_is_translated_to_french():
    catalog = read(catalog_path(), "fr")
    sentences = template_sentences()
    assert len(sentences) > 40
    missing = [s for s in sentences if s not in catalog or not catalog[s].string]
    fuzzy = [s for s in sentences if s in catalog and catalog[s].fuzzy]
    assert not missing and not fuzzy, (missing, fuzzy)


def test_the_template_file_is_up_to_date():
    template = {m.id for m in read(CONSOLE_LOCALES / "messages.pot") if m.id}
    assert template == template_sentences(), "run `make i18n`"


def test_translations_keep_their_placeholders():
    for message in read(catalog_path(), "fr"):
        if message.id:
            expected = sorted(PLACEHOLDER.findall(message.id))
            assert sorted(PLACEHOLDER.findall(message.string)) == expected, message.id


def test_the_console_reads_its_catalog():
    assert load_translations().gettext("Sign in") == "Se connecter"
