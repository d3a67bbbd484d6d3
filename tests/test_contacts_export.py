"""`flask contacts export`: calls played over HTTP show up with their confirmed contact."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from backend.operators.contacts import COLUMNS
from backend.store.db import db
from backend.store.models import Call
from tests.contact_play import CALLER, NOTED, SPOKEN, LlmCall, ToolCall


@pytest.fixture
def played(app, client, demo_headers, vapi_payload, secrets):
    """Three demo calls (caller ID confirmed; spoken number by tool; way out) and one elsewhere."""
    llm = LlmCall(client, demo_headers, vapi_payload("chat-completions.request"), "call-a")
    llm.start()
    assert llm.say("oui") == NOTED
    tool = ToolCall(client, demo_headers, vapi_payload("tool-calls"), "call-b")
    tool.sentence("non")
    tool.sentence("zéro six douze trente-quatre cinquante-six soixante-dix-huit")
    assert tool.sentence("oui") == NOTED
    unfinished = LlmCall(client, demo_headers, vapi_payload("chat-completions.request"), "call-c")
    unfinished.start()
    ended = vapi_payload("status-update.ended")
    ended["message"]["call"]["id"] = "call-c"
    client.post("/api/vapi/demo/webhook", json=ended, headers=demo_headers)
    body = vapi_payload("chat-completions.request")
    body["customer"] = body["call"]["customer"] = {"number": "+32470123456"}
    other = LlmCall(
        client,
        {"X-Vapi-Secret": secrets["VAPI_SECRET_PLOMBERIE"]},
        body,
        "call-x",
        "plomberie-dupont",
    )
    other.start()
    other.say("oui")
    return app


def export(runner, *args):
    result = runner.invoke(args=["contacts", "export", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_csv_has_the_contacts_with_full_numbers(played, runner):
    rows = list(csv.DictReader(io.StringIO(export(runner, "--tenant", "demo"))))
    assert tuple(rows[0]) == COLUMNS
    by_call = {row["call_id"]: row for row in rows}
    assert set(by_call) == {"call-a", "call-b", "call-c"}  # not the other tenant's
    assert (by_call["call-a"]["contact_number"], by_call["call-a"]["contact_source"]) == (
        CALLER,
        "caller_id",
    )
    assert (by_call["call-b"]["contact_number"], by_call["call-b"]["contact_source"]) == (
        SPOKEN,
        "spoken",
    )
    assert by_call["call-b"]["state"] == "CONTACT_CONFIRMED"
    assert by_call["call-c"]["contact_number"] == "" and by_call["call-c"]["confirmed_at"] == ""
    assert by_call["call-c"]["state"] == "CONTACT_CONFIRM"
    assert by_call["call-c"]["ended_reason"] == "customer-ended-call"
    for row in rows:
        assert row["tenant"] == "demo"
        assert datetime.fromisoformat(row["created_at"]).tzinfo is not None
    assert datetime.fromisoformat(by_call["call-a"]["confirmed_at"]).tzinfo is not None


def test_text_a_spreadsheet_would_run_is_quoted_in_csv_only(played, runner):
    with played.app_context():
        formula = '=HYPERLINK("http://evil.example","x")'
        change = update(Call).where(Call.call_id == "call-c").values(ended_reason=formula)
        db.session.execute(change)
        db.session.commit()
    rows = list(csv.DictReader(io.StringIO(export(runner, "--tenant", "demo"))))
    by_call = {row["call_id"]: row for row in rows}
    assert by_call["call-c"]["ended_reason"] == "'" + formula
    assert by_call["call-a"]["contact_number"] == CALLER  # a number is data: left as it is
    lines = export(runner, "--tenant", "demo", "--format", "jsonl").splitlines()
    as_json = {row["call_id"]: row for row in map(json.loads, lines)}
    assert as_json["call-c"]["ended_reason"] == formula


@pytest.mark.parametrize(
    "sent",
    [
        "customer-ended-call;=1+2;=cmd|' /C calc'!A0;",  # a French spreadsheet splits on ;
        "customer-ended-call,=1+2",
        "hangup\n=cmd|' /C calc'!A0",  # a row of its own where a field is not quoted
        "hangup\r\n@SUM(1+2)",
        " =1+2",
        "\u00a0@SUM(1+2)",
        "\uff1d1+2",
    ],
)
def test_no_cell_starts_a_formula_whatever_the_separator_read(played, runner, sent):
    with played.app_context():
        change = update(Call).where(Call.call_id == "call-c").values(ended_reason=sent)
        db.session.execute(change)
        db.session.commit()
    text = export(runner, "--tenant", "demo")
    for delimiter in (",", ";"):  # as Excel reads it in English, and in French
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            for cell in row:
                assert not cell.lstrip(" \u00a0").startswith(("=", "@", "\uff1d")), (
                    delimiter,
                    cell,
                )
    by_call = {row["call_id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
    kept = by_call["call-c"]["ended_reason"].replace("'", "")
    assert kept == sent.replace("'", "").replace("\r\n", "\n")  # click's runner reads \r\n as \n


def test_jsonl_one_object_per_call(played, runner):
    lines = export(runner, "--tenant", "plomberie-dupont", "--format", "jsonl").splitlines()
    (row,) = [json.loads(line) for line in lines]
    assert tuple(row) == COLUMNS
    assert (row["call_id"], row["contact_number"], row["contact_source"]) == (
        "call-x",
        "+32470123456",
        "caller_id",
    )
    assert row["ended_reason"] is None


def test_since_filters_on_confirmation_else_creation_time(played, runner):
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    with played.app_context():
        # call-a was confirmed long ago; call-c (unconfirmed) was created long ago.
        db.session.execute(
            update(Call).where(Call.call_id == "call-a").values(contact_confirmed_at=long_ago)
        )
        db.session.execute(update(Call).where(Call.call_id == "call-c").values(created_at=long_ago))
        db.session.commit()
    today = datetime.now(UTC).date().isoformat()
    recent = [
        json.loads(line)["call_id"]
        for line in export(
            runner, "--tenant", "demo", "--since", today, "--format", "jsonl"
        ).splitlines()
    ]
    assert recent == ["call-b"]
    everything = export(
        runner, "--tenant", "demo", "--since", "2019-12-31T23:00:00+00:00", "--format", "jsonl"
    )
    assert len(everything.splitlines()) == 3
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert export(runner, "--tenant", "demo", "--since", tomorrow).splitlines() == [
        ",".join(COLUMNS)
    ]


def test_the_export_is_logged_without_numbers(played, runner, no_full_number_in_logs):
    export(runner, "--tenant", "demo")
    (line,) = [json.loads(x) for x in no_full_number_in_logs if "CONTACTS_EXPORTED" in x]
    assert (line["tenant"], line["rows"], line["format"]) == ("demo", 3, "csv")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tenant", "nobody"], "no tenant 'nobody' in the tenants folder, nor any call"),
        (["--tenant", "demo", "--since", "yesterday"], "ISO date"),
        (["--tenant", "demo", "--since", "9999-12-31T23:59:59-23:59"], "years 1 to 9999"),
        (["--tenant", "demo", "--since", "0001-01-01T00:00:00+23:59"], "years 1 to 9999"),
        (["--tenant", "demo", "--format", "xml"], "xml"),
        ([], "--tenant"),
    ],
)
def test_bad_options_are_refused(app, runner, args, message):
    result = runner.invoke(args=["contacts", "export", *args])
    assert result.exit_code == 2 and message in result.output


def test_help_says_it_holds_personal_data(app, runner):
    result = runner.invoke(args=["contacts", "export", "--help"])
    assert result.exit_code == 0
    assert "FULL PHONE NUMBERS" in result.output and "personal data" in result.output


def test_a_tenant_removed_from_the_folder_keeps_its_stored_calls_exportable(played, runner):
    """Its business may still need them until they are purged; an unknown id stays refused."""
    with played.app_context():
        db.session.execute(
            update(Call).where(Call.call_id == "call-x").values(tenant_id="ancien-cabinet")
        )
        db.session.commit()
    result = runner.invoke(args=["contacts", "export", "--tenant", "ancien-cabinet"])
    assert result.exit_code == 0, result.output
    assert "is not served (its file removed, or refused)" in result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["call_id"], row["contact_number"]) for row in rows] == [("call-x", "+32470123456")]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = runner.invoke(
        args=["contacts", "export", "--tenant", "ancien-cabinet", "--since", tomorrow]
    )
    assert later.exit_code == 0 and later.stdout.splitlines() == [",".join(COLUMNS)]
