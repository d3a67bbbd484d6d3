"""One call's contact step, turn by turn: the engine's memory kept in `calls.conversation`.

Each answer is keyed by the turn it answers: a Custom LLM user message by its position among the
user messages and a hash of its text, a tool call by its id. A turn already answered gets the
same sentence again and does not move the step. Every write is a compare-and-set on the stored
JSON text: when two workers answer the same turn, one stores its answer and the other, seeing the
text changed, reads again and finds that answer. The engine is deterministic, so both agree.
"""

import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from . import engine, prompts
from .caller_id import open_contact
from .calls import NOT_READ, read_conversation, replace_conversation
from .db import database_failed
from .logs import log_event
from .masking import mask_phone

FORMAT = 1
# Answered turns kept per call; the engine's own bounds keep real calls far below this.
MAX_TURNS = 400
# Compare-and-set rounds before giving up (each lost round means another worker stored a turn).
CAS_ROUNDS = 8


def policy_for(tenant):
    """The engine's view of a tenant's choices."""
    return engine.ContactPolicy(
        region=tenant.region,
        spoken_digits=tenant.spoken_digits,
        collect_attempts=tenant.collect_attempts,
        way_out=tenant.way_out,
    )


def llm_turn_key(position, text):
    """A user message's key: its position among the user messages and a hash of its text."""
    digest = hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]
    return f"{position}:{digest}"


def tool_turn_key(tool_call_id):
    """A tool call's key."""
    return f"tool:{tool_call_id}"


def _answer(decision):
    return {"state": decision.state, "prompt": decision.prompt, "params": dict(decision.params)}


