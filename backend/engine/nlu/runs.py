"""Where in an utterance a number is dictated: runs of number tokens, after the last correction.

A caller who says « non pardon » or « je recommence » starts over: only what follows the last
correction marker counts. Within it, number tokens make runs; fillers (« euh », « alors »...)
and separators do not break a run, any other word ends it. Plain Python, on words.py's tokens.
"""

from __future__ import annotations

from backend.engine.nlu.words import NUMBER_WORDS, PAUSE, TENS, UNITS

# Words after which the caller starts over: only what follows the last one counts.
CORRECTION_MARKERS = frozenset(
    {
        "non",
        "nan",
        "pardon",
        "plutot",
        "enfin",
        "erreur",
        "correction",
        "oups",
        "desole",
        "desolee",
        "excusez",
        "excuse",
        "recommence",
        "recommencer",
        "reprends",
        "reprend",
        "trompe",
        "trompee",
        "corrige",
        "rectifie",
        "mince",
        "zut",
    }
)
# « je veux dire 98 »: « dire » after these starts over too.
_SAY_AGAIN = frozenset({"veux", "voulais", "voulait"})
# Courtesy after a whole number (« … 89, excusez-moi », « …, enfin mon portable »): a
# correction only when digits follow it.
_COURTESY = frozenset({"excusez", "excuse", "desole", "desolee", "enfin"})
# Words said while dictating that do not interrupt the number.
FILLERS = frozenset(
    {
        "euh",
        "euhh",
        "heu",
        "hum",
        "hmm",
        "mmh",
        "bah",
        "ben",
        "bon",
        "alors",
        "donc",
        "voila",
        "attendez",
        "attends",
        "tiret",
        "point",
        "espace",
    }
)
# Symbols STT puts between digits or groups (« 06.12.34 », « 06-12 », « zéro six, douze »).
SEPARATORS = frozenset(".,-/()[]:;!?…\"'«»")
PAUSES = frozenset(".,;:!?…")
PLUS = frozenset({"+", "plus"})
# A digit said several times: « double zéro », « triple quatre », « deux fois zéro ».
_REPEATED = {"double": 2, "triple": 3}
_TIMES = {"deux": 2, "trois": 3, "2": 2, "3": 3}
# Before « deux »: words it may end a number with (« trente-deux », « quatre-vingt-deux »).
_BOUND_BEFORE = frozenset(TENS) | {"-", "et", "cent", "cents", "mille"}
_SKIPPED = FILLERS | SEPARATORS


def after_last_correction(tokens: list[str]) -> tuple[bool, list[str]]:
    """(whether a correction was made, the tokens after the last correction marker)."""
    digits_after = False
    for i in range(len(tokens) - 1, -1, -1):
        tok = tokens[i]
        if tok in CORRECTION_MARKERS or (tok == "dire" and i and tokens[i - 1] in _SAY_AGAIN):
            if digits_after or tok not in _COURTESY:
                return True, tokens[i + 1 :]
        digits_after = digits_after or is_number_token(tok)
    return False, tokens


def is_number_token(tok: str) -> bool:
    """A digit run or a French number word."""
    return "0" <= tok[0] <= "9" or tok in NUMBER_WORDS  # ASCII digits only: not « ² »


def _country_code_follows(tok: str | None) -> bool:
    """Whether `tok` may start a country code: a number, not a zero (« j'en ai plus, 06… »)."""
    return tok is not None and is_number_token(tok) and tok[0] != "0" and tok != "zero"


def number_runs(tokens: list[str]) -> list[list[str]]:
    """Runs of number tokens. Fillers do not break a run; hyphens and pauses between
    number words are kept for number_graph; any other word ends the run."""
    runs: list[list[str]] = []
    run: list[str] = []

    def close() -> None:
        nonlocal run
        while run and run[-1] == PAUSE:
            run.pop()
        if run:
            runs.append(run)
        run = []

    def following(k: int) -> str | None:
        return next((t for t in tokens[k + 1 :] if t not in _SKIPPED), None)

    times = 1  # how many times the next digit is said: « double zéro »
    for k, tok in enumerate(tokens):
        digit_follows = k + 1 < len(tokens) and _is_digit(tokens[k + 1])
        if is_number_token(tok):
            run.extend([tok] * times if _is_digit(tok) else [tok])
        elif tok in _REPEATED and digit_follows:
            times = _REPEATED[tok]  # « double zéro trente-trois »: 0033; « triple quatre »: 444
            continue
        elif tok == "fois" and digit_follows and _multiplier_ends(run):
            times = _TIMES[run.pop()]  # « deux fois zéro »: 00
            continue
        elif tok == "-" and run and run[-1] in NUMBER_WORDS:
            if k + 1 < len(tokens) and tokens[k + 1] in NUMBER_WORDS:
                run.append(tok)  # « soixante-dix-huit » is one number
        elif tok in PAUSES and run and run[-1] in NUMBER_WORDS:
            run.append(PAUSE)  # « soixante, dix » may be two pairs
        elif tok in PLUS and _country_code_follows(following(k)):
            run.append("+")  # « plus trente-trois », but not « je n'ai plus de... »
        elif tok == "et" and run:
            # « soixante et onze », « ... cinquante-six et soixante-dix-huit », or a cut
            # « vingt et » at the very end; before other words, or before « voilà » after a
            # number said whole (« ... soixante-dix-huit et voilà »), it just ends the run.
            # After a tens word, « et » may still be cut off (« vingt et... euh voilà »: 21?),
            # unless « voilà » follows at once (« vingt et voilà »).
            nxt = following(k)
            at_once = tokens[k + 1 : k + 2] == ["voila"]
            done = "voila" in tokens[k + 1 :] and (run[-1] not in TENS or at_once)
            if (nxt is None and not done) or (nxt is not None and is_number_token(nxt)):
                run.append(tok)
            else:
                close()
        elif tok not in _SKIPPED:
            close()
        times = 1
    close()
    return runs


def _is_digit(tok: str) -> bool:
    return tok in UNITS or (len(tok) == 1 and "0" <= tok <= "9")


def _multiplier_ends(run: list[str]) -> bool:
    """Whether `run` ends with « deux » or « trois » said alone after some digits of the number,
    not as the end of a tens word (« trente-deux fois »: 32 or 30 2, left unread), nor as a count
    before it (« j'ai appelé deux fois, zéro six… »)."""
    return len(run) >= 2 and run[-1] in _TIMES and run[-2] not in _BOUND_BEFORE
