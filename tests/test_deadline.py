"""The process's memory of an outage (backend/store/deadline.py), and its end."""

import pytest
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from backend.store import deadline

URL = make_url("postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def in_a_request():
    deadline.begin_request(1.0)
    yield
    deadline.end_request()


def test_a_cut_wait_fails_the_next_statements_at_once_until_forgotten(in_a_request):
    deadline.cut_after(0.6, deadline.server(URL.host, URL.port))
    with pytest.raises(OperationalError, match="unreachable a moment ago"):
        deadline.check(URL)
    # Another server is not taken for away.
    assert deadline.check(URL.set(port=5433)) > 0
    deadline.forget_outages()
    assert deadline.check(URL) > 0


def test_a_short_wait_cut_at_the_end_of_a_budget_says_nothing_of_the_server(in_a_request):
    deadline.cut_after(0.1, deadline.server(URL.host, URL.port))
    assert deadline.check(URL) > 0
