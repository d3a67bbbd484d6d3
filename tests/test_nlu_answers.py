"""Unit tests for classify_answer (« C'est bien le vôtre ? Dites oui ou non. »)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.engine.nlu import classify_answer


@pytest.mark.parametrize(
    "text",
    [
        "oui",
        "Oui.",
        "ouais",
        "ouai",
        "oui oui",
        "c'est ça",
        "tout à fait",
        "exact",
        "exactement",
        "bien sûr",
        "absolument",
        "c'est bien le mien",
        "c'est bon",
        "correct",
        "affirmatif",
        "d'accord",
        "oui c'est bien ça merci",
        # STT without apostrophes, accents or case.
        "cest ca",
        "ouais cest ca",
        "OUI C EST BIEN CA",
        "euh oui",
        "attendez je vérifie... oui c'est ça",
    ],
)
def test_yes(text):
    assert classify_answer(text) == "yes"


@pytest.mark.parametrize(
    "text",
    [
        "non",
        "nan",
        "non non",
        "pas du tout",
        "c'est pas le mien",
        "ce n'est pas le mien",
        "c'est le fixe du bureau",
        "c'est le numéro de ma femme",
        "non c'est pas ça",
        "négatif",
        "pas celui-là",
        "je préfère un autre numéro",
        # Negation said last wins over an earlier « oui ».
        "oui enfin non",
        "ouais non c'est pas le bon",
        "bien sûr que non",
        # A negated yes word.
        "pas exactement",
        "absolument pas",
        "pas tout à fait",
    ],
)
def test_no(text):
    assert classify_answer(text) == "no"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "c'est quoi le numéro ?",
        "pardon ?",
        "vous pouvez répéter ?",
        "euh",
        "je sais pas",
        "attendez",
        "oui non enfin je sais pas",
        "allô ?",
        "bonjour",
        # A yes after a no, a question or a reservation is never a yes.
        "non non c'est bien ça",
        "oui ?",
        "oui mais c'est le fixe",
        "oui attendez",
        "oui allô",
        "je crois que oui",
        "oui je vous écoute",
    ],
)
def test_unclear(text):
    assert classify_answer(text) == "unclear"


_VOCABULARY = [
    "oui",
    "ouais",
    "non",
    "pas",
    "c'est",
    "ça",
    "bien",
    "le",
    "mien",
    "?",
    "euh",
    "mais",
    "je",
    "sais",
    "attendez",
    "exactement",
    "ma",
    "femme",
    "enfin",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_VOCABULARY), max_size=8))
def test_any_negation_or_doubt_blocks_yes(words):
    text = " ".join(words)
    answer = classify_answer(text)
    assert answer in ("yes", "no", "unclear")
    if answer == "yes":
        assert not {"non", "pas", "?", "femme"} & set(words), text


@pytest.mark.parametrize(
    "text",
    [
        "c'est sur mon fixe qu'il faut rappeler",  # « sûr » without its accent is « sur »
        "c'est sur internet que vous l'avez trouvé",
        "et comment vous avez eu mon numéro",  # a question whose « ? » the STT dropped
        "ça change pas, c'est un numéro masqué",
        "il a pas changé de propriétaire",
        "je ne change pas de numéro",
    ],
)
def test_phrases_that_only_look_like_a_yes_are_none(text):
    """A review's finds: phrases once added as yes that also open other sentences."""
    assert classify_answer(text) != "yes"


@pytest.mark.parametrize(
    "text",
    [
        # A request to hear it again is asked again, whatever « pas » or « non » it holds.
        "excusez-moi, j'étais pas attentif, vous pouvez répéter ?",
        "non, répétez s'il vous plaît",
        "je n'ai pas suivi, tu peux répéter",
        "c'est pas clair, vous pouvez redire le numéro ?",
        # The phone handed over: « mon mari » says who comes, not whose number it is.
        "je vous passe mon mari",
        "oui je vous passe mon fils",
        "attendez je vous la passe",
        "je demande à ma femme",
    ],
)
def test_a_repeat_request_or_a_handover_is_asked_again(text):
    assert classify_answer(text) == "unclear"


@pytest.mark.parametrize(
    "text, expected",
    [
        # The caller repeating themselves, or saying there is no need to, asks nothing.
        ("oui c'est ça, pas besoin de répéter", "yes"),
        ("oui, je répète, c'est le mien", "yes"),
        ("non je répète c'est pas le mien", "no"),
        ("je vous répète que non", "no"),
        ("oui je te répète c'est le mien", "yes"),
        ("non, je vous ai déjà répété que c'est pas le mien", "no"),
        ("c'est ça oui, pas besoin de le répéter", "yes"),
        ("oui c'est bien ça, pas la peine de me le répéter", "yes"),
        # Asking for something is no handing over.
        ("non, je demande à être rappelé sur un autre numéro", "no"),
        # Someone else's number stays a no.
        ("non c'est le numéro de mon mari", "no"),
    ],
)
def test_repeating_oneself_is_no_request(text, expected):
    assert classify_answer(text) == expected
