"""RGPD: `flask purge` by each tenant's retention, `flask erase` of every trace of a number."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import event, select, text

from backend import create_app
from backend.store.db import db, init_db
from backend.store.models import Call, utcnow
from tests.contact_play import LlmCall
from tests.leaks import assert_no_full_number, random_id, watch

NUMBER = "+33612345614"  # a caller's mobile
OTHER = "+33698765432"
BELGIAN = "+32470123456"
FRENCH_0470 = "+33470123456"  # the same digits written nationally, read in France
watch(NUMBER, OTHER, BELGIAN, FRENCH_0470)

SHORT = {"id": "short", "name": "Court", "vapi": {"secret_env": "VAPI_SECRET_DEMO"}}
SHORT["retention"] = {"days": 7}
LONG = {"id": "long", "name": "Long", "region": "BE", "locale": "fr_BE"}
LONG |= {"vapi": {"secret_env": "VAPI_SECRET_PLOMBERIE"}, "retention": {"days": 365}}
PLAIN = {"id": "plain", "name": "Défaut", "vapi": {"secret_env": "VAPI_SECRET_DEMO"}}
AGES = (5, 10, 40, 400)


def add_call(tenant_id, age_days=0, **columns):
    """A call row as the service leaves it, `age_days` old."""
    when = utcnow() - timedelta(days=age_days)
    call = Call(
        tenant_id=tenant_id,
        call_id=columns.pop("call_id", random_id("call", 10)),
        created_at=when,
        updated_at=when,
        **columns,
    )
    db.session.add(call)
    db.session.commit()
    return call.call_id


def remaining(tenant_id=None):
    query = select(Call.tenant_id, Call.call_id).order_by(Call.tenant_id, Call.call_id)
    if tenant_id:
        query = query.where(Call.tenant_id == tenant_id)
    rows = db.session.execute(query).all()
    db.session.commit()
    return rows


def remaining_numbers():
    query = select(Call.tenant_id, Call.caller_number)
    rows = db.session.execute(query).all()
    db.session.commit()
    return rows


def invoke(app, *args):
    """Run a CLI command; its output never holds a full number."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert_no_full_number(result.output, f"`flask {' '.join(args)}` output")
    return result


# --- purge ---------------------------------------------------------------------------------


def test_purge_deletes_calls_past_each_tenants_retention(tenants_app, no_full_number_in_logs):
    app = tenants_app(SHORT, LONG, PLAIN)
    with app.app_context():
        for tenant_id in ("short", "long", "plain", "gone"):  # gone: no tenant file any more
            for age in AGES:
                add_call(tenant_id, age, call_id=f"{tenant_id}-{age}", caller_number=NUMBER)
    result = invoke(app, "purge")
    assert result.exit_code == 0, result.output
    with app.app_context():
        kept = {(t, int(c.rsplit("-", 1)[1])) for t, c in remaining()}
    assert kept == {
        ("short", 5),
        ("long", 5),
        ("long", 10),
        ("long", 40),
        ("plain", 5),
        ("plain", 10),
        ("gone", 5),
        ("gone", 10),
    }
    assert "short: 3 call(s) older than 7 days deleted" in result.output
    assert "long: 1 call(s) older than 365 days deleted" in result.output
    assert "plain: 2 call(s) older than 30 days deleted" in result.output
    assert (
        "gone: 2 call(s) older than 30 days deleted (tenant not configured: default retention)"
        in result.output
    )
    assert "purge: 8 call(s) deleted" in result.output
    purged = [json.loads(line) for line in no_full_number_in_logs if "RETENTION_PURGED" in line]
    assert {(e["tenant"], e["days"], e["deleted"]) for e in purged} == {
        ("short", 7, 3),
        ("long", 365, 1),
        ("plain", 30, 2),
        ("gone", 30, 2),
    }
    # Run again: nothing more to delete.
    again = invoke(app, "purge")
    assert "purge: 0 call(s) deleted" in again.output


def test_retention_days_is_checked(tmp_path):
    from backend.tenants.config import parse_tenant_text

    base = "id: x\nname: X\nvapi: {secret_env: VAPI_SECRET_X}\n"
    assert parse_tenant_text(base, "x.yaml")[0].retention_days == 30
    assert parse_tenant_text(base + "retention: {days: 3650}\n", "x.yaml")[0].retention_days == 3650
    for wrong, problem in (
        (0, "between 1 and 3650"),
        (3651, "between 1 and 3650"),
        ("30", "whole"),
    ):
        tenant, problems = parse_tenant_text(base + f"retention: {{days: {wrong!r}}}\n", "x.yaml")
        assert tenant is None
        assert any(
            str(p).startswith("x.yaml:4: retention.days: ") and problem in str(p) for p in problems
        )


