"""Who is calling and which tenant is called, read from every shape of Vapi body."""

import copy
import json
import random

import pytest

from backend.edge.errors import BadPayload
from backend.edge.messages import parse_chat_completion, parse_server_message
from backend.phones import TWILIO_SENTINELS, normalize_caller_number
from backend.phones.dialing import e164_if_valid
from backend.tenant_routing import (
    UnknownTenant,
    called_number_and_ids,
    extract_customer_phone_from_vapi_payload,
    tenant_called,
    tenant_named,
)
from backend.tenants.config import TenantDirectory, load_tenants_dir
from tests.paths import ROOT, VAPI_PAYLOADS

CALLER = "+33536495614"
CALL_ID = "f60f6b23-0697-4e07-a137-2ca86f93a8da"

# What each example payload carries: the caller number it yields (None: withheld or absent).
EXPECTED_CALLER = {
    "assistant-request": CALLER,
    "assistant.started": CALLER,
    "chat-completions.request": CALLER,
    "conversation-update": None,
    "end-of-call-report": CALLER,
    "speech-update": None,
    "status-update.ended": CALLER,
    "status-update.in-progress.fallback-customer-only": "+33261915432",
    "status-update.in-progress": CALLER,
    "status-update.in-progress.no-customer": None,
    "status-update.in-progress.webcall": None,
    "status-update.in-progress.withheld": None,
    "status-update.ringing": CALLER,
    "tool-calls": CALLER,
    "tool-calls.string-arguments": CALLER,
}


def parsed(body):
    """A body as the edge hands it on: a server message, or a chat completion without `message`."""
    is_server = isinstance(body, dict) and "message" in body
    parse = parse_server_message if is_server else parse_chat_completion
    return parse(json.dumps(body).encode())


def caller(body, *region):
    return extract_customer_phone_from_vapi_payload(parsed(body), *region)


def example_payloads():
    return sorted(path.stem for path in VAPI_PAYLOADS.glob("*.json"))


def test_every_example_payload_has_an_expectation():
    assert example_payloads() == sorted(EXPECTED_CALLER)


@pytest.mark.parametrize("name", sorted(EXPECTED_CALLER))
def test_example_payload_caller(name, vapi_payload):
    assert caller(vapi_payload(name)) == EXPECTED_CALLER[name]


def test_call_customer_number_comes_before_message_customer(vapi_payload):
    body = vapi_payload("status-update.in-progress")
    body["message"]["customer"]["number"] = "+33261915432"
    assert caller(body) == CALLER


def test_message_customer_when_call_has_no_customer(vapi_payload):
    body = vapi_payload("status-update.in-progress.fallback-customer-only")
    assert "customer" not in body["message"]["call"]
    assert caller(body) == "+33261915432"


def test_message_customer_when_call_customer_is_withheld(vapi_payload):
    body = vapi_payload("status-update.in-progress.withheld")
    body["message"]["customer"] = {"number": "+33261915432"}
    assert caller(body) == "+33261915432"


def test_chat_completions_body_has_no_message_wrapper(vapi_payload):
    body = vapi_payload("chat-completions.request")
    assert "message" not in body
    assert caller(body) == CALLER
    body["call"].pop("customer")
    body["customer"]["number"] = "+33261915432"
    assert caller(body) == "+33261915432"


def with_number(base, number):
    """`base` with this caller number at call.customer.number and customer.number."""
    body = copy.deepcopy(base)
    body["message"]["call"]["customer"] = {"number": number}
    body["message"]["customer"] = {"number": number}
    return body


WITHHELD = [
    "",
    "   ",
    "anonymous",
    "Anonymous",
    "ANONYMOUS",
    "restricted",
    "Restricted",
    "unknown",
    "UNKNOWN",
    "private",
    "Private",
    "unavailable",
    "UNAVAILABLE",
    " anonymous ",
    *sorted(TWILIO_SENTINELS),
    "sip:anonymous@sip.example.com",
    "sip:restricted@10.0.0.1;transport=udp",
    "sips:@sip.example.com",
    "sip:reception@sip.example.com",
    "12",
    "+33000000000",
    "+3353649561412345",
    "not a number",
    "06 12",
    "+",
    "x" * 200,
]


def test_twilio_sentinels_are_the_documented_ones():
    assert {"+266696687", "+7378742833", "+86282452253", "+2562533", "+8656696"} == set(
        TWILIO_SENTINELS
    )


@pytest.mark.parametrize("raw", WITHHELD)
def test_withheld_or_invalid_is_no_number(raw, vapi_payload):
    body = with_number(vapi_payload("status-update.in-progress"), raw)
    assert caller(body) is None
    assert caller(body, "BE") is None


