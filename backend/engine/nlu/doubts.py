"""What makes a dictation read two ways beyond its words' own readings. Plain Python.

A caller offers another number (« …soixante-dix-huit, ou peut-être soixante-dix-neuf »), says
a group twice (« soixante, dix-huit... dix-huit »: 60 18 said again, or 78 18), or lets a
first zero hang (« zéro... euh, zéro quatre... »: the international 00, or a French number).
phone.py reads each other way too, and takes no number when they differ: the caller is asked
again rather than a wrong number being read back by its last digits.
"""

from __future__ import annotations

from collections.abc import Callable

from backend.engine.nlu.numbers import usual_reading
from backend.engine.nlu.runs import is_number_token
from backend.engine.nlu.words import HUNDRED, PAUSE, QUANTITY_UNITS
from backend.phones.dialing import e164_if_valid, plan

# Words that offer another number: « ou (c'est peut-être) », « voire », « soit... soit »,
# « sinon », « sauf si », and below « peut-être », « à moins que », « j'hésite avec ».
_CHOICE_WORDS = frozenset({"ou", "voire", "soit", "sinon", "sauf"})
# Words (not marks) that may stand between such a word and the number it offers.
_WORDS_BEFORE_THE_OTHER = 6
_MARKS = frozenset({PAUSE, "-", "'"})


def _offers(tokens: list[str], k: int) -> bool:
    tok, then = tokens[k], tokens[k + 1 : k + 3]
    if tok == "peut":
        return then == ["-", "etre"]
    if tok == "moins":
        return then[:1] == ["que"]
    if tok == "hesite":
        return then[:1] != ["pas"]
    return tok in _CHOICE_WORDS


def offers_a_choice(tokens: list[str], numbers_in: Callable[[list[str]], set[str]]) -> bool:
    """Whether a complete number (as `numbers_in` reads one) is followed by a word offering
    another number within a few words: « ..., ou neuf », « ou c'est peut-être 79 ». Not « ou un
    SMS », a quantity (« sinon après 18 heures »), nor the same number said again (« soit zéro
    six... »)."""
    for k in range(len(tokens)):
        if not _offers(tokens, k):
            continue
        words = [j for j in range(k + 1, len(tokens)) if tokens[j] not in _MARKS]
        near = words[: _WORDS_BEFORE_THE_OTHER + 1]
        start = next((j for j in near if is_number_token(tokens[j])), None)
        if start is None:
            continue
        following = next((t for t in tokens[start + 1 :] if t not in _MARKS), None)
        if tokens[start] in ("un", "une") and not (following and is_number_token(following)):
            continue  # « ou un SMS »; but « ou c'est un neuf », « ou un soixante-dix-neuf »
        after = next(
            (t for t in tokens[start:] if t not in _MARKS and not is_number_token(t)), None
        )
        if after in QUANTITY_UNITS:
            continue
        before = numbers_in(tokens[:k])
        if not before:
            continue
        later = numbers_in(tokens[k + 1 :])
        if later and later <= before:
            continue  # the same number said again (« soit zéro six... »)
        return True
    return False


def dialled_abroad(run: list[str]) -> bool:
    """Whether the run says a number as dialled abroad: « plus », the token 00, or two zeros
    then hundreds (« zéro zéro six cent quatre-vingt-sept... »), which no French number has."""
    if "+" in run or run[:1] == ["00"]:
        return True
    said = [tok for tok in run if tok not in _MARKS]
    zeros = next((k for k, tok in enumerate(said) if tok not in ("zero", "0")), len(said))
    return zeros >= 2 and not HUNDRED.isdisjoint(said[zeros : zeros + 4])


def home_number_after_a_stutter(run: list[str], found: set[str], region: str) -> bool:
    """« zéro euh zéro cinq trente-sept… »: 00 5 37… (Cuba), or 05 37… after a hesitant first
    zero. Whether the digits read, or a number found, less one zero are a home number: then
    both readings stand. The digits as said count too: E.164 drops a trunk 0 said after a
    country code (« zéro, 04 90 79… »: 00 49 0 79… is +49 79…)."""
    readings = ["0" + number[1:] for number in found]
    first = [tok for tok in run[:4] if tok != PAUSE][:2]
    if len(first) == 2 and first[0] in ("zero", "0") and first[1][0] in "0z":
        # Two zeros said apart: a foreign number read through them may be a home number, cut
        # short or not (« zéro euh zéro six quatre-vingt-dix trente-neuf soixante et un »).
        home_code = f"+{plan(region).home.country_code}"
        if any(not number.startswith(home_code) for number in found):
            return True
        said = "".join(usual_reading(run))  # only then: a run's reading costs a graph
        if said.startswith("00"):
            readings.append(said[1:])
    return any(
        (home := e164_if_valid(digits, region)) is not None and home not in found
        for digits in readings
    )


def other_readings(run: list[str]) -> list[list[str]]:
    """`run` read another way its caller may have meant: once for each pair or more said
    twice in a row, that group said once."""
    groups = _groups(run)
    readings = []
    for k in range(1, len(groups)):
        before, group = groups[k - 1], groups[k]
        # The same words, or words then digits (« dix-huit... 18 »): read only then.
        if group != before and _is_digits(group) == _is_digits(before):
            continue
        value = "".join(usual_reading(group))
        # A digit said twice is how digits are dictated (« zéro zéro », « six six »).
        if len(value) >= 2 and value == "".join(usual_reading(before)):
            readings.append(_joined(groups[:k] + groups[k + 1 :]))
    return readings


def _is_digits(group: list[str]) -> bool:
    return group[0][0].isdigit()


def _groups(run: list[str]) -> list[list[str]]:
    """The run's groups as a caller says them: between pauses, a digit token, words joined
    by hyphens (« dix-huit »), or words said together without (« trente trois »)."""
    groups: list[list[str]] = []
    current: list[str] = []
    joined = False
    for k, tok in enumerate(run):
        if tok == PAUSE:
            current, joined = [], False
            continue
        if tok == "-":
            joined = True
            continue
        starts = not joined and (
            not current
            or "-" in current
            or tok[0].isdigit()
            or current[0][0].isdigit()
            or (k + 1 < len(run) and run[k + 1] == "-")
        )
        if starts:
            current = [tok]
            groups.append(current)
        else:
            current += ["-", tok] if joined else [tok]
        joined = False
    return groups


def _joined(groups: list[list[str]]) -> list[str]:
    return [tok for k, group in enumerate(groups) for tok in [PAUSE] * (k > 0) + group]
