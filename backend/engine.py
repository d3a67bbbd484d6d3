"""The contact step's decisions. Plain Python: data in, decision out; no Flask, no database."""

from dataclasses import dataclass, field

from . import prompts
from .masking import spoken_digits

QUALIF_CONTACT = "QUALIF_CONTACT"
CONTACT_CONFIRM = "CONTACT_CONFIRM"
CONTACT_COLLECT = "CONTACT_COLLECT"
CONTACT_CONFIRMED = "CONTACT_CONFIRMED"


@dataclass(frozen=True)
class Decision:
    """What the agent does next: the state it enters and the sentence key and placeholders."""

    state: str
    prompt: str
    params: dict = field(default_factory=dict)
    context: str = QUALIF_CONTACT


def open_contact_step(caller_number, spoken_digit_count=2):
    """Known caller number: confirm it by its last digits; unknown: collect one."""
    if not caller_number:
        return Decision(CONTACT_COLLECT, prompts.VOCAL_CONTACT_NO_CALLER_ID)
    if spoken_digit_count == 0:
        return Decision(CONTACT_CONFIRM, prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID_NO_DIGITS)
    last = spoken_digits(caller_number, spoken_digit_count)
    return Decision(CONTACT_CONFIRM, prompts.VOCAL_CONTACT_CONFIRM_CALLER_ID, {"last_two": last})
