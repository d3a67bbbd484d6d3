"""Ids a client sends (call.id, tool call ids, message.type) never put a whole number in a log line.

The suite's sweep (tests/conftest.py) reads every line as the call site made it, before the
last masking step: these lines must already be masked where they are logged.
"""

import json
import random
import re
import uuid

import pytest

from backend.log_mask import mask_fields, mask_identifier, mask_phone_shaped
from tests.leaks import full_numbers_in, watch

NUMBER = "+33698761234"
watch(NUMBER)
# A number as a client may put it in an id: every form the sweep knows.

IN_IDS = [
    "0698761234",
    "call-0698761234",
    "call_0698761234",
    "tc-+33698761234",
    "x33698761234y",
    "id.0033698761234",
    "06.98.76.12.34",
    "tool 06 98 76 12 34",
    "id/06/98/76/12/34",
    "(06)98761234",
    "tc-698761234",
    # No-break spaces (as word processors and French typography write them), underscores, commas.
    "06\u00a098\u00a076\u00a012\u00a034",
    "tc06\u202f98\u202f76\u202f12\u202f34",
    "06_98_76_12_34",
    "tool:06,98,76,12,34",
    # Tabs, en dashes, slashes between pairs, double spaces, a + percent-encoded.
    "06\t98\t76\t12\t34",
    "06\u201398\u201376\u201312\u201334",
    "n=06/98/76/12/34",
    "06  98  76  12  34",
    "tc-%2B33698761234",
    # A counter or a suffix after the number: the number is masked, not the whole run.
    "call_0698761234_2",
    "call-0698761234-2",
    "call.0698761234.2",
    "tc_33698761234_1",
    "tc-698761234-2",
    # Any mark between the digits (the console showed these whole).
    "call-06:98:76:12:34",
    "tc|06|98|76|12|34",
    "call-06\u200b98\u200b76\u200b12\u200b34",
    # A counter or an id beside the pairs, the same mark between (a review).
    "tc|06|98|76|12|34|1",
    "abc-06:98:76:12:34:1",
]


@pytest.mark.parametrize("value", IN_IDS)
def test_an_id_holding_a_number_is_masked_but_its_last_two_digits(value):
    masked = mask_identifier(value)
    assert full_numbers_in(masked) == [], masked
    # The number's last two digits stay, right after its masked ones; what follows stays too.
    kept = re.search(r"X[^0-9A-Za-z]{0,2}34(?!\d)", masked)
    assert kept and masked[kept.end() :] == value[kept.end() :], masked  # one X a digit


@pytest.mark.parametrize(
    "value",
    [
        "f60f6b23-0697-4e07-a137-2ca86f93a8da",
        "12345678-1234-4234-9234-123456789012",
        "call_fNpkMffSaTQqvvv7eP3ZXj6n",
        "status-update",
        "ack-c1234567890ab",
    ],
)
def test_an_id_without_a_number_is_left_as_it_is(value):
    assert mask_identifier(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "call-0698761234",
        "x33698761234y",
        "id.0033698761234",
        "call_0698761234_2",
        "call.0698761234.2",
        "0698761234_9ab",
        "06\u00a098\u00a076\u00a012\u00a034\u00a02e",
    ],
)
def test_every_line_masks_a_whole_number_inside_an_id(value):
    assert full_numbers_in(mask_phone_shaped(f"served {value} in 3 ms")) == []


@pytest.mark.parametrize(
    "text",
    [
        "port 5432, pid 12345, 6789",
        "[1, 2, 3, 4, 5, 6, 7, 8]",
        "2026-11-24,2026-11-25",
        "backup_2026_11_24.db",
        "took 1795686124.938 s",
        "took 1795686124,938 s",
        "2026-12-01T17:12:26.703Z",
    ],
)
def test_a_line_leaves_lists_dates_and_decimals_as_they_are(text):
    assert mask_phone_shaped(text) == text


