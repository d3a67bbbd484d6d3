"""Find full phone numbers in text (log lines, answers): the RGPD sweep used across the suite."""

import json
import re
import uuid
from pathlib import Path

import phonenumbers

from tests.paths import VAPI_PAYLOADS

# Digits with the separators people and formatters put between them, and any other mark a
# client may put there (06:98:76:12:34, invisible spaces).
_DIGIT_RUN = re.compile(
    r"\+?\d(?:[\d .\-/()\u00a0\u202f\u2009_,:;|*+~'\"\u00b7\u2022\u200b-\u200d\u2060\ufeff]*\d)?"
)
# E.164 written without its +, standing alone (not inside a hash or an id): 33612345678.
_BARE_INTERNATIONAL = re.compile(r"(?<![\w+])\d{10,15}(?!\w)")


def _fixture_numbers():
    numbers = set()
    for path in Path(VAPI_PAYLOADS).glob("*.json"):
        numbers.update(re.findall(r"\+\d{8,15}", path.read_text(encoding="utf-8")))
    return numbers


def national_forms(e164):
    """The digits a number shows in any format: E.164 without +, national, significant number."""
    parsed = phonenumbers.parse(e164, None)
    nsn = phonenumbers.national_significant_number(parsed)
    return {e164.lstrip("+"), nsn}


# Numbers the suite sends on purpose; tests add theirs with `watch()`.
WATCHED = set()


def watch(*numbers):
    """Also look for these numbers (in every format) in what is swept."""
    for number in numbers:
        WATCHED.update(national_forms(number))


def random_id(prefix, length=12):
    """A random id (call, tool call) the sweep cannot take for a number: its digits follow a letter.

    A bare `uuid4().hex[:12]` is all digits once in 300 draws, and some of those are valid numbers.
    """
    return f"{prefix}-c{uuid.uuid4().hex[:length]}"


def full_numbers_in(text):
    """Every full phone number found in `text`, in any format (E.164, national, spaced, dotted)."""
    found = []
    for region in ("FR", "BE", "CH"):
        for match in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID):
            found.append(match.raw_string)
    for run in _DIGIT_RUN.findall(text):
        digits = re.sub(r"\D", "", run)
        if len(digits) >= 8 and any(form in digits for form in WATCHED):
            found.append(run)
    for run in _BARE_INTERNATIONAL.findall(text):
        try:
            number = phonenumbers.parse("+" + run, None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            found.append(run)
    return found


def assert_no_full_number(text, where="output"):
    """Fail when `text` holds a full phone number."""
    leaks = full_numbers_in(text)
    assert not leaks, f"full phone number in {where}: {json.dumps(leaks)[:200]}"


def assert_clean_exposition(exposition, allowed_labels, secrets=()):
    """The RGPD sweep of a Prometheus exposition (/metrics): no full number anywhere, none of
    `secrets` (call ids...), and every label value one of `allowed_labels[label name]`.

    Swept: every family's name and help, and every sample's name and labels. Not the sample
    values: numbers the client formats (a duration such as 0.004992366999431397 holds a run of
    digits shaped like a phone number by chance).
    """
    from prometheus_client.parser import text_string_to_metric_families

    texts = []
    for family in text_string_to_metric_families(exposition):
        texts += [family.name, family.documentation]
        for sample in family.samples:
            texts.append(sample.name)
            for name, value in sample.labels.items():
                texts += [name, value]
                if name == "le":  # a histogram's bucket bound
                    continue
                assert value in allowed_labels.get(name, ()), f"{sample.name} {name}={value!r}"
    swept = "\n".join(texts)
    assert_no_full_number(swept, "/metrics")
    shown = [secret for secret in secrets if secret in swept]
    assert not shown, f"in /metrics: {shown[:3]}"


watch(*(n for n in _fixture_numbers() if n not in ("+33180001234",)))
