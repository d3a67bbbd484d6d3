"""How a call's contact step ended, as kept with the call and counted. Plain Python.

One outcome per call, decided by the turn that finishes the step (backend/turns.py), or
`UNFINISHED` when the call ends first (the end message's write, backend/store/statements.py).
"""

from backend.engine.contact_state import CONTACT_CONFIRMED, SOURCE_CALLER_ID

# The caller ID, confirmed by the answer to its first question (one turn).
CALLER_ID_FIRST_ASK = "caller_id_first_ask"
# The caller ID, confirmed after the question was asked again (an unclear first answer).
CALLER_ID_ASKED_AGAIN = "caller_id_asked_again"
# A caller ID was offered and not confirmed, then a number was collected by voice.
CALLER_ID_REFUSED_COLLECTED = "caller_id_refused_collected"
# No caller ID: a number was collected by voice.
COLLECTED_WITHOUT_CALLER_ID = "collected_without_caller_id"
# No number confirmed: the tenant's way out (transfer, callback without number, end).
WAY_OUT = "way_out"
# The call ended before the step finished.
UNFINISHED = "unfinished"

OUTCOMES = (
    CALLER_ID_FIRST_ASK,
    CALLER_ID_ASKED_AGAIN,
    CALLER_ID_REFUSED_COLLECTED,
    COLLECTED_WITHOUT_CALLER_ID,
    WAY_OUT,
    UNFINISHED,
)
CONFIRMED = frozenset(OUTCOMES[:4])
COLLECTED_BY_VOICE = frozenset({CALLER_ID_REFUSED_COLLECTED, COLLECTED_WITHOUT_CALLER_ID})


def outcome_of(memory):
    """The outcome of a finished step's ContactMemory; None while the step goes on."""
    if not memory.finished:
        return None
    if memory.state != CONTACT_CONFIRMED:
        return WAY_OUT
    if memory.contact_source == SOURCE_CALLER_ID:
        return CALLER_ID_FIRST_ASK if memory.turns <= 1 else CALLER_ID_ASKED_AGAIN
    if memory.caller_number:
        return CALLER_ID_REFUSED_COLLECTED
    return COLLECTED_WITHOUT_CALLER_ID
