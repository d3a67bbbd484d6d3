"""The scripted batch of tests/outcome_batch.py, played for the console: over Flask's test
client or real HTTP, and the full numbers its contacts download must hold.
"""

import requests

from backend.engine import outcomes
from tests.contact_play import CALLER, SPOKEN
from tests.outcome_batch import play_batch

# The full number each outcome confirms ("" for none), as the contacts download gives it.
CONFIRMED = {
    outcomes.CALLER_ID_FIRST_ASK: CALLER,
    outcomes.CALLER_ID_REFUSED_COLLECTED: SPOKEN,
    outcomes.COLLECTED_WITHOUT_CALLER_ID: SPOKEN,
}


def client_post(client, headers):
    """`post(path, body)` for outcome_batch over Flask's test client."""

    def post(path, body):
        response = client.post(path, json=body, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return post


def http_post(base_url, headers):
    """`post(path, body)` for outcome_batch over real HTTP to a running server."""
    session = requests.Session()

    def post(path, body):
        response = session.post(base_url + path, json=body, headers=headers, timeout=5)
        return response.status_code, response.text

    return post


def play(post):
    """Play the batch once: {outcome: call id}."""
    return {scenario.outcome: call_id for call_id, scenario in play_batch(post).items()}


def expected_contacts(played):
    """{call id: full number or ""}: what the download holds for the batch."""
    return {call_id: CONFIRMED.get(outcome, "") for outcome, call_id in played.items()}
