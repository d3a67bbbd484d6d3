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
from backend.engine.nlu.runs import is_number_token, number_runs
from backend.engine.nlu.words import PAUSE

# Words that offer another number: « ou (c'est peut-être) », « voire », « soit... soit »,
# « sinon », « à moins que », « j'hésite avec », « peut-être ».
_CHOICE_WORDS = frozenset({"ou", "voire", "soit", "sinon", "moins", "hesite", "peut"})
# How many words may stand between such a word and the number it offers (« ou c'est le »).
_WORDS_BEFORE_THE_OTHER = 4


def offers_a_choice(tokens: list[str], numbers_in: Callable[[list[str]], set[str]]) -> bool:
    """Whether a complete number (as `numbers_in` reads one) is followed by a word offering
    another, then a number of two digits or more: « ou un SMS », « sept ou huit heures » offer
    none."""
    for k, tok in enumerate(tokens):
        if tok not in _CHOICE_WORDS:
            continue
        after = [j for j in range(k + 1, len(tokens)) if tokens[j] != PAUSE][
            : _WORDS_BEFORE_THE_OTHER + 1
        ]
        start = next((j for j in after if is_number_token(tokens[j])), None)
        if start is None:
            continue
        runs = number_runs(tokens[start:])
        if runs and len("".join(usual_reading(runs[0]))) >= 2 and numbers_in(tokens[:k]):
            return True
    return False


def other_readings(run: list[str]) -> list[list[str]]:
    """`run` read other ways its caller may have meant: once for each pair or more said twice
    in a row, that group said once; without a first zero said alone before another zero."""
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
    # « zéro... zéro quatre »: 00 4..., or 04...; « zéro zéro six cent… » said together is 00.
    alone = run[:2] == ["zero", PAUSE] or (run[:1] == ["0"] and len(run) > 1 and run[1] != PAUSE)
    if alone and len(groups) > 1 and "".join(usual_reading(groups[1])).startswith("0"):
        readings.append(_joined(groups[1:]))
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
