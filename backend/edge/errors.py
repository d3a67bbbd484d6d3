"""JSON errors for all a client can cause: never an HTML page, never a 500 for bad input."""

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from backend.logs import client_identifier, log_event
from backend.tenant_routing import UnknownTenant


class BadPayload(ValueError):
    """The request body is not what Vapi sends; the message says which field and why."""


def json_error(status, message, **extra):
    """A JSON error response: `{"error": message}` with the HTTP status."""
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _route():
    # The route's pattern, not the path: a path can carry anything a client typed.
    return request.url_rule.rule if request.url_rule else None


def internal_error(error):
    """500 for the app's own fault, logged by the error's type only (its message may quote data)."""
    log_event("REQUEST_FAILED", level=40, status=500, exception=type(error).__name__)
    return json_error(500, "internal error")


def init_app(app):
    """Answer every HTTP error, BadPayload and UnknownTenant as JSON, with a log line."""

    @app.errorhandler(BadPayload)
    def bad_payload(error):
        log_event("REQUEST_REJECTED", level=30, status=400, reason=str(error), route=_route())
        return json_error(400, str(error))

    @app.errorhandler(UnknownTenant)
    def unknown_tenant(error):
        # What the client named, each id cut short, and none that holds a phone number.
        shown = sorted(client_identifier(i) for i in error.ids)[:4]
        named = {"tenant": shown[0]} if error.route == "tenant" else {"phone_number_ids": shown}
        log_event("TENANT_NOT_FOUND", level=30, route=error.route, **named)
        return http_error(NotFound(str(error)))

    @app.errorhandler(HTTPException)
    def http_error(error):
        if isinstance(error, RequestEntityTooLarge):
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            error.description = f"body larger than {limit} bytes"
        if error.code >= 500:
            log_event("REQUEST_FAILED", level=40, status=error.code, route=_route())
        else:
            log_event(
                "REQUEST_REJECTED",
                level=30,
                status=error.code,
                reason=error.description or error.name,
                route=_route(),
            )
        return json_error(error.code, error.description or error.name)

    app.register_error_handler(Exception, internal_error)
