"""The operators' console with Flask's test client: sign-in, sessions, CSRF, every page's content.

The same in a real browser against gunicorn: tests/test_console_browser.py.
"""

import csv
import hashlib
import io
import re
from datetime import timedelta

import pytest

from backend.console.access import operator_for
from backend.operators.contacts import COLUMNS, contact_rows
from backend.store.db import db
from backend.store.models import EndedSession, utcnow
from backend.store.sessions import SESSION_LIFETIME, end_session, has_ended
from backend.tenants.store import tenant_store
from backend.wording.preview import preview
from tests.console_forms import (
    ALICE,
    ALICE_TOKEN,
    BOB_TOKEN,
    CONSOLE_CONFIG,
    form_token,
    sign_in,
)
from tests.console_play import client_post, expected_contacts, play
from tests.leaks import assert_no_full_number, watch
from tests.outage import database_down
from tests.outcome_batch import EXPECTED
from tests.paths import ROOT


@pytest.fixture
def console_app(build_app):
    """`console_app(**config)`: an app with two operators (the session cookie over plain HTTP)
    on this test's fresh database, `config` applied; its connections closed after the test."""
    return lambda **config: build_app(**{**CONSOLE_CONFIG, **config})


@pytest.fixture
def console(console_app):
    """The app with two operators, on a fresh database."""
    return console_app()


@pytest.fixture
def browser(console):
    """A client signed in as alice."""
    client = console.test_client()
    assert sign_in(client).status_code == 302
    return client


@pytest.fixture
def played(console, demo_headers):
    """The scripted batch of demo calls (tests/outcome_batch.py) over the app's endpoints."""
    return play(client_post(console.test_client(), demo_headers))


# --- sign-in, sessions ---------------------------------------------------------------------


def test_pages_send_who_is_not_signed_in_to_the_sign_in_page(console):
    client = console.test_client()
    for path in ("/console/", "/console/tenants/demo"):
        answer = client.get(path)
        assert (answer.status_code, answer.headers["Location"]) == (302, "/console/sign-in")
    answer = client.post("/console/tenants/demo/contacts.csv", data={})
    # No form token: refused before anything else, and sent to sign in.
    assert (answer.status_code, answer.headers["Location"]) == (302, "/console/sign-in")


def test_the_right_token_signs_in_and_the_page_names_the_operator(console, log_events):
    client = console.test_client()
    answer = sign_in(client)
    assert (answer.status_code, answer.headers["Location"]) == (302, "/console/")
    page = client.get("/console/").get_data(as_text=True)
    assert '<span class="who">alice</span>' in page and "Se déconnecter" in page
    assert [e["operator"] for e in log_events("CONSOLE_SIGNED_IN")] == [ALICE]


def test_a_wrong_token_is_refused(console, log_events):
    client = console.test_client()
    for token in ("", "alice", ALICE_TOKEN + "x", ALICE_TOKEN.upper()):
        answer = sign_in(client, token)
        assert answer.status_code == 401
        assert "Ce jeton n'est celui d'aucun opérateur" in answer.get_data(as_text=True)
        assert client.get("/console/").status_code == 302
    refused = log_events("CONSOLE_SIGN_IN_REFUSED")
    assert len(refused) == 4 and all(ALICE_TOKEN not in str(e) for e in refused)


def test_each_operator_signs_in_with_their_own_token():
    operators = (("alice", ALICE_TOKEN), ("bob", BOB_TOKEN))
    assert operator_for(ALICE_TOKEN, operators) == "alice"
    assert operator_for(BOB_TOKEN, operators) == "bob"
    assert operator_for(ALICE_TOKEN[:-1], operators) is None
    assert operator_for(ALICE_TOKEN, ()) is None


def test_no_operator_configured_refuses_every_sign_in(console_app):
    app = console_app(CONSOLE_OPERATORS=())
    client = app.test_client()
    assert "Aucun opérateur n'est configuré" in client.get("/console/sign-in").get_data(True)
    assert sign_in(client, "").status_code == 401
    assert sign_in(client, ALICE_TOKEN).status_code == 401