def test_purge_refuses_to_run_while_a_tenant_file_is_refused(database_url, secrets, tmp_path):
    folder = tmp_path / "tenants"
    folder.mkdir()
    (folder / "short.yaml").write_text(yaml.safe_dump(SHORT), encoding="utf-8")
    # A typo in a tenant keeping calls a year: purging it by the 30-day default would lose data.
    broken = {**LONG, "retention": {"dayz": 365}}
    (folder / "long.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TENANTS_DIR": str(folder),
            "TENANTS_STRICT": False,
        }
    )
    try:
        with app.app_context():
            init_db()
            add_call("long", 40, caller_number=NUMBER)
        result = invoke(app, "purge")
        assert result.exit_code != 0
        assert "refused" in result.output
        with app.app_context():
            assert len(remaining()) == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- erase ---------------------------------------------------------------------------------


@pytest.fixture
def erase_app(tenants_app):
    return tenants_app(SHORT, LONG, PLAIN)


def test_erase_takes_an_overseas_number_as_the_caller_says_it(erase_app):
    with erase_app.app_context():
        reunion = add_call("short", caller_number="+262692341201")
        add_call("plain", contact_number="+262692341201")
        kept = add_call("short", caller_number=NUMBER)
    result = invoke(erase_app, "erase", "--phone", "06 92 34 12 01")
    assert result.exit_code == 0, result.output
    assert "short: 1 call(s) deleted holding +262XXXXXXX01" in result.output
    assert "plain: 1 call(s) deleted" in result.output
    with erase_app.app_context():
        assert remaining() == [("short", kept)] and reunion != kept


def test_erase_deletes_every_call_holding_the_number(erase_app, no_full_number_in_logs):
    app = erase_app
    with app.app_context():
        as_caller = add_call("short", caller_number=NUMBER)
        as_contact = add_call("short", caller_number=OTHER, contact_number=NUMBER)
        unrelated = add_call("short", caller_number=OTHER, contact_number=OTHER)
        withheld = add_call("short")
        other_tenant = add_call("plain", caller_number=NUMBER)
        removed_tenant = add_call("gone", contact_number=NUMBER)
    result = invoke(app, "erase", "--phone", "06 12 34 56 14", "--tenant", "short")
    assert result.exit_code == 0, result.output
    with app.app_context():
        left = {call_id for _, call_id in remaining()}
    assert as_caller not in left and as_contact not in left
    assert {unrelated, withheld, other_tenant, removed_tenant} <= left
    assert "short: 2 call(s) deleted holding +33XXXXXXX14" in result.output

    result = invoke(app, "erase", "--phone", NUMBER)
    assert result.exit_code == 0
    with app.app_context():
        left = {call_id for _, call_id in remaining()}
    assert left == {unrelated, withheld}
    assert "erase: 2 call(s) deleted" in result.output
    erased = [json.loads(line) for line in no_full_number_in_logs if "ERASURE_DONE" in line]
    assert {(e["tenant"], e["phone_masked"]) for e in erased} == {
        ("short", "+33XXXXXXX14"),
        ("plain", "+33XXXXXXX14"),
        ("gone", "+33XXXXXXX14"),
    }


def test_erase_refuses_a_tenant_neither_configured_nor_stored(erase_app):
    with erase_app.app_context():
        removed_tenant = add_call("gone", caller_number=NUMBER)
        kept = add_call("short", caller_number=NUMBER)
    for mistyped in ("shrot", ""):  # "" too: a script's unset variable
        result = invoke(erase_app, "erase", "--phone", NUMBER, "--tenant", mistyped)
        assert result.exit_code == 2
        assert f"{mistyped!r} is not configured and holds no call" in result.output
    # A tenant whose file was removed still has its calls erased.
    result = invoke(erase_app, "erase", "--phone", NUMBER, "--tenant", "gone")
    assert result.exit_code == 0, repr(result.exception)
    assert "gone: not configured" in result.output
    with erase_app.app_context():
        assert {call_id for _, call_id in remaining()} == {kept}
    assert removed_tenant != kept


