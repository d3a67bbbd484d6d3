"""Outcomes kept with each call, `flask stats` over them, on SQLite and PostgreSQL.

The scripted batch (tests/outcome_batch.py) played through the app's HTTP endpoints: each
call's row holds its outcome and turns, `stats` counts exactly the batch in every format.
"""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from backend.engine import outcomes
from backend.engine.contact_state import ContactMemory
from backend.stats.outcomes import daily_outcomes
from backend.store.calls import ensure_call, record_call_end, set_state
from backend.store.db import db
from backend.store.models import Call
from tests.console_play import client_post
from tests.contact_play import stored_call
from tests.leaks import assert_no_full_number
from tests.outcome_batch import BATCH, EXPECTED, play_batch


@pytest.fixture
def post(client, demo_headers):
    return client_post(client, demo_headers)


def test_each_call_keeps_how_its_contact_step_ended(app, post):
    played = play_batch(post)
    for call_id, scenario in played.items():
        row = stored_call(app, "demo", call_id)
        assert (row.contact_outcome, row.contact_turns) == (scenario.outcome, scenario.turns), (
            scenario.name
        )
        confirmed = scenario.outcome in outcomes.CONFIRMED
        assert (row.contact_confirmed_at is not None) is confirmed
        assert row.ended_at is not None


def test_stats_counts_exactly_the_batch(app, post, runner):
    play_batch(post)
    with app.app_context():
        (row,) = daily_outcomes("demo")
    assert row.day == datetime.now(UTC).date()
    assert {name: getattr(row, name) for name in EXPECTED} == EXPECTED
    assert row.confirmed == 3
    assert 0 <= row.median_seconds < 60

    text = runner.invoke(args=["stats", "--tenant", "demo", "--since", "2026-11-01"])
    assert text.exit_code == 0, text.output
    heading, line = text.output.splitlines()
    assert heading.split()[:3] == ["tenant", "day", "calls"]
    # calls, caller ID, first ask, by voice, way out, unfinished, in progress, median turns
    assert line.split()[2:10] == ["5", "60.0%", "20.0%", "40.0%", "20.0%", "20.0%", "0", "2"]

    as_json = runner.invoke(args=["stats", "--tenant", "demo", "--format", "json"])
    (data,) = json.loads(as_json.output)
    assert {name: data[name] for name in EXPECTED} == EXPECTED
    assert data["pct_collected_by_voice"] == 40.0 and data["tenant"] == "demo"

    as_csv = runner.invoke(args=["stats", "--format", "csv"])
    (record,) = csv.DictReader(io.StringIO(as_csv.output))
    assert record["calls"] == "5" and record["pct_way_out"] == "20.0"
    for output in (text.output, as_json.output, as_csv.output):
        assert_no_full_number(output, "stats")


def test_stats_splits_days_and_tenants_and_honours_since(app, post, runner):
    play_batch(post)
    play_batch(post)
    with app.app_context():
        # One batch's calls moved to yesterday: two rows of five calls each.
        ids = db.session.execute(db.select(Call.id).order_by(Call.id)).scalars().all()[:5]
        yesterday = datetime.now(UTC) - timedelta(days=1)
        db.session.execute(update(Call).where(Call.id.in_(ids)).values(created_at=yesterday))
        db.session.commit()
        rows = daily_outcomes()
        assert [(r.tenant, r.day, r.calls) for r in rows] == [
            ("demo", yesterday.date(), 5),
            ("demo", datetime.now(UTC).date(), 5),
        ]
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        assert [r.calls for r in daily_outcomes("demo", since=today)] == [5]
        assert daily_outcomes("plomberie-dupont") == []
    empty = runner.invoke(args=["stats", "--tenant", "plomberie-dupont"])
    assert empty.exit_code == 0 and "No call" in empty.output
    unknown = runner.invoke(args=["stats", "--tenant", "nobody"])
    assert unknown.exit_code == 2 and "no tenant" in unknown.output
    bad = runner.invoke(args=["stats", "--since", "yesterday"])
    assert bad.exit_code == 2 and "ISO date" in bad.output


def test_only_the_first_end_of_an_open_step_marks_it_unfinished(app):
    with app.app_context():
        set_state("demo", "open-1", "CONTACT_CONFIRM")  # no row yet: nothing to mark
        assert record_call_end("demo", "open-1", None) is False  # the row is created, no state
        ensure_call("demo", "open-2")
        set_state("demo", "open-2", "CONTACT_CONFIRM")
        assert record_call_end("demo", "open-2", None) is True
        # The report after an end without a reason: the reason is filled, not counted again.
        assert record_call_end("demo", "open-2", "customer-ended-call") is False
        assert record_call_end("demo", "open-2", "customer-ended-call") is False
        ensure_call("demo", "never-opened")
        assert record_call_end("demo", "never-opened", "silence-timed-out") is False
    assert stored_call(app, "demo", "open-2").contact_outcome == outcomes.UNFINISHED
    assert stored_call(app, "demo", "open-2").ended_reason == "customer-ended-call"
    assert stored_call(app, "demo", "never-opened").contact_outcome is None


