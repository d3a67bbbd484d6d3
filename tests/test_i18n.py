"""Wording from the Babel catalogs: variants, their fallback to standard, regional overrides."""

import pytest
from babel.messages.pofile import read_po

from backend import PROJECT_ROOT, prompts
from backend.wording.catalogs import Catalogs

LOCALES = PROJECT_ROOT / "locales"

# The issue's `standard` sentences, word for word.
ISSUE_STANDARD = {
    prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID: (
        "J'ai un numéro qui se termine par {last_two}. C'est bien le vôtre ? Dites oui ou non."
    ),
    prompts.VOCAL_CONTACT_NO_CALLER_ID: (
        "Je n'ai pas votre numéro qui s'affiche. Pouvez-vous me le donner ?"
    ),
    prompts.VOCAL_CONTACT_CONFIRM_OK: "Parfait, c'est noté.",
    prompts.VOCAL_CONTACT_CONFIRM_NO: (
        "Pas de souci. Quel est le meilleur numéro pour vous joindre ?"
    ),
}


@pytest.fixture(scope="module")
def catalogs():
    loaded = Catalogs(LOCALES)
    assert loaded.problems == []
    return loaded


def po_entries(path):
    """{msgctxt: msgstr} read straight from a .po file, not through backend.wording."""
    with open(path, "rb") as handle:
        return {m.context: m.string for m in read_po(handle) if m.id and m.string}


@pytest.mark.parametrize("key", sorted(ISSUE_STANDARD))
def test_issue_standard_sentences_word_for_word(catalogs, key):
    assert catalogs.template(key, "fr_FR", "standard") == ISSUE_STANDARD[key]
    assert prompts.SOURCE_TEXT[key] == ISSUE_STANDARD[key]


def test_confirm_sentence_filled_with_last_two(catalogs):
    sentence = catalogs.sentence(
        prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID, "fr_FR", "standard", last_two="14"
    )
    assert sentence == (
        "J'ai un numéro qui se termine par 14. C'est bien le vôtre ? Dites oui ou non."
    )


def test_shipped_variants(catalogs):
    assert {"standard", "short", "warm"} <= catalogs.variants


@pytest.mark.parametrize(
    "key",
    [
        prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID,
        prompts.VOCAL_CONTACT_NO_CALLER_ID,
        prompts.VOCAL_CONTACT_CONFIRM_OK,
        prompts.VOCAL_CONTACT_CONFIRM_NO,
    ],
)
def test_each_variant_gives_its_own_sentence(catalogs, key):
    by_variant = {
        variant: catalogs.template(key, "fr_FR", variant)
        for variant in ("standard", "short", "warm")
    }
    assert len(set(by_variant.values())) == 3, by_variant
    for variant, file in (("short", "short.po"), ("warm", "warm.po")):
        assert by_variant[variant] == po_entries(LOCALES / "fr/LC_MESSAGES" / file)[key]


def test_sentence_missing_in_warm_falls_back_to_standard(catalogs):
    key = prompts.VOCAL_SERVICE_UNAVAILABLE
    assert key not in po_entries(LOCALES / "fr/LC_MESSAGES/warm.po"), "warm.po now has it"
    standard = catalogs.sentence(key, "fr_FR", "standard")
    assert standard == po_entries(LOCALES / "fr/LC_MESSAGES/messages.po")[key]
    assert catalogs.sentence(key, "fr_FR", "warm") == standard
    assert catalogs.sentence(key, "fr_FR", "short") != standard


def test_fr_be_overrides_confirm_ok_and_falls_back_to_fr(catalogs):
    overrides = po_entries(LOCALES / "fr_BE/LC_MESSAGES/messages.po")
    assert set(overrides) == {prompts.VOCAL_CONTACT_CONFIRM_OK}
    ok = catalogs.sentence(prompts.VOCAL_CONTACT_CONFIRM_OK, "fr_BE", "standard")
    assert ok == overrides[prompts.VOCAL_CONTACT_CONFIRM_OK]
    assert ok != catalogs.sentence(prompts.VOCAL_CONTACT_CONFIRM_OK, "fr_FR", "standard")
    for key in ISSUE_STANDARD:
        if key != prompts.VOCAL_CONTACT_CONFIRM_OK:
            assert catalogs.template(key, "fr_BE", "standard") == ISSUE_STANDARD[key]


def test_fr_be_with_a_variant_takes_the_variant_first(catalogs):
    # Lookup order: variant in fr_BE, variant in fr, then standard in fr_BE, standard in fr.
    warm = po_entries(LOCALES / "fr/LC_MESSAGES/warm.po")
    key = prompts.VOCAL_CONTACT_CONFIRM_OK
    assert catalogs.template(key, "fr_BE", "warm") == warm[key]
    assert catalogs.template(prompts.VOCAL_SERVICE_UNAVAILABLE, "fr_BE", "warm") == (
        ISSUE_STANDARD.get(prompts.VOCAL_SERVICE_UNAVAILABLE)
        or prompts.SOURCE_TEXT[prompts.VOCAL_SERVICE_UNAVAILABLE]
    )


def test_every_sentence_has_a_text_in_every_variant(catalogs):
    for key in prompts.SOURCE_TEXT:
        for locale in ("fr_FR", "fr_BE", "fr"):
            for variant in ("standard", "short", "warm"):
                assert catalogs.template(key, locale, variant).strip()


def write_po(path, entries):
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(
        f'msgctxt "{key}"\nmsgid "{prompts.SOURCE_TEXT[key]}"\nmsgstr "{text}"\n\n'
        for key, text in entries.items()
    )
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    path.write_text(header + body, encoding="utf-8")


def test_fallback_chain_on_a_catalog_of_our_own(tmp_path):
    ok, no = prompts.VOCAL_CONTACT_CONFIRM_OK, prompts.VOCAL_CONTACT_CONFIRM_NO
    write_po(tmp_path / "fr/LC_MESSAGES/messages.po", {ok: "fr standard ok", no: "fr standard no"})
    write_po(tmp_path / "fr/LC_MESSAGES/brief.po", {ok: "fr brief ok"})
    write_po(tmp_path / "fr_CH/LC_MESSAGES/messages.po", {no: "fr_CH standard no"})
    catalogs = Catalogs(tmp_path)
    assert catalogs.problems == []
    assert catalogs.variants == {"standard", "brief"}
    assert catalogs.template(ok, "fr_FR", "brief") == "fr brief ok"
    assert catalogs.template(no, "fr_FR", "brief") == "fr standard no"
    assert catalogs.template(no, "fr_CH", "brief") == "fr_CH standard no"
    assert catalogs.template(ok, "fr_CH", "standard") == "fr standard ok"
    # Not in any catalog: the source text of prompts.py.
    unavailable = prompts.VOCAL_SERVICE_UNAVAILABLE
    assert catalogs.template(unavailable, "fr_CH", "brief") == prompts.SOURCE_TEXT[unavailable]


def test_a_broken_entry_is_reported_and_not_served(tmp_path):
    key = prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID
    path = tmp_path / "fr/LC_MESSAGES/short.po"
    write_po(path, {key: "Votre numéro finit par {last_three} ?"})
    catalogs = Catalogs(tmp_path)
    (problem,) = catalogs.problems
    assert str(problem).startswith(f"{path}:")
    assert key in str(problem) and "placeholders" in str(problem)
    assert catalogs.template(key, "fr_FR", "short") == prompts.SOURCE_TEXT[key]
