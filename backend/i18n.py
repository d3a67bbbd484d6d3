"""Babel catalogs: which sentence a tenant hears, with variant and locale fallback. Plain Python.

Lookup for (locale fr_BE, variant warm): warm in fr_BE, warm in fr, standard in fr_BE, standard in
fr, then the source text in backend/prompts.py. Catalog files are read as .po, so a saved edit
needs no compile step.
"""

import string
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import PoFileError, read_po

from .prompts import SOURCE_TEXT

STANDARD = "standard"


def variant_of_file(path):
    """`messages.po` is the standard variant; `short.po` is `short`."""
    stem = Path(path).stem
    return STANDARD if stem == "messages" else stem


def locale_chain(locale):
    """`fr_BE` -> [`fr_BE`, `fr`]; `fr` -> [`fr`]."""
    chain = [locale]
    if "_" in locale:
        chain.append(locale.split("_", 1)[0])
    return chain


def placeholders(text):
    """The `{names}` a sentence uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@dataclass(frozen=True)
class CatalogProblem:
    """One thing wrong in a catalog file."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self):
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


def read_catalog_file(path):
    """One .po file: ({key: sentence} of its usable entries, [CatalogProblem])."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            catalog = read_po(handle, abort_invalid=True)
    except (OSError, PoFileError, ValueError, UnicodeDecodeError) as error:
        return {}, [CatalogProblem(name, getattr(error, "lineno", 1) or 1, "(file)", str(error))]
    sentences, problems = {}, []
    for message in catalog:
        key = message.context
        if not message.id:
            continue
        line = message.lineno or 1
        if key not in SOURCE_TEXT:
            problems.append(CatalogProblem(name, line, str(key), "no such sentence in prompts.py"))
            continue
        if message.fuzzy:
            problems.append(CatalogProblem(name, line, key, "fuzzy: review it, then drop the flag"))
            continue
        if not message.string:
            problems.append(CatalogProblem(name, line, key, "empty translation"))
            continue
        expected, found = placeholders(SOURCE_TEXT[key]), placeholders(message.string)
        if expected != found:
            missing = ", ".join(f"{{{p}}}" for p in sorted(expected - found)) or "none"
            extra = ", ".join(f"{{{p}}}" for p in sorted(found - expected)) or "none"
            problems.append(
                CatalogProblem(
                    name, line, key, f"placeholders differ: missing {missing}, unknown {extra}"
                )
            )
            continue
        sentences[key] = message.string
    return sentences, problems


class Catalogs:
    """Every catalog of a locales folder, loaded once; `sentence()` applies the fallbacks."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.entries = {}
        self.problems = []
        for path in sorted(self.directory.glob("*/LC_MESSAGES/*.po")):
            locale = path.parent.parent.name
            sentences, problems = read_catalog_file(path)
            self.entries[(locale, variant_of_file(path))] = sentences
            self.problems += problems

    @property
    def locales(self):
        """Locales a tenant may name: those with a catalog, and their regional forms' bases."""
        return {locale for locale, _ in self.entries}

    @property
    def variants(self):
        """Wording variants a tenant may name."""
        return {variant for _, variant in self.entries} | {STANDARD}

    def knows_locale(self, locale):
        """True when some catalog in the locale's fallback chain exists."""
        return any(loc in self.locales for loc in locale_chain(locale))

    def sentence(self, key, locale, variant, **params):
        """The sentence for `key`, filled with `params`, after variant and locale fallback."""
        return self.template(key, locale, variant).format(**params)

    def template(self, key, locale, variant):
        """The unfilled sentence for `key`."""
        for wording in dict.fromkeys((variant, STANDARD)):
            for loc in locale_chain(locale):
                text = self.entries.get((loc, wording), {}).get(key)
                if text:
                    return text
        return SOURCE_TEXT[key]
