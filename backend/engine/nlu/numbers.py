"""French spoken numbers -> digit strings.

The tokens come from words.py (« soixante et onze », « quatre vingt dix sept », Belgian/Swiss
« septante », digits, or a mix). This module only reads numbers; deciding what is a phone
number is `phone.py`'s job.

A run of number words can sometimes be read in more than one way: « trente quatre
vingt » is 34 20 or 30 80. `number_graph` gives the usual French reading first and
the other plausible ones after it, and lets the caller keep the reading that makes a
valid phone number.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.engine.nlu.words import HUNDRED, NUMBER_WORDS, PAUSE, TEENS, TENS, THOUSAND, UNITS

# Tens a caller dictating pairs may say alone before another pair.
_PAIR_TENS = frozenset(range(20, 100, 10))


def _tens_tail(words: Sequence[str], i: int, teens: bool) -> list[tuple[int, int]]:
    """What may follow a tens word: « et un », a unit, and (after 60 and 80) 10-19."""
    n = len(words)
    out: list[tuple[int, int]] = []
    if i >= n:
        return out
    w = words[i]
    if w == "et" and i + 1 < n:
        nxt = words[i + 1]
        if nxt in ("un", "une"):
            out.append((i + 2, 1))
        elif teens and nxt == "onze":
            out.append((i + 2, 11))
    elif w in UNITS and UNITS[w] > 0:
        out.append((i + 1, UNITS[w]))
    elif teens and w in TEENS:
        out.append((i + 1, TEENS[w]))
        if w == "dix" and i + 1 < n and words[i + 1] in ("sept", "huit", "neuf"):
            out.append((i + 2, 10 + UNITS[words[i + 1]]))
    return out


def _below_100(words: Sequence[str], i: int) -> list[tuple[int, int]]:
    """All (end, value) for a number 0-99 starting at words[i]."""
    n = len(words)
    w = words[i]
    nxt = words[i + 1] if i + 1 < n else ""
    out: list[tuple[int, int]] = []
    if w in UNITS:
        out.append((i + 1, UNITS[w]))
        if w == "quatre" and nxt in ("vingt", "vingts"):
            out.append((i + 2, 80))
            if nxt == "vingt":  # « quatre-vingts » takes its "s" only when it ends the number
                out += [(j, 80 + v) for j, v in _tens_tail(words, i + 2, teens=True)]
    elif w in TEENS:
        out.append((i + 1, TEENS[w]))
        if w == "dix" and nxt in ("sept", "huit", "neuf"):
            out.append((i + 2, 10 + UNITS[nxt]))
    elif w in TENS:
        base = TENS[w]
        out.append((i + 1, base))
        if w != "vingts":
            out += [(j, base + v) for j, v in _tens_tail(words, i + 1, teens=base == 60)]
    return out


def _below_1000(words: Sequence[str], i: int) -> list[tuple[int, int]]:
    """All (end, value) for a number 0-999 starting at words[i]."""
    out = _below_100(words, i)
    n = len(words)
    w = words[i]
    if w in HUNDRED:
        start, hundreds = i + 1, 100
    elif w in UNITS and UNITS[w] > 1 and i + 1 < n and words[i + 1] in HUNDRED:
        start, hundreds = i + 2, UNITS[w] * 100
    else:
        return out
    out.append((start, hundreds))
    if start < n and words[start - 1] != "cents":  # « deux cents » ends the number
        out += [(j, hundreds + v) for j, v in _below_100(words, start) if v > 0]
    return out


def expressions(words: Sequence[str], i: int) -> list[tuple[int, int]]:
    """All (end, value) such that words[i:end] is one French number, longest first."""
    out = _below_1000(words, i)
    n = len(words)
    starts = []
    if words[i] == THOUSAND:
        starts.append((i + 1, 1000))
    starts += [(j + 1, v * 1000) for j, v in out if v > 1 and j < n and words[j] == THOUSAND]
    for start, thousands in starts:
        out.append((start, thousands))
        if start < n:
            out += [(j, thousands + v) for j, v in _below_1000(words, start) if v > 0]
    out.sort(key=lambda ev: -ev[0])
    return out


Graph = list[list[tuple[int, str]]]


def number_graph(tokens: Sequence[str]) -> tuple[Graph, bool]:
    """The readings of a run of number tokens, as a graph over its words, and whether
    some words read two ways with nothing in the text to tell which (« doubtful »).

    `tokens` holds digit runs, "+", number words, « et », "-" where STT wrote a
    hyphen and PAUSE where it wrote a comma, dot or ellipsis. `graph[i]` lists
    (j, digits): words i..j-1 read as `digits`. Digit runs are kept verbatim
    (leading zeros included); « et » may be a mere link ("" digits) as in
    « cinquante-six et soixante-dix-huit ».

    The first option is the most likely reading: the longest number, except that
    after one « zéro », which callers follow with one digit, « quatre vingt » is 4 20,
    and that a pair split marked in the text (below) comes first. Other options are
    kept only where French really reads two ways, so that the caller keeps the one
    that makes a valid phone number, and gives up when both do:
    - « quatre » may start the next « quatre-vingt »: « trente quatre vingt » is
      34 20 or 30 80 (« vingts » or « trente, quatre » say 30 80, « trente-quatre »
      says 34 20);
    - after a pause a tens word may be a pair of its own: « soixante, dix » is 70 or
      60 10, and so is « soixante dix » in text that hyphenates numbers elsewhere;
      otherwise « soixante dix » is 70 only, since reading 60 10 would stretch an
      incomplete number (06 70 20 30) into a valid-looking one (06 60 10 20 30).
    Hyphens settle it: « soixante-dix » is 70, and in text that hyphenates numbers
    « quatre vingt-trois » is 4 23.
    """
    words: list[str] = []
    hyphen_before: list[bool] = []
    pause_before: list[bool] = []
    hyphen = pause = False
    for tok in tokens:
        if tok == "-":
            hyphen = bool(words)
        elif tok == PAUSE:
            pause = bool(words)
        else:
            words.append(tok)
            hyphen_before.append(hyphen)
            pause_before.append(pause)
            hyphen = pause = False
    n = len(words)
    # Text that hyphenates « quatre-vingt » anywhere hyphenates it everywhere.
    hyphens = any(hyphen_before)

    quatre = "quatre" in words
    splits_pairs = hyphens or any(pause_before)

    def quatre_vingt_ok(i: int, j: int) -> bool:
        """Whether no « quatre vingt » inside words[i:j] is split by a pause, or lacks
        its hyphen in text that hyphenates."""
        return not quatre or not any(
            words[k - 1] == "quatre"
            and words[k] in ("vingt", "vingts")
            and (pause_before[k] or (hyphens and not hyphen_before[k]))
            for k in range(i + 1, j)
        )

    graph: Graph = []
    doubtful = False
    for i, word in enumerate(words):
        if word not in NUMBER_WORDS:
            graph.append([(i + 1, "" if word == "et" else word)])
            continue
        everything = expressions(words, i)
        options = [
            (j, v)
            for j, v in everything
            if (j == n or not hyphen_before[j]) and quatre_vingt_ok(i, j)
        ] or everything
        kept = options[:1]
        j = kept[0][0]
        if (
            quatre
            and j - 1 > i
            and words[j - 1] == "quatre"
            and j < n
            and words[j] in ("vingt", "vingts")
            and quatre_vingt_ok(j - 1, j + 1)
        ):
            shorter = [(k, v) for k, v in options if k == j - 1][:1]
            if words[j] == "vingts" or pause_before[j - 1]:  # « trente, quatre-vingts »
                kept = shorter or kept
            elif not hyphen_before[j - 1]:  # « trente-quatre vingt » is 34 20
                doubtful = doubtful or bool(shorter)
                kept = kept + shorter
        elif word == "quatre" and (i + 1, 4) in options[1:] and _after_single_zero(words, i):
            if i + 1 < n and words[i + 1] in HUNDRED:
                # « zéro quatre cent septante-huit »: 0478, a Belgian mobile, or 0 4 178.
                kept = kept + [(i + 1, 4)]
            else:
                kept = [(i + 1, 4)]  # a caller says « zéro » then one digit: 0 4 20, not 0 80
        if splits_pairs:
            # The text marks these splits (pause, missing hyphen): they come first.
            kept[:0] = [
                (k, v)
                for k, v in options
                if (k, v) not in kept
                and v in _PAIR_TENS
                and k < n
                and (pause_before[k] or (hyphens and not hyphen_before[k]))
                and words[k] in NUMBER_WORDS
                and 10 <= expressions(words, k)[0][1] <= 99  # another pair follows
            ]
        graph.append([(k, str(v)) for k, v in kept])
    return graph, doubtful


def _after_single_zero(words: Sequence[str], i: int) -> bool:
    """Whether words[i] follows one « zéro », not « zéro zéro » (a whole pair, 00)."""
    return i > 0 and words[i - 1] == "zero" and (i < 2 or words[i - 2] != "zero")


def usual_reading(tokens: Sequence[str]) -> list[str]:
    """Digit groups of the usual French reading (« zéro six soixante dix » -> 0, 6, 70)."""
    graph, _ = number_graph(tokens)
    groups, i = [], 0
    while i < len(graph):
        i, group = graph[i][0]
        if group:
            groups.append(group)
    return groups
