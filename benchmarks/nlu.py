"""Accuracy and speed of backend.nlu against the usual do-it-yourself baseline.

Run from the repo root: `python benchmarks/nlu.py`. Bounded: a fixed number of
repeats per utterance of the corpus in tests/nlu_corpus. Baseline for phones:
text2num.alpha2digit then phonenumbers.PhoneNumberMatcher, last match; for yes/no:
the first word. Ours and the baseline are timed interleaved, utterance by utterance,
and our number-validity cache is cleared before every call: each utterance is timed
cold, as a new caller's number would be.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402
from text_to_num import alpha2digit  # noqa: E402  (dev-only dependency: text2num)

from backend.nlu import classify_answer, parse_phone  # noqa: E402
from backend.nlu.dialing import e164_if_valid  # noqa: E402

REPEATS = 15
CORPUS = ROOT / "tests" / "nlu_corpus"


def load(name: str) -> list[tuple[str, str]]:
    """(text, expected) rows of a corpus TSV; lines starting with "#" are comments."""
    rows = []
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            text, expected = line.split("\t")
            rows.append((text, expected))
    return rows


def baseline_phone(text: str) -> str | None:
    last = None
    for match in phonenumbers.PhoneNumberMatcher(alpha2digit(text, "fr"), "FR"):
        last = match.number
    if last is None:
        return None
    return phonenumbers.format_number(last, phonenumbers.PhoneNumberFormat.E164)


_FIRST_WORD = re.compile(r"[\w']+")


def baseline_answer(text: str) -> str:
    first = _FIRST_WORD.match(text.strip().lower())
    word = first.group() if first else ""
    if word in ("oui", "ouais"):
        return "yes"
    return "no" if word == "non" else "unclear"


def time_pair(
    ours: Callable[[str], object], baseline: Callable[[str], object], texts: list[str]
) -> tuple[float, float]:
    """Mean over utterances of the median time of one call, in µs, for both functions."""
    medians: tuple[list[float], list[float]] = ([], [])
    for text in texts:
        samples: tuple[list[float], list[float]] = ([], [])
        for _ in range(REPEATS):
            e164_if_valid.cache_clear()
            for func, out in ((ours, samples[0]), (baseline, samples[1])):
                start = time.perf_counter()
                func(text)
                out.append(time.perf_counter() - start)
        for median, out in zip(medians, samples, strict=True):
            median.append(statistics.median(out))
    return statistics.fmean(medians[0]) * 1e6, statistics.fmean(medians[1]) * 1e6


def score_phones(func: Callable[[str], str | None], rows: list[tuple[str, str]]) -> tuple:
    """(accuracy, wrong numbers, numbers where none was said)."""
    exact = wrong = invented = 0
    for text, expected in rows:
        got = func(text) or ""
        exact += got == expected
        wrong += bool(got and expected and got != expected)
        invented += bool(got and not expected)
    return exact / len(rows), wrong, invented


def score_answers(func: Callable[[str], str], rows: list[tuple[str, str]]) -> tuple:
    """(accuracy, false yes, false yes)."""
    results = [(func(text), expected) for text, expected in rows]
    exact = sum(got == expected for got, expected in results)
    false_yes = sum(got == "yes" != expected for got, expected in results)
    return exact / len(rows), false_yes, false_yes


def main() -> None:
    phones, answers = load("phones.tsv"), load("answers.tsv")
    for text, _ in phones:  # warm up imports and metadata on both sides
        parse_phone(text)
        baseline_phone(text)

    phone_us = time_pair(parse_phone, baseline_phone, [text for text, _ in phones])
    answer_us = time_pair(classify_answer, baseline_answer, [text for text, _ in answers])
    rows = [
        ("parse_phone", score_phones(parse_phone, phones), phone_us[0]),
        ("  baseline", score_phones(baseline_phone, phones), phone_us[1]),
        ("classify_answer", score_answers(classify_answer, answers), answer_us[0]),
        ("  baseline", score_answers(baseline_answer, answers), answer_us[1]),
    ]
    print(f"{len(phones)} phone utterances, {len(answers)} yes/no answers, {REPEATS} repeats")
    print(f"{'':16} {'accuracy':>8} {'wrong':>6} {'false+':>6} {'µs/utt':>8}")
    for name, (accuracy, wrong, false_pos), micros in rows:
        print(f"{name:16} {accuracy:8.1%} {wrong:6d} {false_pos:6d} {micros:8.1f}")
    print("phones: wrong = another number than said, false+ = a number where none was said")
    print("answers: wrong and false+ = false yes")
    print(f"speed, baseline time / ours: parse_phone {phone_us[1] / phone_us[0]:.2f}x, ", end="")
    print(f"classify_answer {answer_us[1] / answer_us[0]:.2f}x (above 1: ours is faster)")


if __name__ == "__main__":
    main()
