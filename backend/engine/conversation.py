"""One call's contact step as stored data, and what each turn answers. Plain Python, no Flask.

A conversation is the engine's memory plus every answer already given, keyed by the turn it
answers: a Custom LLM user message by its position among the user messages and a hash of its
text, a tool call by its id. A turn already answered gets the same answer again and does not
move the step; the engine is deterministic, so two workers that answer one turn agree.

The last user message answered may come again longer (the caller went on talking, and Vapi
sends the turn's whole transcript): it is answered again from the memory before its first
answer, not on top of it, as the replay from the request (replay.py) reads it. A request whose
last message is not longer than one already answered at its position or after it was sent
before that one and arrives late (another worker's), or rewords it: the answers given stand,
nothing moves. Once the step has finished, a grown message changes nothing: the contact is
recorded, and the caller was told so.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field

from backend import prompts
from backend.engine import contact as engine

FORMAT = 1
# Answered turns kept per call; the engine's own bounds keep real calls far below this.
MAX_TURNS = 400
_NOT_SPOKEN = re.compile(r"\W|_")


def _size(text):
    """How much a message says: its letters and digits (« zéro six » grows into « 0612345678 »)."""
    return len(_NOT_SPOKEN.sub("", text))


# The stored text's encoder, made once (json.dumps with options makes one per call).
_stored_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


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


def answer_of(decision):
    """A decision as an answer: its state, sentence key and placeholders."""
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
    # The last Custom LLM user message answered: its position, its size, the memory before it.
    redo: dict | None = None

    @classmethod
    def opened(cls, decision, opened_after=None):
        """A conversation that has just said its opening sentence."""
        return cls(decision.memory, answer_of(decision), answer_of(decision), opened_after)

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
                redo=_checked_redo(data.get("redo")),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def to_text(self):
        """The JSON text stored in `calls.conversation`."""
        return _stored_json(
            {
                "format": FORMAT,
                "seq": self.seq,
                "memory": self.memory.to_dict(),
                "opened_after": self.opened_after,
                "opening": self.opening,
                "last": self.last,
                "turns": self.turns,
                "redo": self.redo,
            }
        )

    def answer(self, key, utterance, policy):
        """Run the engine on one utterance, remember its answer under `key`: (before, decision)."""
        before = self.memory
        decision = engine.next_step(before, utterance, policy)
        answer = answer_of(decision)
        self.memory, self.last = decision.memory, answer
        # A finished step answers every later turn the same way: nothing to remember.
        if not before.finished and len(self.turns) < MAX_TURNS:
            self.turns[key] = answer
        return before, decision


def _checked_redo(data):
    """The stored `redo`, or None: without it a grown message is answered on top, as before."""
    try:
        return {
            "position": int(data["position"]),
            "size": int(data["size"]),
            "memory": engine.ContactMemory.from_dict(data["memory"]).to_dict(),
        }
    except (KeyError, ValueError, TypeError, AttributeError):
        return None


def _checked_answer(data):
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("prompt"), str)
        or data["prompt"] not in prompts.SOURCE_TEXT
        or not isinstance(data.get("params", {}), dict)
    ):
        raise ValueError("not an answer")
    return {"state": data.get("state"), "prompt": data["prompt"], "params": data.get("params", {})}


@dataclass
class Turn:
    """What one request plans: the answer to give and, when it moved, the conversation to store."""

    answer: dict
    conversation: Conversation | None = None  # set when something must be stored
    steps: list = field(default_factory=list)  # (key, memory before, decision) of each step
    opened: bool = False  # this turn opened the contact step


def plan_llm_turn(conversation, user_texts, policy, opening):
    """What a Custom LLM request answers: the last user message, after any not yet answered.

    `opening`: the contact step's first decision, used when the call has no conversation yet.
    """
    count = len(user_texts)
    if conversation is None:
        conversation = Conversation.opened(opening, opened_after=count)
        return Turn(conversation.opening, conversation, opened=True)
    first = conversation.opened_after
    if first is None or count <= first:
        # No user message after the opening: the request that opened it, sent again.
        return Turn(conversation.opening if first is not None else conversation.last)
    last_key = llm_turn_key(count - 1, user_texts[-1])
    answered = {int(key.partition(":")[0]) for key in conversation.turns if key[0].isdigit()}
    redo, again = conversation.redo, None
    finished = conversation.memory.finished
    if redo is not None and first <= redo["position"] < count and not finished:
        if _size(user_texts[redo["position"]]) > redo["size"]:
            again = redo["position"]  # grown: « zéro six », then « zéro six douze trente-quatre »
    if again is not None:
        conversation.memory = engine.ContactMemory.from_dict(redo["memory"])
    elif last_key in conversation.turns:
        return Turn(conversation.turns[last_key])  # sent again: the same answer
    elif finished:
        return Turn(conversation.last)
    elif answered and count - 1 <= max(answered):
        if llm_turn_key(count - 1, "") not in conversation.turns:  # not a silence, now said
            # Sent before a message already answered, late (another worker's), or a rewording
            # of the last one: the answers given stand, nothing moves.
            return Turn(conversation.last)
    turn = Turn(conversation.last, conversation)
    # Once the step has finished, every later message gets the same closing answer and
    # changes nothing: only the last one said is answered (a body of thousands of « oui »
    # costs one turn and one log line, not one each).
    last_said = next((p for p in range(count - 1, first - 1, -1) if user_texts[p].strip()), None)
    # Messages Vapi sent while no request reached us are answered in order; the caller
    # hears the answer to the last one.
    for position in range(first, count):
        if position != last_said and conversation.memory.finished:
            continue
        key = llm_turn_key(position, user_texts[position])
        if position < count - 1 and position in answered and position != again:
            continue
        if not user_texts[position].strip():
            # Silence (an empty transcript) asks the same question again, as a tool call does.
            if not conversation.memory.finished and len(conversation.turns) < MAX_TURNS:
                conversation.turns[key] = conversation.last
            continue
        conversation.redo = {
            "position": position,
            "size": _size(user_texts[position]),
            "memory": conversation.memory.to_dict(),
        }
        turn.steps.append((key, *conversation.answer(key, user_texts[position], policy)))
    turn.answer = conversation.last
    return turn


def plan_tool_turn(conversation, tool_call_id, utterance, policy, opening):
    """What one contact tool call answers. An empty utterance repeats the question.

    `opening`: the contact step's first decision, used when the call has no conversation yet.
    """
    key = tool_turn_key(tool_call_id)
    said = utterance.strip()
    if conversation is not None and key in conversation.turns:
        return Turn(conversation.turns[key])
    if conversation is not None and conversation.memory.finished:
        return Turn(conversation.last)
    opened = conversation is None
    if opened:
        # The assistant may have asked already (assistant-request gives it the sentence):
        # an utterance on the first call answers that opening.
        conversation = Conversation.opened(opening)
    turn = Turn(conversation.last, conversation, opened=opened)
    if said:
        turn.steps.append((key, *conversation.answer(key, said, policy)))
        turn.answer = conversation.last
    elif len(conversation.turns) < MAX_TURNS:
        conversation.turns[key] = conversation.last  # a re-sent id repeats this question
    return turn
