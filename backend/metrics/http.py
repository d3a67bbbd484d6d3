"""Each request counted and timed, by route, Vapi message type and status: Flask's hooks.

The cost per request (two perf_counter calls, two counters and a histogram, cached children):
benchmarks/metrics_cost.py measures it.
"""

from time import perf_counter

from flask import g, request

from backend.metrics.families import NO_MESSAGE, observe_request, take_database_seconds

UNMATCHED = "unmatched"  # no route: a 404 or 405 before any endpoint


def note_message_type(msg_type):
    """The Vapi message type this request carries, for its metrics (bounded there)."""
    g.metrics_msg_type = msg_type


def _start():
    take_database_seconds()  # what ran outside a request (start-up, a command) is not its own
    g.metrics_started = perf_counter()


def _record(response):
    # Flask's `g` and `request` resolved once each: every read through their proxies costs.
    state = g._get_current_object()
    started = state.get("metrics_started")
    if started is not None:
        rule = request._get_current_object().url_rule
        observe_request(
            rule.endpoint if rule is not None else UNMATCHED,
            state.get("metrics_msg_type", NO_MESSAGE),
            response.status_code,
            perf_counter() - started,
        )
    return response


def init_app(app):
    """Count and time every request the app answers."""
    app.before_request(_start)
    app.after_request(_record)
