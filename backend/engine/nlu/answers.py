"""Yes/no answers to « C'est bien le vôtre ? Dites oui ou non. ».

A false "yes" is the worst mistake (the agent would call back a stranger), so "yes"
needs a yes signal and nothing against it: any negation, doubt, question or
reservation turns it into "no" or "unclear".

The text is scanned left to right for known phrases (answer_phrases.py, longest match
first), giving an ordered list of signals; the decision is made on those signals only.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from backend.engine.nlu.answer_phrases import (
    BUT,
    HANDOVER,
    HOLD,
    NEUTRAL,
    NO,
    PHRASES,
    PICKUP,
    QUESTION,
    REPEAT,
    UNSURE,
    YES,
)
from backend.engine.nlu.words import normalize

Answer = Literal["yes", "no", "unclear"]

# Phrases as a trie of words; the key None holds the kind of the phrase ending there.
_TRIE: dict = {}
for _kind, _phrases in PHRASES.items():
    for _phrase in _phrases:
        _node = _TRIE
        for _word in _phrase.split():
            _node = _node.setdefault(_word, {})
        _node[None] = _kind

# Spelling variants STT produces for oui/ouais and non/nan (« ouiii », « ouai », « nooon »).
_YES_WORD = re.compile(r"ou+i+s?|ou+a+i+[sp]?|ou+e+p|wai+s?|ouep|ouip")
_NO_WORD = re.compile(r"no+n*|na+n+|nope?")
# Contractions STT writes glued or misspelled.
_REWRITES = {"cest": ("c", "est"), "sa": ("ca",), "ces": ("c", "est"), "nest": ("n", "est")}
# Words, and "?" as a word of its own: everything else separates.
_WORD = re.compile(r"[a-z0-9]+|\?")


def _words(text: str) -> list[str]:
    words = _WORD.findall(normalize(text))
    if _REWRITES.keys() & set(words):
        words = [part for word in words for part in _REWRITES.get(word, (word,))]
    return words


def _signals(words: list[str]) -> list[str]:
    """Signals in the order they were said; the longest phrase wins where several start."""
    signals: list[str] = []
    i, n = 0, len(words)
    while i < n:
        node, kind, end = _TRIE, None, i + 1
        for j in range(i, n):
            node = node.get(words[j])
            if node is None:
                break
            if None in node:
                kind, end = node[None], j + 1
        kind = kind or _spelling(words[i])
        if kind and kind != NEUTRAL:
            # « pas exactement », « plus le bon », « pas du tout le bon »: a negated yes is a no.
            if kind == YES and signals and signals[-1] == NO and _negated(words, i):
                kind = NO
            signals.append(kind)
        i = end
    return signals


def _negated(words: list[str], i: int) -> bool:
    """Whether words[i] comes right after « pas », « plus » or « pas du tout »."""
    return words[i - 1] in ("pas", "plus") or words[max(i - 2, 0) : i] == ["du", "tout"]


@lru_cache(maxsize=4096)
def _spelling(word: str) -> str | None:
    """YES or NO for STT spellings of oui/non (« ouiii », « nooon »), else None."""
    if _YES_WORD.fullmatch(word):
        return YES
    return NO if _NO_WORD.fullmatch(word) else None


def classify_answer(text: str) -> Answer:
    """Classify the caller's answer to « C'est bien le vôtre ? » as yes, no or unclear.

    Negation wins over a « oui » said before it (« oui enfin non » -> no). Doubt, a request
    to repeat and the phone handed to someone else give "unclear" whatever else was said;
    questions, « allô », a « mais » or « attendez » after the yes, or a yes said after a no
    (« non non c'est bien ça ») give "unclear" too: never a false yes.
    """
    signals = _signals(_words(text))
    # Doubt, a request to hear it again, or the phone handed over: whatever else was said.
    if UNSURE in signals or REPEAT in signals or HANDOVER in signals:
        return "unclear"
    answers = [s for s in signals if s in (YES, NO)]
    if not answers:
        return "unclear"
    if NO in answers:
        # A no said last is a no; a yes after a no is contradictory.
        return "no" if answers[-1] == NO else "unclear"
    first_yes = signals.index(YES)
    if QUESTION in signals or PICKUP in signals:
        return "unclear"
    # « attendez... oui c'est ça » is a yes; « oui attendez » or « oui mais » is not yet.
    if HOLD in signals[first_yes:] or BUT in signals[first_yes:]:
        return "unclear"
    return "yes"
