"""The end of a call in its record: when and why it ended, and what the end-of-call report adds.

The end-of-call report completes the call's record with what was answered while the database
was away: the report carries the whole conversation (Vapi's `artifact`), so the engine replays
it (backend/engine/replay.py) and a contact confirmed during an outage is stored once the
database is back. A report that cannot be stored is answered 503, and Vapi sends it again when
the assistant's server has a backoff plan (docs/vapi-setup.md).
"""

from backend.capture.caller_id import store_caller_id, store_caller_id_and_read
from backend.edge.tool_calls import contact_tool_calls
from backend.edge.transcript import artifact_transcript
from backend.engine import contact as engine
from backend.engine.conversation import Conversation, answer_of, policy_for
from backend.engine.outcomes import UNFINISHED
from backend.engine.replay import opening_position, replay_llm_turn, replay_tool_turns
from backend.logs import log_event
from backend.metrics.families import count_outcome
from backend.privacy.masking import mask_phone
from backend.store.calls import record_call_end
from backend.turns import step_ending, store_conversation


def record_end(tenant, message):
    """Keep when and why a call ended (its first end only), from an ended status-update or its
    end-of-call report; a contact step left open is counted `unfinished` once."""
    if message.call_id:
        # The message's own endedReason: `call` in an end-of-call-report can be a stale snapshot.
        reason = message.ended_reason
        if record_call_end(tenant.id, message.call_id, reason[:128] if reason else None):
            count_outcome(tenant.id, UNFINISHED)


def complete_call_record(tenant, message, catalogs):
    """Store an end-of-call report: its caller number, its replayed contact step if the record
    lacks turns, then the call's end (record_end).

    A database error propagates (503): nothing of the report is acknowledged.
    """
    _complete_contact_step(tenant, message, catalogs)
    record_end(tenant, message)


def _complete_contact_step(tenant, message, catalogs):
    if message.call_id is None:
        store_caller_id(tenant, message, message.type)
        return
    number, stored = store_caller_id_and_read(tenant, message, message.type)
    transcript = artifact_transcript(message.artifact)
    replayed = _replayed(tenant, number, transcript, catalogs)
    held = Conversation.from_text(stored.text)
    if replayed is None:
        if held is None and transcript.assistant_said:
            # Nothing of the step is stored and the transcript lacks its opening as the tenant
            # words it now: the call ended before the step, or the wording changed since (then a
            # contact confirmed while the database was away cannot be stored). Said, not silent.
            log_event("CALL_RECORD_NO_CONTACT_STEP", assistant_turns=len(transcript.assistant_said))
        return
    # Keys, not their count: a position Vapi sent twice (a message that grew, a silence then
    # its words) holds two keys, as many as the whole transcript's, yet lacks the later turns.
    if held is not None and (held.memory.finished or replayed.turns.keys() <= held.turns.keys()):
        return  # the record already holds every turn
    position = _first_disagreement(replayed, transcript, tenant, catalogs)
    if position is not None:
        # The user's words in the report differ from those the turns were answered on (the
        # transcriber revised them): the replay would store what the caller never heard.
        log_event("CALL_RECORD_TRANSCRIPT_DISAGREES", level=30, position=position)
        return
    ending = step_ending(replayed.memory)  # the held conversation is not finished
    replayed.seq = (held.seq if held else 0) + 1
    if store_conversation(tenant.id, message.call_id, stored.version, replayed, ending):
        log_event("CALL_RECORD_COMPLETED", turns=len(replayed.turns), state=replayed.memory.state)
        if ending is not None:
            count_outcome(tenant.id, ending.outcome)
        if ending is not None and ending.contact is not None:
            memory = replayed.memory
            log_event(
                "CONTACT_CONFIRMED",
                phone_masked=mask_phone(memory.contact_number, tenant.logged_digits),
                source=memory.contact_source,
            )


def _replayed(tenant, number, transcript, catalogs):
    """The conversation the transcript replays to; None when the contact step never ran."""
    policy = policy_for(tenant)
    opening = engine.open_contact_step(number, tenant.spoken_digits)
    tool_calls = contact_tool_calls(tenant.tool_name, transcript.tool_calls)
    if tool_calls:
        return replay_tool_turns(tool_calls, policy, opening).conversation
    answer = answer_of(opening)
    said = catalogs.sentence(answer["prompt"], tenant.locale, tenant.variant, **answer["params"])
    if opening_position(transcript.assistant_said, said) is None:
        return None
    turn = replay_llm_turn(transcript.user_texts, transcript.assistant_said, policy, opening, said)
    return turn.conversation


def _first_disagreement(conversation, transcript, tenant, catalogs):
    """The first user message whose answer the transcript's assistant said otherwise than the
    replay would; None when they agree wherever the transcript holds the assistant's words."""
    heard = {}
    for users_before, text in transcript.assistant_said:
        heard.setdefault(users_before, set()).add(" ".join(text.split()))
    # A Custom LLM turn's key starts with its user message's position; a tool's turn has none.
    turns = [(key.partition(":")[0], answer) for key, answer in conversation.turns.items()]
    numbered = [(int(position), answer) for position, answer in turns if position.isdigit()]
    for position, answer in sorted(numbered, key=lambda turn: turn[0]):
        said = heard.get(position + 1)
        if not said:
            continue  # nothing said after it: a transfer, or the call ended
        sentence = catalogs.sentence(
            answer["prompt"], tenant.locale, tenant.variant, **answer["params"]
        )
        if " ".join(sentence.split()) not in said:
            return position
    return None
