"""Unit tests for French phone number understanding (parse_phone, continue_phone)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from backend.engine.nlu import PhoneProgress, continue_phone, parse_phone
from backend.phones.dialing import e164_if_valid

A = "+33612345678"  # 06 12 34 56 78
B = "+33781234567"  # 07 81 23 45 67


@pytest.mark.parametrize(
    "text",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "zéro 6 12 34 56 78",
        "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
        "zero six douze trente quatre cinquante six soixante dix huit",
        "ZÉRO SIX, DOUZE, TRENTE-QUATRE, CINQUANTE-SIX, SOIXANTE-DIX-HUIT.",
        "zéro six un deux trois quatre cinq six sept huit",
        # « six cent douze » is 612.
        "zéro six cent douze trente-quatre cinquante-six soixante-dix-huit",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit",
        "zéro zéro trente-trois six douze trente-quatre cinquante-six soixante-dix-huit",
        "euh alors c'est le zéro six euh douze trente-quatre cinquante-six soixante-dix-huit",
    ],
)
def test_digits_and_words_in_any_form(text):
    assert parse_phone(text) == A


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "zéro six soixante et onze quatre-vingt-dix-sept quatre-vingts quatre-vingt-dix-neuf",
            "+33671978099",
        ),
        ("zéro six vingt et un trente et un quarante et un cinquante et un", "+33621314151"),
        ("zéro six quatre vingts douze trente quatre cinquante six", "+33680123456"),
        # Belgian and Swiss tens.
        ("zéro six septante et un nonante-sept octante nonante-neuf", "+33671978099"),
        ("zéro six septante-deux nonante-huit huitante-cinq zéro quatre", "+33672988504"),
    ],
)
def test_french_number_words(text, expected):
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+32 470 12 34 56", "+32470123456"),
        ("plus trente-deux quatre cent septante douze trente-quatre cinquante-six", "+32470123456"),
        ("+41 78 123 45 67", "+41781234567"),
        ("+44 7911 123456", "+447911123456"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_other_country_codes(text, expected):
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0692 12 34 56", "+262692123456"),  # Réunion mobile
        ("0639 01 23 45", "+262639012345"),  # Mayotte mobile
        ("02 69 60 12 34", "+262269601234"),  # Mayotte fixed: FR metadata would say +33
        ("0690 00 12 34", "+590690001234"),  # Guadeloupe
        ("0694 20 12 34", "+594694201234"),  # Guyane
        ("0696 20 12 34", "+596696201234"),  # Martinique
        ("08 00 12 34 56", "+33800123456"),  # shared toll-free range stays French
    ],
)
def test_overseas_numbers_said_nationally(text, expected):
    assert parse_phone(text) == expected


def test_article_un_is_resolved_by_validity():
    assert parse_phone("c'est un zéro six douze trente-quatre cinquante-six soixante-dix-huit") == A
    assert parse_phone("c'est un 06 12 34 56 78") == A


def test_other_numbers_in_the_sentence_are_ignored():
    assert parse_phone("rappelez-moi à 14h30 au 06 12 34 56 78") == A
    assert parse_phone("j'ai 2 enfants et c'est le 06 12 34 56 78") == A
    assert parse_phone("rappelez moi à 14 30 06 12 34 56 78") == A
    assert parse_phone("j'ai 2 enfants") is None


def test_number_said_twice():
    assert parse_phone("06 12 34 56 78 06 12 34 56 78") == A
    words = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"
    assert parse_phone(f"06 12 34 56 78, je répète, {words}") == A
    assert (
        parse_phone(
            "zéro six douze trente... zéro six douze trente-quatre cinquante-six soixante-dix-huit"
        )
        == A
    )


def test_corrections_last_complete_number_wins():
    b_words = "zéro sept quatre-vingt-un vingt-trois quarante-cinq soixante-sept"
    assert parse_phone(f"zéro six douze non pardon {b_words}") == B
    assert parse_phone("06 12 34 56 78 plutôt 07 81 23 45 67") == B
    # A correction without a complete number after it leaves nothing certain.
    assert parse_phone("06 12 34 56 78 non 79") is None
    assert parse_phone("06 12 34 56 78 non attendez") is None


def test_two_readings_only_one_valid():
    # After a pause « soixante, dix » may be 60 10: the only reading that is a number.
    assert parse_phone("zéro six soixante, dix, vingt, trente") == "+33660102030"
    # Without it, it is 70: 06 70 20 30 is incomplete, and is not stretched to 10 digits.
    assert parse_phone("zéro six soixante dix vingt trente") is None
    assert parse_phone("zéro six soixante-dix vingt trente") is None
    # « trente quatre vingt douze »: 34 20 12 or 30 92. 06 34 20 12 34 is complete, but
    # 06 30 92 34 may be a number cut off by the end of the utterance: never guess.
    assert parse_phone("zéro six trente quatre vingt douze trente quatre") is None
    assert parse_phone("zéro six trente-quatre vingt douze trente-quatre") == "+33634201234"
    # « vingts » only ends « quatre-vingts »: 30 80.
    assert parse_phone("zéro six trente quatre vingts douze trente quatre") == "+33630801234"
    # « zéro » is followed by one digit: 0 4 20, not 0 80.
    assert parse_phone("zéro quatre vingt douze trente quatre cinquante six") == "+33420123456"


def test_both_readings_valid_is_ambiguous():
    # 34 22 12 30 and 30 82 12 30 are both complete numbers: never guess.
    assert parse_phone("zéro six trente quatre vingt deux douze trente") is None
    # The hyphen tells which.
    assert parse_phone("zéro six trente-quatre vingt-deux douze trente") == "+33634221230"
    assert parse_phone("zéro six trente quatre-vingt-deux douze trente") == "+33630821230"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "euh",
        "je n'ai pas de numéro",
        "06 12 34 56",  # too short
        "zéro six douze trente-quatre cinquante-six",  # incomplete: never stretched
        "06 12 34 56 78 9",  # too long
        "07 12 34 56 78",  # invalid prefix
        "six douze trente-quatre cinquante-six soixante-dix-huit",  # no trunk zero
        "06 12 34 56 78 ou 07 81 23 45 67",  # two different numbers
        "+33 6 12 34",
        "vingt deux " * 30,  # absurdly long run
        "06 12 34 56 78 " + "euh " * 400,  # no dictation is that long
    ],
)
def test_no_number_when_absent_ambiguous_or_invalid(text):
    assert parse_phone(text) is None


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        # Belgian mobiles said in hundreds: 0478, not 0 4 178.
        (
            "zéro quatre cent septante-huit, douze, trente-quatre, cinquante-six",
            "BE",
            "+32478123456",
        ),
        ("zéro quatre cent nonante-six, douze, trente-quatre, cinquante-six", "BE", "+32496123456"),
        (
            "zéro quatre cent soixante-dix-huit douze trente-quatre cinquante-six",
            "FR",
            "+33478123456",
        ),
        # « plus » before a 0 is no country code: « je n'en ai plus, 06… ».
        ("j'en ai plus, 06 23 45 67 89", "FR", "+33623456789"),
        # Courtesy after a whole number is no correction.
        ("le 06 23 45 67 89 excusez-moi", "FR", "+33623456789"),
        ("c'est le 06 23 45 67 89, enfin mon portable", "FR", "+33623456789"),
        ("06 23 45 67 89 désolé je parle vite", "FR", "+33623456789"),
        # ... but it is when digits follow, as « mince » and « je veux dire » are.
        ("06 23 45 67 89 ah zut c'est 06 23 45 67 98", "FR", "+33623456798"),
        ("06 23 45 67 89, je veux dire 98", "FR", None),
        (
            "zéro six vingt-trois quarante-cinq soixante-sept quatre-vingt-neuf, ah mince, "
            "quatre-vingt-dix-huit",
            "FR",
            None,
        ),
    ],
)
def test_review_cases(text, region, expected):
    """Cases a review found wrong (a number lost, or the corrected-away one kept)."""
    assert parse_phone(text, region=region) == expected


def test_region_parameter():
    assert parse_phone("0470 12 34 56", region="BE") == "+32470123456"
    assert parse_phone("0470 12 34 56") == "+33470123456"  # a French fixed line from FR
    with pytest.raises(ValueError):
        parse_phone("06 12 34 56 78", region="XX")


# --- continue_phone -------------------------------------------------------------------


def test_continue_over_two_turns():
    first = continue_phone("", "zéro sept quatre-vingt-un")
    assert first == PhoneProgress(number=None, pending_digits="0781", corrected=False)
    second = continue_phone(first.pending_digits, "vingt-trois quarante-cinq soixante-sept")
    assert second == PhoneProgress(number=B, pending_digits="", corrected=False)


def test_continue_over_three_turns():
    turn = continue_phone("", "c'est le zéro six")
    assert turn.pending_digits == "06"
    turn = continue_phone(turn.pending_digits, "euh douze trente-quatre")
    assert (turn.number, turn.pending_digits) == (None, "061234")
    turn = continue_phone(turn.pending_digits, "cinquante-six soixante-dix-huit")
    assert turn == PhoneProgress(number=A, pending_digits="", corrected=False)


@pytest.mark.parametrize(
    "said",
    [
        "zéro sept douze trente-quatre cinquante-six soixante-dix-huit",  # 07 12: no such range
        "zéro six quatre-vingt-quatorze cinquante trente-deux cinquante-six",  # 0694 50
    ],
)
def test_a_whole_length_that_is_no_number_waits_for_no_more_digits(said):
    assert continue_phone("", said) == PhoneProgress(None, "", False)
    first, rest = said.split(" ", 3)[:3], said.split(" ", 3)[3]
    pending = continue_phone("", " ".join(first)).pending_digits
    assert pending and continue_phone(pending, rest) == PhoneProgress(None, "", False)


def test_continue_without_digits_keeps_pending():
    assert continue_phone("0612", "euh attendez") == PhoneProgress(None, "0612", False)


def test_continue_correction_drops_pending():
    turn = continue_phone("0612", "non pardon zéro sept")
    assert turn == PhoneProgress(number=None, pending_digits="07", corrected=True)
    turn = continue_phone("0612", "attendez je me suis trompé c'est le zéro sept quatre-vingt-un")
    assert turn == PhoneProgress(number=None, pending_digits="0781", corrected=True)
    turn = continue_phone("0612", "je recommence 07 81 23 45 67")
    assert turn == PhoneProgress(number=B, pending_digits="", corrected=True)


def test_continue_complete_number_in_text_wins():
    assert continue_phone("0781", "06 12 34 56 78") == PhoneProgress(A, "", False)


def test_continue_too_long_keeps_new_digits_only():
    # 0612345 + 78 90 12 is longer than any French number: keep what was just said.
    turn = continue_phone("0612345", "zéro sept quatre-vingt-un")
    assert turn == PhoneProgress(None, "0781", False)
    # Digits that cannot start a number (no trunk zero) are not kept.
    assert continue_phone("0612345", "78 90 12 34").pending_digits == ""


def test_continue_pending_is_bounded_and_sanitized():
    assert continue_phone("0" * 40, "euh").pending_digits == ""
    assert continue_phone("06 12", "trente-quatre").pending_digits == "061234"
    turn = continue_phone("+33", "six douze trente-quatre cinquante-six soixante-dix-huit")
    assert turn.number == A


def test_continue_ambiguous_turn_starts_over():
    # « trente quatre vingt » is 34 20 or 30 80: keeping either could end in a wrong number.
    assert continue_phone("06", "trente quatre vingt") == PhoneProgress(None, "", False)
    assert continue_phone("06", "trente-quatre vingt").pending_digits == "063420"


def test_double_zero():
    assert (
        parse_phone(
            "double zéro trente-trois six douze trente-quatre cinquante-six soixante-dix-huit"
        )
        == A
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("zéro six douze triple quatre cinquante-six sept", "+33612444567"),
        ("zéro six deux fois zéro douze trente-quatre cinquante-six", "+33600123456"),
        ("06 2 fois 0 12 34 56", "+33600123456"),
        ("06 12 double 0 34 56", "+33612003456"),
        # « trente-deux fois zéro »: 32 then « fois », or 30 then two zeros? Left unread.
        ("zéro six trente-deux fois zéro douze trente-quatre", None),
        ("zéro six trente deux fois zéro zéro douze trente-quatre", None),
        # A count said in passing is no digit said twice.
        ("ça fait trois fois que j'appelle, c'est le 07 58 62 19 85", "+33758621985"),
        (
            "j'ai appelé deux fois zéro six douze trente-quatre cinquante-six soixante-dix-huit",
            "+33612345678",
        ),
        ("je l'ai dit deux fois 0 6 1 2 3 4 5 6 7 8", "+33612345678"),
    ],
)
def test_a_digit_said_two_or_three_times(text, expected):
    assert parse_phone(text) == expected


def test_continue_leading_article_is_dropped():
    assert continue_phone("", "c'est un zéro six").pending_digits == "06"


# --- properties ------------------------------------------------------------------------

_UNITS = (
    "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize"
).split()
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


def _french(n: int) -> str:
    """An independent French speller for 0-99 (standard French, hyphenated)."""
    if n <= 16:
        return _UNITS[n]
    if n < 20:
        return "dix-" + _UNITS[n - 10]
    tens, unit = divmod(n, 10)
    if tens in (7, 9):
        if n == 71:
            return "soixante et onze"
        return ("soixante-" if tens == 7 else "quatre-vingt-") + _french(n - 60 - 20 * (tens == 9))
    if tens == 8:
        return "quatre-vingts" if unit == 0 else "quatre-vingt-" + _UNITS[unit]
    if unit == 0:
        return _TENS[tens]
    return _TENS[tens] + (" et un" if unit == 1 else "-" + _UNITS[unit])


def _pairs(digits: str) -> list[str]:
    """How a French caller dictates 0X XX XX XX XX: « zéro six », then pairs."""
    words = [f"zéro {_UNITS[int(digits[1])]}"]
    for k in range(2, 10, 2):
        pair = digits[k : k + 2]
        words.append(f"zéro {_UNITS[int(pair[1])]}" if pair[0] == "0" else _french(int(pair)))
    return words


def _dictate(digits: str) -> str:
    # STT marks the pause between pairs: « soixante, dix » is 60 10, « soixante dix » 70.
    return ", ".join(_pairs(digits))


metropolitan = st.from_regex(r"0[1-79][0-9]{8}", fullmatch=True)


def _expected(digits: str) -> str:
    # Overseas prefixes map to other country codes: covered by the examples above.
    assume(not digits.startswith(("026", "059", "0639", "069")))
    number = phonenumbers.parse(digits, "FR")
    assume(phonenumbers.is_valid_number(number))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@settings(max_examples=300, deadline=None)
@given(metropolitan)
def test_any_dictated_number_is_understood(digits):
    expected = _expected(digits)
    spoken = _dictate(digits)
    assert parse_phone(spoken) == expected, spoken
    grouped = " ".join([digits[:2], digits[2:4], digits[4:6], digits[6:8], digits[8:]])
    assert parse_phone(grouped) == expected
    assert parse_phone(f"euh c'est le {spoken} merci") == expected
    # Without hyphens or pauses some pairs read two ways: the right number or none.
    plain = spoken.replace("-", " ").replace(",", "")
    assert parse_phone(plain) in (expected, None), plain


@settings(max_examples=300, deadline=None)
@given(metropolitan, st.integers(min_value=1, max_value=4), st.booleans())
def test_incomplete_numbers_are_never_completed(digits, pairs, hyphens):
    _expected(digits)
    partial = " ".join(_pairs(digits)[:pairs])
    assert parse_phone(partial if hyphens else partial.replace("-", " ")) is None, partial


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            _UNITS + list(_TENS.values()) + ["cent", "et", "euh", "+", "06", "12", "non"]
        ),
        max_size=25,
    )
)
def test_random_words_give_a_valid_number_or_none(words):
    got = parse_phone(" ".join(words))
    assert got is None or phonenumbers.is_valid_number(phonenumbers.parse(got))


_OVERSEAS = ("RE", "YT", "GP", "BL", "MF", "MQ", "GF")


@settings(max_examples=1000, deadline=None)
@given(st.from_regex(r"0[1-9][0-9]{8}", fullmatch=True))
def test_national_validity_agrees_with_phonenumbers(digits):
    ours = e164_if_valid(digits, "FR")
    theirs = {
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        for region in ("FR", *_OVERSEAS)
        if phonenumbers.is_valid_number_for_region(
            number := phonenumbers.parse(digits, region), region
        )
    }
    assert (ours is None) == (not theirs)
    assert ours is None or ours in theirs


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from(["33", "32", "41", "44", "1", "212", "352", "34", "49", "39", "262", "590"]),
    st.from_regex(r"[1-9][0-9]{5,11}", fullmatch=True),
)
@example("352", "150003000")  # found by hypothesis: phonenumbers reads it as +352 3000
def test_international_validity_agrees_with_phonenumbers(country_code, rest):
    number = phonenumbers.parse(f"+{country_code}{rest}")
    theirs = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    expected = theirs if phonenumbers.is_valid_number(number) else None
    for dialled in (f"+{country_code}{rest}", f"00{country_code}{rest}"):
        ours = e164_if_valid(dialled, "FR")
        if ours != expected:
            # phonenumbers drops what it takes for a carrier-selection prefix (Luxembourg's
            # +352 15xx...) and validates the rest: digits it rewrote are refused here, never
            # read as another number.
            assert ours is None and theirs != f"+{country_code}{rest}", dialled


@settings(max_examples=300, deadline=None)
@given(metropolitan, st.sets(st.integers(min_value=1, max_value=4), min_size=1, max_size=2))
@example("0101000000", {1})  # found by hypothesis: « zéro un », then « zéro un, zéro zéro... »
def test_any_number_dictated_over_several_turns(digits, cuts):
    """Understood whatever the cuts, but where a turn starts with the digits heard before it
    (« zéro un », then « zéro un, zéro zéro... »): starting over, or going on with the same
    digits, is not known, and the caller is asked again rather than either number kept."""
    expected = _expected(digits)
    pairs = _pairs(digits)
    bounds = [0, *sorted(cuts), len(pairs)]
    turns = [", ".join(pairs[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    pending = ""
    for k, turn in enumerate(turns):
        heard, said = digits[: 2 * bounds[k]], digits[2 * bounds[k] : 2 * bounds[k + 1]]
        progress = continue_phone(pending, turn if k == len(turns) - 1 else f"euh {turn}")
        if heard and said.startswith(heard):
            assert (progress.number, progress.pending_digits) == (None, ""), turns
            return
        if k == len(turns) - 1:
            assert progress.number == expected, turns
        else:
            assert progress.number is None, turns
            pending = progress.pending_digits


@pytest.mark.parametrize(
    "pending, text",
    [
        ("03", "03 57 26 87"),  # a review's: read 03 03 57 26 87, the last pair heard next
        ("06", "zéro six, douze, trente-quatre, cinquante-six"),  # a tenant reading no digit
        ("0612", "zéro six douze trente-quatre cinquante-six"),
    ],
)
def test_a_turn_that_starts_over_completes_no_number(pending, text):
    """Appended to the digits heard, a restart made a valid number nobody said."""
    progress = continue_phone(pending, text)
    assert (progress.number, progress.pending_digits) == (None, "")
    assert (
        continue_phone("", "zéro trois, cinquante-sept, vingt-six, quatre-vingt-sept").number
        is None
    )
