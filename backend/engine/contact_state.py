"""The contact step's states and the values it decides with: the tenant's `ContactPolicy`, the
`ContactMemory` kept between turns, the `Decision` of each turn. Plain Python.
"""

from dataclasses import dataclass, field, fields

from backend import prompts

QUALIF_CONTACT = "QUALIF_CONTACT"
CONTACT_CONFIRM = "CONTACT_CONFIRM"
CONTACT_COLLECT = "CONTACT_COLLECT"
CONTACT_COLLECT_CONFIRM = "CONTACT_COLLECT_CONFIRM"
CONTACT_CONFIRMED = "CONTACT_CONFIRMED"
CONTACT_TRANSFER = "CONTACT_TRANSFER"
CONTACT_CALLBACK_NO_NUMBER = "CONTACT_CALLBACK_NO_NUMBER"
CONTACT_ENDED = "CONTACT_ENDED"

SOURCE_CALLER_ID = "caller_id"
SOURCE_SPOKEN = "spoken"

# The tenant's way out when no number could be collected: (state, sentence).
WAY_OUTS = {
    "transfer": (CONTACT_TRANSFER, prompts.VOCAL_CONTACT_WAY_OUT_TRANSFER),
    "callback_without_number": (CONTACT_CALLBACK_NO_NUMBER, prompts.VOCAL_CONTACT_WAY_OUT_CALLBACK),
    "end": (CONTACT_ENDED, prompts.VOCAL_CONTACT_WAY_OUT_END),
}
DEFAULT_WAY_OUT = "end"

# What Vapi must do once the way out's sentence is said: end the call, or transfer it to the
# tenant's `contact.transfer_to`. A request kept without a number goes on with the call.
END_CALL = "end_call"
TRANSFER_CALL = "transfer_call"
CALL_ACTIONS = {CONTACT_ENDED: END_CALL, CONTACT_TRANSFER: TRANSFER_CALL}

# States the step does not leave, and what the agent says if the caller speaks again.
CLOSING = {
    CONTACT_CONFIRMED: prompts.VOCAL_CONTACT_CONFIRM_OK,
    **{state: prompt for state, prompt in WAY_OUTS.values()},
}
STATES = frozenset({CONTACT_CONFIRM, CONTACT_COLLECT, CONTACT_COLLECT_CONFIRM, *CLOSING})

# Turns that only add digits to a number being dictated, before it counts as a failed try:
# a number comes in a few chunks, and the conversation stays bounded.
MAX_PARTIAL_TURNS = 6


@dataclass(frozen=True)
class ContactPolicy:
    """What the tenant chose: region for national numbers, digits read aloud, tries, way out."""

    region: str = "FR"
    spoken_digits: int = 2
    collect_attempts: int = 3
    way_out: str = DEFAULT_WAY_OUT


@dataclass(frozen=True)
class ContactMemory:
    """What the step remembers between turns; `to_dict`/`from_dict` for storage as JSON."""

    state: str
    caller_number: str | None = None  # the caller ID the step opened with
    candidate: str | None = None  # a number heard, read back, waiting for a yes
    pending_digits: str = ""  # the start of a number dictated over several turns
    partial_turns: int = 0  # turns that only added digits since the last question
    failures: int = 0  # failed tries at collecting: nothing usable, read-back refused
    unclear: int = 0  # unclear answers to the current question
    turns: int = 0  # caller utterances the step answered before it finished (outcome statistics)
    contact_number: str | None = None
    contact_source: str | None = None

    @property
    def finished(self):
        """True once the step has its outcome: a confirmed number or the way out."""
        return self.state in CLOSING

    def to_dict(self):
        """A JSON-ready dict."""
        # Every field is a plain value: asdict's deep copy of each cost 20 times as much.
        return {name: getattr(self, name) for name in _MEMORY_FIELDS}

    @classmethod
    def from_dict(cls, data):
        """The memory a dict describes; ValueError when it does not describe one."""
        if not isinstance(data, dict) or data.get("state") not in STATES:
            raise ValueError("not a contact memory")
        values = {}
        for name, value in data.items():
            expected = _MEMORY_KINDS.get(name)
            if expected is None:
                continue
            if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
                raise ValueError(f"contact memory: {name} has the wrong type")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class Decision:
    """What the agent does next: the state it enters and the sentence key and placeholders."""

    state: str
    prompt: str
    params: dict = field(default_factory=dict)
    context: str = QUALIF_CONTACT
    memory: ContactMemory | None = None


_MEMORY_FIELDS = tuple(f.name for f in fields(ContactMemory))
# What each field holds when set: a count, else text.
_MEMORY_KINDS = {f.name: int if f.type is int else str for f in fields(ContactMemory)}
