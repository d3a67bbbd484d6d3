"""Babel catalogs: which sentence a tenant hears, with variant and locale fallback. Plain Python.

Lookup for (locale fr_BE, variant warm): warm in fr_BE, warm in fr, standard in fr_BE, standard in
fr, then the source text in backend/prompts.py. Catalog files are read as .po, so a saved edit
needs no compile step.
"""

import io
import re
import string
from pathlib import Path

from babel.messages.pofile import PoFileError, read_po

from backend.problems import Problem, is_error, unreadable_file
from backend.prompts import SOURCE_TEXT

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
    """The `{names}` a sentence uses; ValueError when a brace is left open or unmatched."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def placeholder_problem(sentence, source):
    """What is wrong with the placeholders of a translation of `source`, or None."""
    try:
        fields = [(n, s, c) for _, n, s, c in string.Formatter().parse(sentence) if n is not None]
    except ValueError:
        return "broken placeholder: a { or } without its pair"
    for name, spec, conversion in fields:
        if spec or conversion:
            # {last_two!r} would be spoken with its quotes, {last_two:>9} with its spaces.
            return f"write {{{name}}} alone: nothing after its name (no ! or :)"
    expected, found = placeholders(source), {name for name, _, _ in fields}
    if expected == found:
        return None
    parts = []
    if expected - found:
        parts.append(f"missing {_braced(expected - found)}")
    if found - expected:
        parts.append(f"unknown {_braced(found - expected)}")
    return f"placeholders differ: {'; '.join(parts)} (this sentence takes {_braced(expected)})"


def _braced(names):
    return ", ".join(f"{{{name}}}" for name in sorted(names)) or "none"


def catalog_name(locale, variant):
    """Where a (locale, variant) lives under locales/: `fr/warm.po`, `fr_BE/messages.po`."""
    return f"{locale}/{'messages' if variant == STANDARD else variant}.po"


_PO_KEYWORD = re.compile(r"^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+(.*)$")
_PO_STRING = re.compile(r'^"(?:[^"\\]|\\.)*"$')


def po_syntax_problem(text, name):
    """The first line babel would read wrongly (it accepts an open quote, a second msgstr, and a
    sentence entered twice, of which it keeps one: editing the other would change nothing)."""
    last, contexts = None, {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword = _PO_KEYWORD.match(line)
        if not keyword and not line.startswith('"'):
            reason = "not a .po line: a comment (#), msgctxt, msgid, msgstr or quoted text"
            return Problem(name, number, "(syntax)", reason)
        quoted = keyword.group(2) if keyword else line
        if not _PO_STRING.match(quoted):
            reason = 'text must sit between two double quotes, inner quotes written \\"'
            return Problem(name, number, "(syntax)", reason)
        if keyword:
            word = keyword.group(1)
            if word.startswith("msgstr") and last is not None and last.startswith("msgstr"):
                return Problem(name, number, "(syntax)", "a second msgstr in one entry")
            if word == "msgctxt" and quoted != '""':
                first = contexts.setdefault(quoted, number)
                if first != number:
                    reason = f"this sentence is in the file twice (also line {first}): keep one"
                    return Problem(name, number, quoted.strip('"'), reason)
            last = word
    return None


def read_catalog_file(path):
    """One .po file: ({key: sentence} of its usable entries, [Problem]).

    Problems refuse the file, except a source text changed since its translation (severity
    "review"): the translation is served, and `i18n check` asks for a review."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        problem = po_syntax_problem(data.decode("utf-8"), name)
        if problem:
            return {}, [problem]
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
    except PoFileError as error:
        # babel counts lines from 0
        return {}, [Problem(name, (error.lineno or 0) + 1, "(syntax)", str(error))]
    except (OSError, ValueError, UnicodeDecodeError) as error:
        return {}, [unreadable_file(name, error)]
    sentences, problems = {}, []
    for message in catalog:
        key = message.context
        if not message.id:
            continue
        line = message.lineno or 1
        if key not in SOURCE_TEXT:
            problems.append(Problem(name, line, str(key), "no such sentence in prompts.py"))
            continue
        if message.fuzzy:
            problems.append(Problem(name, line, key, "fuzzy: review it, then drop the flag"))
            continue
        if not message.string:
            problems.append(Problem(name, line, key, "empty translation"))
            continue
        problem = placeholder_problem(message.string, SOURCE_TEXT[key])
        if problem:
            problems.append(Problem(name, line, key, problem))
            continue
        if message.id != SOURCE_TEXT[key]:
            # A variant's entry is copied by hand: it keeps the source text of its day.
            stale = (
                "the source text changed since this translation: review it, then copy the new msgid"
            )
            problems.append(Problem(name, line, key, stale, severity="review"))
        sentences[key] = message.string
    return sentences, problems


def catalog_files(directory):
    """The .po files of a locales folder, in a stable order."""
    return sorted(Path(directory).glob("*/LC_MESSAGES/*.po"))


def completeness_problems(directory, files):
    """Each locale needs its language's standard catalog, holding every sentence.

    Variant and regional catalogs hold only what they override; the standard base catalog
    (`fr/messages.po`) is what they fall back on, so a sentence missing there has no fallback.
    """
    problems = []
    by_locale = {}
    for path in files:
        by_locale.setdefault(path.parent.parent.name, []).append(path)
    for locale, paths in sorted(by_locale.items()):
        base = Path(directory) / locale_chain(locale)[-1] / "LC_MESSAGES" / "messages.po"
        if not base.is_file():
            for path in paths:
                problems.append(
                    Problem(str(path), 1, "(file)", f"no standard catalog {base} to fall back on")
                )
    return problems


def missing_sentences(path, sentences, reported=()):
    """A standard base catalog must translate every sentence of prompts.py.

    `reported`: keys whose entry is there but refused (a problem at its own line already).
    """
    return [
        Problem(str(path), 1, key, "missing: the standard catalog needs every sentence")
        for key in SOURCE_TEXT
        if key not in sentences and key not in reported
    ]


def _unread(problems):
    """True when a file could not be read at all: its sentences are not missing, unread."""
    return any(problem.key in ("(syntax)", "(file)") for problem in problems)


class Catalogs:
    """Every catalog of a locales folder, loaded once; `sentence()` applies the fallbacks."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.entries = {}
        # problems: an edit is refused; gaps: served (a translation to review, or the source
        # text for one missing), but `i18n check` fails.
        self.problems, self.gaps = [], []
        files = catalog_files(self.directory)
        for path in files:
            locale, variant = path.parent.parent.name, variant_of_file(path)
            sentences, problems = read_catalog_file(path)
            self.entries[(locale, variant)] = sentences
            self.gaps += [p for p in problems if not is_error(p)]
            problems = [p for p in problems if is_error(p)]
            self.problems += problems
            if variant == STANDARD and "_" not in locale and not _unread(problems):
                reported = {problem.key for problem in problems}
                self.gaps += missing_sentences(path, sentences, reported)
        self.gaps += completeness_problems(self.directory, files)

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
        return self.lookup(key, locale, variant)[0]

    def lookup(self, key, locale, variant):
        """(unfilled sentence, catalog it comes from like `fr/warm.po`, or None for the source)."""
        for wording in dict.fromkeys((variant, STANDARD)):
            for loc in locale_chain(locale):
                text = self.entries.get((loc, wording), {}).get(key)
                if text:
                    return text, catalog_name(loc, wording)
        return SOURCE_TEXT[key], None