def test_a_line_skips_uuids_as_the_mask_would_leave_them():
    """mask_fields does not look into a uuid (Vapi's ids): the mask itself leaves every one."""
    draw = random.Random(2026)
    for _ in range(20_000):
        value = str(uuid.UUID(int=draw.getrandbits(128)))
        digits_only = "".join(draw.choice("0123456789") if c != "-" else c for c in value)
        for candidate in (value, digits_only, value.upper()):
            assert mask_phone_shaped(candidate) == candidate
            assert mask_fields(None, None, {"call_id": candidate}) == {"call_id": candidate}


@pytest.mark.parametrize(
    "value, masked",
    [
        ("call-+6834002", "call-+XXXXX02"),  # Niue: 7 digits in all
        ("+690 7290", "+XXX XX90"),  # Tokelau
        ("+6834002 12ab", "+XXXXX02 12ab"),  # what follows the number is no part of it
        ("+1 (650) 253-0000", "+X (XXX) XXX-XX00"),
        ("(650) 253-0000", "(XXX) XXX-XX00"),
    ],
)
def test_numbers_shorter_than_a_run_or_with_an_area_code_are_masked(value, masked):
    assert mask_identifier(value) == masked
    assert mask_phone_shaped(f"served {value} in 3 ms") == f"served {masked} in 3 ms"
    assert mask_fields(None, None, {"call_id": value}) == {"call_id": masked}


@pytest.mark.parametrize(
    "text",
    [
        "Listening at: http://127.0.0.1:51029 (18776)",
        "2026-11-24T16:20:16+01:00",
        "le 24/11/2026 à 16:28",
        "+33 est l'indicatif, +1234 ne l'est pas",
        # Tabs, en dashes and slashes between a date's parts, pids, ports and ranges.
        "2026-12-01\t22:07:04\t18776\t8000",
        "pid\t18776\t8000",
        "2026-11-24\u20132026-12-01",
        "ports 8000\u20138100",
        "elapsed (1234) 567890 ms",
        "GET /api/v1/12/34/56/78",
    ],
)
def test_what_only_looks_like_those_numbers_is_left(text):
    assert mask_phone_shaped(text) == text


def test_a_provider_id_with_digits_inside_is_left_in_a_line():
    sid = "CA8d91b6fbc68eaaba9f2e159545062ee3"
    assert mask_phone_shaped(f"call {sid}") == f"call {sid}"


@pytest.mark.parametrize("value", IN_IDS)
def test_ids_holding_a_number_are_masked_in_every_line_a_call_logs(
    client, demo_headers, vapi_payload, log_events, value
):
    status = vapi_payload("status-update.in-progress")
    status["message"]["call"]["id"] = value
    assert client.post("/api/vapi/demo/webhook", json=status, headers=demo_headers).status_code
    odd_type = vapi_payload("status-update.in-progress")
    odd_type["message"]["type"] = f"status-{value}"
    odd_type["message"]["call"]["id"] = f"other-{value}"
    assert client.post("/api/vapi/demo/webhook", json=odd_type, headers=demo_headers).status_code
    tools = vapi_payload("tool-calls.string-arguments")
    tools["message"]["call"]["id"] = value
    tools["message"]["toolCallList"][0]["id"] = value
    answer = client.post("/api/vapi/demo/webhook", json=tools, headers=demo_headers)
    assert answer.status_code == 200 and answer.get_json()["results"][0]["toolCallId"] == value
    chat = vapi_payload("chat-completions.request")
    chat["call"]["id"] = value
    chat["stream"] = False
    answer = client.post("/api/vapi/demo/chat/completions", json=chat, headers=demo_headers)
    assert answer.status_code == 200
    lines = log_events()
    logged = {line.get("call_id") for line in lines} | {line.get("turn") for line in lines}
    logged |= {line.get("msg_type") for line in lines}
    assert mask_identifier(value) in logged
    assert full_numbers_in(json.dumps(lines, ensure_ascii=False)) == []


