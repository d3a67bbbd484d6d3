"""Signing in to the console and posting its forms with Flask's test client."""

import re

ALICE, ALICE_TOKEN = "alice", "alice-token-0123456789"
BOB, BOB_TOKEN = "bob", "bob-token-9876543210xyz"
OPERATORS = {ALICE: ALICE_TOKEN, BOB: BOB_TOKEN}
CONSOLE_CONFIG = {"CONSOLE_OPERATORS": OPERATORS, "CONSOLE_COOKIE_SECURE": False}

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client, path="/console/sign-in"):
    """The CSRF token the page at `path` puts in its forms."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return _FORM_TOKEN.search(page.get_data(as_text=True)).group(1)


def sign_in(client, token=ALICE_TOKEN):
    """Sign in through the form, as a browser does: the answer to the POST."""
    return client.post("/console/sign-in", data={"token": token, "csrf_token": form_token(client)})
