"""Accuracy and speed of backend.engine.nlu against a baseline given the same glue.

    python benchmarks/nlu.py [--generated 20000] [--repeats 15] [--seed 2026]

Three parts, each printing ours and the baseline side by side, from the same run:
1. the corpus in tests/nlu_corpus, the rows the code was tuned on apart from the held-out rows
   (those below the file's `# --- held out` line, written by another engineer after the code);
2. the time per utterance on that corpus, ours and the baseline interleaved utterance by
   utterance, our number-validity cache cleared before every call (each utterance is timed
   cold, as a new caller's number would be);
3. French numbers generated at random (seeded: the same ones every run) and dictated in pairs
   in three ways: words with their hyphens, commas between pairs, no punctuation at all.

Baseline for phone numbers: `text2num.alpha2digit` then `phonenumbers.PhoneNumberMatcher`, given
the glue our parser has around its own reading of numbers (`baseline_phone` lists it). Not given,
being what the parser itself understands and so what is compared: fillers inside a number
(« zéro six euh douze »), corrections (« non pardon »), « double zéro », the article « un »
before a number, the two readings of « soixante dix », abandoned starts (« 06 12... 06 12 34
56 78 »), a number said twice back to back, and the rule that a national number starts with
its 0 (phonenumbers takes « 6 12 34 56 78 » for a number).
Baseline for yes/no: the first word (« oui », « ouais », « non »).

Timing figures move with what else runs on the machine: compare the ratio in one run, not runs.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType  # noqa: E402
from text_to_num import alpha2digit  # noqa: E402  (dev-only dependency: text2num)

from backend.engine.nlu import classify_answer, parse_phone  # noqa: E402
from backend.phones import OVERSEAS  # noqa: E402
from backend.phones.dialing import e164_if_valid  # noqa: E402  (only to clear its cache)

CORPUS = ROOT / "tests" / "nlu_corpus"
# The line that starts the held-out rows of a corpus file: every row below it is held out.
HELD_OUT_MARK = "# --- held out"
REPEATS = 15
GENERATED = 20_000
SEED = 2026


@dataclass(frozen=True)
class Row:
    text: str
    expected: str  # E.164 or "" for phones; yes, no or unclear for answers
    held_out: bool


def load(name: str) -> list[Row]:
    """Rows of a corpus TSV (text, expected); lines starting with "#" are comments, and the
    one starting with HELD_OUT_MARK makes every row after it a held-out row."""
    rows, held_out, marks = [], False, 0
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        if line.startswith(HELD_OUT_MARK):
            held_out, marks = True, marks + 1
        elif not line.startswith("#"):
            text, expected = line.split("\t")
            rows.append(Row(text, expected, held_out))
    if marks != 1:
        raise ValueError(f"{name}: {marks} lines start with {HELD_OUT_MARK!r}, expected one")
    return rows


# --- The phone baseline and its glue --------------------------------------------------------

_GEOGRAPHIC = {
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
# French overseas regions that share the French 10-digit national plan, in the order our
# parser tries them (Saint-Pierre-et-Miquelon is left out).
_OVERSEAS_CODES = [(r, phonenumbers.country_code_for_region(r)) for r in OVERSEAS["FR"]]
_NOT_DIGIT = re.compile(r"\D")
_ZERO = re.compile(r"\bzero\b")
_PLUS = re.compile(r"\bplus\s+(?=\d)")
# Punctuation STT writes between digit groups (« 06, 12, 34 », « 06... 12 »): one space.
_BETWEEN_GROUPS = re.compile(r"(?<=\d)\s*[.,;:!?…/-]+\s*(?=\d)")


def _national_e164(national: str) -> str | None:
    """E.164 of a French national number « 0X XX XX XX XX », overseas regions included.

    phonenumbers reads every 0XXXXXXXXX dialled from France as +33, and finds no valid
    +33 number in 0692 (Réunion) or 0590 (Guadeloupe). As our parser does: a French
    number that is not a fixed line or mobile stays French (08, 09); otherwise an overseas
    fixed line or mobile wins, then France, then any other overseas number type.
    """
    nsn = _NOT_DIGIT.sub("", national)[1:]  # after the trunk 0
    if not nsn or nsn[0] == "0":
        return None
    french = PhoneNumber(country_code=33, national_number=int(nsn))
    french_valid = phonenumbers.is_valid_number_for_region(french, "FR")
    if french_valid and phonenumbers.number_type(french) not in _GEOGRAPHIC:
        return f"+33{nsn}"
    overseas = [
        (region, PhoneNumber(country_code=code, national_number=int(nsn)))
        for region, code in _OVERSEAS_CODES
    ]
    valid = [n for region, n in overseas if phonenumbers.is_valid_number_for_region(n, region)]
    geographic = [n for n in valid if phonenumbers.number_type(n) in _GEOGRAPHIC]
    found = geographic[:1] or ([french] if french_valid else []) or valid[:1]
    return f"+{found[0].country_code}{nsn}" if found else None


def baseline_phone(text: str) -> str | None:
    """text2num then phonenumbers, with the glue our parser has:

    - « zéro »: lowercased, and « zero » (STT often drops the accent) read as « zéro »,
      which text2num knows only with its accent;
    - « plus »: « plus 33 » is +33;
    - punctuation between digit groups (« zéro six, douze, » gives « 06, 12, ») is a space;
    - overseas regions: a national number is resolved as `_national_e164` says;
    - the same policy: exactly one distinct valid number in the utterance, else None.
    """
    digits = alpha2digit(_ZERO.sub("zéro", text.lower()), "fr")
    digits = _BETWEEN_GROUPS.sub(" ", _PLUS.sub("+", digits))
    found = set()
    # POSSIBLE, not the default VALID: VALID would drop 0692... as an invalid +33 number
    # before the overseas glue could see it; validity is checked just below instead.
    for match in phonenumbers.PhoneNumberMatcher(digits, "FR", phonenumbers.Leniency.POSSIBLE):
        raw = match.raw_string.lstrip("(")
        if raw.startswith("0") and not raw.startswith("00"):
            number = _national_e164(raw)
        elif phonenumbers.is_valid_number(match.number):
            number = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
        else:
            number = None
        if number:
            found.add(number)
    return found.pop() if len(found) == 1 else None


_FIRST_WORD = re.compile(r"[\w']+")


def baseline_answer(text: str) -> str:
    first = _FIRST_WORD.match(text.strip().lower())
    word = first.group() if first else ""
    if word in ("oui", "ouais"):
        return "yes"
    return "no" if word == "non" else "unclear"


# --- Scoring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    rows: int
    exact: int
    wrong: int  # phones: another number than said; answers: a yes where none was meant
    invented: int | None  # phones: a number where none was said (None for answers)

    @property
    def accuracy(self) -> float:
        return self.exact / self.rows


def score_phones(func: Callable[[str], str | None], rows: list[Row]) -> Score:
    exact = wrong = invented = 0
    for row in rows:
        got = func(row.text) or ""
        exact += got == row.expected
        wrong += bool(got and row.expected and got != row.expected)
        invented += bool(got and not row.expected)
    return Score(len(rows), exact, wrong, invented)


def score_answers(func: Callable[[str], str], rows: list[Row]) -> Score:
    results = [(func(row.text), row.expected) for row in rows]
    exact = sum(got == expected for got, expected in results)
    false_yes = sum(got == "yes" != expected for got, expected in results)
    return Score(len(rows), exact, false_yes, None)


# The four functions compared: (name, ours or baseline, corpus file, scorer).
COMPARED = (
    ("parse_phone", parse_phone, "phones.tsv", score_phones),
    ("baseline", baseline_phone, "phones.tsv", score_phones),
    ("classify_answer", classify_answer, "answers.tsv", score_answers),
    ("first word", baseline_answer, "answers.tsv", score_answers),
)
# The sets reported, by the held_out values of their rows.
SETS = {"tuned": (False,), "held out": (True,), "all": (False, True)}


def split(rows: list[Row]) -> dict[str, list[Row]]:
    return {name: [row for row in rows if row.held_out in held] for name, held in SETS.items()}


def corpus_scores() -> dict[tuple[str, str], Score]:
    """{(function name, set): Score} on the corpus: the accuracy part, no timing."""
    scores = {}
    for name, func, corpus, scorer in COMPARED:
        for set_name, rows in split(load(corpus)).items():
            scores[name, set_name] = scorer(func, rows)
    return scores


def time_pair(
    ours: Callable[[str], object], baseline: Callable[[str], object], text: str, repeats: int
) -> tuple[float, float]:
    """Median time of one call on `text`, in µs, for both functions, calls interleaved."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        e164_if_valid.cache_clear()
        for func, out in ((ours, samples[0]), (baseline, samples[1])):
            start = time.perf_counter()
            func(text)
            out.append(time.perf_counter() - start)
    return statistics.median(samples[0]) * 1e6, statistics.median(samples[1]) * 1e6


