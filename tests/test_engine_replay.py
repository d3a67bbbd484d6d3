"""The contact step replayed from a request gives what the stored conversation gives.

Plain Python: each script is played twice, request after request, as Vapi sends them. Once as
with the database (each request plans on the conversation the previous one stored, through its
JSON text), once from the request alone (backend/engine/replay.py). Every answer must match, and
the conversation the replay ends with must be the one stored.
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.engine.contact import ContactPolicy, open_contact_step
from backend.engine.conversation import Conversation, answer_of, plan_llm_turn, plan_tool_turn
from backend.engine.replay import opening_position, replay_llm_turn, replay_tool_turns
from tests.contact_play import CALLER

SPOKEN_WORDS = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"

POLICY = ContactPolicy()
FIRST_MESSAGE = "Bonjour, Cabinet Démo, que puis-je pour vous ?"
UTTERANCES = [
    "oui",
    "non",
    "euh",
    "ouais c'est ça",
    "non c'est le fixe du bureau",
    "zéro six douze trente-quatre",
    "cinquante-six soixante-dix-huit",
    "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
    "je sais pas",
    "",
]
scripts = st.lists(st.sampled_from(UTTERANCES), max_size=9)
callers = st.sampled_from([CALLER, None])


def said(answer):
    """A sentence for an answer: any rendering that tells answers apart will do here."""
    return f"{answer['prompt']} {sorted(answer['params'].items())}"


def with_database(caller, before, utterances):
    """Each request's sentence, planned on what the previous request stored."""
    opening, stored, sentences = open_contact_step(caller), None, []
    for count in range(len(utterances) + 1):
        turn = plan_llm_turn(
            Conversation.from_text(stored), [*before, *utterances[:count]], POLICY, opening
        )
        if turn.conversation is not None:
            stored = turn.conversation.to_text()
        sentences.append(said(turn.answer))
    return sentences, Conversation.from_text(stored)


def from_requests(caller, before, utterances):
    """Each request's sentence, planned from the request alone: its messages, as Vapi sends."""
    opening = open_contact_step(caller)
    sentences, conversation = [], None
    for count in range(len(utterances) + 1):
        assistant = [(0, FIRST_MESSAGE)]
        assistant += [(len(before) + i, sentence) for i, sentence in enumerate(sentences)]
        user_texts = [*before, *utterances[:count]]
        turn = replay_llm_turn(user_texts, assistant, POLICY, opening, said(answer_of(opening)))
        sentences.append(said(turn.answer))
        conversation = turn.conversation
    return sentences, conversation


@settings(max_examples=300, deadline=None)
@given(caller=callers, before=st.integers(0, 2), utterances=scripts)
def test_custom_llm_replay_says_what_the_stored_conversation_says(caller, before, utterances):
    opening_words = ["Je voudrais être rappelé."] * before
    stored_sentences, stored = with_database(caller, opening_words, utterances)
    replayed_sentences, replayed = from_requests(caller, opening_words, utterances)
    assert replayed_sentences == stored_sentences
    assert replayed.memory == stored.memory
    assert replayed.turns == stored.turns


@settings(max_examples=300, deadline=None)
@given(caller=callers, utterances=scripts)
def test_tool_replay_says_what_the_stored_conversation_says(caller, utterances):
    opening, stored, history = open_contact_step(caller), None, []
    for position, utterance in enumerate(utterances):
        tool_call_id = f"call_{position}"
        turn = plan_tool_turn(
            Conversation.from_text(stored), tool_call_id, utterance, POLICY, opening
        )
        if turn.conversation is not None:
            stored = turn.conversation.to_text()
        history.append((tool_call_id, utterance))
        replayed = replay_tool_turns(history, POLICY, opening)
        assert said(replayed.answer) == said(turn.answer)
        assert replayed.conversation.memory == Conversation.from_text(stored).memory


def test_the_step_opens_where_the_assistant_first_said_the_opening():
    opening = said(answer_of(open_contact_step(CALLER)))
    assistant = [(0, FIRST_MESSAGE), (2, " ".join(opening.split(" "))), (3, "autre"), (5, opening)]
    assert opening_position(assistant, opening) == 2
    assert opening_position([(0, FIRST_MESSAGE)], opening) is None


