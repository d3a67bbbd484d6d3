"""The contact step's decisions. Plain Python: data in, decision out; no Flask, no database.

The step is a small state machine. `open_contact_step` gives the first question; `next_step`
takes what the step remembers (`ContactMemory`), one caller utterance and the tenant's
`ContactPolicy`, and returns the `Decision`: the next state, the sentence key and its
placeholders, and the memory to keep for the next turn (those values: contact_state.py). Same
input, same decision: two workers answering the same turn agree.
"""

from dataclasses import replace

from backend import prompts
from backend.engine.contact_state import (
    CALL_ACTIONS,
    CLOSING,
    CONTACT_CALLBACK_NO_NUMBER,
    CONTACT_COLLECT,
    CONTACT_COLLECT_CONFIRM,
    CONTACT_CONFIRM,
    CONTACT_CONFIRMED,
    CONTACT_ENDED,
    CONTACT_TRANSFER,
    DEFAULT_WAY_OUT,
    END_CALL,
    MAX_PARTIAL_TURNS,
    QUALIF_CONTACT,
    SOURCE_CALLER_ID,
    SOURCE_SPOKEN,
    STATES,
    TRANSFER_CALL,
    WAY_OUTS,
    ContactMemory,
    ContactPolicy,
    Decision,
)
from backend.engine.nlu import classify_answer, continue_phone, digits_said, parse_phone
from backend.privacy.masking import spoken_digits

# The step's whole interface, its states and values included (contact_state.py holds those).
__all__ = [
    "CALL_ACTIONS",
    "CLOSING",
    "CONTACT_CALLBACK_NO_NUMBER",
    "CONTACT_COLLECT",
    "CONTACT_COLLECT_CONFIRM",
    "CONTACT_CONFIRM",
    "CONTACT_CONFIRMED",
    "CONTACT_ENDED",
    "CONTACT_TRANSFER",
    "DEFAULT_WAY_OUT",
    "END_CALL",
    "MAX_PARTIAL_TURNS",
    "QUALIF_CONTACT",
    "SOURCE_CALLER_ID",
    "SOURCE_SPOKEN",
    "STATES",
    "TRANSFER_CALL",
    "WAY_OUTS",
    "ContactMemory",
    "ContactPolicy",
    "Decision",
    "next_step",
    "open_contact_step",
]


def open_contact_step(caller_number, spoken_digit_count=2):
    """Known caller number: confirm it by its last digits; unknown: collect one."""
    if not caller_number:
        memory = ContactMemory(CONTACT_COLLECT)
        return Decision(CONTACT_COLLECT, prompts.VOCAL_CONTACT_NO_CALLER_ID, memory=memory)
    memory = ContactMemory(CONTACT_CONFIRM, caller_number=caller_number)
    if spoken_digit_count == 0:
        return Decision(
            CONTACT_CONFIRM, prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID_NO_DIGITS, memory=memory
        )
    last = spoken_digits(caller_number, spoken_digit_count)
    return Decision(
        CONTACT_CONFIRM, prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID, {"last_two": last}, memory=memory
    )


def next_step(memory, utterance, policy):
    """The decision for one caller utterance, from what the step remembers."""
    text = utterance if isinstance(utterance, str) else ""
    if memory.finished:
        return _decide(memory, CLOSING[memory.state])
    memory = replace(memory, turns=memory.turns + 1)
    if memory.state == CONTACT_CONFIRM:
        return _answer_to_caller_id(memory, text, policy)
    if memory.state == CONTACT_COLLECT:
        return _digits_heard(memory, text, policy)
    return _answer_to_read_back(memory, text, policy)


def _decide(memory, prompt, params=None):
    return Decision(memory.state, prompt, params or {}, memory=memory)


def _with_digits(policy, number, prompt, prompt_without_digits):
    """The sentence key and placeholders reading `number`'s last digits as the tenant says."""
    if policy.spoken_digits == 0:
        return prompt_without_digits, {}
    return prompt, {"last_two": spoken_digits(number, policy.spoken_digits)}


def _confirmed(memory, number, source):
    memory = replace(
        memory,
        state=CONTACT_CONFIRMED,
        contact_number=number,
        contact_source=source,
        candidate=None,
        pending_digits="",
        unclear=0,
    )
    return _decide(memory, prompts.VOCAL_CONTACT_CONFIRM_OK)


def _read_back(memory, number, policy):
    memory = replace(
        memory,
        state=CONTACT_COLLECT_CONFIRM,
        candidate=number,
        pending_digits="",
        partial_turns=0,
        unclear=0,
    )
    prompt, params = _with_digits(
        policy, number, prompts.VOCAL_CONTACT_READBACK, prompts.VOCAL_CONTACT_READBACK_NO_DIGITS
    )
    return _decide(memory, prompt, params)


def _collect(memory, prompt, pending=""):
    memory = replace(
        memory,
        state=CONTACT_COLLECT,
        candidate=None,
        pending_digits=pending,
        partial_turns=1 if pending else 0,
        unclear=0,
    )
    return _decide(memory, prompt)