def corpus_timings(repeats: int) -> dict[tuple[str, str], float]:
    """{(function name, set): mean over the set's utterances of the median µs of one call}."""
    timings = {}
    for (ours, our_func, corpus, _), (base, base_func, _, _) in (COMPARED[:2], COMPARED[2:]):
        rows = load(corpus)
        for row in rows:  # warm up imports and metadata on both sides
            our_func(row.text)
            base_func(row.text)
        timed = [(row, time_pair(our_func, base_func, row.text, repeats)) for row in rows]
        for set_name, held in SETS.items():
            medians = [micros for row, micros in timed if row.held_out in held]
            timings[ours, set_name] = statistics.fmean(mine for mine, _ in medians)
            timings[base, set_name] = statistics.fmean(theirs for _, theirs in medians)
    return timings


# --- Generated numbers dictated in pairs ----------------------------------------------------

_UNITS = "zéro un deux trois quatre cinq six sept huit neuf".split()
_TEENS = "dix onze douze treize quatorze quinze seize dix-sept dix-huit dix-neuf".split()
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


def french_pair(n: int) -> str:
    """00-99 as a French caller says a pair, with the usual hyphens (« zéro cinq »,
    « soixante et onze »)."""
    if n < 10:
        return f"zéro {_UNITS[n]}"
    if n < 20:
        return _TEENS[n - 10]
    if n < 70:
        tens, unit = divmod(n, 10)
        if unit == 0:
            return _TENS[tens]
        return f"{_TENS[tens]} et un" if unit == 1 else f"{_TENS[tens]}-{_UNITS[unit]}"
    if n < 80:
        return "soixante et onze" if n == 71 else f"soixante-{_TEENS[n - 70]}"
    if n == 80:
        return "quatre-vingts"
    rest = n - 80
    return f"quatre-vingt-{_UNITS[rest] if rest < 10 else _TEENS[rest - 10]}"


