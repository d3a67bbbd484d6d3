"""The contact step's opening decision, in plain Python: confirm a known caller ID or collect."""

import ast

import pytest

from backend import PROJECT_ROOT, prompts
from backend.engine import contact as engine
from backend.engine.contact import (
    CONTACT_COLLECT,
    CONTACT_CONFIRM,
    QUALIF_CONTACT,
    open_contact_step,
)

CALLER = "+33612345614"


def test_known_caller_is_confirmed_by_its_last_two_digits():
    decision = open_contact_step(CALLER)
    assert decision.state == CONTACT_CONFIRM
    assert decision.prompt == prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID
    assert decision.params == {"last_two": "14"}
    assert decision.context == QUALIF_CONTACT


@pytest.mark.parametrize("count, spoken", [(1, "4"), (2, "14"), (3, "6 14"), (4, "56 14")])
def test_known_caller_reads_the_tenant_s_digit_count(count, spoken):
    decision = open_contact_step(CALLER, count)
    assert decision.prompt == prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID
    assert decision.params == {"last_two": spoken}


def test_zero_spoken_digits_uses_the_sentence_without_digits():
    decision = open_contact_step(CALLER, 0)
    assert decision.state == CONTACT_CONFIRM
    assert decision.prompt == prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID_NO_DIGITS
    assert not any("14" in str(value) for value in decision.params.values())


@pytest.mark.parametrize("caller", [None, ""])
@pytest.mark.parametrize("count", [0, 2, 4])
def test_unknown_caller_is_asked_for_a_number(caller, count):
    decision = open_contact_step(caller, count)
    assert decision.state == CONTACT_COLLECT
    assert decision.prompt == prompts.VOCAL_CONTACT_NO_CALLER_ID
    assert decision.params == {}
    assert decision.context == QUALIF_CONTACT


def test_the_decision_never_holds_the_full_number_in_what_is_spoken():
    for count in range(5):
        decision = open_contact_step(CALLER, count)
        for value in decision.params.values():
            assert "612345614" not in str(value).replace(" ", "")


def test_every_opening_prompt_has_a_source_sentence_with_its_placeholders():
    for caller, count in ((CALLER, 2), (CALLER, 0), (None, 2)):
        decision = open_contact_step(caller, count)
        text = prompts.SOURCE_TEXT[decision.prompt]
        assert text.format(**decision.params)


# What the engine and the French understanding may import from the project: plain Python only.
ENGINE_MAY_IMPORT = (
    "backend.engine",
    "backend.phones",
    "backend.prompts",
    "backend.privacy.masking",
)


def test_engine_imports_no_flask_and_no_database():
    files = sorted((PROJECT_ROOT / "backend" / "engine").rglob("*.py"))
    assert {f.name for f in files} >= {"contact.py", "conversation.py", "phone.py", "answers.py"}
    for path in files:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: relative import"
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        tops = {name.split(".")[0] for name in imported}
        assert not tops & {"flask", "flask_sqlalchemy", "sqlalchemy", "werkzeug"}, path.name
        ours = {name for name in imported if name.split(".")[0] == "backend"}
        assert all(name.startswith(ENGINE_MAY_IMPORT) for name in ours), (path.name, ours)
    assert engine.open_contact_step is open_contact_step
