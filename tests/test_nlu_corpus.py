"""Scores the NLU on the transcribed-caller corpus and asserts the product targets.

Run with `pytest -s tests/test_nlu_corpus.py` to see the figures.
"""

from __future__ import annotations

from pathlib import Path

import phonenumbers

from backend.engine.nlu import classify_answer, parse_phone

CORPUS = Path(__file__).parent / "nlu_corpus"


def load(name: str) -> list[tuple[str, str]]:
    """(text, expected) rows of a corpus TSV; lines starting with "#" are comments."""
    rows = []
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        text, expected = line.split("\t")
        rows.append((text, expected))
    return rows


def test_corpus_is_big_enough_and_well_formed():
    phones, answers = load("phones.tsv"), load("answers.tsv")
    assert len(phones) + len(answers) >= 300
    for _, expected in phones:
        if expected:
            assert phonenumbers.is_valid_number(phonenumbers.parse(expected)), expected
    assert {expected for _, expected in answers} == {"yes", "no", "unclear"}


def test_phone_corpus_targets():
    rows = load("phones.tsv")
    wrong, invented, missed = [], [], []
    for text, expected in rows:
        got = parse_phone(text) or ""
        if got == expected:
            continue
        if not expected:
            invented.append((text, got))
        elif got:
            wrong.append((text, got, expected))
        else:
            missed.append((text, expected))
    exact = len(rows) - len(wrong) - len(invented) - len(missed)
    accuracy = exact / len(rows)
    print(
        f"\nparse_phone: {exact}/{len(rows)} exact ({accuracy:.1%}), "
        f"wrong numbers {len(wrong)}, numbers where none was said {len(invented)}, "
        f"missed {len(missed)}"
    )
    report = [f"WRONG {t!r}: got {g}, expected {e}" for t, g, e in wrong]
    report += [f"INVENTED {t!r}: got {g}" for t, g in invented]
    report += [f"MISSED {t!r}: expected {e}" for t, e in missed]
    print("\n".join(report))
    assert not wrong, report
    assert not invented, report
    assert accuracy >= 0.98, report


def test_answer_corpus_targets():
    rows = load("answers.tsv")
    false_yes, errors = [], []
    for text, expected in rows:
        got = classify_answer(text)
        if got != expected:
            errors.append(f"{text!r}: got {got}, expected {expected}")
            if got == "yes":
                false_yes.append(errors[-1])
    accuracy = 1 - len(errors) / len(rows)
    print(
        f"\nclassify_answer: {len(rows) - len(errors)}/{len(rows)} ({accuracy:.1%}), "
        f"false yes {len(false_yes)}"
    )
    print("\n".join(errors))
    assert not false_yes, false_yes
    assert accuracy >= 0.97, errors
