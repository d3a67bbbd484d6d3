"""A call's contact step replayed from what a request carries, for when the database cannot be
read, and to complete a call's record from its end-of-call report. Plain Python, no Flask.

The engine is deterministic and every turn's key comes from the request (a user message's
position and text, a tool call's id), so replaying the call's messages from its opening gives
the conversation the database would hold, and the answer it would give. What the request
cannot say is where the step opened among the user messages (Custom LLM): it is found where
the assistant first said the opening sentence; when it never did, the step opens now, as a
first request does.
"""

from backend.engine.conversation import Conversation, plan_llm_turn, plan_tool_turn


def opening_position(assistant_said, opening_sentence):
    """How many user messages came before the assistant first said `opening_sentence`.

    `assistant_said`: (user messages before it, text) of each assistant message, in order.
    None when it never said it.
    """
    wanted = _words(opening_sentence)
    for users_before, text in assistant_said:
        if _words(text) == wanted:
            return users_before
    return None


def replay_llm_turn(user_texts, assistant_said, policy, opening, opening_sentence):
    """The Turn a Custom LLM request gets, planned from the request alone.

    `opening`: the step's first decision for the call's number, said as `opening_sentence`.
    The Turn's conversation is always set: what the call's record holds after this request.
    """
    opened_after = opening_position(assistant_said, opening_sentence)
    if opened_after is None or opened_after > len(user_texts):
        return plan_llm_turn(None, user_texts, policy, opening)
    conversation = Conversation.opened(opening, opened_after)
    turn = plan_llm_turn(conversation, user_texts, policy, opening)
    turn.conversation = conversation
    return turn


def replay_tool_turns(tool_calls, policy, opening):
    """The Turn of the last of `tool_calls`, (id, utterance) in the order they were made,
    each planned on the conversation the ones before left; its conversation is always set.
    None without a tool call.
    """
    conversation = turn = None
    for tool_call_id, utterance in tool_calls:
        turn = plan_tool_turn(conversation, tool_call_id, utterance, policy, opening)
        conversation = turn.conversation or conversation
    if turn is not None:
        turn.conversation = conversation
    return turn


def _words(text):
    return " ".join(text.split())