@pytest.mark.parametrize(
    "typed",
    ["06 12 34 56 14", "06.12.34.56.14", "06-12-34-56-14", "0612345614", "+33 6 12 34 56 14"]
    + ["0033612345614", "+33612345614", "+33 (0)6 12 34 56 14"],
)
def test_erase_matches_the_number_in_any_format(erase_app, typed):
    with erase_app.app_context():
        add_call("plain", caller_number=NUMBER)
        kept = add_call("plain", caller_number=OTHER)
    result = invoke(erase_app, "erase", "--phone", typed)
    assert result.exit_code == 0, result.output
    with erase_app.app_context():
        assert [c for _, c in remaining()] == [kept]


def test_a_national_number_is_read_in_every_region_served(erase_app, no_full_number_in_logs):
    with erase_app.app_context():
        french = add_call("plain", caller_number=FRENCH_0470)
        belgian = add_call("long", caller_number=BELGIAN)
        # The same French caller wrote to in the Belgian tenant: its region reads 0470 as +32.
        french_at_belgian = add_call("long", contact_number=FRENCH_0470)
        kept = add_call("short", caller_number=OTHER)
    # « 0470 12 34 56 » is a Belgian mobile in BE, a French number in FR: both are erased,
    # in every tenant, rather than one missed.
    result = invoke(erase_app, "erase", "--phone", "0470 12 34 56")
    assert result.exit_code == 0, result.output
    with erase_app.app_context():
        assert [c for _, c in remaining()] == [kept]
    assert "erase: read as +32XXXXXXX56 (BE), +33XXXXXXX56 (FR)" in result.output
    assert "long: 1 call(s) deleted holding +32XXXXXXX56" in result.output
    assert "long: 1 call(s) deleted holding +33XXXXXXX56" in result.output
    assert "plain: 1 call(s) deleted holding +33XXXXXXX56" in result.output
    assert "erase: 3 call(s) deleted" in result.output
    assert not {french, belgian, french_at_belgian} & set(result.output.split())
    erased = [json.loads(line) for line in no_full_number_in_logs if "ERASURE_DONE" in line]
    assert {(e["tenant"], e["phone_masked"]) for e in erased} == {
        ("long", "+32XXXXXXX56"),
        ("long", "+33XXXXXXX56"),
        ("plain", "+33XXXXXXX56"),
    }


@pytest.mark.parametrize("only", [None, "long"])
def test_a_national_number_reaches_a_tenant_of_another_region(erase_app, only):
    """06 12 34 56 14 is no Belgian number: the Belgian tenant's French caller is erased too."""
    with erase_app.app_context():
        add_call("plain", caller_number=NUMBER)
        add_call("long", caller_number=NUMBER)
        add_call("long", caller_number=BELGIAN)
    result = invoke(
        erase_app, "erase", "--phone", "06 12 34 56 14", *(["--tenant", only] * bool(only))
    )
    assert result.exit_code == 0, result.output
    assert "erase: read as +33XXXXXXX14 (FR)" in result.output
    assert "long: 1 call(s) deleted holding +33XXXXXXX14" in result.output
    with erase_app.app_context():
        left = {(tenant, number) for tenant, number in remaining_numbers()}
    assert left == {("long", BELGIAN)} | ({("plain", NUMBER)} if only else set())


def test_erase_reaches_what_the_caller_said_in_the_conversation(erase_app, secrets, vapi_payload):
    client = erase_app.test_client()
    headers = {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]}
    body = vapi_payload("chat-completions.request")
    body["customer"]["number"] = body["call"]["customer"]["number"] = OTHER
    # The caller refuses the caller ID and dictates the number, then hangs up before the yes.
    said = LlmCall(client, headers, body, "llm-said", tenant="short")
    said.start()
    said.say("non ce n'est pas le mien")
    said.say("zéro six douze trente-quatre cinquante-six quatorze")
    # Another caller gave only its first digits before hanging up.
    partial = LlmCall(client, headers, body, "llm-partial", tenant="short")
    partial.start()
    partial.say("non, c'est le zéro six douze trente-quatre")
    # A third one dictated an unrelated number.
    unrelated = LlmCall(client, headers, body, "llm-unrelated", tenant="short")
    unrelated.start()
    unrelated.say(
        "non c'est le zéro six quatre-vingt-dix-huit soixante-seize cinquante-quatre trente-deux"
    )
    with erase_app.app_context():
        conversations = dict(db.session.execute(select(Call.call_id, Call.conversation)).all())
        db.session.commit()
    assert NUMBER in conversations["llm-said"]  # the read-back candidate
    assert "061234" in conversations["llm-partial"]  # the digits heard so far
    result = invoke(erase_app, "erase", "--phone", NUMBER)
    assert result.exit_code == 0
    with erase_app.app_context():
        assert [c for _, c in remaining()] == ["llm-unrelated"]
    assert "(0 by caller ID or contact number, 2 by conversation)" in result.output