def test_a_request_without_the_opening_opens_the_step():
    opening = open_contact_step(CALLER)
    turn = replay_llm_turn(["allô", "oui"], [(0, FIRST_MESSAGE)], POLICY, opening, "jamais dit")
    assert turn.answer == answer_of(opening)
    assert turn.conversation.opened_after == 2


def test_a_last_message_sent_again_grown_is_answered_once_from_before_it():
    """Vapi sends the caller's turn again with more text: « zéro six », then « zéro six douze
    trente-quatre » at the same position. The digits are those of the grown text, once, and
    the stored conversation ends where the replay of the final request ends."""
    opening, stored = open_contact_step(None), None
    hello = "Je voudrais être rappelé."  # said before the step opened
    requests = [
        [hello],
        [hello, "zéro six"],
        [hello, "zéro six douze trente-quatre"],
        [hello, "zéro six douze trente-quatre", "cinquante-six soixante-dix-huit"],
    ]
    for user_texts in requests:
        turn = plan_llm_turn(Conversation.from_text(stored), user_texts, POLICY, opening)
        stored = turn.conversation.to_text() if turn.conversation is not None else stored
    memory = Conversation.from_text(stored).memory
    assert (memory.candidate, memory.failures) == ("+33612345678", 0)
    assistant = [(1, said(answer_of(opening)))]
    replayed = replay_llm_turn(requests[-1], assistant, POLICY, opening, said(answer_of(opening)))
    assert replayed.conversation.memory == memory


def test_a_hesitation_sent_again_grown_counts_once():
    opening = open_contact_step(None)
    first = plan_llm_turn(Conversation.opened(opening, 0), ["euh"], POLICY, opening)
    stored = Conversation.from_text(first.conversation.to_text())
    again = plan_llm_turn(stored, ["euh attendez"], POLICY, opening)
    assert again.conversation.memory.failures == first.conversation.memory.failures == 1


def test_silence_asks_the_question_again_and_never_ends_the_call():
    """Empty transcripts (a caller who says nothing) repeat the question, as a tool call does."""
    opening, stored = open_contact_step(CALLER), None
    answers = []
    for count in range(1, 6):
        turn = plan_llm_turn(Conversation.from_text(stored), [""] * count, POLICY, opening)
        stored = turn.conversation.to_text() if turn.conversation is not None else stored
        answers.append(turn.answer)
    memory = Conversation.from_text(stored).memory
    assert not memory.finished and memory.failures == 0
    assert all(answer == answer_of(opening) for answer in answers)


def plan_all(requests, caller=None):
    """Each request planned on what the previous stored: (answers, last stored conversation)."""
    opening, stored, answers = open_contact_step(caller), None, []
    for user_texts in requests:
        turn = plan_llm_turn(Conversation.from_text(stored), user_texts, POLICY, opening)
        stored = turn.conversation.to_text() if turn.conversation is not None else stored
        answers.append(turn.answer)
    return answers, Conversation.from_text(stored)


def test_a_shorter_version_arriving_late_changes_nothing():
    """Two workers: the grown « oui enfin non… » is stored first; the request with « oui »
    alone, sent before it, must not confirm the caller ID (nor move the step)."""
    hello = "Je voudrais être rappelé."
    answers, stored = plan_all(
        [[hello], [hello, "oui enfin non c'est le numéro de ma femme"], [hello, "oui"]],
        caller=CALLER,
    )
    assert stored.memory.contact_number is None and stored.memory.state == "CONTACT_COLLECT"
    assert answers[2] == answers[1]
    _, digits = plan_all(
        [[hello], [hello, "zéro six douze trente-quatre"], [hello, "zéro six"], [hello, ""]]
    )
    assert digits.memory.pending_digits == "061234"


def test_an_earlier_message_grown_is_answered_again_before_the_new_one():
    hello = "Je voudrais être rappelé."
    _, stored = plan_all(
        [
            [hello],
            [hello, "zéro six"],
            [hello, "zéro six douze trente-quatre", "cinquante-six soixante-dix-huit"],
        ]
    )
    assert stored.memory.candidate == "+33612345678"


GROWN_BY = ["attendez", "douze", "cinquante-six soixante-dix-huit", "non", "oui", "enfin non"]