def _failed_try(memory, policy, prompt):
    """One more failed try: ask again with `prompt`, or take the tenant's way out."""
    failures = memory.failures + 1
    if failures >= policy.collect_attempts:
        state, way_out = WAY_OUTS.get(policy.way_out, WAY_OUTS[DEFAULT_WAY_OUT])
        memory = replace(
            memory, state=state, failures=failures, candidate=None, pending_digits="", unclear=0
        )
        return _decide(memory, way_out)
    return _collect(replace(memory, failures=failures), prompt)


def _start_of_number(text, region):
    """Digits that begin a number (0…, +…) said along with a « non », else ""."""
    pending = continue_phone("", text, region).pending_digits
    return pending if len(pending) >= 2 and pending[0] in "0+" else ""


def _answer(text, number, policy):
    """(yes, no or unclear, the whole number heard or None) for an answer about `number`.

    A yes that names other last digits (« oui, ça finit par 41 » to « …14 ») is unclear.
    """
    answer = classify_answer(text)
    heard = parse_phone(text, policy.region)
    if answer == "yes" and heard is None:
        ending = number.lstrip("+")
        if any(not ending.endswith(digits) for digits in digits_said(text)):
            answer = "unclear"
    return answer, heard


def _answer_to_caller_id(memory, text, policy):
    answer, heard = _answer(text, memory.caller_number, policy)
    if answer == "yes" and heard in (None, memory.caller_number):
        return _confirmed(memory, memory.caller_number, SOURCE_CALLER_ID)
    if heard:  # « non, c'est le 06… », or a number instead of a yes: read that one back
        return _read_back(memory, heard, policy)
    if answer == "no":
        pending = _start_of_number(text, policy.region)
        if pending:
            return _collect(memory, prompts.VOCAL_CONTACT_COLLECT_CONTINUE, pending)
        return _collect(memory, prompts.VOCAL_CONTACT_CONFIRM_NO)
    if memory.unclear == 0:
        return _ask_again_once(
            memory,
            policy,
            memory.caller_number,
            prompts.VOCAL_CONTACT_CONFIRM_AGAIN,
            prompts.VOCAL_CONTACT_CONFIRM_AGAIN_NO_DIGITS,
        )
    return _collect(memory, prompts.VOCAL_CONTACT_COLLECT_AFTER_UNCLEAR)


def _ask_again_once(memory, policy, number, prompt, prompt_without_digits):
    """The same question again after an answer that was neither yes nor no (once per question)."""
    prompt, params = _with_digits(policy, number, prompt, prompt_without_digits)
    return _decide(replace(memory, unclear=1), prompt, params)


def _digits_heard(memory, text, policy):
    progress = continue_phone(memory.pending_digits, text, policy.region)
    if progress.number:
        return _read_back(memory, progress.number, policy)
    pending = progress.pending_digits
    grew = progress.corrected or (
        len(pending) > len(memory.pending_digits) and pending.startswith(memory.pending_digits)
    )
    # « attendez, je regarde » halfway through: no digit this turn, the ones heard wait.
    waited = pending == memory.pending_digits and not progress.corrected
    if pending and (grew or waited) and memory.partial_turns < MAX_PARTIAL_TURNS:
        memory = replace(memory, pending_digits=pending, partial_turns=memory.partial_turns + 1)
        return _decide(memory, prompts.VOCAL_CONTACT_COLLECT_CONTINUE)
    return _failed_try(memory, policy, prompts.VOCAL_CONTACT_COLLECT_HINT)


def _answer_to_read_back(memory, text, policy):
    answer, heard = _answer(text, memory.candidate, policy)
    if answer == "yes" and heard in (None, memory.candidate):
        return _confirmed(memory, memory.candidate, SOURCE_SPOKEN)
    if heard and heard != memory.candidate:
        # « non, c'est le 06… »: a refused read-back with the right number; it counts as a try.
        outcome = _failed_try(memory, policy, prompts.VOCAL_CONTACT_READBACK_NO)
        if outcome.memory.finished:
            return outcome
        return _read_back(outcome.memory, heard, policy)
    if answer == "no":
        pending = _start_of_number(text, policy.region)
        outcome = _failed_try(memory, policy, prompts.VOCAL_CONTACT_READBACK_NO)
        if pending and not outcome.memory.finished:
            return _collect(outcome.memory, prompts.VOCAL_CONTACT_COLLECT_CONTINUE, pending)
        return outcome
    if memory.unclear == 0:
        return _ask_again_once(
            memory,
            policy,
            memory.candidate,
            prompts.VOCAL_CONTACT_READBACK_AGAIN,
            prompts.VOCAL_CONTACT_READBACK_AGAIN_NO_DIGITS,
        )
    return _failed_try(memory, policy, prompts.VOCAL_CONTACT_COLLECT_HINT)