def dictate(national: str, style: str) -> str:
    """« 0612345678 » said in pairs: « zéro six » then four pairs, in `style`:
    "hyphens" (French spelling), "commas" (a comma after each pair, no hyphens), "bare"."""
    pairs = [french_pair(int(national[k : k + 2])) for k in range(0, 10, 2)]
    if style == "hyphens":
        return " ".join(pairs)
    unhyphenated = [pair.replace("-", " ") for pair in pairs]
    return (", " if style == "commas" else " ").join(unhyphenated)


STYLES = ("hyphens", "commas", "bare")
# Where generated numbers come from, in percent: metropolitan France (fixed lines 01-05, mobiles
# 06-07, 09 numbers), then each overseas region's fixed lines and mobiles (20 % in all), each in
# the range of phonenumbers' example number for it (0262, 0692, 0269, 0639, 0590, 0690...).
# A +33 number that an overseas region also claims (0269...) is redrawn: its reading is moot.
_SOURCES = [
    ("FR", PhoneNumberType.FIXED_LINE, 35),
    ("FR", PhoneNumberType.MOBILE, 35),
    ("FR", PhoneNumberType.VOIP, 10),
]
_SOURCES += [
    (region, kind, 2)
    for region in ("RE", "YT", "GP", "MQ", "GF")
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE)
]


_EITHER = PhoneNumberType.FIXED_LINE_OR_MOBILE  # where a region's two ranges overlap