def test_a_conversation_nested_past_the_json_parser_is_searched_as_text(erase_app):
    """A row edited by hand, nested deeper than json.loads goes: one such row must not stop
    every erasure; its text is searched instead."""
    deep = "[" * 5000 + json.dumps("zéro six, 0612345614") + "]" * 5000
    with erase_app.app_context():
        nested = add_call("short", conversation=deep)
        kept = add_call("short", conversation="[" * 5000 + "]" * 5000)
    result = invoke(erase_app, "erase", "--phone", NUMBER)
    assert result.exit_code == 0, result.output
    with erase_app.app_context():
        left = {call_id for _, call_id in remaining()}
    assert nested not in left and kept in left


def test_an_invalid_number_is_refused_without_being_echoed(erase_app):
    with erase_app.app_context():
        add_call("plain", caller_number=NUMBER)
    for typed in ("06 12 34 56", "not a number", "+33 6 12 34 56 14 99"):
        result = invoke(erase_app, "erase", "--phone", typed)
        assert result.exit_code == 2
        assert "not a valid phone number" in result.output
        assert typed not in result.output
    with erase_app.app_context():
        assert len(remaining()) == 1


def test_an_unknown_number_erases_nothing(erase_app):
    with erase_app.app_context():
        add_call("plain", caller_number=NUMBER)
    result = invoke(erase_app, "erase", "--phone", OTHER)
    assert result.exit_code == 0 and "erase: 0 call(s) deleted" in result.output
    with erase_app.app_context():
        assert len(remaining()) == 1


def test_erased_numbers_leave_no_bytes_in_the_sqlite_files(erase_app):
    with erase_app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite files only; PostgreSQL reclaims dead rows with (auto)vacuum")
        # As on a build where secure_delete is off by default (Debian turns it on).
        event.listen(
            db.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA secure_delete=OFF")
        )
        db.engine.dispose()
        for _ in range(20):
            add_call("plain", caller_number=NUMBER, contact_number=NUMBER)
        add_call("plain", caller_number=OTHER)
        path = Path(db.engine.url.database)
    files = [path, path.with_name(path.name + "-wal")]

    def on_disk():
        return b"".join(f.read_bytes() for f in files if f.exists())

    assert NUMBER.encode() in on_disk()
    result = invoke(erase_app, "erase", "--phone", NUMBER)
    assert result.exit_code == 0
    assert NUMBER.encode() not in on_disk()
    assert OTHER.encode() in on_disk()


def test_purge_and_erase_are_registered_with_the_app(app):
    commands = app.cli.list_commands(None)
    assert "purge" in commands and "erase" in commands
    with app.app_context():
        db.session.execute(text("SELECT 1"))


@pytest.mark.parametrize("command", [("purge",), ("erase", "--phone", NUMBER)])
def test_purge_and_erase_wait_for_the_disk(tenants_app, database_url, command, monkeypatch):
    """Call-flow writes may be set to skip the flush; deletions never do. Nor are they cut by
    the call path's statement timeout (a large backlog's DELETE takes seconds)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's synchronous_commit; SQLite's checkpoint is tested above")
    monkeypatch.setenv("DATABASE_SYNCHRONOUS_COMMIT", "off")
    erase_app = tenants_app(SHORT, LONG, PLAIN)
    with erase_app.app_context():
        add_call("plain", 400, caller_number=NUMBER)
        seen = []

        def setting_at_delete(_conn, cursor, statement, *_args):
            if statement.startswith("DELETE"):
                settings = (
                    "SELECT current_setting('synchronous_commit'),"
                    " current_setting('statement_timeout')"
                )
                seen.append(tuple(cursor.connection.execute(settings).fetchone()))

        event.listen(db.engine, "before_cursor_execute", setting_at_delete)
        try:
            result = invoke(erase_app, *command)
        finally:
            event.remove(db.engine, "before_cursor_execute", setting_at_delete)
        assert result.exit_code == 0, result.output
        assert seen and set(seen) == {("on", "0")}
        assert remaining() == []
        with db.engine.connect() as connection:  # the pool's connections keep their settings
            assert connection.execute(text("SHOW synchronous_commit")).scalar() == "off"
            timeout_ms = erase_app.config["DATABASE_STATEMENT_TIMEOUT_MS"]
            assert connection.execute(text("SHOW statement_timeout")).scalar() == (
                f"{timeout_ms // 1000}s" if timeout_ms % 1000 == 0 else f"{timeout_ms}ms"
            )
