"""The console in a real browser: Chromium (Playwright) against gunicorn on 127.0.0.1.

The test plays the scripted batch of calls (tests/outcome_batch.py) through the Vapi endpoints
over HTTP, then, as an operator would: a wrong token refused, sign-in, the tenants, the demo
tenant's page and its outcome chart, the contacts download, a form without its CSRF token
refused, sign-out.
Screenshots (a wide screen and a phone's) are kept in test-artifacts/.
"""

import csv
import json

import pytest

from tests.browser import PHONE, artifact, chromium  # noqa: F401  (fixture)
from tests.conftest import TEST_SECRETS
from tests.console_forms import ALICE, ALICE_TOKEN, OPERATORS
from tests.console_play import expected_contacts, http_post, play
from tests.leaks import assert_no_full_number
from tests.outcome_batch import EXPECTED
from tests.schemas import database_at_head
from tests.servers import Gunicorn

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path):
    """gunicorn serving the shipped tenants and the console, two workers, a fresh SQLite file."""
    env = {
        **TEST_SECRETS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'calls.db'}",
        "CONSOLE_OPERATORS": " ".join(f"{name}:{token}" for name, token in OPERATORS.items()),
        # Plain HTTP on loopback: a Secure cookie would not come back.
        "CONSOLE_COOKIE_SECURE": "false",
    }
    database_at_head(env["DATABASE_URL"])
    with Gunicorn("wsgi:app", env=env, workers=2, threads=2) as server:
        yield server


def _swept(page, where):
    assert_no_full_number(page.content(), where)


def test_an_operator_signs_in_reads_the_demo_tenant_and_downloads_its_contacts(
    chromium,  # noqa: F811
    served,
):
    headers = {"X-Vapi-Secret": TEST_SECRETS["VAPI_SECRET_DEMO"]}
    played = play(http_post(served.url, headers))
    context = chromium.new_context(accept_downloads=True, locale="fr-FR")
    page = context.new_page()

    # Not signed in: the sign-in page; a wrong token is refused.
    page.goto(served.url + "/console/")
    assert page.url == served.url + "/console/sign-in"
    page.fill("#token", "not-an-operator-token-at-all")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.click("button[type=submit]")
    assert refused.value.status == 401
    assert "Ce jeton n'est celui d'aucun opérateur" in page.inner_text("#refused")

    # The right token: the tenants, then the demo tenant.
    page.fill("#token", ALICE_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(served.url + "/console/")
    assert page.inner_text("h1") == "Clients" and page.inner_text(".who") == ALICE
    _swept(page, "the tenants page")
    page.click("text=Cabinet Démo")
    page.wait_for_url(served.url + "/console/tenants/demo")
    assert "Valide" in page.inner_text("#configuration")
    calls = page.inner_text("#calls")
    assert all(call_id in calls for call_id in played.values())
    _swept(page, "the tenant page")

    # The chart, drawn from the calls played above: one bar, a segment per outcome.
    chart = page.locator("#outcome-chart")
    assert chart.is_visible() and chart.bounding_box()["height"] > 100
    segments = {
        rect.get_attribute("data-part"): int(rect.get_attribute("data-count"))
        for rect in chart.locator("rect").all()
    }
    assert segments == {
        part: EXPECTED[part]
        for part in ("confirmed_first_ask", "collected_by_voice", "way_out", "unfinished")
    }
    assert all(rect.bounding_box()["height"] > 0 for rect in chart.locator("rect").all())
    cells = page.locator("#outcome-table td[data-field=calls]").all_inner_texts()
    assert cells == [str(EXPECTED["calls"])]
    page.screenshot(path=artifact("console-tenant-demo.png"), full_page=True)

    # The contacts download: the full numbers, in the CSV the browser saved.
    with page.expect_download() as download:
        page.click("#contacts button[type=submit]")
    saved = download.value.path()
    with open(saved, encoding="utf-8", newline="") as handle:
        rows = {row["call_id"]: row["contact_number"] for row in csv.DictReader(handle)}
    assert rows == expected_contacts(played)

    # A form whose CSRF token was taken out is refused.
    page.eval_on_selector("#contacts input[name=csrf_token]", "input => input.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as forged:
        page.click("#contacts button[type=submit]")
    assert forged.value.status == 400
    assert page.inner_text("h1") == "Formulaire refusé"

    # Sign out: the console asks for a token again.
    page.goto(served.url + "/console/")
    page.click(".sign-out button")
    page.wait_for_url(served.url + "/console/sign-in")
    page.goto(served.url + "/console/tenants/demo")
    assert page.url == served.url + "/console/sign-in"
    context.close()

    output = served.output()
    exported = [json.loads(line) for line in output.splitlines() if '"CONTACTS_EXPORTED"' in line]
    assert [(e["operator"], e["tenant"], e["rows"]) for e in exported] == [
        (ALICE, "demo", len(played))
    ]
    assert '"CONSOLE_FORM_REFUSED"' in output and '"CONSOLE_SIGN_IN_REFUSED"' in output
    assert "Traceback" not in output


def test_the_console_fits_a_phone_screen(chromium, served):  # noqa: F811
    headers = {"X-Vapi-Secret": TEST_SECRETS["VAPI_SECRET_DEMO"]}
    play(http_post(served.url, headers))
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(served.url + "/console/sign-in")
    page.fill("#token", ALICE_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(served.url + "/console/")
    for path in ("/console/", "/console/tenants/demo"):
        page.goto(served.url + path)
        # Nothing wider than the screen: wide tables scroll inside their own box.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
    page.screenshot(path=artifact("console-tenant-demo-phone.png"), full_page=True)
    context.close()
