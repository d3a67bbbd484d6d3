"""RGPD masking: what logs show and what the agent reads aloud of a number."""

import phonenumbers
import pytest

from backend.privacy.masking import (
    _split_e164,
    _split_parsed,
    last_digits,
    mask_phone,
    spoken_digits,
)
from tests.leaks import full_numbers_in

CALLER = "+33612345614"


@pytest.mark.parametrize(
    "shown, masked",
    [
        (0, "+33XXXXXXXXX"),
        (1, "+33XXXXXXXX4"),
        (2, "+33XXXXXXX14"),
        (3, "+33XXXXXX614"),
        (4, "+33XXXXX5614"),
    ],
)
def test_mask_phone_keeps_country_code_and_last_digits(shown, masked):
    assert mask_phone(CALLER, shown) == masked
    assert full_numbers_in(masked) == []


def test_mask_phone_other_countries():
    assert mask_phone("+32470123456", 2) == "+32XXXXXXX56"
    assert mask_phone("+41791234567", 2) == "+41XXXXXXX67"
    assert mask_phone("+14155552671", 2) == "+1XXXXXXXX71"


def test_mask_phone_of_nothing_is_none():
    assert mask_phone(None, 2) is None
    assert mask_phone("", 2) is None


def test_mask_phone_of_an_unparsable_value_still_hides_digits():
    masked = mask_phone("0612345614", 2)
    assert masked.endswith("14")
    assert "612345614" not in masked
    assert masked.count("X") == 8


@pytest.mark.parametrize(
    "count, spoken",
    [(0, ""), (1, "4"), (2, "14"), (3, "6 14"), (4, "56 14")],
)
def test_spoken_digits_are_french_pairs_from_the_right(count, spoken):
    assert spoken_digits(CALLER, count) == spoken


def test_spoken_digits_of_another_number():
    assert spoken_digits("+32470123456", 4) == "34 56"
    assert spoken_digits("+33698765432", 2) == "32"


@pytest.mark.parametrize("count, tail", [(0, ""), (2, "14"), (4, "5614")])
def test_last_digits(count, tail):
    assert last_digits(CALLER, count) == tail
    assert last_digits(None, count) == ""


@pytest.mark.parametrize(
    "number, masked",
    [
        ("+14155552671", "+1XXXXXXXX71"),  # one-digit code, national prefix 1 not there
        ("+262692123456", "+262XXXXXXX56"),  # three-digit code (La Réunion)
        ("+447911123456", "+44XXXXXXXX56"),
        ("+390612345678", "+39XXXXXXXX78"),  # Italy keeps its leading zero
        ("+330612345614", "+33XXXXXXX14"),  # a national prefix after the code is dropped
        ("+33 6 12 34 56 14", "+33XXXXXXX14"),  # spaced: parsed
        ("+٣٣٦١٢٣٤٥٦١٤", "+33XXXXXXX14"),  # Arabic-Indic digits: parsed
        ("0033612345614", "+XXXXXXXXXXX14"),  # no +: not parsable without a region
        ("+0612345614", "+XXXXXXXX14"),  # no country code starts with 0
        ("+999123456", "+XXXXXXX56"),  # unknown country code
        ("+33", "+X3"),  # too short to parse: half its two digits
        ("+", "+"),
        ("phone", "+"),
    ],
)
def test_mask_phone_country_codes_and_odd_inputs(number, masked):
    assert mask_phone(number, 2) == masked


def test_the_e164_shortcut_splits_every_region_as_parsing_does():
    """mask_phone reads an E.164 string without parsing it: same country code, same rest."""
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    shortcut = 0
    for region in regions:
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            split = _split_e164(e164)
            assert split in (None, _split_parsed(e164)), (region, kind)
            shortcut += split is not None
    assert shortcut > 400  # all but national numbers starting with 0 (Italy, Benin...)


# Short numbering plans: Tokelau (4 national digits), Niue's fixed lines (4), Saint Helena (5).
SHORT_PLANS = ["+6907290", "+6834002", "+29051234"]


@pytest.mark.parametrize("number", SHORT_PLANS)
@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_no_count_shows_a_short_national_number_whole(number, count):
    national = phonenumbers.national_significant_number(phonenumbers.parse(number))
    for shown in (
        last_digits(number, count),
        spoken_digits(number, count).replace(" ", ""),
        mask_phone(number, count).rstrip("X")[-len(national) :].lstrip("X+"),
    ):
        assert len(shown) <= len(national) // 2, (number, count, shown)
        assert national not in shown
    assert mask_phone(number, count).count("X") >= len(national) - len(national) // 2


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
def test_a_french_number_shows_what_the_tenant_asks(count):
    assert len(last_digits(CALLER, count)) == count
    assert mask_phone(CALLER, count).count("X") == 9 - count


def test_a_tenant_reading_four_digits_reads_half_a_short_number(tenants_app, log_events):
    tenant = {
        "id": "court",
        "name": "Court",
        "vapi": {"secret_env": "VAPI_SECRET_DEMO"},
        "masking": {"spoken_digits": 4, "logged_digits": 4},
    }
    client = tenants_app(tenant).test_client()
    headers = {"X-Vapi-Secret": "test-secret-demo"}
    call = {"id": "short-plan-call", "customer": {"number": "+6907290"}}
    status = {"message": {"type": "status-update", "status": "in-progress", "call": call}}
    assert client.post("/api/vapi/court/webhook", json=status, headers=headers).status_code == 200
    chat = {
        "model": "m",
        "call": {"id": call["id"]},
        "messages": [{"role": "user", "content": "a"}],
    }
    answer = client.post("/api/vapi/court/chat/completions", json=chat, headers=headers)
    sentence = answer.get_json()["choices"][0]["message"]["content"]
    assert "90" in sentence and "7290" not in sentence.replace(" ", "")
    (persisted,) = log_events("CALLER_ID_PERSISTED")
    (found,) = log_events("CALLER_ID_FOUND")
    assert (persisted["phone_masked"], found["last2"]) == ("+690XX90", "90")