@settings(max_examples=300, deadline=None)
@given(
    caller=callers,
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 59)), max_size=8),
)
def test_grown_last_messages_are_answered_as_the_replay_reads_them(caller, steps):
    """Requests as Vapi sends them while the caller goes on talking: each step adds a message
    or grows the last one. The stored path answers what the replay of each request answers,
    until the step finishes (then a grown message changes nothing: the conversation docstring)."""
    opening = open_contact_step(caller)
    opening_said = said(answer_of(opening))
    texts = ["Je voudrais être rappelé."]
    stored = plan_llm_turn(None, texts, POLICY, opening).conversation.to_text()  # the opening
    for grow, pick in steps:
        if Conversation.from_text(stored).memory.finished:
            break
        if grow and len(texts) > 1:
            texts[-1] = f"{texts[-1]} {GROWN_BY[pick % len(GROWN_BY)]}".strip()
        else:
            texts.append(UTTERANCES[pick % len(UTTERANCES)])
        turn = plan_llm_turn(Conversation.from_text(stored), texts, POLICY, opening)
        stored = turn.conversation.to_text() if turn.conversation is not None else stored
        assistant = [(0, FIRST_MESSAGE), (1, opening_said)]  # users before each: as Vapi sends
        replayed = replay_llm_turn(texts, assistant, POLICY, opening, opening_said)
        assert said(turn.answer) == said(replayed.answer), texts
        assert Conversation.from_text(stored).memory == replayed.conversation.memory, texts


def test_a_late_request_after_a_newer_message_changes_nothing():
    """A request held up (a worker that lost its compare-and-set, a stalled connection) while
    the caller went on: it ends before a message already answered, so it moves nothing."""
    hello = "Je voudrais être rappelé."
    refused = "oui enfin non c'est le numéro de ma femme"
    answers, stored = plan_all(
        [[hello], [hello, refused], [hello, refused, SPOKEN_WORDS], [hello, "oui"]],
        caller=CALLER,
    )
    assert stored.memory.contact_number is None and answers[3] == answers[2]
    _, stored = plan_all(
        [
            [hello],
            [hello, "zéro six douze trente-quatre"],
            [hello, "zéro six douze trente-quatre", "cinquante-six"],
            [hello, "zéro six"],
        ]
    )
    assert stored.memory.pending_digits == "06123456"


def test_a_message_grown_into_digits_is_answered_again():
    """STT writes the digits once the caller has said them all: « zéro six », then the number."""
    hello = "Je voudrais être rappelé."
    _, stored = plan_all([[hello], [hello, "zéro six"], [hello, "06 12 34 56 78"]])
    assert stored.memory.candidate == "+33612345678"


def test_a_stored_conversation_with_a_redo_it_cannot_read_is_read_without_it():
    """A row written by another version: the conversation is kept, only the redo dropped."""
    hello = "Je voudrais être rappelé."
    _, stored = plan_all([[hello], [hello, "zéro six"]])
    data = json.loads(stored.to_text())
    data["redo"] = {"position": 1, "words": 2, "memory": data["memory"]}
    again = Conversation.from_text(json.dumps(data))
    assert again is not None and again.redo is None and again.memory == stored.memory


def test_messages_after_the_step_finished_cost_one_turn():
    """A finished step answers every later message alike: only the last one said is planned, and
    the caller hears what they would have heard had each been (one log line, not thousands)."""
    opening = open_contact_step(CALLER, 2)
    for after in (["merci", "au revoir"], ["merci", ""], ["", "merci", ""]):
        each = Conversation.opened(opening, 0)
        for count in range(2, len(after) + 2):  # one request per message, as Vapi sends them
            one_by_one = plan_llm_turn(each, (["oui"] + after)[:count], POLICY, opening)
            each = one_by_one.conversation or each
        many = ["oui"] + ["merci"] * 5000 + after
        at_once = plan_llm_turn(Conversation.opened(opening, 0), many, POLICY, opening)
        assert at_once.answer == one_by_one.answer != answer_of(opening), after
        assert at_once.conversation.memory == each.memory
        assert len(at_once.steps) == 2  # the « oui » that confirmed, and the last one said