def test_missing_customer_and_customer_without_number(vapi_payload):
    body = vapi_payload("status-update.in-progress.no-customer")
    assert caller(body) is None
    body["message"]["call"]["customer"] = {}
    body["message"]["customer"] = {"name": "Jean"}
    assert caller(body) is None
    body["message"]["call"]["customer"] = {"number": None}
    assert caller(body) is None


@pytest.mark.parametrize(
    "customers, expected",
    [
        ({"call": {"sipUri": "sip:+33536495614@pbx.example.fr"}}, CALLER),
        ({"message": {"sipUri": "sips:0536495614@pbx.example.fr;transport=tls"}}, CALLER),
        # A number wins over any SIP URI, whichever customer holds it.
        (
            {"call": {"sipUri": "sip:+33612345678@pbx.example.fr"}, "message": {"number": CALLER}},
            CALLER,
        ),
        ({"call": {"sipUri": "sip:accueil@pbx.example.fr"}}, None),  # a name, not a number
        ({"call": {"sipUri": "sip:anonymous@anonymous.invalid"}}, None),
    ],
    ids=["call-e164", "message-national", "number-first", "a-name", "anonymous"],
)
def test_a_sip_caller_s_number_is_read_from_its_uri(vapi_payload, customers, expected):
    body = vapi_payload("status-update.in-progress.no-customer")
    message = body["message"]
    for holder, customer in customers.items():
        (message["call"] if holder == "call" else message)["customer"] = customer
    assert caller(body) == expected


@pytest.mark.parametrize("call_type", ["webCall", "vapi.websocketCall"])
def test_web_call_has_no_number_even_with_a_customer(vapi_payload, call_type):
    body = vapi_payload("status-update.in-progress.webcall")
    body["message"]["call"]["type"] = call_type
    body["message"]["customer"] = {"number": CALLER}
    body["message"]["call"]["customer"] = {"number": CALLER}
    assert caller(body) is None
    body["message"]["call"]["type"] = "outboundPhoneCall"  # the number this call dialled
    assert caller(body) == CALLER


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("+33536495614", "FR", CALLER),
        ("+33 5 36 49 56 14", "FR", CALLER),
        ("0536495614", "FR", CALLER),
        ("05 36 49 56 14", "FR", CALLER),
        ("0536495614", "BE", None),  # not a Belgian number
        ("0470123456", "BE", "+32470123456"),
        ("+32470123456", "FR", "+32470123456"),
        ("sip:+33536495614@sip.example.com", "FR", CALLER),
        ("sips:0536495614@sip.example.com;user=phone", "FR", CALLER),
        ("SIP:+33536495614@10.0.0.1:5060", "BE", CALLER),
        ("tel:+33536495614", "FR", CALLER),
        ("0033536495614", "BE", CALLER),  # international prefix
        ("+330536495614", "FR", CALLER),  # trunk 0 kept after the country code
        ("+33 (0)5 36 49 56 14", "BE", CALLER),
        # Overseas France written nationally, as the speech parser reads it.
        ("0692123456", "FR", "+262692123456"),  # Réunion
        ("06 90 12 34 56", "FR", "+590690123456"),  # Guadeloupe
        ("0639012345", "FR", "+262639012345"),  # Mayotte
        ("0594301234", "FR", "+594594301234"),  # Guyane, a landline
        ("0596612345", "FR", "+596596612345"),  # Martinique: phonenumbers alone says +33
        ("0269612345", "FR", "+262269612345"),  # Mayotte, a landline: the same
        ("+33692123456", "FR", None),  # written with France's code: no such French number
        ("0692123456", "BE", None),
    ],
)
def test_numbers_normalise_to_e164_with_the_tenant_region(raw, region, expected, vapi_payload):
    body = with_number(vapi_payload("status-update.in-progress"), raw)
    assert caller(body, region) == expected
    assert normalize_caller_number(raw, region) == expected


def test_a_national_caller_id_reads_as_the_speech_parser_reads_its_digits():
    rng = random.Random(2026)
    numbers = [f"0{prefix}{rng.randrange(10**6):06d}" for prefix in range(100, 1000)] * 3
    for number in numbers:
        assert normalize_caller_number(number, "FR") == e164_if_valid(number, "FR"), number


@pytest.mark.parametrize("raw", [None, 33536495614, ["+33536495614"], {"n": 1}, True])
def test_normalize_ignores_what_is_not_text(raw):
    assert normalize_caller_number(raw) is None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.update(call=[]),
        lambda m: m.update(call="f60f"),
        lambda m: m["call"].update(customer="+33536495614"),
        lambda m: m["call"].update(customer=["+33536495614"]),
        lambda m: m["call"]["customer"].update(number=33536495614),
        lambda m: m["call"]["customer"].update(number=["+33536495614"]),
        lambda m: m.update(customer=33536495614),
        lambda m: m["customer"].update(number={"e164": "+33536495614"}),
        lambda m: m["call"].update(type=3),
    ],
)
def test_wrong_types_are_bad_payloads(mutate, vapi_payload):
    body = vapi_payload("status-update.in-progress")
    mutate(body["message"])
    with pytest.raises(BadPayload) as raised:
        caller(body)
    assert "536495614" not in str(raised.value)


