"""backend/phones: its fast paths (parse "+digits", validity) say what phonenumbers says."""

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend import phones
from backend.phones import _parse_plus_digits

COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
TYPES = [getattr(phonenumbers.PhoneNumberType, name) for name in dir(phonenumbers.PhoneNumberType)]
TYPES = [kind for kind in TYPES if isinstance(kind, int)]


def reference(text):
    try:
        return phonenumbers.parse(text)
    except phonenumbers.NumberParseException:
        return None


def same_as_phonenumbers(text):
    """The fast path gives phonenumbers' number, or leaves the text to phonenumbers.parse."""
    fast = _parse_plus_digits(text)
    assert fast is None or fast == reference(text), text
    assert phones.parse(text) == reference(text), text
    return fast


def example_numbers():
    """Every region's example number of every type in E.164, and the trunk prefix put before
    the national number (« +33 0 6... », which phonenumbers reads by dropping it)."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        prefix = phonenumbers.country_code_for_region(region)
        trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                national = phonenumbers.national_significant_number(number)
                yield f"+{prefix}{national}"
                yield f"+{prefix}{trunk}{national}"


def test_the_fast_path_reads_every_example_number_as_phonenumbers_does():
    examples = list(example_numbers())
    read_fast = [text for text in examples if same_as_phonenumbers(text) is not None]
    assert len(examples) > 2000
    assert len(read_fast) > 0.95 * len(examples)  # the fast path does serve them


@pytest.mark.parametrize(
    "text",
    [
        "+33612345614",  # France, a mobile
        "+330612345614",  # the trunk 0 kept: phonenumbers drops it
        "+262692123456",  # Réunion
        "+390612345678",  # Italy: a leading zero that belongs to the number
        "+35215123456",  # Luxembourg: 15 is a carrier prefix phonenumbers strips
        "+5491123456789",  # Argentina: the mobile 9
        "+12015550123",  # +1, shared by many regions
        "+8",  # no country code
        "+999123456",  # an unassigned one
        "+33 6 12 34 56 14",  # not only digits: phonenumbers.parse's own
        "+0612345614",
    ],
)
def test_the_fast_path_agrees_on_numbers_known_to_be_read_their_own_way(text):
    same_as_phonenumbers(text)


def test_no_text_is_no_number_as_phonenumbers_says():
    assert reference(None) is None and phones.parse(None) is None


def same_validity(text):
    """phones.is_valid says of a parsed number what phonenumbers.is_valid_number says."""
    number = reference(text)
    if number is not None:
        assert phones.is_valid(number) == phonenumbers.is_valid_number(number), text
    return number


def test_validity_agrees_on_every_example_number():
    examples = list(example_numbers())
    valid = [text for text in examples if (n := same_validity(text)) and phones.is_valid(n)]
    assert len(valid) > 0.9 * len(examples)  # most are valid: the fast check does answer


# Each fast path against phonenumbers on the same inputs.
AGREEMENTS = [same_as_phonenumbers, same_validity]


@pytest.mark.parametrize("agrees", AGREEMENTS)
@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(COUNTRY_CODES), st.text(alphabet="0123456789", max_size=16))
def test_fast_paths_agree_on_any_digits_after_any_country_code(agrees, code, rest):
    agrees(f"+{code}{rest}")


@pytest.mark.parametrize("agrees", AGREEMENTS)
def test_fast_paths_agree_on_a_sweep_of_every_country_code(agrees):
    rng = random.Random(2026)
    for code in COUNTRY_CODES:
        for length in range(0, 15):
            for _ in range(10):
                agrees(f"+{code}" + "".join(rng.choices("0123456789", k=length)))
