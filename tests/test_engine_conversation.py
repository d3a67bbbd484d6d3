"""The contact step's state machine, as plain Python: data in, decision out."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend import prompts
from backend.engine.contact import (
    CONTACT_CALLBACK_NO_NUMBER,
    CONTACT_COLLECT,
    CONTACT_COLLECT_CONFIRM,
    CONTACT_CONFIRM,
    CONTACT_CONFIRMED,
    CONTACT_ENDED,
    CONTACT_TRANSFER,
    MAX_PARTIAL_TURNS,
    SOURCE_CALLER_ID,
    SOURCE_SPOKEN,
    ContactMemory,
    ContactPolicy,
    next_step,
    open_contact_step,
)
from backend.engine.nlu import classify_answer
from tests.contact_play import CALLER, OVER_TWO_TURNS, SPOKEN

POLICY = ContactPolicy()
SPOKEN_WORDS = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"


def play(utterances, caller=CALLER, policy=POLICY):
    """Open the step and answer each utterance: the list of decisions."""
    decision = open_contact_step(caller, policy.spoken_digits)
    decisions = [decision]
    for utterance in utterances:
        decision = next_step(decision.memory, utterance, policy)
        assert decision.state == decision.memory.state
        decisions.append(decision)
    return decisions


def last(utterances, **kwargs):
    return play(utterances, **kwargs)[-1]


def test_yes_confirms_the_caller_id():
    decision = last(["oui c'est bien ça"])
    assert decision.state == CONTACT_CONFIRMED
    assert decision.prompt == prompts.VOCAL_CONTACT_CONFIRM_OK
    memory = decision.memory
    assert (memory.contact_number, memory.contact_source) == (CALLER, SOURCE_CALLER_ID)


def test_no_asks_for_the_best_number():
    decision = last(["non c'est pas le mien"])
    assert (decision.state, decision.prompt) == (CONTACT_COLLECT, prompts.VOCAL_CONTACT_CONFIRM_NO)
    assert decision.memory.contact_number is None


def test_unclear_is_asked_again_once_in_other_words_then_collected():
    again, collect = play(["euh", "je sais pas"])[1:]
    assert (again.state, again.prompt) == (CONTACT_CONFIRM, prompts.VOCAL_CONTACT_CONFIRM_AGAIN)
    assert again.params == {"last_two": "14"}
    assert (collect.state, collect.prompt) == (
        CONTACT_COLLECT,
        prompts.VOCAL_CONTACT_COLLECT_AFTER_UNCLEAR,
    )


def test_a_no_with_a_number_goes_straight_to_its_read_back():
    decision = last(["non, c'est le 06 12 34 56 78"])
    assert (decision.state, decision.prompt) == (
        CONTACT_COLLECT_CONFIRM,
        prompts.VOCAL_CONTACT_READBACK,
    )
    assert decision.params == {"last_two": "78"}
    assert decision.memory.candidate == SPOKEN


def test_a_no_with_the_start_of_a_number_waits_for_the_rest():
    decisions = play(
        ["non c'est le zéro six douze", "trente-quatre cinquante-six soixante-dix-huit"]
    )
    assert decisions[1].prompt == prompts.VOCAL_CONTACT_COLLECT_CONTINUE
    assert decisions[1].memory.pending_digits == "0612"
    assert decisions[2].memory.candidate == SPOKEN


def test_a_yes_with_another_number_is_read_back_not_confirmed():
    decision = last(["oui c'est le 06 12 34 56 78"])
    assert decision.state == CONTACT_COLLECT_CONFIRM and decision.memory.candidate == SPOKEN


@pytest.mark.parametrize(
    "answer",
    ["oui ça finit par 41", "oui c'est 41 à la fin", "oui, enfin c'est quarante et un"],
)
def test_a_yes_naming_other_last_digits_is_asked_again_not_confirmed(answer):
    """The caller ID ends in 14: a yes that says 41 is no yes (never a stranger's number)."""
    decision = last([answer])
    assert (decision.state, decision.prompt) == (
        CONTACT_CONFIRM,
        prompts.VOCAL_CONTACT_CONFIRM_AGAIN,
    )
    assert decision.memory.contact_number is None
    read_back_state = last([SPOKEN_WORDS, "oui ça finit par 87"], caller=None)
    assert read_back_state.memory.contact_number is None


@pytest.mark.parametrize(
    "answer",
    [
        "oui 14",
        "oui, quatorze",
        "oui ça finit bien par 14",
        "oui c'est un portable",
        "oui c'est mon numéro, je l'ai depuis 10 ans",
    ],
)
def test_a_yes_naming_the_same_last_digits_confirms(answer):
    """The digits read back, a lone « un » (an article) or a quantity leave a yes a yes."""
    decision = last([answer])
    assert decision.state == CONTACT_CONFIRMED
    assert decision.memory.contact_number == CALLER
    assert last([SPOKEN_WORDS, "oui ça finit par 78"], caller=None).state == CONTACT_CONFIRMED


@pytest.mark.parametrize("pause", ["attendez je regarde", "euh", "vous avez noté ?"])
def test_a_turn_without_digits_mid_number_keeps_the_digits_heard(pause):
    """« zéro six douze », « attendez je regarde », then the rest: one number, no failed try."""
    decisions = play(
        ["zéro six douze", pause, "trente-quatre cinquante-six soixante-dix-huit", "oui"],
        caller=None,
    )
    assert decisions[2].prompt == prompts.VOCAL_CONTACT_COLLECT_CONTINUE
    assert decisions[2].memory.pending_digits == "0612"
    final = decisions[-1].memory
    assert (final.state, final.contact_number, final.failures) == (CONTACT_CONFIRMED, SPOKEN, 0)


def test_spoken_number_confirmed_after_its_read_back():
    decisions = play(["non", SPOKEN_WORDS, "oui"])
    assert decisions[2].params == {"last_two": "78"}
    memory = decisions[3].memory
    assert (memory.state, memory.contact_number, memory.contact_source) == (
        CONTACT_CONFIRMED,
        SPOKEN,
        SOURCE_SPOKEN,
    )


def test_a_number_over_two_turns():
    decisions = play(
        ["zéro sept quatre-vingt-un", "vingt-trois quarante-cinq soixante-sept", "ouais"],
        caller=None,
    )
    assert decisions[0].state == CONTACT_COLLECT
    assert decisions[1].prompt == prompts.VOCAL_CONTACT_COLLECT_CONTINUE
    assert decisions[1].memory.pending_digits == "0781"
    assert decisions[2].memory.candidate == OVER_TWO_TURNS
    assert decisions[3].memory.contact_number == OVER_TWO_TURNS


def test_a_correction_drops_the_digits_heard_before():
    decisions = play(
        [
            "zéro sept quatre-vingt-un",
            "non pardon zéro six douze",
            "trente-quatre cinquante-six soixante-dix-huit",
        ],
        caller=None,
    )
    assert decisions[2].memory.pending_digits == "0612"
    assert decisions[3].memory.candidate == SPOKEN


def test_a_refused_read_back_asks_again_and_counts_as_a_try():
    decision = last(["non", SPOKEN_WORDS, "non c'est pas ça"])
    assert (decision.state, decision.prompt) == (CONTACT_COLLECT, prompts.VOCAL_CONTACT_READBACK_NO)
    assert decision.memory.failures == 1 and decision.memory.candidate is None


def test_a_refused_read_back_with_the_right_number_reads_that_one_back():
    decision = last(
        [
            "non",
            SPOKEN_WORDS,
            "non, c'est le zéro sept quatre-vingt-un vingt-trois quarante-cinq soixante-sept",
        ]
    )
    assert decision.state == CONTACT_COLLECT_CONFIRM
    assert decision.memory.candidate == OVER_TWO_TURNS and decision.params == {"last_two": "67"}


def test_an_unclear_read_back_is_asked_again_then_counts_as_a_try():
    again, hint = play(["non", SPOKEN_WORDS, "hein", "bof"])[3:]
    assert (again.state, again.prompt) == (
        CONTACT_COLLECT_CONFIRM,
        prompts.VOCAL_CONTACT_READBACK_AGAIN,
    )
    assert again.params == {"last_two": "78"}
    assert (hint.state, hint.prompt) == (CONTACT_COLLECT, prompts.VOCAL_CONTACT_COLLECT_HINT)
    assert hint.memory.failures == 1


@pytest.mark.parametrize(
    "way_out, state, prompt",
    [
        ("transfer", CONTACT_TRANSFER, prompts.VOCAL_CONTACT_WAY_OUT_TRANSFER),
        (
            "callback_without_number",
            CONTACT_CALLBACK_NO_NUMBER,
            prompts.VOCAL_CONTACT_WAY_OUT_CALLBACK,
        ),
        ("end", CONTACT_ENDED, prompts.VOCAL_CONTACT_WAY_OUT_END),
    ],
)
def test_nothing_usable_hints_then_takes_the_tenant_s_way_out(way_out, state, prompt):
    policy = ContactPolicy(collect_attempts=3, way_out=way_out)
    decisions = play(["je sais pas", "euh bah", "aucune idée"], caller=None, policy=policy)
    assert [d.prompt for d in decisions[1:3]] == [prompts.VOCAL_CONTACT_COLLECT_HINT] * 2
    assert [d.memory.failures for d in decisions[1:]] == [1, 2, 3]
    assert (decisions[3].state, decisions[3].prompt) == (state, prompt)
    after = next_step(decisions[3].memory, "06 12 34 56 78", policy)
    assert (after.memory, after.prompt) == (decisions[3].memory, prompt)  # the step is over


@pytest.mark.parametrize("attempts", [1, 2, 5, 10])
def test_the_way_out_comes_after_exactly_the_tenant_s_tries(attempts):
    policy = ContactPolicy(collect_attempts=attempts)
    decisions = play(["bonjour"] * attempts, caller=None, policy=policy)
    assert all(d.state == CONTACT_COLLECT for d in decisions[:-1])
    assert decisions[-1].state == CONTACT_ENDED


@pytest.mark.parametrize("count, spoken", [(1, "8"), (2, "78"), (3, "6 78"), (4, "56 78")])
def test_read_back_uses_the_tenant_s_digit_count(count, spoken):
    decision = last(["non", SPOKEN_WORDS], policy=ContactPolicy(spoken_digits=count))
    assert decision.params == {"last_two": spoken}


def test_no_digit_read_aloud_uses_sentences_without_digits():
    policy = ContactPolicy(spoken_digits=0)
    decisions = play(["euh", "non", SPOKEN_WORDS, "hein"], policy=policy)
    assert decisions[1].prompt == prompts.VOCAL_CONTACT_CONFIRM_AGAIN_NO_DIGITS
    assert decisions[3].prompt == prompts.VOCAL_CONTACT_READBACK_NO_DIGITS
    assert decisions[4].prompt == prompts.VOCAL_CONTACT_READBACK_AGAIN_NO_DIGITS
    assert all(d.params == {} for d in decisions)


def test_endless_partial_digits_are_bounded():
    decisions = play(["zéro"] + ["un"] * 40, caller=None)
    assert decisions[-1].memory.finished
    assert sum(d.prompt == prompts.VOCAL_CONTACT_COLLECT_CONTINUE for d in decisions) <= (
        MAX_PARTIAL_TURNS * POLICY.collect_attempts
    )


def test_same_memory_and_utterance_give_the_same_decision():
    memory = play(["non", "zéro sept quatre-vingt-un"])[-1].memory
    first = next_step(memory, "vingt-trois quarante-cinq soixante-sept", POLICY)
    second = next_step(memory, "vingt-trois quarante-cinq soixante-sept", POLICY)
    assert first == second and memory.pending_digits == "0781"  # memory is not changed


def test_memory_round_trips_through_json_data():
    memory = play(["non", "zéro sept quatre-vingt-un"])[-1].memory
    assert ContactMemory.from_dict(memory.to_dict()) == memory


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        {"state": "NOPE"},
        {"state": CONTACT_COLLECT, "failures": "2"},
        {"state": CONTACT_COLLECT, "failures": True},
        {"state": CONTACT_COLLECT, "candidate": 6},
    ],
)
def test_memory_refuses_what_it_cannot_be(data):
    with pytest.raises(ValueError):
        ContactMemory.from_dict(data)