# Marks a client may put between a number's pairs (the console showed these ids whole).
OTHER_MARKS = [":", ";", "|", "*", "+", "~", "'", '"', "\u00b7", "\u200b", "\u200d", "\u2060"]


@pytest.mark.parametrize("mark", OTHER_MARKS, ids=lambda mark: f"U+{ord(mark):04X}")
def test_pairs_between_any_mark_are_masked_in_ids_and_lines(mark):
    pairs = mark.join(["06", "98", "76", "12", "34"])
    for masked in (
        mask_identifier(f"call-{pairs}"),
        mask_identifier(pairs),
        mask_phone_shaped(pairs),
        mask_phone_shaped(f"transferred to {pairs} at 12:34"),
        mask_fields(None, None, {"call_id": f"call-{pairs}"})["call_id"],
    ):
        assert re.sub(r"\D", "", masked) in ("34", "341234"), masked  # its last two digits


@pytest.mark.parametrize("value", ["tc|33698761234|1", "id*0698761234", "x:0698761234:2"])
def test_an_id_holding_a_number_between_other_marks_is_masked(value):
    assert re.sub(r"\D", "", mask_identifier(value)).startswith("34"), mask_identifier(value)


@pytest.mark.parametrize(
    "text",
    [
        "17:12:26.703 12:34:56",
        "fe80::1 2001:db8::8a2e:370:7334",
        "00:1a:2b:3c:4d:5e",
        "ratio 1:2, 3|4, a;b",
        "06:98:76:12",  # four pairs: no number
        "route 10:20:30:40:50",  # five pairs not from a 0
    ],
)
def test_other_marks_leave_times_addresses_and_short_runs_as_they_are(text):
    """In a line. An id a client sent is masked more readily: a run of digits with a mark
    between each is masked when its digits read as a number, whatever the marks."""
    assert mask_phone_shaped(text) == text
    assert mask_fields(None, None, {"detail": text}) == {"detail": text}


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-01T17:12:26.703Z",
        "00:1a:2b:3c:4d:5e",
        "fe80::1",
        "run:12:34",
        "job-17:12:26.703",
        "10.0.0.1:8080",
        "192.168.1.100:5432",
        "dur=1:23:45.678",
    ],
)
def test_other_marks_leave_ids_without_a_number_as_they_are(value):
    assert mask_identifier(value) == value


@pytest.mark.parametrize(
    "value, masked",
    [
        ("x:1:06:98:76:12:34", "x:1:XX:XX:XX:XX:34"),
        ("retry 2|06|98|76|12|34", "retry 2|XX|XX|XX|XX|34"),
        ("06|98|76|12|34|7 tries", "XX|XX|XX|XX|34|7 tries"),
        ("tc|06|98|76|12|34|20", "tc|XX|XX|XX|XX|34|20"),  # a MAC's shape only between colons
        ("retry 12|06|98|76|12|34", "retry 12|XX|XX|XX|XX|34"),
    ],
)
def test_pairs_beside_other_digits_and_the_same_mark_are_masked(value, masked):
    """Not a MAC address's six pairs: a counter or an id beside five pairs (a review)."""
    assert mask_identifier(value) == masked
    assert mask_phone_shaped(value) == masked


@pytest.mark.parametrize(
    "value, masked",
    [
        ("voice:06:12:34:56:78", "voice:XX:XX:XX:XX:78"),
        ("de:06:12:34:56:78", "de:XX:XX:XX:XX:78"),
        ("06:12:34:56:78:ab", "XX:XX:XX:XX:78:ab"),
        ("mac 08:00:27:12:34:56 up", "mac XX:XX:XX:XX:34:56 up"),
    ],
)
def test_pairs_between_colons_are_masked_even_shaped_as_a_mac_address(value, masked):
    """No pattern tells a MAC address from a number beside a field (« de: », « :ab »): a
    review found numbers left whole by the exception; a masked MAC address costs nothing."""
    assert mask_phone_shaped(value) == masked
    assert mask_identifier(value) == masked