def generate_numbers(count: int, seed: int) -> list[tuple[str, str]]:
    """`count` distinct (national « 0XXXXXXXXX », E.164) pairs drawn from _SOURCES, each
    valid for phonenumbers as its source's region and number type."""
    rng = random.Random(seed)
    first_digits = {
        PhoneNumberType.FIXED_LINE: "12345",
        PhoneNumberType.MOBILE: "67",
        PhoneNumberType.VOIP: "9",
    }
    prefixes = {}
    for region, kind, _ in _SOURCES:
        if region == "FR":
            prefixes[region, kind] = ["0" + digit for digit in first_digits[kind]]
        else:  # the range of the example number: its first digits
            example = phonenumbers.example_number_for_type(region, kind)
            prefixes[region, kind] = ["0" + phonenumbers.national_significant_number(example)[:3]]
    weights = [weight for _, _, weight in _SOURCES]
    numbers: dict[str, str] = {}
    while len(numbers) < count:
        region, kind, _ = rng.choices(_SOURCES, weights)[0]
        while True:  # draw from this source until valid, so that the weights hold
            prefix = rng.choice(prefixes[region, kind])
            national = prefix + "".join(rng.choices("0123456789", k=10 - len(prefix)))
            number = phonenumbers.parse(national, region)
            e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
            if (
                phonenumbers.is_valid_number_for_region(number, region)
                and phonenumbers.number_type(number) in (kind, _EITHER)
                and _national_e164(national) == e164
            ):
                numbers[national] = e164
                break
    return list(numbers.items())


def generated_scores(count: int, seed: int) -> dict[tuple[str, str], Score]:
    """{(function name, style): Score} on `count` generated numbers in each style."""
    numbers = generate_numbers(count, seed)
    scores = {}
    for style in STYLES:
        rows = [Row(dictate(national, style), e164, False) for national, e164 in numbers]
        for name, func in (("parse_phone", parse_phone), ("baseline", baseline_phone)):
            scores[name, style] = score_phones(func, rows)
    return scores


# --- Report --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generated", type=int, default=GENERATED, help="numbers per style")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed calls per utterance")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the generated numbers")
    args = parser.parse_args()

    scores = corpus_scores()
    timings = corpus_timings(args.repeats)
    print("Corpus (tests/nlu_corpus), tuned rows apart from held-out rows;", end=" ")
    print(f"µs: mean of the median of {args.repeats} calls")
    print("wrong: another number than said (phones), a false yes (answers);", end=" ")
    print("invented: a number where none was said")
    print(f"{'':16} {'set':9} {'rows':>5} {'accuracy':>8} {'wrong':>6} {'invented':>8} {'µs':>7}")
    for name, *_ in COMPARED:
        for set_name in SETS:
            score = scores[name, set_name]
            invented = "-" if score.invented is None else str(score.invented)
            print(
                f"{name:16} {set_name:9} {score.rows:5d} {score.accuracy:8.1%} {score.wrong:6d}"
                f" {invented:>8} {timings[name, set_name]:7.1f}"
            )
    phone_ratio = timings["baseline", "all"] / timings["parse_phone", "all"]
    answer_ratio = timings["first word", "all"] / timings["classify_answer", "all"]
    print(f"speed, baseline time / ours: parse_phone {phone_ratio:.2f}x,", end=" ")
    print(f"classify_answer {answer_ratio:.2f}x (above 1: ours is faster)")

    generated = generated_scores(args.generated, args.seed)
    print()
    print(f"{args.generated} generated French numbers (seed {args.seed}, 20 % overseas),", end=" ")
    print("dictated in pairs three ways:")
    print(
        "hyphens « soixante-dix-huit », commas « soixante dix huit, », bare « soixante dix huit »;"
    )
    print("missed: no number returned")
    print(f"{'':16} {'style':9} {'found':>8} {'wrong':>6} {'missed':>6}")
    for name in ("parse_phone", "baseline"):
        for style in STYLES:
            score = generated[name, style]
            missed = score.rows - score.exact - score.wrong
            print(f"{name:16} {style:9} {score.accuracy:8.2%} {score.wrong:6d} {missed:6d}")


if __name__ == "__main__":
    main()