POOL = [
    "oui",
    "ouais c'est ça",
    "non",
    "non c'est le fixe du bureau",
    "euh",
    "je sais pas",
    "zéro six",
    "douze trente-quatre",
    "cinquante-six soixante-dix-huit",
    "non pardon",
    SPOKEN_WORDS,
    "06 12 34 56 14",
    "oui non enfin je sais pas",
    "",
    "quatre-vingt-dix-sept",
]


@settings(max_examples=200, deadline=None)
@given(
    caller=st.sampled_from([CALLER, None]),
    utterances=st.lists(st.sampled_from(POOL), max_size=60),
    attempts=st.integers(1, 10),
)
def test_never_confirms_without_a_yes_and_always_ends(caller, utterances, attempts):
    policy = ContactPolicy(collect_attempts=attempts)
    memory = open_contact_step(caller).memory
    for utterance in utterances:
        decision = next_step(memory, utterance, policy)
        if decision.state == CONTACT_CONFIRMED and memory.state != CONTACT_CONFIRMED:
            assert classify_answer(utterance) == "yes"  # a false yes is the worst mistake
            expected = memory.caller_number if memory.state == CONTACT_CONFIRM else memory.candidate
            assert decision.memory.contact_number == expected
        assert decision.memory.failures <= attempts
        memory = decision.memory
    # Whatever is said, the step cannot go on forever without an outcome.
    non_answers = ["bof"] * (4 + attempts * (MAX_PARTIAL_TURNS + 3))
    for utterance in non_answers:
        memory = next_step(memory, utterance, policy).memory
    assert memory.finished
