"""The last step of every log line: whatever is shaped like a phone number, masked.

A second line of defence behind the explicit masking (mask_phone, last_digits), which stays the
rule. It must leave alone what operators and tests read: timestamps, ids, durations, addresses.
An id that holds a whole number is masked all the same (`call-0612345678`): a client chooses
its ids (call.id, tool call ids), and may put a caller's number there.
"""

import re

from backend.phones import is_whole_number

# What people and programs write between a number's digits: spaces (the no-break ones French
# typography and word processors put there too, and the invisible ones pasted text carries),
# dots and hyphens; underscores and commas too, but only right between two digits
# (06_12_34_56_78), not in a list ("5432, 12345, 6789").
_SPACES = " \u00a0\u202f\u2009\u200b\u200c\u200d\u2060\ufeff"
_SEPARATORS = _SPACES + ".-_,"
_LOOSE = re.escape(_SPACES + ".-")  # "-" escaped too: no range
# Digits with separators between, from the first digit of a run to its last: a plain scan, fast
# on the text of most lines. _masked_run then counts the digits (8 or more is phone-shaped) and
# tells a phone number from what only looks like one.
_DIGIT_RUN = re.compile(rf"(?<!\d)\d(?:[\d{_LOOSE}]|[_,](?=\d)){{6,}}\d(?!\d)")
_DECIMAL = re.compile(r"\d+[.,]\d+$")  # a decimal number: 1795686124.938, a duration
_NOT_NUMBERS = (
    # A date, of a timestamp (2026-11-24 16:28:12) or a name (backup_2026_11_24).
    re.compile(r"\d{4}([-_])\d\d\1\d\d(?=$|[ T,_])"),
    re.compile(r"\d{1,3}(?:\.\d{1,3}){3}$"),  # an IPv4 address
    _DECIMAL,
    re.compile(r"\d{8}-\d{4}-\d{4}-\d{4}-\d{12}$"),  # a uuid of digits alone
)
_DIGIT_GROUP = re.compile(r"\d+")
_DIGIT = re.compile(r"\d")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID_AROUND = 36  # characters of a uuid on either side of a run inside it


def _digit_count(run):
    return len(run) - sum(map(run.count, _SEPARATORS))


def _has_eight_digits(text):
    """The fast look first: a run of 8 digits or more, or nothing to mask (a uuid's runs of
    digits, "23-0697-4", are not enough)."""
    for match in _DIGIT_RUN.finditer(text):
        run = match.group()
        if _digit_count(run) >= 8:
            return True
    return False


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


_HEX = frozenset("0123456789abcdefABCDEF")


def _number_in_id(text, start, end, identifier=False):
    """True when the digits of text[start:end], a run inside an id or a word, are a whole
    phone number as written there.

    Inside a word of hex digits alone (a hash, a digest, a provider's id: CA8d91...159545062ee3)
    runs of digits come by chance, valid numbers among them (one sha256 digest in 170 holds a
    French number with its 0): left as they are, or ids and digests could not be matched.
    Elsewhere (call-33612345678, x33698761234y) E.164 without its + counts too, and in an id a
    client sent, a run not inside a word counts as a national number without its 0 as well
    (tc-612345678).
    """
    word_start, word_end = start, end
    while word_start > 0 and text[word_start - 1].isalnum():
        word_start -= 1
    while word_end < len(text) and text[word_end].isalnum():
        word_end += 1
    glued = word_start < start or word_end > end
    if glued and all(ch in _HEX for ch in text[word_start:word_end] if ch.isalnum()):
        return False
    if _in_uuid(text, start, end):
        return False
    digits = re.sub(r"\D", "", text[start:end])
    plus = start > 0 and text[start - 1] == "+"
    return is_whole_number(digits, plus, loose=identifier and not glued)


def _in_uuid(text, start, end):
    window = text[max(start - _UUID_AROUND, 0) : end + _UUID_AROUND]
    offset = max(start - _UUID_AROUND, 0)
    return any(
        m.start() + offset <= start and end <= m.end() + offset for m in _UUID.finditer(window)
    )


def _masked(run):
    keep_from = [digit.start() for digit in _DIGIT.finditer(run)][-2]
    return _DIGIT.sub("X", run[:keep_from]) + run[keep_from:]


def _masked_run(match):
    text, (start, end), run = match.string, match.span(), match.group()
    if _digit_count(run) < 8:
        return run
    for shape in _NOT_NUMBERS:
        if shape is _DECIMAL and _joined(text, start - 1, -1, ".-+"):
            continue  # not a decimal but a piece of an id: call.0612345678.2
        seen = shape.match(run)
        if seen:  # a date may be followed by more: look at the rest alone
            return run[: seen.end()] + mask_phone_shaped(run[seen.end() :])
    if _joined(text, start - 1, -1, ".-+") or _joined(text, end, 1, "-"):
        # Inside a word or an id (call-0612345678, CA8d91...159545062ee3, a uuid): masked only
        # when it holds a whole number as written, and not as a part of a uuid.
        last_space = max(map(run.rfind, _SPACES))
        if last_space > 0 and not _joined(text, start - 1, -1, ".-+"):
            # "06 12 34 56 78 9ab": a number may stand before the id the run ends in.
            head, tail = run[:last_space], run[last_space:]
            return mask_phone_shaped(head) + tail
        return _with_number_masked(text, start, end)
    return _masked(run)


