"""Issue 16: a signed request is accepted once; the same one again is refused as replayed, on
any app instance sharing the database, and `flask purge` forgets what no window can accept."""

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from backend.auth import credentials
from backend.store import deadline
from backend.store.db import db
from backend.store.models import SeenSignature, utcnow
from backend.store.replays import KEEP_FOR
from tests.contact_play import stored_call
from tests.outage import calls_table_locked, database_down, sqlite_write_locked
from tests.test_signed_webhooks import PLAIN, SIGNED, default_headers

SIGNED_ASSISTANT = {**SIGNED, "vapi": {**SIGNED["vapi"], "assistant_id": "asst-signed-0001"}}


def signed_app(tenants_app, monkeypatch):
    monkeypatch.setenv("VAPI_SECRET_PLAIN", "test-secret-plain")
    return tenants_app(SIGNED_ASSISTANT, PLAIN)


def post(app, body, headers, tenant_id="signed"):
    return app.test_client().post(
        f"/api/vapi/{tenant_id}/webhook",
        data=body,
        headers={"Content-Type": "application/json", **headers},
    )


def status_body(vapi_payload, call_id):
    payload = vapi_payload("status-update.in-progress")
    payload["message"]["call"]["id"] = call_id
    return json.dumps(payload).encode()


def seen_rows(app):
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(SeenSignature)).scalar_one()
        db.session.commit()
        return count


@pytest.mark.parametrize("at_once", [False, True], ids=["one-after-the-other", "at-once"])
def test_the_same_signed_request_twice_is_refused_the_second_time(
    tenants_app, monkeypatch, secrets, vapi_payload, log_events, at_once
):
    """At once: both copies pass the check before either is noted (two workers, the same
    moment); the note's insert tells them apart, and the second answer is the replay's 401."""
    app = signed_app(tenants_app, monkeypatch)
    if at_once:
        monkeypatch.setattr(credentials, "seen_before", lambda _tenant_id, _mac: False)
    body = status_body(vapi_payload, "replay-1")
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    assert post(app, body, headers).status_code == 200
    again = post(app, body, headers)
    assert again.status_code == 401
    assert again.get_json() == {"error": "missing or invalid credentials"}
    assert log_events("AUTH_REJECTED")[-1]["reason"] == "replayed"
    assert seen_rows(app) == 1


def test_two_different_signed_requests_are_both_accepted(
    tenants_app, monkeypatch, secrets, vapi_payload, log_events
):
    app = signed_app(tenants_app, monkeypatch)
    stamp = str(int(time.time()))
    for call_id in ("replay-a", "replay-b"):  # same second, different bodies
        body = status_body(vapi_payload, call_id)
        assert (
            post(app, body, default_headers(secrets["VAPI_SECRET_DEMO"], body, stamp)).status_code
            == 200
        )
    assert not log_events("AUTH_REJECTED")
    assert seen_rows(app) == 2


def test_the_secret_header_path_stores_nothing(tenants_app, monkeypatch, vapi_payload):
    app = signed_app(tenants_app, monkeypatch)
    body = status_body(vapi_payload, "replay-plain")
    headers = {"X-Vapi-Secret": "test-secret-plain"}
    assert post(app, body, headers, "plain").status_code == 200
    # A secret header is not a one-off: the same request again is served (Vapi's retries).
    assert post(app, body, headers, "plain").status_code == 200
    assert seen_rows(app) == 0


def test_a_replay_on_another_instance_sharing_the_database_is_refused(
    tenants_app, monkeypatch, secrets, vapi_payload, log_events
):
    first = signed_app(tenants_app, monkeypatch)
    second = signed_app(tenants_app, monkeypatch)  # another create_app, the same database_url
    assert first is not second
    body = status_body(vapi_payload, "replay-other-instance")
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    assert post(first, body, headers).status_code == 200
    assert post(second, body, headers).status_code == 401
    assert log_events("AUTH_REJECTED")[-1]["reason"] == "replayed"


@pytest.mark.product_deadlines
def test_with_the_database_away_a_signed_message_gets_a_503_and_no_500(
    tenants_app, monkeypatch, secrets, vapi_payload, log_events
):
    app = signed_app(tenants_app, monkeypatch)
    body = status_body(vapi_payload, "replay-outage")
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    with database_down(app):
        answer = post(app, body, headers)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1" and "error" in answer.get_json()
    assert log_events("DATABASE_UNAVAILABLE")
    # Not seen, so not a replay once the database is back: Vapi's retry is served.
    assert post(app, body, headers).status_code == 200


