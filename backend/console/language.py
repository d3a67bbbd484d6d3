"""The console's French, from its Babel catalog: locales/console/fr/LC_MESSAGES/messages.po.

Templates are written in English and marked for translation ({% trans %}, _()); `make i18n`
extracts them to locales/console/messages.pot and updates the catalog, which translators edit
as they do the agent's (docs/translators.md). The catalog ships with the code (it is not the
tenants' LOCALES_DIR, which operators edit live) and is read as .po when the app is built: no
compile step. A sentence missing or fuzzy there shows in English.
"""

import io

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from backend.config import PROJECT_ROOT

CONSOLE_LOCALES = PROJECT_ROOT / "locales" / "console"
LOCALE = "fr"


def catalog_path(locale=LOCALE):
    """Where the console's catalog for `locale` lives."""
    return CONSOLE_LOCALES / locale / "LC_MESSAGES" / "messages.po"


def load_translations(locale=LOCALE):
    """The catalog as gettext translations (its fuzzy entries left out)."""
    with open(catalog_path(locale), "rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def init_app(app):
    """Templates get gettext (`_`, `{% trans %}`) in French, and the locale's name."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_translations(load_translations(), newstyle=True)
    app.jinja_env.globals["locale"] = LOCALE
