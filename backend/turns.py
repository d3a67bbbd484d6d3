"""A turn of the contact step: read the call's conversation, plan it with the engine, store it.

Every write is a compare-and-set on the conversation's version: when two workers answer the same
turn, one stores its answer and the other, seeing the version moved, reads again and finds it.
"""

from sqlalchemy.exc import SQLAlchemyError

from backend import prompts
from backend.capture.caller_id import log_opening
from backend.engine import contact as engine
from backend.engine.conversation import (
    Conversation,
    plan_llm_turn,
    plan_tool_turn,
    policy_for,
)
from backend.engine.outcomes import outcome_of
from backend.logs import log_event
from backend.metrics.families import count_outcome
from backend.privacy.masking import mask_phone
from backend.store.calls import NOT_READ, StepEnding, read_conversation, replace_conversation
from backend.store.db import database_failed

# Compare-and-set rounds before giving up (each lost round means another worker stored a turn).
CAS_ROUNDS = 8


def llm_turn(tenant, call_id, caller_number, user_texts, catalogs, stored=NOT_READ):
    """Answer the last user message of a Custom LLM request: (state, sentence).

    `stored`: the call's StoredConversation if the caller read it already.
    """
    policy, opening = _policy_and_opening(tenant, caller_number)

    def plan(conversation):
        return plan_llm_turn(conversation, user_texts, policy, opening)

    return _run(tenant, call_id, catalogs, plan, "llm", stored, (caller_number, opening))


def tool_turn(tenant, call_id, caller_number, tool_call_id, utterance, catalogs, stored=NOT_READ):
    """Answer one contact tool call: (state, sentence). An empty utterance repeats the question.

    `stored`: the call's StoredConversation if the caller read it already.
    """
    policy, opening = _policy_and_opening(tenant, caller_number)

    def plan(conversation):
        return plan_tool_turn(conversation, tool_call_id, utterance, policy, opening)

    return _run(tenant, call_id, catalogs, plan, "tool", stored, (caller_number, opening))


def _policy_and_opening(tenant, caller_number):
    return policy_for(tenant), engine.open_contact_step(caller_number, tenant.spoken_digits)


def _run(tenant, call_id, catalogs, plan, mode, stored, caller_and_opening):
    """Read, plan, compare-and-set until stored; the state and sentence of the answer.

    `caller_and_opening`: the call's number and first decision, logged when this turn opens.
    """
    try:
        for _ in range(CAS_ROUNDS):
            if stored is NOT_READ:
                stored = read_conversation(tenant.id, call_id)
            conversation = Conversation.from_text(stored.text)
            if stored.text and conversation is None:
                log_event("CONVERSATION_UNREADABLE", level=30)
            was_finished = conversation is not None and conversation.memory.finished
            turn = plan(conversation)
            if turn.conversation is not None:
                turn.conversation.seq += 1
                ending = None if was_finished else _ending(turn.conversation.memory)
                if not _store(tenant.id, call_id, stored.version, turn.conversation, ending):
                    stored = NOT_READ
                    continue  # another worker stored first: read its answer
                if ending is not None:
                    count_outcome(tenant.id, ending.outcome)
                if turn.opened:
                    log_opening(tenant, *caller_and_opening)
                _log_steps(tenant, mode, turn.steps)
            return turn.answer["state"], _sentence(catalogs, tenant, turn.answer)
        log_event("CONVERSATION_BUSY", level=40)
    except SQLAlchemyError as error:
        database_failed(error)
    # Nothing was stored: the caller says it again and the next request answers it.
    return None, catalogs.sentence(
        prompts.VOCAL_CONTACT_PLEASE_REPEAT, tenant.locale, tenant.variant
    )


def _ending(memory):
    """The StepEnding of a step this turn finished; None while it goes on."""
    outcome = outcome_of(memory)
    if outcome is None:
        return None
    contact = None
    if memory.state == engine.CONTACT_CONFIRMED:
        contact = (memory.contact_number, memory.contact_source)
    return StepEnding(outcome, memory.turns, contact)


def _store(tenant_id, call_id, read_version, conversation, ending):
    """Write the conversation if it is still at `read_version`; True when written."""
    return replace_conversation(
        tenant_id, call_id, read_version, conversation.to_text(), conversation.memory.state, ending
    )


def _sentence(catalogs, tenant, answer):
    return catalogs.sentence(answer["prompt"], tenant.locale, tenant.variant, **answer["params"])


def _log_steps(tenant, mode, steps):
    for key, before, decision in steps:
        memory = decision.memory
        log_event(
            "CONTACT_TURN",
            mode=mode,
            turn=key.partition(":")[0] if mode == "llm" else key,
            state=before.state,
            next=memory.state,
            prompt=decision.prompt,
        )
        if memory.state == engine.CONTACT_CONFIRMED and not before.finished:
            log_event(
                "CONTACT_CONFIRMED",
                phone_masked=mask_phone(memory.contact_number, tenant.logged_digits),
                source=memory.contact_source,
            )
        elif memory.finished and not before.finished:
            log_event(
                "CONTACT_WAY_OUT",
                way_out=tenant.way_out,
                next=memory.state,
                failures=memory.failures,
            )
