"""benchmarks/nlu.py: its baseline's glue works, its accuracy part runs, and the README's
"Understanding French" table says what it prints. Timing figures are never asserted."""

from __future__ import annotations

import re

import phonenumbers
import pytest

from benchmarks import nlu
from tests.paths import ROOT


@pytest.mark.parametrize(
    "text, expected",
    [
        # « zéro » without its accent, and upper case.
        ("zero six douze trente quatre cinquante six soixante dix huit", "+33612345678"),
        ("ZÉRO SIX DOUZE TRENTE-QUATRE CINQUANTE-SIX SOIXANTE-DIX-HUIT", "+33612345678"),
        # « plus » for "+".
        (
            "plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit",
            "+33612345678",
        ),
        # Punctuation between pairs.
        ("Zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit.", "+33612345678"),
        (
            "zéro six... douze... trente-quatre... cinquante-six... soixante-dix-huit",
            "+33612345678",
        ),
        # Overseas regions dialled nationally; a French 08 number stays French.
        ("06 92 12 34 56", "+262692123456"),
        ("05 90 20 12 34", "+590590201234"),
        ("zéro six quatre-vingt-seize vingt douze trente-quatre", "+596696201234"),
        ("08 00 12 34 56", "+33800123456"),
        # Exactly one distinct number: the same one twice is that one, two are none.
        ("06 12 34 56 78, je répète, 06 12 34 56 78", "+33612345678"),
        ("06 12 34 56 78 ou 07 81 23 45 67", None),
        ("06 12 34 56", None),
    ],
)
def test_the_baseline_has_the_glue_our_parser_has(text, expected):
    assert nlu.baseline_phone(text) == expected


def test_held_out_rows_are_those_below_the_mark():
    for corpus, tuned, held_out in (("phones.tsv", 492, 178), ("answers.tsv", 802, 249)):
        sets = nlu.split(nlu.load(corpus))
        assert (len(sets["tuned"]), len(sets["held out"])) == (tuned, held_out), corpus
        lines = (nlu.CORPUS / corpus).read_text(encoding="utf-8").splitlines()
        after_mark = lines[
            next(i for i, line in enumerate(lines) if line.startswith("# --- held")) :
        ]
        assert [row.text for row in sets["held out"]] == [
            line.split("\t")[0] for line in after_mark if not line.startswith("#")
        ]


def readme_understanding_table() -> dict[tuple[str, str], tuple[str, str, str, str]]:
    """{(function, set): (rows, accuracy, wrong, invented)} from the README's table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Understanding French**", 1)[1].split("\n\n**", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        if len(cells) == 7 and cells[1] in nlu.SETS:
            table[cells[0], cells[1]] = tuple(cells[2:6])
    return table


def test_the_readme_table_is_what_the_benchmark_prints():
    scores = nlu.corpus_scores()
    table = readme_understanding_table()
    assert len(table) == 8, "the README's table: 4 functions x (tuned, held out)"
    for (name, set_name), (rows, accuracy, wrong, invented) in table.items():
        score = scores[name, set_name]
        printed = (
            str(score.rows),
            f"{score.accuracy:.1%}".replace("%", " %"),
            str(score.wrong),
            "" if score.invented is None else str(score.invented),
        )
        assert (rows, accuracy, wrong, invented) == printed, (
            f"README row {name} {set_name} says {(rows, accuracy, wrong, invented)}, "
            f"benchmarks/nlu.py prints {printed}: rerun it and update the README"
        )
    # Ours never gives a wrong number or a false yes on the corpus, tuned or held out.
    for name in ("parse_phone", "classify_answer"):
        for set_name in nlu.SETS:
            assert scores[name, set_name].wrong == 0
            assert scores[name, set_name].invented in (0, None)


@pytest.mark.parametrize(
    "value, words",
    [
        (5, "zéro cinq"),
        (21, "vingt et un"),
        (34, "trente-quatre"),
        (71, "soixante et onze"),
        (78, "soixante-dix-huit"),
        (80, "quatre-vingts"),
        (81, "quatre-vingt-un"),
        (91, "quatre-vingt-onze"),
        (99, "quatre-vingt-dix-neuf"),
    ],
)
def test_pairs_are_said_as_a_french_caller_says_them(value, words):
    assert nlu.french_pair(value) == words


def test_generated_numbers_are_valid_and_dictated_in_three_ways():
    numbers = nlu.generate_numbers(300, seed=1)
    assert len(set(numbers)) == 300
    for national, e164 in numbers:
        assert phonenumbers.is_valid_number(phonenumbers.parse(e164)), e164
        assert national[1:] == e164[-9:] and re.fullmatch(r"0[1-9]\d{8}", national)
    assert any(not e164.startswith("+33") for _, e164 in numbers), "overseas included"
    assert nlu.generate_numbers(300, seed=1) == numbers, "seeded: the same every run"
    assert [nlu.dictate("0612345678", style) for style in nlu.STYLES] == [
        "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
        "zéro six, douze, trente quatre, cinquante six, soixante dix huit",
        "zéro six douze trente quatre cinquante six soixante dix huit",
    ]
    scores = nlu.generated_scores(300, seed=1)
    assert {name for name, _ in scores} == {"parse_phone", "baseline"}
    assert all(score.rows == 300 for score in scores.values())
    assert all(scores["parse_phone", style].wrong == 0 for style in nlu.STYLES)