@pytest.mark.parametrize("body", [[], "text", None, 3, [{"message": {}}]])
def test_a_body_that_is_not_an_object_is_a_bad_payload(body):
    with pytest.raises(BadPayload):
        caller(body)
    with pytest.raises(BadPayload):
        called_number_and_ids(parsed(body))


def test_call_id(vapi_payload):
    assert parsed(vapi_payload("status-update.in-progress")).call_id == CALL_ID
    assert parsed(vapi_payload("chat-completions.request")).call_id == CALL_ID
    assert parsed(vapi_payload("speech-update")).call_id is None
    for bad in ("", "x" * 129, 42):
        body = vapi_payload("status-update.in-progress")
        body["message"]["call"]["id"] = bad
        with pytest.raises(BadPayload):
            parsed(body)


# Shared-URL routing inputs: the called number and Vapi phone-number ids.


def test_called_number_and_ids_of_a_server_message(vapi_payload):
    called, ids = called_number_and_ids(parsed(vapi_payload("status-update.in-progress")))
    assert called == "+33180001234"
    assert ids == {"3ec13726-ecb5-421b-8dd9-03a7f56eeb91"}


def test_called_number_and_ids_of_a_chat_completions_body(vapi_payload):
    assert called_number_and_ids(parsed(vapi_payload("chat-completions.request"))) == (
        "+33180001234",
        {"3ec13726-ecb5-421b-8dd9-03a7f56eeb91"},
    )


def test_called_number_and_ids_collects_both_ids(vapi_payload):
    body = vapi_payload("status-update.in-progress")
    body["message"]["call"]["phoneNumberId"] = "pn-call"
    body["message"]["phoneNumber"] = {"id": "pn-number", "number": "+33 1 80 00 12 34"}
    assert called_number_and_ids(parsed(body)) == ("+33180001234", {"pn-call", "pn-number"})


@pytest.mark.parametrize("number", [None, "", "0180001234", "not a number"])
def test_called_number_unreadable_is_none(number, vapi_payload):
    body = vapi_payload("status-update.in-progress")
    body["message"]["phoneNumber"]["number"] = number
    called, ids = called_number_and_ids(parsed(body))
    assert called is None
    assert ids == {"3ec13726-ecb5-421b-8dd9-03a7f56eeb91"}


def test_web_call_has_no_routing_input(vapi_payload):
    assert called_number_and_ids(parsed(vapi_payload("status-update.in-progress.webcall"))) == (
        None,
        set(),
    )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.update(phoneNumber="+33180001234"),
        lambda m: m["phoneNumber"].update(number=33180001234),
        lambda m: m["phoneNumber"].update(id=7),
        lambda m: m["call"].update(phoneNumberId=["a"]),
    ],
)
def test_routing_input_of_the_wrong_type_is_a_bad_payload(mutate, vapi_payload):
    body = vapi_payload("status-update.in-progress")
    mutate(body["message"])
    with pytest.raises(BadPayload):
        called_number_and_ids(parsed(body))


@pytest.fixture
def shipped():
    """The shipped tenants' directory (tenants/)."""
    directory, _problems = load_tenants_dir(ROOT / "tenants")
    return directory


def test_a_per_tenant_url_names_its_tenant(shipped):
    assert tenant_named(shipped, "demo").id == "demo"
    with pytest.raises(UnknownTenant, match="unknown tenant") as refused:
        tenant_named(shipped, "nobody")
    assert (refused.value.route, refused.value.ids) == ("tenant", ("nobody",))


def test_the_shared_url_finds_the_tenant_called(shipped, vapi_payload):
    body = vapi_payload("status-update.in-progress")
    assert tenant_called(shipped, parsed(body)).id == "demo"
    body["message"]["phoneNumber"] = {"id": "pn-nobody", "number": "+33 1 99 99 99 99"}
    body["message"]["call"]["phoneNumberId"] = "pn-nobody"
    with pytest.raises(UnknownTenant, match="no tenant for this phone number") as refused:
        tenant_called(shipped, parsed(body))
    assert (refused.value.route, refused.value.ids) == ("shared", {"pn-nobody"})
    with pytest.raises(UnknownTenant):
        tenant_called(TenantDirectory([]), parsed(vapi_payload("status-update.in-progress")))


def test_payload_files_parse_as_json_objects():
    for path in VAPI_PAYLOADS.glob("*.json"):
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict), path.name
