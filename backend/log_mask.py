"""The last step of every log line: whatever is shaped like a phone number, masked.

A second line of defence behind the explicit masking (mask_phone, last_digits), which stays the
rule. It must leave alone what operators and tests read: timestamps, ids, durations, addresses.
"""

import re

# Digits with spaces, dots or hyphens between, from a word boundary to another (a + before is
# kept as it is): a plain scan, fast on the text of most lines, that skips the digits inside a
# uuid or a hash. _masked_run then counts the digits (8 or more is phone-shaped) and tells a
# phone number from what only looks like one.
_DIGIT_RUN = re.compile(r"\b\d[\d .-]{6,}\d\b")
_NOT_NUMBERS = (
    re.compile(r"\d{4}-\d\d-\d\d(?=$|[ T])"),  # a date, of a timestamp: 2026-11-24 16:28:12
    re.compile(r"\d{1,3}(?:\.\d{1,3}){3}$"),  # an IPv4 address
    re.compile(r"\d+\.\d+$"),  # a decimal number: 1795686124.938, a duration
    re.compile(r"\d{8}-\d{4}-\d{4}-\d{4}-\d{12}$"),  # a uuid of digits alone
)
_DIGIT = re.compile(r"\d")


def _joined(text, index, step, joiners):
    """True when the character at `index` joins a run to a word or an id: a letter, a digit,
    `_`, or one of `joiners` with a letter or digit beyond it (`step`: away from the run)."""
    if not 0 <= index < len(text):
        return False
    char = text[index]
    if char.isalnum() or char == "_":
        return True
    beyond = index + step
    return char in joiners and 0 <= beyond < len(text) and text[beyond].isalnum()


def _masked_run(match):
    text, (start, end), run = match.string, match.span(), match.group()
    if len(run) - sum(map(run.count, " .-")) < 8:
        return run
    for shape in _NOT_NUMBERS:
        seen = shape.match(run)
        if seen:  # a date may be followed by more: look at the rest alone
            return run[: seen.end()] + mask_phone_shaped(run[seen.end() :])
    if _joined(text, start - 1, -1, ".-+"):  # call-0612345678, v+0612345678: inside an id
        return run
    if _joined(text, end, 1, "-"):  # 12345678-1234-4e07-...: a uuid; not 0612345678.yaml
        # "06 12 34 56 78 9ab": a number may still stand before the id the run ends in.
        head, space, tail = run.rpartition(" ")
        return mask_phone_shaped(head) + space + tail if space else run
    keep_from = [digit.start() for digit in _DIGIT.finditer(run)][-2]
    return _DIGIT.sub("X", run[:keep_from]) + run[keep_from:]


def mask_phone_shaped(text):
    """`text` with every run shaped like a phone number masked but its last two digits.

    Left as they are: runs inside a word or an id (a uuid, a hash), dates, IPv4 addresses
    and decimal numbers.
    """
    for match in _DIGIT_RUN.finditer(text):
        run = match.group()
        if len(run) - sum(map(run.count, " .-+")) >= 8:  # 8 digits: worth a closer look
            return _DIGIT_RUN.sub(_masked_run, text)
    return text


def _masked(value):
    if isinstance(value, str):
        return mask_phone_shaped(value)
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return mask_phone_shaped(str(value))


_NEVER_MASKED = ("ts", "level")


def mask_fields(_logger, _method, line):
    """structlog processor: mask phone-shaped text in the line's values (not ts and level).

    Numbers (counts, durations, epoch times) are left alone: a phone number is always text here.
    """
    for key, value in line.items():
        if value.__class__ is str:
            if key not in _NEVER_MASKED and _DIGIT_RUN.search(value):
                line[key] = mask_phone_shaped(value)
        elif value is not None and not isinstance(value, (int, float)):
            line[key] = _masked(value)
    return line
