"""French words as speech-to-text writes them: normalized tokens, and the number words.

Speech-to-text gives French numbers as digits, as words (« soixante et onze »,
« quatre vingt dix sept », Belgian/Swiss « septante », « nonante ») or a mix of both, with
or without accents. `tokenize` makes them comparable; numbers.py reads them.
"""

from __future__ import annotations

import re
import unicodedata

UNITS = {
    "zero": 0,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
}
TEENS = {
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
}
TENS = {
    "vingt": 20,
    "vingts": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    # Belgian and Swiss French.
    "septante": 70,
    "huitante": 80,
    "octante": 80,
    "nonante": 90,
}
HUNDRED = frozenset({"cent", "cents"})
# Words after a number that make it a quantity (« depuis 10 ans », « vers 14 heures »), not digits.
QUANTITY_UNITS = frozenset(
    {"an", "ans", "heure", "heures", "h", "minute", "minutes", "jour", "jours", "mois", "fois"}
    | {"semaine", "semaines", "euro", "euros", "chiffre", "chiffres", "min"}
)
THOUSAND = "mille"
NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | HUNDRED | {THOUSAND}
# Where STT wrote a pause (comma, dot...) inside a run of numbers: see number_graph.
PAUSE = ","
# Tokens: a "+", a run of digits, a word, or any other single symbol.
_TOKEN_RE = re.compile(r"\+|[0-9]+|[a-z]+|[^\sa-z0-9]")
# Accents and ligatures of French, typographic apostrophes: cheaper than NFD.
_FRENCH_LETTERS = str.maketrans(
    {
        **dict.fromkeys("àâä", "a"),
        **dict.fromkeys("éèêë", "e"),
        **dict.fromkeys("îï", "i"),
        **dict.fromkeys("ôö", "o"),
        **dict.fromkeys("ùûü", "u"),
        "ÿ": "y",
        "ç": "c",
        "œ": "oe",
        "æ": "ae",
        **dict.fromkeys("’ʼ`", "'"),
    }
)


def normalize(text: str) -> str:
    """Lowercase `text` and strip accents, so that STT variants (« zéro »/« zero ») match."""
    text = text.lower()
    if text.isascii():
        return text
    text = text.translate(_FRENCH_LETTERS)
    if text.isascii():  # the usual case: French accents are all in the table
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    """Split `text` into normalized tokens: "+", digit runs, words and single symbols.

    Hyphens, apostrophes and dots become separate symbols, so « quatre-vingt-dix »,
    « 06.12.34 » and « c'est » all split where a French reader would split them.
    """
    return _TOKEN_RE.findall(normalize(text))