@dataclass
class Conversation:
    """The stored conversation of one call: memory, opening, last answer, answered turns."""

    memory: engine.ContactMemory
    opening: dict
    last: dict
    opened_after: int | None = None  # user messages heard before the step opened (Custom LLM)
    turns: dict = field(default_factory=dict)
    seq: int = 0

    @classmethod
    def opened(cls, decision, opened_after=None):
        """A conversation that has just said its opening sentence."""
        return cls(decision.memory, _answer(decision), _answer(decision), opened_after)

    @classmethod
    def from_text(cls, text):
        """The stored conversation, or None when there is none or it cannot be read."""
        if not text:
            return None
        try:
            data = json.loads(text)
            opened_after = data.get("opened_after")
            if data.get("format") != FORMAT or not isinstance(opened_after, int | None):
                return None
            return cls(
                memory=engine.ContactMemory.from_dict(data["memory"]),
                opening=_checked_answer(data["opening"]),
                last=_checked_answer(data["last"]),
                opened_after=opened_after,
                turns={k: _checked_answer(v) for k, v in dict(data.get("turns", {})).items()},
                seq=int(data.get("seq", 0)),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def to_text(self):
        """The JSON text stored in `calls.conversation`."""
        return json.dumps(
            {
                "format": FORMAT,
                "seq": self.seq,
                "memory": self.memory.to_dict(),
                "opened_after": self.opened_after,
                "opening": self.opening,
                "last": self.last,
                "turns": self.turns,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    def answer(self, key, utterance, policy):
        """Run the engine on one utterance, remember its answer under `key`: (before, decision)."""
        before = self.memory
        decision = engine.next_step(before, utterance, policy)
        answer = _answer(decision)
        self.memory, self.last = decision.memory, answer
        # A finished step answers every later turn the same way: nothing to remember.
        if not before.finished and len(self.turns) < MAX_TURNS:
            self.turns[key] = answer
        return before, decision


def _checked_answer(data):
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("prompt"), str)
        or data["prompt"] not in prompts.SOURCE_TEXT
        or not isinstance(data.get("params", {}), dict)
    ):
        raise ValueError("not an answer")
    return {"state": data.get("state"), "prompt": data["prompt"], "params": data.get("params", {})}


# --- storage, in calls.py: one read, one compare-and-set ------------------------------------------


def _store(tenant_id, call_id, old_text, conversation, confirmed_now):
    """Write the conversation if the stored text is still `old_text`; True when written."""
    memory = conversation.memory
    contact = (memory.contact_number, memory.contact_source) if confirmed_now else None
    return replace_conversation(
        tenant_id, call_id, old_text, conversation.to_text(), memory.state, contact
    )


# --- one turn ---------------------------------------------------------------------------------


@dataclass
class _Turn:
    """What one request did: the answer to give and the engine steps to log once stored."""

    answer: dict
    conversation: Conversation | None = None  # set when something must be stored
    steps: list = field(default_factory=list)


def llm_turn(tenant, call_id, caller_number, user_texts, catalogs, stored=NOT_READ):
    """Answer the last user message of a Custom LLM request: (state, sentence).

    `stored`: the call's conversation text if the caller read it already.
    """
    policy = policy_for(tenant)

    def plan(conversation):
        count = len(user_texts)
        if conversation is None:
            conversation = _open(tenant, call_id, caller_number, catalogs, opened_after=count)
            return _Turn(conversation.opening, conversation)
        first = conversation.opened_after
        if first is None or count <= first:
            # No user message after the opening: the request that opened it, sent again.
            return _Turn(conversation.opening if first is not None else conversation.last)
        last_key = llm_turn_key(count - 1, user_texts[-1])
        if last_key in conversation.turns:
            return _Turn(conversation.turns[last_key])
        if conversation.memory.finished:
            return _Turn(conversation.last)
        answered = {int(key.partition(":")[0]) for key in conversation.turns if key[0].isdigit()}
        turn = _Turn(conversation.last, conversation)
        # Messages Vapi sent while no request reached us are answered in order; the caller
        # hears the answer to the last one.
        for position in range(first, count):
            key = llm_turn_key(position, user_texts[position])
            if position < count - 1 and position in answered:
                continue
            turn.steps.append((key, *conversation.answer(key, user_texts[position], policy)))
        turn.answer = conversation.last
        return turn

    return _run(tenant, call_id, catalogs, plan, "llm", stored)


def tool_turn(tenant, call_id, caller_number, tool_call_id, utterance, catalogs, stored=NOT_READ):
    """Answer one contact tool call: (state, sentence). An empty utterance repeats the question.

    `stored`: the call's conversation text if the caller read it already.
    """
    key = tool_turn_key(tool_call_id)
    said = utterance.strip()
    policy = policy_for(tenant)

    def plan(conversation):
        if conversation is not None and key in conversation.turns:
            return _Turn(conversation.turns[key])
        if conversation is not None and conversation.memory.finished:
            return _Turn(conversation.last)
        if conversation is None:
            # The assistant may have asked already (assistant-request gives it the sentence):
            # an utterance on the first call answers that opening.
            conversation = _open(tenant, call_id, caller_number, catalogs)
        turn = _Turn(conversation.last, conversation)
        if said:
            turn.steps.append((key, *conversation.answer(key, said, policy)))
            turn.answer = conversation.last
        elif len(conversation.turns) < MAX_TURNS:
            conversation.turns[key] = conversation.last  # a re-sent id repeats this question
        return turn

    return _run(tenant, call_id, catalogs, plan, "tool", stored)


def _open(tenant, call_id, caller_number, catalogs, opened_after=None):
    # The state is stored with the conversation, by the compare-and-set below.
    decision, _ = open_contact(tenant, call_id, caller_number, catalogs, record_state=False)
    return Conversation.opened(decision, opened_after)


def _run(tenant, call_id, catalogs, plan, mode, stored):
    """Read, plan, compare-and-set until stored; the state and sentence of the answer."""
    try:
        for _ in range(CAS_ROUNDS):
            if stored is NOT_READ:
                stored = read_conversation(tenant.id, call_id)
            conversation = Conversation.from_text(stored)
            if stored and conversation is None:
                log_event("CONVERSATION_UNREADABLE", level=30, tenant=tenant.id, call_id=call_id)
            was_confirmed = conversation is not None and (
                conversation.memory.state == engine.CONTACT_CONFIRMED
            )
            turn = plan(conversation)
            if turn.conversation is not None:
                turn.conversation.seq += 1
                confirmed_now = not was_confirmed and (
                    turn.conversation.memory.state == engine.CONTACT_CONFIRMED
                )
                if not _store(tenant.id, call_id, stored, turn.conversation, confirmed_now):
                    stored = NOT_READ
                    continue  # another worker stored first: read its answer
                _log_steps(tenant, call_id, mode, turn.steps)
            return turn.answer["state"], _sentence(catalogs, tenant, turn.answer)
        log_event("CONVERSATION_BUSY", level=40, tenant=tenant.id, call_id=call_id)
    except SQLAlchemyError as error:
        database_failed(error, tenant=tenant.id, call_id=call_id)
    # Nothing was stored: the caller says it again and the next request answers it.
    return None, catalogs.sentence(
        prompts.VOCAL_CONTACT_PLEASE_REPEAT, tenant.locale, tenant.variant
    )


def _sentence(catalogs, tenant, answer):
    return catalogs.sentence(answer["prompt"], tenant.locale, tenant.variant, **answer["params"])


def _log_steps(tenant, call_id, mode, steps):
    for key, before, decision in steps:
        memory = decision.memory
        log_event(
            "CONTACT_TURN",
            tenant=tenant.id,
            call_id=call_id,
            mode=mode,
            turn=key.partition(":")[0] if mode == "llm" else key,
            state=before.state,
            next=memory.state,
            prompt=decision.prompt,
        )
        if memory.state == engine.CONTACT_CONFIRMED and not before.finished:
            log_event(
                "CONTACT_CONFIRMED",
                tenant=tenant.id,
                call_id=call_id,
                phone_masked=mask_phone(memory.contact_number, tenant.logged_digits),
                source=memory.contact_source,
            )
        elif memory.finished and not before.finished:
            log_event(
                "CONTACT_WAY_OUT",
                tenant=tenant.id,
                call_id=call_id,
                way_out=tenant.way_out,
                next=memory.state,
                failures=memory.failures,
            )