@pytest.mark.product_deadlines
def test_with_the_database_away_a_signed_assistant_request_still_gets_its_assistant(
    tenants_app, monkeypatch, secrets, vapi_payload, log_events
):
    app = signed_app(tenants_app, monkeypatch)
    body = json.dumps(vapi_payload("assistant-request")).encode()
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    with database_down(app):
        answer = post(app, body, headers)
    assert answer.status_code == 200
    assert answer.get_json()["assistantId"] == "asst-signed-0001"
    assert any(line.get("check") == "replay" for line in log_events("DATABASE_UNAVAILABLE"))


def test_purge_deletes_signatures_no_window_can_accept_again(
    tenants_app, monkeypatch, secrets, vapi_payload
):
    app = signed_app(tenants_app, monkeypatch)
    body = status_body(vapi_payload, "replay-purge")
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    assert post(app, body, headers).status_code == 200
    with app.app_context():
        now = utcnow()
        old = now - KEEP_FOR - timedelta(minutes=1)
        db.session.add(SeenSignature(digest="a" * 64, seen_at=old))
        db.session.add(SeenSignature(digest="b" * 64, seen_at=now - KEEP_FOR / 2))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "purge: 1 seen signature(s)" in result.output
    with app.app_context():
        kept = set(db.session.execute(select(SeenSignature.digest)).scalars())
        db.session.commit()
    assert "a" * 64 not in kept and "b" * 64 in kept and len(kept) == 2
    # The request seen just now is still refused after the purge.
    assert post(app, body, headers).status_code == 401


def signed_turn(app, vapi_payload, secrets, during):
    """A signed Custom LLM turn's answer, posted while the context manager `during` holds."""
    payload = vapi_payload("chat-completions.request")
    payload["stream"] = False
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    headers |= default_headers(secrets["VAPI_SECRET_DEMO"], body)
    with during:
        return app.test_client().post(
            "/api/vapi/signed/chat/completions", data=body, headers=headers
        )


@pytest.mark.product_deadlines
def test_with_the_database_away_a_signed_custom_llm_turn_is_still_answered(
    tenants_app, monkeypatch, secrets, vapi_payload, log_events
):
    app = signed_app(tenants_app, monkeypatch)
    answer = signed_turn(app, vapi_payload, secrets, during=database_down(app))
    assert answer.status_code == 200
    assert answer.get_json()["choices"][0]["message"]["content"]
    assert any(line.get("check") == "replay" for line in log_events("DATABASE_UNAVAILABLE"))


def test_a_signed_message_answered_503_is_served_when_sent_again(
    tenants_app, monkeypatch, secrets, vapi_payload
):
    """Accepted, then not stored (here the calls table is missing): Vapi's retry of the same
    bytes must not be refused as a replay, so the 5xx forgot the signature."""
    app = signed_app(tenants_app, monkeypatch)
    body = status_body(vapi_payload, "replay-retried")
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    with app.app_context():
        db.session.execute(text("ALTER TABLE calls RENAME TO calls_away"))
        db.session.commit()
    answer = post(app, body, headers)
    with app.app_context():
        db.session.execute(text("ALTER TABLE calls_away RENAME TO calls"))
        db.session.commit()
    assert answer.status_code == 503
    assert seen_rows(app) == 0
    assert post(app, body, headers).status_code == 200
    assert post(app, body, headers).status_code == 401


def served_once_when_sent_again(app, body, headers):
    """Once the lock is gone and the process's memory of it past (a lock wait): the same bytes
    are served, then refused as a replay."""
    time.sleep(app.config["DATABASE_BUSY_TIMEOUT_MS"] / 1000 + 0.1)
    assert post(app, body, headers).status_code == 200
    assert post(app, body, headers).status_code == 401


