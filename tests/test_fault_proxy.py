"""Each PostgreSQL fault alone, in process, through tests/outage.py's FaultProxy: the client's own
deadline holds when the server cannot answer, and the app comes back by itself.

- frozen (nothing forwarded, new connections held by the kernel): answers at the request's
  database budget, not when the kernel gives up;
- a connection cut mid-query: the request answers at once, not at its budget;
- connections refused (the server down): answers at once;
- back: the next requests are stored, on connections the pool replaced.
"""

import threading
import time

import pytest

from backend import create_app
from backend.store import deadline
from backend.store.db import db
from tests.conftest import POSTGRES_URL, create_schema_at_head, postgres_schema_url
from tests.contact_play import CALLER, NOTED, OPENING_KNOWN, LlmCall
from tests.leaks import random_id
from tests.outage import FaultProxy
from tests.test_races import request_for

pytestmark = pytest.mark.slow  # a proxy thread and fault windows of a second or more

ANSWER_WITHIN_S = 1.0  # the deadline
LONG_BUDGET_MS = 3000  # for the cut: an answer well before it was not ended by the budget


def proxied_app(postgres_admin, proxy, budget_ms=None):
    url, drop = postgres_schema_url(postgres_admin)
    settings = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": proxy.url_for(url)}
    if budget_ms is not None:
        settings["DATABASE_REQUEST_BUDGET_MS"] = budget_ms
    app = create_app(settings)
    with app.app_context():
        create_schema_at_head()
    return app, drop


@pytest.fixture
def proxy():
    with FaultProxy.before(POSTGRES_URL) as proxy:
        yield proxy


@pytest.fixture
def app(postgres_admin, proxy, secrets):
    app, drop = proxied_app(postgres_admin, proxy)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def status_update(client, headers, vapi_payload):
    path, body = request_for("status-update.in-progress", vapi_payload, random_id("fp"), CALLER)
    started = time.monotonic()
    response = client.post(path, json=body, headers=headers)
    return response, time.monotonic() - started


def back_to_service():
    """The process takes the database for unreachable for a moment after a cut wait."""
    time.sleep(deadline.UNREACHABLE_FOR_S + 0.1)


@pytest.mark.parametrize("fault", ["freeze", "refuse"])
def test_a_frozen_or_refusing_database_answers_within_a_second(
    app, proxy, fault, demo_headers, vapi_payload
):
    client = app.test_client()
    call = LlmCall(client, demo_headers, vapi_payload("chat-completions.request"), random_id("fp"))
    assert call.start() == OPENING_KNOWN
    assert status_update(client, demo_headers, vapi_payload)[0].status_code == 200
    getattr(proxy, fault)()
    refused, refused_s = status_update(client, demo_headers, vapi_payload)
    started = time.monotonic()
    confirmed = call.say("oui")
    turn_s = time.monotonic() - started
    path, body = request_for("assistant-request", vapi_payload, random_id("fp"), CALLER)
    started = time.monotonic()
    assistant = client.post(path, json=body, headers=demo_headers)
    assistant_s = time.monotonic() - started
    proxy.restore()

    assert max(refused_s, turn_s, assistant_s) < ANSWER_WITHIN_S, (refused_s, turn_s, assistant_s)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert confirmed == NOTED  # from the request
    assert assistant.status_code == 200
    back_to_service()
    assert status_update(client, demo_headers, vapi_payload)[0].status_code == 200
    assert call.resend() == NOTED  # stored now


def test_a_connection_cut_mid_query_answers_at_once(
    postgres_admin, proxy, secrets, demo_headers, vapi_payload
):
    app, drop = proxied_app(postgres_admin, proxy, budget_ms=LONG_BUDGET_MS)
    try:
        client = app.test_client()
        assert status_update(client, demo_headers, vapi_payload)[0].status_code == 200
        proxy.freeze()
        result = {}
        worker = threading.Thread(
            target=lambda: result.update(answer=status_update(client, demo_headers, vapi_payload))
        )
        worker.start()
        time.sleep(0.3)  # the query is sent and held
        cut = time.monotonic()
        proxy.cut()
        worker.join(timeout=10)
        response, elapsed = result["answer"]
        proxy.restore()
        assert response.status_code == 503
        # Ended by the cut (the server's goodbye is end-of-file), long before the budget.
        assert elapsed < LONG_BUDGET_MS / 1000 / 2, elapsed
        assert time.monotonic() - cut < LONG_BUDGET_MS / 1000 / 2
        assert status_update(client, demo_headers, vapi_payload)[0].status_code == 200
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()