def test_the_session_cookie_is_http_only_same_site_and_secure_unless_told(console, console_app):
    cookie = sign_in(console.test_client()).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie
    app = console_app(CONSOLE_COOKIE_SECURE=True)
    secure = sign_in(app.test_client()).headers["Set-Cookie"]
    assert "; Secure" in secure and "HttpOnly" in secure
    assert ALICE_TOKEN not in cookie and ALICE_TOKEN not in secure


def test_sign_out_ends_the_session(browser, log_events):
    answer = browser.post(
        "/console/sign-out", data={"csrf_token": form_token(browser, "/console/")}
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, "/console/sign-in")
    assert browser.get("/console/").status_code == 302
    assert [e["operator"] for e in log_events("CONSOLE_SIGNED_OUT")] == [ALICE]


def copy_of(app, client):
    """A client of `app` holding a copy of `client`'s console cookie."""
    copy = app.test_client()
    cookie = client.get_cookie("console_session", path="/console").value
    copy.set_cookie("console_session", cookie, path="/console")
    return copy


def test_a_copy_of_a_signed_out_session_s_cookie_is_refused_on_every_worker(console_app):
    # The cookie is signed, not stored: what sign-out keeps is the session's id, in the
    # database, which every worker reads (here two apps on the same database).
    console, worker = console_app(), console_app()
    kept, other = console.test_client(), console.test_client()
    sign_in(kept)
    sign_in(other)
    copy = copy_of(worker, kept)
    assert copy.get("/console/tenants/demo").status_code == 200
    kept.post("/console/sign-out", data={"csrf_token": form_token(kept, "/console/")})
    answer = copy.get("/console/tenants/demo")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/console/sign-in")
    # The refusal deletes the copy, instead of signing it again.
    assert "console_session=;" in answer.headers["Set-Cookie"]
    assert other.get("/console/").status_code == 200  # the operator's other session goes on
    assert sign_in(copy).status_code == 302 and copy.get("/console/").status_code == 200


def test_a_sign_in_form_stays_good_after_the_page_is_opened_again(console):
    # Only a refused operator's session is cleared: a visitor's form token stays.
    client = console.test_client()
    first = form_token(client)
    form_token(client)  # the sign-in page opened again, in another tab
    answer = client.post("/console/sign-in", data={"token": ALICE_TOKEN, "csrf_token": first})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/console/")


def test_the_cookie_is_not_signed_again_and_a_session_ends_8_hours_after_sign_in(browser):
    browser.get("/console/")  # the page's form token joins the session: signed once
    assert "Set-Cookie" not in browser.get("/console/").headers
    with browser.session_transaction("/console/") as session:
        session["issued_at"] -= SESSION_LIFETIME.total_seconds() + 60
    assert browser.get("/console/").status_code == 302


def test_signing_in_again_ends_the_session_it_replaces(console, browser):
    earlier = copy_of(console, browser)
    # The sign-in page sends who is signed in to the console: the form posted from elsewhere.
    data = {"token": BOB_TOKEN, "csrf_token": form_token(browser, "/console/")}
    assert browser.post("/console/sign-in", data=data).status_code == 302
    assert earlier.get("/console/").status_code == 302
    assert browser.get("/console/").status_code == 200


@pytest.mark.product_deadlines
def test_sign_out_while_the_database_is_away_still_signs_this_browser_out(
    console, browser, log_events
):
    token = form_token(browser, "/console/")
    with database_down(console):
        answer = browser.post("/console/sign-out", data={"csrf_token": token})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/console/sign-in")
    assert browser.get("/console/").status_code == 302
    assert log_events("CONSOLE_SIGN_OUT_NOT_RECORDED")


def test_purge_deletes_ended_sessions_past_a_session_s_lifetime(console):
    with console.app_context():
        end_session("expired")
        end_session("recent")
        end_session("recent")  # signed out twice: one row
        expired = db.session.get(EndedSession, hashlib.sha256(b"expired").hexdigest())
        expired.ended_at = utcnow() - SESSION_LIFETIME - timedelta(minutes=1)
        db.session.commit()
    result = console.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "purge: 1 ended console session(s) older than 8 hours deleted" in result.output
    with console.app_context():
        assert (has_ended("expired"), has_ended("recent")) == (False, True)