@pytest.mark.product_deadlines
def test_a_signed_message_refused_while_its_table_is_locked_is_served_when_sent_again(
    tenants_app, monkeypatch, secrets, vapi_payload, database_url
):
    """The replay check passed, then the capture could not be stored (another connection held
    the calls table) and the database stayed unwritable to the end of the request: Vapi's retry
    of the same bytes must still be served. It was refused as a replay when the check noted the
    signature first and could not forget it after the 503."""
    app = signed_app(tenants_app, monkeypatch)
    body = status_body(vapi_payload, "replay-locked")
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    with app.app_context():
        url = db.engine.url
    held = sqlite_write_locked(url.database) if url.get_backend_name() == "sqlite" else None
    with held or calls_table_locked(url, tables="calls"):
        answer = post(app, body, headers)
    assert answer.status_code == 503
    served_once_when_sent_again(app, body, headers)


@pytest.mark.product_deadlines
def test_a_served_message_the_database_refused_to_note_is_a_503_and_its_retry_is_served(
    tenants_app, monkeypatch, secrets, vapi_payload, database_url, log_events
):
    """Stored, then the database refused the note of its signature (a lock held elsewhere): it
    surely wrote nothing, so a 503 (a 200 would let the same bytes in again, unseen), and
    Vapi's retry is served and noted."""
    app = signed_app(tenants_app, monkeypatch)
    body = status_body(vapi_payload, "replay-unnoted")
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        # The capture's write goes first: the note's insert meets the lock taken right after.
        noted = credentials.first_sight

        def note_behind_a_lock(tenant_id, mac):
            with sqlite_write_locked(url.database):
                return noted(tenant_id, mac)

        monkeypatch.setattr(credentials, "first_sight", note_behind_a_lock)
        answer = post(app, body, headers)
        monkeypatch.setattr(credentials, "first_sight", noted)
    else:
        # Reads of the signatures go on; the note's insert waits for the lock, and gives up.
        with calls_table_locked(url, tables="seen_signatures", mode="EXCLUSIVE"):
            answer = post(app, body, headers)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    failed = log_events("DATABASE_UNAVAILABLE")
    assert [(line["check"], line["status"]) for line in failed] == [("replay", 503)]
    assert stored_call(app, "signed", "replay-unnoted").caller_number
    assert seen_rows(app) == 0
    served_once_when_sent_again(app, body, headers)


@pytest.mark.product_deadlines
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_note_written_though_its_wait_was_cut_keeps_the_answer(
    tenants_app, monkeypatch, secrets, vapi_payload, database_url, log_events
):
    """The ambiguous case itself: the note commits, then its wait fails (as when the budget cuts
    it after the commit was sent). The answer stays 200, so Vapi sends nothing again; a copy
    sent anyway is the replay it is."""
    app = signed_app(tenants_app, monkeypatch)
    body = status_body(vapi_payload, "replay-ambiguous")
    headers = default_headers(secrets["VAPI_SECRET_DEMO"], body)
    noted = credentials.first_sight

    def noted_then_cut(tenant_id, mac):
        assert noted(tenant_id, mac)
        # The client cuts its wait at the request's deadline, no server error: as when the
        # insert's commit was sent and its answer never came.
        db.session.execute(text("SET statement_timeout = 0"))
        db.session.execute(text("SELECT pg_sleep(2)"))
        raise AssertionError("the wait was not cut")

    monkeypatch.setattr(credentials, "first_sight", noted_then_cut)
    assert post(app, body, headers).status_code == 200
    assert seen_rows(app) == 1
    assert [line["check"] for line in log_events("DATABASE_UNAVAILABLE")] == ["replay"]
    monkeypatch.setattr(credentials, "first_sight", noted)
    deadline.forget_outages()  # the cut wait took the server for away a moment; it was not
    assert post(app, body, headers).status_code == 401


@pytest.mark.product_deadlines
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_turn_that_cannot_be_noted_is_still_answered(
    tenants_app, monkeypatch, secrets, vapi_payload, database_url, log_events
):
    """What the caller hears never waits on the note: the turn is answered, the failure logged."""
    app = signed_app(tenants_app, monkeypatch)
    noting_refused = calls_table_locked(database_url, tables="seen_signatures", mode="EXCLUSIVE")
    answer = signed_turn(app, vapi_payload, secrets, during=noting_refused)
    assert answer.status_code == 200
    assert answer.get_json()["choices"][0]["message"]["content"]
    assert [line.get("check") for line in log_events("DATABASE_UNAVAILABLE")] == ["replay"]
    assert seen_rows(app) == 0
