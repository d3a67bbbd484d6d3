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
    answer_of,
    plan_llm_turn,
    plan_tool_turn,
    policy_for,
    tool_turn_key,
)
from backend.engine.outcomes import outcome_of
from backend.engine.replay import replay_llm_turn, replay_tool_turns
from backend.logs import log_event
from backend.metrics.families import count_outcome
from backend.privacy.masking import mask_phone
from backend.store.calls import (
    NOT_READ,
    UNREACHABLE,
    StepEnding,
    read_conversation,
    replace_conversation,
)
from backend.store.db import database_failed

# Compare-and-set rounds before giving up (each lost round means another worker stored a turn).
CAS_ROUNDS = 8


def llm_turn(
    tenant, call_id, caller_number, user_texts, catalogs, stored=NOT_READ, assistant_said=()
):
    """Answer the last user message of a Custom LLM request: (state, sentence).

    `stored`: the call's StoredConversation if the caller read it already, UNREACHABLE if the
    database failed. `assistant_said`: what the request says the assistant said (replays).
    Without a call id no turn can be remembered: the opening sentence every time, state None.
    """
    policy, opening = _policy_and_opening(tenant, caller_number)
    if call_id is None:
        log_opening(tenant, caller_number, opening)
        return None, _sentence(catalogs, tenant, answer_of(opening))

    def from_request():
        said = _sentence(catalogs, tenant, answer_of(opening))
        return replay_llm_turn(user_texts, assistant_said, policy, opening, said)

    def plan(conversation):
        if conversation is None:
            # Opens now, unless the request shows it opened while the database was away.
            return from_request()
        return plan_llm_turn(conversation, user_texts, policy, opening)

    run = _Run(tenant, call_id, catalogs, "llm", (caller_number, opening))
    return run(plan, from_request, stored)


def tool_turn(
    tenant, call_id, caller_number, tool_call_id, utterance, catalogs, stored=NOT_READ, earlier=()
):
    """Answer one contact tool call: (state, sentence). An empty utterance repeats the question.

    `stored` as for llm_turn. `earlier`: (id, utterance) of the call's tool calls before this
    one, from the message's transcript: replayed, then this one, when the database is away or
    lacks some of them (answered while it was away).
    """
    policy, opening = _policy_and_opening(tenant, caller_number)

    replayed = [(i, u) for i, u in earlier if i != tool_call_id]

    def from_request():
        return replay_tool_turns([*replayed, (tool_call_id, utterance)], policy, opening)

    def plan(conversation):
        if _behind(conversation, replayed):  # tool calls answered while the database was away
            return from_request()
        return plan_tool_turn(conversation, tool_call_id, utterance, policy, opening)

    run = _Run(tenant, call_id, catalogs, "tool", (caller_number, opening))
    return run(plan, from_request, stored)


def _behind(conversation, earlier):
    """The stored conversation lacks one of the call's earlier tool calls (and is not finished)."""
    if conversation is None:
        return bool(earlier)
    if conversation.memory.finished:
        return False
    return any(tool_turn_key(i) not in conversation.turns for i, _ in earlier)


def _policy_and_opening(tenant, caller_number):
    return policy_for(tenant), engine.open_contact_step(caller_number, tenant.spoken_digits)


class _Run:
    """Read, plan, compare-and-set until stored; with the database away, plan from the request.

    `caller_and_opening`: the call's number and first decision, logged when a turn opens.
    """

    def __init__(self, tenant, call_id, catalogs, mode, caller_and_opening):
        self.tenant, self.call_id, self.catalogs = tenant, call_id, catalogs
        self.mode, self.caller_and_opening = mode, caller_and_opening

    def __call__(self, plan, from_request, stored):
        tenant, turn = self.tenant, None
        try:
            if stored is UNREACHABLE:
                return self._answer_from_request(from_request)
            for _ in range(CAS_ROUNDS):
                if stored is NOT_READ:
                    stored = read_conversation(tenant.id, self.call_id)
                conversation = Conversation.from_text(stored.text)
                if stored.text and conversation is None:
                    log_event("CONVERSATION_UNREADABLE", level=30)
                was_finished = conversation is not None and conversation.memory.finished
                turn = plan(conversation)
                if turn.conversation is not None:
                    turn.conversation.seq += 1
                    conversation = turn.conversation
                    ending = None if was_finished else step_ending(conversation.memory)
                    if not store_conversation(
                        tenant.id, self.call_id, stored.version, conversation, ending
                    ):
                        stored, turn = NOT_READ, None
                        continue  # another worker stored first: read its answer
                    if ending is not None:
                        count_outcome(tenant.id, ending.outcome)
                    if turn.opened:
                        log_opening(tenant, *self.caller_and_opening)
                    _log_steps(tenant, self.mode, turn.steps)
                return turn.answer["state"], _sentence(self.catalogs, tenant, turn.answer)
            log_event("CONVERSATION_BUSY", level=40)
        except SQLAlchemyError as error:
            database_failed(error)
            if turn is None:  # nothing read: the whole call from the request
                return self._answer_from_request(from_request)
            # Read and planned, not stored: the caller hears what was planned; the call's
            # next turn, or its end-of-call report, stores it.
            log_event("CONTACT_TURN_NOT_STORED", level=30, mode=self.mode)
            return turn.answer["state"], _sentence(self.catalogs, tenant, turn.answer)
        # Nothing was stored: the caller says it again and the next request answers it.
        return None, self.catalogs.sentence(
            prompts.VOCAL_CONTACT_PLEASE_REPEAT, tenant.locale, tenant.variant
        )

    def _answer_from_request(self, from_request):
        turn = from_request()
        memory = turn.conversation.memory
        log_event("CONTACT_TURN_FROM_REQUEST", level=30, mode=self.mode, next=memory.state)
        return turn.answer["state"], _sentence(self.catalogs, self.tenant, turn.answer)


def step_ending(memory):
    """The StepEnding of a step this turn finished; None while it goes on."""
    outcome = outcome_of(memory)
    if outcome is None:
        return None
    contact = None
    if memory.state == engine.CONTACT_CONFIRMED:
        contact = (memory.contact_number, memory.contact_source)
    return StepEnding(outcome, memory.turns, contact)


def store_conversation(tenant_id, call_id, read_version, conversation, ending):
    """Write `conversation` if the stored one is still at `read_version`; True when written.

    `ending`: the StepEnding when this write finishes the step (kept with the call), else None.
    """
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