def test_outcome_of_each_finished_memory():
    first = ContactMemory("CONTACT_CONFIRMED", caller_number="+33", contact_source="caller_id")
    assert outcomes.outcome_of(first.__class__(**{**first.to_dict(), "turns": 1})) == (
        outcomes.CALLER_ID_FIRST_ASK
    )
    again = ContactMemory.from_dict({**first.to_dict(), "turns": 2})
    assert outcomes.outcome_of(again) == outcomes.CALLER_ID_ASKED_AGAIN
    spoken = {**first.to_dict(), "contact_source": "spoken", "turns": 3}
    assert outcomes.outcome_of(ContactMemory.from_dict(spoken)) == (
        outcomes.CALLER_ID_REFUSED_COLLECTED
    )
    no_caller = {**spoken, "caller_number": None}
    assert outcomes.outcome_of(ContactMemory.from_dict(no_caller)) == (
        outcomes.COLLECTED_WITHOUT_CALLER_ID
    )
    assert outcomes.outcome_of(ContactMemory("CONTACT_TRANSFER")) == outcomes.WAY_OUT
    assert outcomes.outcome_of(ContactMemory("CONTACT_COLLECT")) is None
    assert len(BATCH) == 5


def test_outcomes_add_no_statement_to_the_call_path(app, post, monkeypatch, vapi_payload):
    """The outcome rides on writes the call path makes anyway: count the driver's statements."""
    import backend.store.driver as driver

    ran = []
    observe = driver.observe_database
    monkeypatch.setattr(driver, "observe_database", lambda s: (ran.append(s), observe(s)))

    def statements(path, body):
        ran.clear()
        status, text = post(path, body)
        assert status == 200, text
        return len(ran)

    in_progress = vapi_payload("status-update.in-progress")
    in_progress["message"]["call"]["id"] = "path-1"
    assert statements("/api/vapi/demo/webhook", in_progress) == 1  # the offer, nothing more

    chat = vapi_payload("chat-completions.request")
    chat["stream"], chat["call"]["id"] = False, "path-1"
    opened = statements("/api/vapi/demo/chat/completions", chat)
    chat["messages"] = [*chat["messages"], {"role": "assistant", "content": "..."}]
    unclear = {**chat, "messages": [*chat["messages"], {"role": "user", "content": "euh"}]}
    going_on = statements("/api/vapi/demo/chat/completions", unclear)
    confirm = {**unclear, "messages": [*unclear["messages"], {"role": "user", "content": "oui"}]}
    finishing = statements("/api/vapi/demo/chat/completions", confirm)
    assert finishing == going_on == opened  # the read and the compare-and-set write
    assert stored_call(app, "demo", "path-1").contact_outcome == outcomes.CALLER_ID_ASKED_AGAIN

    ended = vapi_payload("status-update.ended")
    ended["message"]["call"]["id"] = "path-2"
    # The offer, then the end's two (the row made if missing, the end recorded): as before.
    assert statements("/api/vapi/demo/webhook", ended) == 3


def test_tool_mode_keeps_outcomes_the_same_way(app, client, demo_headers, vapi_payload):
    """Tenants who keep Vapi's model: the contact tool's turns end the step the same way."""
    from tests.contact_play import ToolCall
    from tests.leaks import random_id
    from tests.outcome_batch import SPOKEN_WORDS

    known = ToolCall(client, demo_headers, vapi_payload("tool-calls"), random_id("tool"))
    known.say("oui")
    without = vapi_payload("tool-calls")
    without["message"].pop("customer", None)
    without["message"]["call"].pop("customer")
    unknown = ToolCall(client, demo_headers, without, random_id("tool"))
    unknown.say(SPOKEN_WORDS)
    unknown.say("oui")
    for call, outcome, turns in (
        (known, outcomes.CALLER_ID_FIRST_ASK, 1),
        (unknown, outcomes.COLLECTED_WITHOUT_CALLER_ID, 2),
    ):
        row = stored_call(app, "demo", call.body["message"]["call"]["id"])
        assert (row.contact_outcome, row.contact_turns) == (outcome, turns)


@pytest.mark.parametrize("read", ["outcomes", "contacts"])
def test_a_read_cut_mid_stream_raises_the_database_s_error(app, database_url, request, read):
    """A streamed read whose connection dies between two fetches (the request's budget cut it,
    the server went away) raises that error, which answers 503, not the PendingRollbackError a
    commit of the failed read raised in its place (a 500 on a busy tenant's console page)."""
    from sqlalchemy import insert, text
    from sqlalchemy.exc import OperationalError

    from backend.store.reports import call_outcomes, contact_calls

    if not database_url.startswith("postgresql"):
        pytest.skip("another session ends this one's connection: PostgreSQL's server cursor")
    admin = request.getfixturevalue("postgres_admin")
    now = datetime.now(UTC)
    with app.app_context():
        rows = [
            {"tenant_id": "demo", "call_id": f"cut-{n}", "state": "CONTACT_CONFIRM"}
            for n in range(2_500)  # more than one fetch of either read
        ]
        db.session.execute(
            insert(Call), [{**row, "created_at": now, "updated_at": now} for row in rows]
        )
        db.session.commit()
        streamed = call_outcomes("demo") if read == "outcomes" else contact_calls("demo")
        next(streamed)
        pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError):
            for _ in streamed:
                pass
        assert stored_call(app, "demo", "cut-7").state == "CONTACT_CONFIRM"  # the app reads on
