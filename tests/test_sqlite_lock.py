"""A SQLite file whose write lock another process holds: answers within a second, nothing
acknowledged that was not stored, the caller hears what they would have heard.

In process, on a real SQLite file: another connection holds the write lock (BEGIN IMMEDIATE)
as a long write of another worker or an operator's command would. Writes wait at most
DATABASE_BUSY_TIMEOUT_MS; reads go on (WAL).
"""

import copy
import time

import pytest
import yaml

from backend import create_app
from backend.engine.contact import CONTACT_CONFIRM, CONTACT_CONFIRMED
from backend.store.connections import BUSY_TIMEOUT_MS
from backend.store.db import db
from tests.conftest import create_schema_at_head
from tests.contact_play import LlmCall, stored_call
from tests.leaks import random_id
from tests.outage import sqlite_write_locked
from tests.test_message_answers import message_of
from tests.test_races import request_for
from tests.way_out_play import (
    TRANSFER_NUMBER,
    TRANSFER_SENTENCE,
    transfer_destination_request,
    way_out_tenants,
)

ANSWER_WITHIN_S = 1.0  # the deadline; the lock wait is 300 ms, a turn makes two writes
OPENING = "J'ai un numéro qui se termine par 14. C'est bien le vôtre ? Dites oui ou non."
NOTED = "Parfait, c'est noté."


def app_on_a_file(tmp_path, **config):
    """(app, path) on a SQLite file of its own, at the code's schema; released after."""
    path = tmp_path / "calls.db"
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", **config}
    app = create_app(config)
    with app.app_context():
        create_schema_at_head()
    yield app, path
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path, secrets):
    yield from app_on_a_file(tmp_path)


def timed(post, *args, **kwargs):
    started = time.monotonic()
    response = post(*args, **kwargs)
    return response, time.monotonic() - started


def test_a_held_sqlite_lock_cannot_hold_a_caller(sqlite_app, demo_headers, vapi_payload):
    app, path = sqlite_app
    client = app.test_client()
    call = LlmCall(client, demo_headers, vapi_payload("chat-completions.request"), random_id("lk"))
    assert call.start() == OPENING  # stored: the call's row and opening
    number = vapi_payload("chat-completions.request")["call"]["customer"]["number"]
    new_call = random_id("lk")
    status_path, status_body = request_for(
        "status-update.in-progress", vapi_payload, new_call, number
    )
    assistant_path, assistant = request_for("assistant-request", vapi_payload, new_call, number)

    with sqlite_write_locked(path):
        refused, refused_s = timed(client.post, status_path, json=status_body, headers=demo_headers)
        asked, asked_s = timed(client.post, assistant_path, json=assistant, headers=demo_headers)
        started = time.monotonic()
        confirmed = call.say("oui")  # read works, the write cannot: the planned answer
        turn_s = time.monotonic() - started

    assert max(refused_s, asked_s, turn_s) < ANSWER_WITHIN_S, (refused_s, asked_s, turn_s)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert refused.get_json() == {"error": "database unavailable"}
    assert asked.status_code == 200
    assert confirmed == NOTED
    assert stored_call(app, "demo", call.body["call"]["id"]).state == CONTACT_CONFIRM
    # Released (and the moment the process takes the file for locked past): the same turn sent
    # again is stored, and the refused message is accepted.
    time.sleep(BUSY_TIMEOUT_MS / 1000 + 0.1)
    assert call.resend() == NOTED
    assert stored_call(app, "demo", call.body["call"]["id"]).state == CONTACT_CONFIRMED
    resent = client.post(status_path, json=status_body, headers=demo_headers)
    assert resent.status_code == 200


@pytest.fixture
def transfer_app(tmp_path, secrets):
    """A SQLite file, and the way-out tenants: `relais` transfers to TRANSFER_NUMBER."""
    folder = tmp_path / "tenants"
    folder.mkdir()
    for tenant in way_out_tenants():
        (folder / f"{tenant['id']}.yaml").write_text(yaml.safe_dump(tenant), encoding="utf-8")
    yield from app_on_a_file(tmp_path, TENANTS_DIR=str(folder))


def without_caller(body):
    body = copy.deepcopy(body)
    body["message"].pop("customer", None)
    body["message"]["call"].pop("customer", None)
    return body


@pytest.mark.vapi_sdk  # its transfer request is checked against the SDK's model
@pytest.mark.parametrize("lock", ["IMMEDIATE", "EXCLUSIVE"])
def test_a_message_with_no_number_to_store_is_answered_through_a_held_lock(
    transfer_app, demo_headers, vapi_payload, lock
):
    """A caller being transferred because no number could be collected is transferred: the
    transfer-destination-request carries no number, so nothing waits on the database."""
    app, path = transfer_app
    client = app.test_client()
    call_id = random_id("xfer")
    transfer = transfer_destination_request(vapi_payload, call_id)
    assert without_caller(transfer) == transfer  # no caller number in it
    others = {
        msg_type: without_caller(message_of(vapi_payload, msg_type, call_id))
        for msg_type in ("call.endpointing.request", "campaign.predial")
    }
    carrying = message_of(vapi_payload, "call.endpointing.request", random_id("xfer"))

    def post(body):
        return timed(client.post, "/api/vapi/relais/webhook", json=body, headers=demo_headers)

    with sqlite_write_locked(path, lock):
        transferred, transferred_s = post(transfer)
        answered = {msg_type: post(body) for msg_type, body in others.items()}
        refused, _ = post(carrying)

    # Well within the lock's wait: none of them asked the database.
    waits = [transferred_s, *(seconds for _, seconds in answered.values())]
    assert max(waits) < BUSY_TIMEOUT_MS / 1000, waits
    assert transferred.status_code == 200, transferred.get_json()
    assert transferred.get_json() == {
        "destination": {"type": "number", "number": TRANSFER_NUMBER, "message": TRANSFER_SENTENCE}
    }
    endpointing, predial = answered["call.endpointing.request"], answered["campaign.predial"]
    assert endpointing[0].get_json() == {"timeoutSeconds": 1.5}
    assert predial[0].get_json() == {"eligible": True}
    # A message that carries a number keeps the rule: stored before its 200, else a 503.
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    time.sleep(BUSY_TIMEOUT_MS / 1000 + 0.1)
    assert post(carrying)[0].status_code == 200
    stored = stored_call(app, "relais", carrying["message"]["call"]["id"])
    assert stored.caller_number == carrying["message"]["call"]["customer"]["number"]