def test_a_changed_token_ends_the_sessions_it_opened(console, browser):
    assert browser.get("/console/").status_code == 200
    console.config["CONSOLE_OPERATORS"] = (("alice", "a-new-token-for-alice-42"),)
    assert browser.get("/console/").status_code == 302


# --- CSRF ----------------------------------------------------------------------------------


def test_every_form_without_its_token_is_refused(console, browser, log_events):
    forms = ["/console/sign-out", "/console/tenants/demo/contacts.csv", "/console/sign-in"]
    for path in forms:
        for data in (
            {},
            {"csrf_token": "forged"},
            {"csrf_token": form_token(console.test_client())},
        ):
            answer = browser.post(path, data={**data, "token": ALICE_TOKEN})
            if path == "/console/sign-in":
                # Signed in already (from another tab): to the console, nothing done.
                assert answer.status_code == 302 and answer.location.endswith("/console/")
                continue
            assert answer.status_code == 400, (path, data)
            assert "Formulaire refusé" in answer.get_data(as_text=True)
    assert browser.get("/console/").status_code == 200  # still signed in: sign-out was refused
    assert not log_events("CONTACTS_EXPORTED")
    assert len(log_events("CONSOLE_FORM_REFUSED")) == 9


def test_a_form_left_open_while_the_session_changed_says_what_to_do(console, browser, log_events):
    stale = form_token(console.test_client())  # a sign-in page opened in another browser tab
    visitor = console.test_client()
    answer = visitor.post("/console/sign-in", data={"csrf_token": stale, "token": ALICE_TOKEN})
    assert answer.status_code == 400
    assert "Ce formulaire avait expiré" in answer.get_data(as_text=True)
    assert visitor.get("/console/").status_code == 302  # not signed in by it
    # A download from a page left open after signing out in another tab: to the sign-in page.
    page = browser.get("/console/tenants/demo").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post("/console/sign-out", data={"csrf_token": token})
    answer = browser.post("/console/tenants/demo/contacts.csv", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.location.endswith("/console/sign-in")
    assert not log_events("CONTACTS_EXPORTED")
    assert [line["status"] for line in log_events("CONSOLE_FORM_REFUSED")] == [400, 302]


# --- the pages -----------------------------------------------------------------------------


def test_the_tenants_page_shows_each_file_valid_or_refused_and_the_secret(
    folders, console_app, monkeypatch
):
    tenants, locales = folders
    broken = (tenants / "plomberie.yaml").read_text(encoding="utf-8")
    (tenants / "plomberie.yaml").write_text(broken.replace("locale:", "locale: [", 1))
    monkeypatch.delenv("VAPI_SECRET_DEMO")
    app = console_app(
        TENANTS_DIR=str(tenants),
        LOCALES_DIR=str(locales),
        TENANTS_STRICT=False,
        TENANTS_RELOAD=False,
    )
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/").get_data(as_text=True)
    refused = re.search(r'status-refused">(.*?)</li>', page, re.S).group(1)
    assert "<code>plomberie.yaml</code>" in refused and "Refusé : non servi" in refused
    assert re.search(r"<code>plomberie\.yaml:\d+: \(yaml\): YAML syntax error", refused)
    assert str(tenants) not in page
    valid = re.search(r'status-valid">(.*?)</li>', page, re.S).group(1)
    assert "Cabinet Démo" in valid and "Secret non défini" in valid


def test_the_tenant_page_shows_every_sentence_as_the_preview_does(console, browser):
    page = browser.get("/console/tenants/demo").get_data(as_text=True)
    with console.test_request_context():
        store = tenant_store()
        example, sentences = preview(store.directory.get("demo"), store.catalogs)
    assert example in page
    for key, _origin, sentence in sentences:
        escaped = sentence.replace("'", "&#39;").replace('"', "&#34;")
        assert f"<code>{key}</code>" in page and escaped in page, key


def test_the_last_calls_show_numbers_masked(console, browser, played):
    page = browser.get("/console/tenants/demo").get_data(as_text=True)
    for call_id in played.values():
        assert call_id in page
    # The caller ID of three calls, and the contact of the one who confirmed it.
    assert page.count("<code>+33XXXXXXX14</code>") == 4
    assert page.count("<code>+33XXXXXXX78</code> (dicté)") == 2
    assert "<code>+33XXXXXXX14</code> (numéro affiché)" in page
    assert "Sortie : fin de l'étape" in page
    assert_no_full_number(page, "the tenant page")


def test_a_number_a_client_put_in_a_call_id_or_ended_reason_is_masked(
    browser, demo_headers, vapi_payload
):
    watch("+33698761234")
    status = vapi_payload("status-update.in-progress")
    status["message"]["call"]["id"] = "call-06\u202f98\u202f76\u202f12\u202f34"
    answer = browser.post("/api/vapi/demo/webhook", json=status, headers=demo_headers)
    assert answer.status_code == 200
    report = vapi_payload("end-of-call-report")
    report["message"]["call"]["id"] = "call-0698761234"
    report["message"]["endedReason"] = "transferred-to-06-98-76-12-34"
    answer = browser.post("/api/vapi/demo/webhook", json=report, headers=demo_headers)
    assert answer.status_code == 200
    # Spaced wider than one separator between pairs, where the id's own look finds no run.
    loose = vapi_payload("end-of-call-report")
    loose["message"]["call"]["id"] = "06  98  76  12  34"
    loose["message"]["endedReason"] = "rappeler le 06. 98. 76. 12. 34"
    answer = browser.post("/api/vapi/demo/webhook", json=loose, headers=demo_headers)
    assert answer.status_code == 200
    page = browser.get("/console/tenants/demo").get_data(as_text=True)
    assert "call-XX\u202fXX\u202fXX\u202fXX\u202f34" in page and "call-XXXXXXXX34" in page
    assert "transferred-to-XX-XX-XX-XX-34" in page
    assert "XX  XX  XX  XX  34" in page and "rappeler le XX. XX. XX. XX. 34" in page
    assert_no_full_number(page, "the tenant page")


def test_the_outcome_charts_show_exactly_the_batch(browser, played):
    page = browser.get("/console/tenants/demo").get_data(as_text=True)
    table = re.search(r'<table id="outcome-table">(.*?)</table>', page, re.S).group(1)
    assert len(re.findall(r"<tr data-day=", table)) == 1  # the batch's day only
    shown = dict(re.findall(r'data-field="(\w+)" data-count="(\d+)"', table))
    shown["calls"] = re.search(r'data-field="calls">(\d+)<', table).group(1)
    expected = {name: str(count) for name, count in EXPECTED.items() if name in shown}
    assert shown == expected and len(shown) == 6
    assert re.search(r'data-field="median_turns">2<', table)
    # The bar of the day: one segment per outcome, each of its count.
    bar = dict(
        re.findall(
            r'<rect class="o-\w+" data-day="[\d-]+" data-part="(\w+)" data-count="(\d+)"', page
        )
    )
    assert bar == {
        "confirmed_first_ask": "1",
        "collected_by_voice": "2",
        "way_out": "1",
        "unfinished": "1",
    }
    # The outcome of each call, in the last calls.
    assert "Numéro affiché refusé, numéro recueilli · 3 tour(s)" in page


def test_a_tenant_without_calls_says_so(browser):
    page = browser.get("/console/tenants/demo").get_data(as_text=True)
    assert (
        "Aucun appel n&#39;a atteint l&#39;étape contact" in page
        or "Aucun appel n'a atteint" in page
    )
    assert "<svg" not in page


def test_an_unknown_tenant_is_not_found(browser):
    answer = browser.get("/console/tenants/nobody")
    assert answer.status_code == 404 and "Aucun client de ce nom" in answer.get_data(True)
    token = form_token(browser, "/console/")
    assert (
        browser.post("/console/tenants/nobody/contacts.csv", data={"csrf_token": token}).status_code
        == 404
    )


def test_pages_are_never_cached_nor_framed(browser):
    for path in ("/console/", "/console/tenants/demo", "/console/sign-in"):
        headers = browser.get(path).headers
        assert headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
    css = browser.get("/console/static/console.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    css.close()


# --- the contacts download -----------------------------------------------------------------


def test_the_download_has_the_full_numbers_is_logged_and_never_cached(
    console, browser, played, log_events
):
    token = form_token(browser, "/console/tenants/demo")
    answer = browser.post("/console/tenants/demo/contacts.csv", data={"csrf_token": token})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(
        r'attachment; filename="contacts-demo-\d{8}-\d{6}\.csv"',
        answer.headers["Content-Disposition"],
    )
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert tuple(rows[0]) == COLUMNS
    numbers = {row["call_id"]: row["contact_number"] for row in rows}
    assert numbers == expected_contacts(played)
    exported = log_events("CONTACTS_EXPORTED")
    assert [(e["operator"], e["tenant"], e["rows"], e["via"]) for e in exported] == [
        (ALICE, "demo", len(played), "console")
    ]


def test_the_download_reads_within_its_own_budget_not_a_caller_s(console_app, monkeypatch):
    """A caller's request has 600 ms for the database; reading every call of a big tenant
    takes longer (PostgreSQL: 503 from 10,000 calls on, a helper found). The download gets
    CONSOLE_EXPORT_BUDGET_MS, still a bound, from its first statement."""
    from backend.console import views
    from backend.store import deadline

    app = console_app(CONSOLE_EXPORT_BUDGET_MS=7_000)
    left = []

    def rows(*args):
        left.append(deadline.remaining())
        return contact_rows(*args)

    monkeypatch.setattr(views, "contact_rows", rows)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    token = form_token(client, "/console/tenants/demo")
    answer = client.post("/console/tenants/demo/contacts.csv", data={"csrf_token": token})
    assert answer.status_code == 200
    assert left == [7.0]  # the clock starts at the export's first statement


def test_one_download_at_a_time_in_a_process(browser, played, log_events):
    """Each download may hold a worker's thread for seconds: a second one at the same time
    (a double click) is turned away, in French, and not queued behind the first."""
    from backend.console import views

    token = form_token(browser, "/console/tenants/demo")
    assert views._EXPORTING.acquire(blocking=False)  # a download under way in this process
    try:
        busy = browser.post("/console/tenants/demo/contacts.csv", data={"csrf_token": token})
    finally:
        views._EXPORTING.release()
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert "Un autre téléchargement est en préparation" in busy.get_data(as_text=True)
    assert [line["tenant"] for line in log_events("CONTACTS_EXPORT_BUSY")] == ["demo"]
    answer = browser.post("/console/tenants/demo/contacts.csv", data={"csrf_token": token})
    assert answer.status_code == 200  # the first done: the next one is served


def test_the_download_since_a_date(browser, played):
    token = form_token(browser, "/console/tenants/demo")
    later = browser.post(
        "/console/tenants/demo/contacts.csv", data={"csrf_token": token, "since": "2999-01-01"}
    )
    assert later.get_data(as_text=True).splitlines() == [",".join(COLUMNS)]
    wrong = browser.post(
        "/console/tenants/demo/contacts.csv", data={"csrf_token": token, "since": "hier"}
    )
    assert wrong.status_code == 400 and "Une valeur du formulaire" in wrong.get_data(True)


# --- RGPD: no page but the download shows a full number ------------------------------------


def test_no_console_page_shows_a_full_number(console, browser, played):
    """Every GET page of the console, for every tenant, after the batch: numbers masked."""
    with console.test_request_context():
        tenant_ids = list(tenant_store().directory.by_id)
    pages = 0
    for rule in console.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or "GET" not in rule.methods:
            continue
        if rule.endpoint == "console.static":
            continue
        for tenant_id in tenant_ids if "tenant_id" in rule.arguments else [None]:
            path = rule.build({"tenant_id": tenant_id} if tenant_id else {})[1]
            answer = browser.get(path, follow_redirects=True)
            assert answer.status_code == 200, path
            assert_no_full_number(answer.get_data(as_text=True), f"the page {path}")
            pages += 1
    assert pages >= 4  # sign-in, tenants, one per tenant


# --- CONSOLE_OPERATORS ---------------------------------------------------------------------


def test_operators_come_from_the_environment_as_name_token_pairs(monkeypatch):
    from backend import config

    monkeypatch.setenv("CONSOLE_OPERATORS", f" alice:{ALICE_TOKEN},bob:{BOB_TOKEN} ")
    monkeypatch.setenv("CONSOLE_COOKIE_SECURE", "false")
    values = config.from_environment()
    assert values["CONSOLE_OPERATORS"] == (("alice", ALICE_TOKEN), ("bob", BOB_TOKEN))
    assert values["CONSOLE_COOKIE_SECURE"] is False


@pytest.mark.parametrize(
    "value, words",
    [
        ("alice:short-token", "alice's token must be 16 characters or more"),
        (f"alice{ALICE_TOKEN}", "entry 1 must be name:token"),
        (f"alice:{ALICE_TOKEN} alice:{BOB_TOKEN}", "must name each operator once"),
        (f"alice:{ALICE_TOKEN} bob:{ALICE_TOKEN}", "a token of their own"),
    ],
)
def test_a_wrong_operators_value_stops_the_app_without_quoting_it(value, words, monkeypatch):
    from backend import config

    monkeypatch.setenv("CONSOLE_OPERATORS", value)
    with pytest.raises(config.ConfigError) as raised:
        config.from_environment()
    message = str(raised.value)
    assert message.startswith("CONSOLE_OPERATORS ") and words in message
    assert "token-" not in message and "short-token" not in message


def test_a_refused_edit_shows_on_the_tenant_page_while_the_last_version_serves(
    folders, console_app
):
    tenants, locales = folders
    app = console_app(TENANTS_DIR=str(tenants), LOCALES_DIR=str(locales), TENANTS_RELOAD=False)
    client = app.test_client()
    sign_in(client)
    assert "Valide" in client.get("/console/tenants/demo").get_data(as_text=True)
    demo = tenants / "demo.yaml"
    demo.write_text(demo.read_text(encoding="utf-8") + "\nunknown_key: 1\n", encoding="utf-8")
    with app.app_context():
        tenant_store().reload_if_changed()
    page = client.get("/console/tenants/demo").get_data(as_text=True)
    assert "Modification refusée : la dernière version valide est servie" in page
    assert re.search(r"<code>demo\.yaml:\d+: unknown_key: [^<]+</code>", page), page


def test_every_form_of_the_templates_carries_its_csrf_token():
    templates = sorted((ROOT / "backend" / "console" / "templates").rglob("*.html"))
    forms = 0
    for template in templates:
        for form in re.findall(r"<form\b.*?</form>", template.read_text("utf-8"), re.S):
            assert 'method="post"' in form, template.name
            assert '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">' in form
            forms += 1
    assert forms == 3  # sign-in, sign-out, contacts download


def test_with_a_secret_key_a_token_change_ends_only_that_operator_s_sessions(console_app):
    def app_with(operators):
        return console_app(CONSOLE_OPERATORS=operators, CONSOLE_SECRET_KEY="k" * 32)

    before = app_with({"alice": ALICE_TOKEN, "bob": BOB_TOKEN})
    client = before.test_client()
    sign_in(client)
    cookie = client.get_cookie("console_session", path="/console")
    for operators, signed_in in (
        ({"alice": ALICE_TOKEN, "bob": "bob-has-a-new-token-now"}, True),
        ({"alice": "alice-has-a-new-token-now", "bob": BOB_TOKEN}, False),
    ):
        other = app_with(operators).test_client()
        other.set_cookie("console_session", cookie.value, path="/console")
        assert (other.get("/console/").status_code == 200) is signed_in


@pytest.mark.product_deadlines
def test_without_the_database_the_tenant_page_is_a_503_and_the_tenants_page_still_answers(
    console, browser
):
    with database_down(console):
        assert browser.get("/console/tenants/demo").status_code == 503
        assert browser.get("/console/").status_code == 200  # tenant files only
    assert browser.get("/console/tenants/demo").status_code == 200