def _with_number_masked(text, start, end, identifier=False):
    """text[start:end], a run inside an id or a word, with the longest whole number it holds
    masked: the run itself, or some of its digit groups (call_0612345678_2: a counter after
    the number). As it is when it holds none."""
    run = text[start:end]
    groups = [(m.start() + start, m.end() + start) for m in _DIGIT_GROUP.finditer(run)]
    for size in range(len(groups), 0, -1):
        for first in range(len(groups) - size + 1):
            span_start, span_end = groups[first][0], groups[first + size - 1][1]
            if sum(b - a for a, b in groups[first : first + size]) < 8:
                continue
            if _number_in_id(text, span_start, span_end, identifier):
                a, b = span_start - start, span_end - start
                return run[:a] + _masked(run[a:b]) + run[b:]
    return run


# What the runs above miss, looked for once they are masked: a number of 7 digits after its +
# (Niue's +683 4002), a + sent percent-encoded (%2B33612345678), an area code in parentheses
# before groups of digits ((415) 555-2671, +1 (415) 555-2671), and a French number's pairs
# between tabs, slashes, dashes or any other mark (06/12/34/56/78, 06–12–34–56–78, 06:12:34:56:78,
# 06·12·34·56·78). Narrow on purpose: these also stand between a date's parts, a time's, pids
# and ports, and ranges, never as five pairs from a 0.
# (A MAC address's pairs from a 0 are masked too: no pattern tells 06:12:34:56:78:ab from a
# number beside a field, and a masked MAC address costs nothing.)
_PAIR_SEPARATORS = "\t/\u2010\u2011\u2012\u2013\u2014\u2212:;|*+~'\"\u00b7\u2022"
_OTHER_SHAPES = re.compile(
    rf"(?:(?:\+\d{{1,3}}[{_LOOSE}]?)?\(\d{{2,4}}\)[{_LOOSE}]?\d{{2,4}}(?:[{_LOOSE}]\d{{2,4}})+"
    rf"|(?:\+|%2[Bb])\d[\d{_LOOSE}]{{5,}}\d"
    rf"|(?<!\d)0\d([{_PAIR_SEPARATORS}])\d\d(?:\1\d\d){{3}})"
    r"(?!\d)"
)
_DIGITS_END = re.compile(r"\d+")


def _masked_other(match):
    run = match.group()
    if run[0] not in "+%" or "(" in run:  # an area code, or pairs: shaped as numbers are
        return _masked(run) if sum(ch.isdigit() for ch in run) >= 8 else run
    # After a +: the longest whole number the run begins with (not a time zone, not what
    # follows the number: « +683 4002 12 »).
    prefix = run[:3] if run[0] == "%" else ""
    number = run[len(prefix) :]
    for end in reversed([m.end() for m in _DIGITS_END.finditer(number)]):
        digits = re.sub(r"\D", "", number[:end])
        if len(digits) < 7:
            break
        if is_whole_number(digits, plus=True):
            return prefix + _masked(number[:end]) + number[end:]
    return run


def mask_phone_shaped(text):
    """`text` with every run shaped like a phone number masked but its last two digits.

    Left as they are: dates, IPv4 addresses, decimal numbers, and runs inside a word or an id
    (a uuid, a hash) unless they are a whole phone number as written (0612345678, 33612345678).
    """
    if _has_eight_digits(text):
        text = _DIGIT_RUN.sub(_masked_run, text)
    if _OTHER_SHAPES.search(text):
        text = _OTHER_SHAPES.sub(_masked_other, text)
    return text


# Digits with at most one separator between each: a number inside an id. Other marks between
# a number's pairs (call-06:98:76:12:34) are masked by the line's rule for pairs: taken here
# too, they masked times and addresses in ids (job-17:12:26.703, 10.0.0.1:8080).
_ID_DIGIT_RUN = re.compile(rf"(?<!\d)\d(?:[{re.escape(_SEPARATORS)}/()]?\d){{7,}}(?!\d)")


def mask_identifier(value):
    """An id a client sent (call.id, a tool call's id, message.type) fit for a log line.

    Kept as it is, so lines about one call can be found, unless it holds a phone number: every
    run of 8 digits or more that reads as a valid number, even without its trunk 0
    (`tc-612345678`), is masked but its last two digits; then anything phone-shaped, as in
    any line (« 06  98  76  12  34 »). A uuid holds none.
    """
    if value.__class__ is not str or _UUID.fullmatch(value):
        return value

    def masked(match):
        return _with_number_masked(value, match.start(), match.end(), identifier=True)

    return mask_phone_shaped(_ID_DIGIT_RUN.sub(masked, value))


def _masked_value(value):
    if isinstance(value, str):
        return mask_phone_shaped(value)
    if isinstance(value, list | tuple):
        return [_masked_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked_value(item) for key, item in value.items()}
    return mask_phone_shaped(str(value))


_NEVER_MASKED = ("ts", "level")
# Values seen with nothing to mask: lines repeat them (a request's call id and tenant, event
# names, message types), and a set lookup costs a tenth of the look. Short ones only, bounded.
_CLEAN, _CLEAN_MAX, _CLEAN_LONGEST = set(), 4096, 128


def mask_fields(_logger, _method, line):
    """structlog processor: mask phone-shaped text in the line's values (not ts and level).

    Numbers (counts, durations, epoch times) are left alone: a phone number is always text here.
    """
    for key, value in line.items():
        if value.__class__ is str:
            if key in _NEVER_MASKED or value in _CLEAN or _UUID.fullmatch(value):
                continue  # a uuid (Vapi's ids) holds no number: mask_phone_shaped leaves it
            if (_DIGIT_RUN.search(value) and _has_eight_digits(value)) or _OTHER_SHAPES.search(
                value
            ):
                line[key] = mask_phone_shaped(value)
            elif len(value) <= _CLEAN_LONGEST:
                if len(_CLEAN) >= _CLEAN_MAX:
                    _CLEAN.clear()
                _CLEAN.add(value)
        elif value is not None and not isinstance(value, (int, float)):
            line[key] = _masked_value(value)
    return line
