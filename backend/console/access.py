"""Who uses the console: operator tokens, the signed session cookie, CSRF on every form.

Operators are named in CONSOLE_OPERATORS, each with a token. A sign-in compares the token given
with every operator's in constant time (their digests, so neither the value nor the length of a
token shows in the time taken). The session cookie holds the operator's name, a keyed digest
of their token and a random session id, signed: removing or changing an operator's token ends
their sessions at once, and signing out ends that session on every worker (its id is kept in
the database until the cookie would have expired, backend/store/sessions.py).

CSRF: Flask-WTF's CSRFProtect (tokens bound to the session, compared in constant time, Referer
checked over HTTPS), applied to the console's forms only: the Vapi endpoints are called
server-to-server with a secret, not with a browser's cookie.
"""

import hashlib
import hmac
import secrets
import time
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from backend.logs import log_event
from backend.store.db import DATABASE_UNAVAILABLE_ERRORS, DATABASE_UNREACHABLE_ERRORS
from backend.store.schema import is_schema_missing
from backend.store.sessions import SESSION_LIFETIME, end_session, has_ended

SESSION_LIFETIME_S = SESSION_LIFETIME.total_seconds()
csrf = CSRFProtect()


class ConsoleSessions(SecureCookieSessionInterface):
    """Signed cookie sessions for the console's pages only; every other request has none.

    Opening one builds an itsdangerous serializer and reads the cookies: about a twentieth of
    a Vapi webhook's time in the app (pyinstrument, a status-update), for a cookie only the
    console sets (its path is /console).
    """

    def open_session(self, app, request):
        if not request.path.startswith(app.config["SESSION_COOKIE_PATH"]):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _derived_key(operators):
    """A key every worker derives alike from the tokens (random when there is no operator)."""
    if not operators:
        return secrets.token_hex(32)
    material = "\n".join(f"{name}:{token}" for name, token in sorted(operators))
    return hmac.new(b"console session key", material.encode(), hashlib.sha256).hexdigest()


def init_app(app):
    """Session cookie settings, the signing key and CSRF protection (checked by the console)."""
    app.config["SECRET_KEY"] = app.config["CONSOLE_SECRET_KEY"] or _derived_key(
        app.config["CONSOLE_OPERATORS"]
    )
    app.config.update(
        SESSION_COOKIE_NAME="console_session",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=app.config["CONSOLE_COOKIE_SECURE"],
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        # The cookie is not signed again at each answer: it expires 8 hours after sign-in.
        SESSION_REFRESH_EACH_REQUEST=False,
        # Checked by the console's own before_request (views.py), not on every route.
        WTF_CSRF_CHECK_DEFAULT=False,
        # A form token lives as long as the session that holds it.
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.session_interface = ConsoleSessions()
    csrf.init_app(app)


def _digest(token):
    return hashlib.sha256(token.encode()).digest()


def operator_for(token, operators):
    """The name of the operator whose token this is, else None. Every token is compared."""
    given = _digest(token)
    found = None
    for name, expected in operators:
        if hmac.compare_digest(given, _digest(expected)):
            found = name
    return found


def _token_ref(token):
    """What the cookie keeps of a token: a keyed digest, useless without the server's key."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()[:32]


def sign_in(token):
    """Start a session for the operator whose token this is: their name, or None (refused)."""
    operators = current_app.config["CONSOLE_OPERATORS"]
    name = operator_for(token, operators)
    if name is None:
        log_event("CONSOLE_SIGN_IN_REFUSED", level=30, operators=len(operators))
        return None
    token = dict(operators)[name]
    if current_operator() is not None:
        _end(session["id"])  # signed in again over a session: a copy of the old one is refused
    session.clear()  # a fresh session (and CSRF token) for the operator
    session.permanent = True
    session["operator"], session["token_ref"] = name, _token_ref(token)
    session["id"], session["issued_at"] = secrets.token_urlsafe(32), time.time()
    log_event("CONSOLE_SIGNED_IN", operator=name)
    return name


def sign_out():
    """End the session: its cookie, and any copy of it, is refused from now on."""
    operator = current_operator()
    try:
        if operator:
            _end(session["id"])
    finally:
        session.clear()  # whatever the database did: this browser is signed out
    if operator:
        log_event("CONSOLE_SIGNED_OUT", operator=operator)


def _end(session_id):
    try:
        end_session(session_id)
    except DATABASE_UNAVAILABLE_ERRORS as error:
        # This browser's cookie is cleared; a copy of it stays valid until it expires.
        log_event("CONSOLE_SIGN_OUT_NOT_RECORDED", level=40, exception=type(error).__name__)


def current_operator():
    """The signed-in operator's name, while their token is still the one they signed in with,
    the session is younger than SESSION_LIFETIME and they did not sign out of it. A refused
    operator's session is cleared: its answer deletes the cookie (a visitor's form token stays).
    """
    name = _operator_of_session()
    if name is None and "operator" in session:
        session.clear()
    return name


def _operator_of_session():
    name, ref, session_id = session.get("operator"), session.get("token_ref"), session.get("id")
    issued_at = session.get("issued_at")
    if not all(isinstance(value, str) for value in (name, ref, session_id)):
        return None
    # Flask's own expiry counts from the cookie's last refresh: the lifetime counts from sign-in.
    if not isinstance(issued_at, float) or time.time() - issued_at > SESSION_LIFETIME_S:
        return None
    token = dict(current_app.config["CONSOLE_OPERATORS"]).get(name)
    if token is None or not hmac.compare_digest(ref, _token_ref(token)):
        return None
    try:
        ended = has_ended(session_id)
    except DATABASE_UNREACHABLE_ERRORS as error:
        if is_schema_missing(error):
            raise  # no page (503), rather than an unchecked one; so does a full pool
        # The database cannot be reached: the tenants page serves through an outage, and every
        # page with a caller's data reads the database too, and answers 503.
        log_event("CONSOLE_SESSION_UNCHECKED", level=30, exception=type(error).__name__)
        ended = False
    return None if ended else name


def check_form():
    """Refuse a form posted without this session's CSRF token (400, CSRFError)."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        csrf.protect()


def operator_required(view):
    """Send who is not signed in to the sign-in page; `g.operator` names who is."""

    @wraps(view)
    def checked(**kwargs):
        g.operator = current_operator()
        if g.operator is None:
            return redirect(url_for("console.sign_in"))
        return view(**kwargs)

    return checked
