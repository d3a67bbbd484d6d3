"""Answers to the server messages that expect one, beyond `assistant-request` and `tool-calls`.

Each shape is one `vapi-server-sdk` 3.0 accepts for the message (ServerMessageResponse...).
What this service does not serve gets a documented choice, and one log line per call and
message type (per worker: each process remembers the calls it has logged, a bounded set).
The caller ID the message carries is stored before the answer, as for every message; one that
carries none has nothing to store and is answered without the database.
"""

from collections import OrderedDict
from threading import Lock

from flask import Response

from backend.capture.caller_id import store_caller_id
from backend.logs import log_event
from backend.routes.way_out import answer_transfer_destination_request

# call.endpointing.request: seconds of silence after which the caller's turn is over. Vapi's
# smart endpointing waits less; a caller dictating a number pauses between pairs of digits.
ENDPOINTING_TIMEOUT_S = 1.5
_LOGGED_MAX = 10_000
_logged = OrderedDict()
_logged_lock = Lock()


def log_once_per_call(event, message, **fields):
    """Log `event` for this call and message type once (per worker), not per message."""
    key = (event, message.call_id, message.type)
    with _logged_lock:
        if key in _logged:
            return
        _logged[key] = True
        if len(_logged) > _LOGGED_MAX:
            _logged.popitem(last=False)
    log_event(event, level=30, msg_type=message.type, **fields)


def answer_handoff_destination_request(tenant, message):
    """Not served: handoffs are a squad's, set on its handoff tool. The SDK requires a
    `destination`; the `error` tells Vapi not to hand off."""
    log_once_per_call("MESSAGE_NOT_SERVED", message, reason="handoff destinations")
    return {"destination": {}, "error": "this server does not choose handoff destinations"}


def answer_campaign_predial(tenant, message):
    """Every contact of an outbound campaign is eligible: this service keeps no do-not-call list
    (the campaign's own list decides). `eligible: true` places the call."""
    log_once_per_call("CAMPAIGN_PREDIAL_ELIGIBLE", message)
    return {"eligible": True}


def answer_call_endpointing_request(tenant, message):
    """A fixed wait before the caller's turn ends (ENDPOINTING_TIMEOUT_S)."""
    log_once_per_call("ENDPOINTING_FIXED", message, timeout_seconds=ENDPOINTING_TIMEOUT_S)
    return {"timeoutSeconds": ENDPOINTING_TIMEOUT_S}


def answer_knowledge_base_request(tenant, message):
    """No documents: the backend holds none. Nothing logged, as for `{}` to any message."""
    return {}


def answer_voice_request(tenant, message):
    """Not served: Vapi expects raw PCM audio from a custom voice server. No bytes is silence,
    never noise (a JSON body would be played as sound); the log line says what to fix."""
    log_once_per_call(
        "MESSAGE_NOT_SERVED", message, reason="voice: set the assistant's voice to a provider"
    )
    return Response(b"", mimetype="application/octet-stream")


def _storing_first(answer):
    def handler(tenant, message):
        # A number the message carries is stored before the answer: a 200 means stored (a
        # database error is a 503, which Vapi sends again). Without a number there is nothing
        # to store, and the call waits on these answers (a transfer, the end of a turn, a
        # campaign's dial): a locked or unreachable database must not refuse them.
        store_caller_id(tenant, message, message.type, call_waits=True)
        return answer(tenant, message)

    handler.__doc__ = answer.__doc__
    return handler


ANSWERS = {
    "transfer-destination-request": _storing_first(answer_transfer_destination_request),
    "handoff-destination-request": _storing_first(answer_handoff_destination_request),
    "campaign.predial": _storing_first(answer_campaign_predial),
    "call.endpointing.request": _storing_first(answer_call_endpointing_request),
    "voice-request": _storing_first(answer_voice_request),
    # The model waits on its documents: answered as the others, not as a message acknowledged.
    "knowledge-base-request": _storing_first(answer_knowledge_base_request),
}
