"""The metric families every process records into, and the helpers that keep labels bounded.

Plain Python (no Flask): the store and the turn code count here directly. Under gunicorn each
worker writes its values to its own file in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode, chosen when prometheus_client is first imported: gunicorn.conf.py sets the
variable before any worker imports the app), and /metrics sums every worker's files.

No label ever holds a phone number, a call id or anything a request typed: routes are Flask
endpoint names, message types one of Vapi's (else `other`), tenants the ids of loaded tenant
files, outcomes and reload results fixed words. tests/test_metrics.py sweeps the exposition.
"""

import threading

from prometheus_client import Counter, Histogram, values

from backend.engine.outcomes import OUTCOMES
from backend.process import current_pid

if values.ValueClass is not values.MutexValue:
    # Multiprocess mode: each value checks at each change whether the process forked, by
    # os.getpid(), a system call; current_pid() tells the same without one.
    values.ValueClass = values.MultiProcessValue(process_identifier=current_pid)

# Vapi's server message types (vapi-server-sdk: the `type` of each ServerMessage* model), and
# the Custom LLM endpoint's. Any other value a request carries is counted as `other`.
MESSAGE_TYPES = frozenset(
    {
        "assistant-request",
        "assistant.speechStarted",
        "call.endpointing.request",
        "chat-completions",
        "conversation-update",
        "end-of-call-report",
        "handoff-destination-request",
        "hang",
        "knowledge-base-request",
        "language-change-detected",
        "model-output",
        "phone-call-control",
        "session.created",
        "session.deleted",
        "session.updated",
        "speech-update",
        "status-update",
        "tool-calls",
        "transcript",
        "transfer-destination-request",
        "transfer-update",
        "user-interrupted",
        "voice-input",
        "voice-request",
    }
)
OTHER = "other"
NO_MESSAGE = "none"  # requests that carry no Vapi message (health, /metrics, errors before it)

REQUESTS = Counter(
    "vapi_requests_total",
    "HTTP requests answered, by route (Flask endpoint), Vapi message type and status.",
    ("route", "msg_type", "status"),
)
REQUEST_SECONDS = Histogram(
    "vapi_request_seconds",
    "Time from the request reaching the app to its answer, by route (Flask endpoint).",
    ("route",),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
# A counter, not a histogram: one inc a request where a histogram observe a statement cost
# 2.5 times as much (benchmarks/metrics_cost.py). Divided by vapi_requests_total: the mean.
DATABASE_SECONDS = Counter(
    "vapi_database_seconds",
    "Seconds the call path's statements took in the database (driver call to its result), "
    "summed by route.",
    ("route",),
)
CONTACT_OUTCOMES = Counter(
    "vapi_contact_outcomes_total",
    "Contact steps ended, by tenant and outcome (backend/engine/outcomes.py).",
    ("tenant", "outcome"),
)
CONFIG_RELOADS = Counter(
    "vapi_config_reloads_total",
    "Live reloads of tenant files and catalogs, by kind (tenant, catalog) and result "
    "(accepted, refused); each worker reloads on its own and counts its own.",
    ("kind", "result"),
)

# Labelled children by label values: `labels()` validates and locks at every call.
_children = {}


def _child(family, values):
    key = (family, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = family.labels(*values)
    return child


def message_type_label(msg_type):
    """A message type as a label: Vapi's own types, `none` for a request without one, else
    `other`."""
    return msg_type if msg_type in MESSAGE_TYPES or msg_type == NO_MESSAGE else OTHER


def observe_request(route, msg_type, status, seconds):
    """One answered request, and the database time it took. `route`: a Flask endpoint name."""
    _child(REQUESTS, (route, message_type_label(msg_type), str(status))).inc()
    _child(REQUEST_SECONDS, (route,)).observe(seconds)
    database = take_database_seconds()
    if database:
        _child(DATABASE_SECONDS, (route,)).inc(database)


# The database time of the request this thread serves (a gthread worker's thread serves one
# at a time): statements add to it, the request's end counts it once.
_database = threading.local()


def observe_database(seconds):
    """One call-path statement's time, added to this thread's request."""
    _database.seconds = getattr(_database, "seconds", 0.0) + seconds


def take_database_seconds():
    """The database time this thread's statements took since the last take (then zero)."""
    seconds = getattr(_database, "seconds", 0.0)
    _database.seconds = 0.0
    return seconds


def count_outcome(tenant_id, outcome):
    """A contact step ended. `tenant_id`: a loaded tenant's id; `outcome`: one of OUTCOMES."""
    if outcome in OUTCOMES:
        _child(CONTACT_OUTCOMES, (tenant_id, outcome)).inc()


def count_reload(kind, accepted, count=1):
    """`count` reloads of `kind` ("tenant" or "catalog") accepted, or refused."""
    if count:
        _child(CONFIG_RELOADS, (kind, "accepted" if accepted else "refused")).inc(count)
