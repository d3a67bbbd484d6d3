"""Phone numbers dictated in French: one utterance (`parse_phone`) or several (`continue_phone`).

Principle: a wrong number is worse than none. A number is returned only when the
plausible readings of what was said give exactly one number valid for `phonenumbers`,
and no plausible reading could be the start of another number cut off mid-way.

Pipeline: tokens (words.py) -> keep what follows the last correction marker -> runs of
number tokens (runs.py: fillers such as « euh » do not break a run, other words do) -> the
readings of each run (numbers.number_graph) -> readings split into whole valid numbers -> a
single distinct number, or None.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.engine.nlu.doubts import (
    dialled_abroad,
    home_number_after_a_stutter,
    offers_a_choice,
    other_readings,
)
from backend.engine.nlu.numbers import Graph, number_graph, usual_reading
from backend.engine.nlu.runs import after_last_correction, is_number_token, number_runs
from backend.engine.nlu.words import QUANTITY_UNITS, tokenize
from backend.phones.dialing import MAX_DIGITS, e164_if_valid, plan

# Longer utterances are no number dictation (and would cost time): no number.
MAX_TOKENS = 300
# Reading steps explored per run start before giving up as too ambiguous.
_MAX_PATHS = 5000
# The first characters of a piece tell what it may become: "0" national, "00" or "+"
# international (4 covers the longest international prefixes, such as "0011").
_KIND_KNOWN_AFTER = 4


@dataclass(frozen=True)
class PhoneProgress:
    """State of a phone number being collected over several turns."""

    number: str | None  # E.164 once a full valid number is heard
    pending_digits: str  # digits heard so far that do not yet make a number
    corrected: bool  # the utterance contained a correction


class _TooAmbiguous(Exception):
    """A run has more readings than we are willing to weigh: give no number."""


# A split: (raw digits of its first number, the numbers it holds).
_Split = tuple[str, frozenset[str]]


def _splits_from(
    graph: Graph,
    start: int,
    digits: str,
    splits: list[set[_Split]],
    region: str,
) -> set[_Split]:
    """Ways to read graph[start:] as whole numbers, the first one starting with `digits`.

    `splits[j]` holds the ways for graph[j:], j > start. A piece that is not a number
    is allowed only as an abandoned start of the next number (« zéro six douze...
    zéro six douze trente-quatre... »).
    """
    home = plan(region)
    out: set[_Split] = set()
    stack = [(start, digits, home.bounds(digits))]
    budget = _MAX_PATHS
    while stack:
        i, prefix, bounds = stack.pop()
        for j, group in graph[i]:
            budget -= 1
            if budget < 0:
                raise _TooAmbiguous
            piece = prefix + group
            # The first characters ("0", "00", "+"...) tell what the piece may become.
            limit, lengths = home.bounds(piece) if len(prefix) < _KIND_KNOWN_AFTER else bounds
            if len(piece) > limit:
                continue  # cannot start or become a number: prune the whole branch
            number = e164_if_valid(piece, region) if len(piece) in lengths else None
            # An abandoned start may stop on a tens word: « douze trente... » before
            # « douze trente-quatre », so "30" also stands for its first digit.
            cut = piece[:-1] if len(group) == 2 and group[1] == "0" else piece
            for raw, numbers in splits[j]:
                if number is not None:
                    out.add((piece, numbers | {number}))
                elif numbers and 2 <= len(piece) < len(raw) and raw.startswith((piece, cut)):
                    out.add((raw, numbers))
            if j < len(graph):
                stack.append((j, piece, (limit, lengths)))
    return out


def _numbers_over(graph: Graph, region: str, pending: str) -> set[str]:
    """Distinct numbers over the readings in `graph` that split into whole numbers."""
    n = len(graph)
    home = plan(region)
    splits: list[set[_Split]] = [set() for _ in range(n)] + [{("", frozenset())}]
    first = n  # first position that may start a number
    for i in range(n - 1, -1, -1):
        # Most positions cannot start a number (« douze » is no « zéro »): skip them.
        if any(home.max_length(group) for _, group in graph[i]):
            splits[i] = _splits_from(graph, i, "", splits, region)
            first = i
    if pending:
        ways = _splits_from(graph, 0, pending, splits, region)
    else:
        # What comes before the first possible start is no part of a number: the
        # article in « c'est un zéro six... », the time in « à 14 30 06 12 ... ».
        ways = splits[first] if first < n else set()
    return {number for _, numbers in ways for number in numbers}


def _numbers_in_run(run: list[str], region: str, pending: str = "") -> set[str]:
    """Distinct numbers over the readings of `run` (after `pending`) that split into
    whole valid numbers: two different numbers mean ambiguity."""
    if run[-1] == "et":
        return set()  # cut off before « un »/« onze »: « ... cinquante-six vingt et »
    graph, doubtful = number_graph(run)
    found = _numbers_over(graph, region, pending)
    if found and doubtful and _may_be_cut(graph, region, pending):
        # « zéro six trente quatre vingt douze trente quatre »: 06 34 20 12 34, or the
        # start 06 30 92 34 of another number, cut off by the end of the utterance.
        return set()
    if found and not dialled_abroad(run) and home_number_after_a_stutter(run, found, region):
        return set()
    for other in other_readings(run) if found else ():
        if _numbers_over(number_graph(other)[0], region, pending) - found:
            # Read another way its caller may have meant, the number differs: which one is
            # not known (backend/engine/nlu/doubts.py).
            return set()
    return found


def _may_be_cut(graph: Graph, region: str, pending: str) -> bool:
    """Whether some reading of `graph` is the start of a number, not yet complete."""
    home = plan(region)
    stack = [(0, pending)]
    budget = _MAX_PATHS
    while stack:
        i, digits = stack.pop()
        if i == len(graph):
            if digits and len(digits) < home.max_length(digits):
                if not e164_if_valid(digits, region):
                    return True
            continue
        for j, group in graph[i]:
            budget -= 1
            if budget < 0:
                return True  # too many readings to tell: doubt
            # As in _numbers_over, a number starts at its trunk prefix or "+".
            started = digits or home.max_length(group)
            stack.append((j, digits + group if started else ""))
    return False


def _numbers_in(tokens: list[str], region: str) -> set[str]:
    """Distinct valid numbers said in `tokens` (raises _TooAmbiguous); none when the caller
    offers another (« ... soixante-dix-huit, ou peut-être soixante-dix-neuf »)."""
    numbers = _numbers_said(tokens, region)
    if numbers and offers_a_choice(tokens, lambda before: _numbers_said(before, region)):
        return set()
    return numbers


def _numbers_said(tokens: list[str], region: str) -> set[str]:
    return {number for run in number_runs(tokens) for number in _numbers_in_run(run, region)}


def parse_phone(text: str, region: str = "FR") -> str | None:
    """The phone number the caller dictated in `text`, as E.164, or None.

    Digits and French number words are both understood (any grouping, fillers,
    « plus trente-trois », « zéro zéro trente-trois », Belgian/Swiss tens). After a
    correction (« non pardon », « je recommence »...) only what follows counts. The
    same number said twice is that number. Returns None unless exactly one valid
    number can be read: ambiguous, incomplete or invalid input gives None, and so
    does text longer than MAX_TOKENS tokens.
    """
    _, tokens = after_last_correction(tokenize(text))
    if len(tokens) > MAX_TOKENS:
        return None
    try:
        numbers = _numbers_in(tokens, region)
    except _TooAmbiguous:
        return None
    return numbers.pop() if len(numbers) == 1 else None


def digits_said(text: str) -> list[str]:
    """The digits of each number said in `text` that has two or more, in their usual
    reading (« oui, ça finit par quarante et un » -> ["41"]).

    A lone digit is left out: « un » and « deux » are words of most sentences.
    """
    tokens: list[str] = []
    for tok in tokenize(text)[:MAX_TOKENS]:
        if tok in QUANTITY_UNITS:  # « je l'ai depuis 10 ans »: a quantity, not digits
            while tokens and (is_number_token(tokens[-1]) or tokens[-1] in ("-", "et")):
                tokens.pop()
        tokens.append(tok)
    readings = ("".join(usual_reading(run)).lstrip("+") for run in number_runs(tokens))
    return [digits for digits in readings if len(digits) >= 2]


def _clean_pending(pending: str) -> str:
    """Pending state as stored: digits with an optional leading "+", bounded in length."""
    plus = "+" if pending.startswith("+") else ""
    digits = "".join(c for c in pending if c.isdigit())
    return plus + digits if len(digits) <= MAX_DIGITS else ""


def continue_phone(pending_digits: str, text: str, region: str = "FR") -> PhoneProgress:
    """Add one utterance to a phone number being dictated over several turns.

    `pending_digits` is the state from the previous turn ("" at first). A complete
    number in `text` alone wins; otherwise the digits heard are appended to the
    pending ones until they form a valid number. A correction marker drops the
    pending digits and everything said before it. Pending digits are dropped too
    when they could never become a number (too long, no trunk prefix) or when the
    turn reads two ways (« trente quatre vingt »: 34 20 or 30 80), since keeping
    one reading could complete a wrong number later. Pure function: store the
    returned `pending_digits` and pass it back next turn.
    """
    home = plan(region)
    corrected, tokens = after_last_correction(tokenize(text))
    pending = "" if corrected else _clean_pending(pending_digits)
    if len(tokens) > MAX_TOKENS:
        return PhoneProgress(None, "", corrected)
    runs = number_runs(tokens)
    if not runs:
        return PhoneProgress(None, pending, corrected)
    joined = [tok for run in runs for tok in run]
    if offers_a_choice(tokens, lambda before: _numbers_said(before, region)):
        return PhoneProgress(None, "", corrected)  # neither number, nor digits to go on with
    try:
        alone = _numbers_said(tokens, region)  # _numbers_in less the choice, ruled out above
        if len(alone) == 1:
            return PhoneProgress(alone.pop(), "", corrected)
        if pending and "".join(usual_reading(joined)).startswith(pending):
            if pending == "0":
                pending = ""  # « zéro », then « zéro quatre... »: only a new start reads
            else:
                # « zéro trois », then « zéro trois, cinquante-sept... »: the caller starts
                # over, or goes on with the same digits (01 01...). Either reading can make a
                # valid number the caller did not say: neither is kept, they are asked again.
                return PhoneProgress(None, "", corrected)
        if pending:
            found = _numbers_in_run(joined, region, pending)
            if len(found) == 1:
                return PhoneProgress(found.pop(), "", corrected)
        doubtful = number_graph(joined)[1]
    except _TooAmbiguous:
        doubtful = True
    if doubtful:
        # « trente quatre vingt »: 34 20 or 30 80. Pending digits hold one reading only,
        # and committing to a guess could complete the wrong number later: start over.
        return PhoneProgress(None, "", corrected)
    # A new number starts at its trunk prefix or "+": what comes before (« un » the
    # article...) is dropped.
    groups = usual_reading(joined)
    if not pending:
        start = next((k for k, g in enumerate(groups) if home.max_length(g)), len(groups))
        groups = groups[start:]
    new = "".join(groups)
    combined = pending + new
    if combined.startswith("00") and not dialled_abroad(joined):
        # « zéro euh zéro six » then « vingt-deux… »: a hesitant zero, or 00 and a foreign
        # number: kept, either could complete a number the caller did not say.
        return PhoneProgress(None, "", corrected)
    # At its longest without being a number (0712345678), no digit to come can make it one.
    if len(combined) >= home.max_length(combined):
        combined = new if len(new) < home.max_length(new) else ""
    return PhoneProgress(None, _clean_pending(combined), corrected)
