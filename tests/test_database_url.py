"""DATABASE_URL as hosting platforms give it: `postgres://` and `postgresql://` use psycopg 3."""

import os

import pytest
from sqlalchemy import inspect, text

from backend import create_app
from backend.store.connections import sqlalchemy_url
from backend.store.db import db
from tests.conftest import postgres_schema_url
from tests.servers import flask_command


@pytest.mark.parametrize(
    "given, used",
    [
        ("postgres://u:p@db.example:5432/calls", "postgresql+psycopg://u:p@db.example:5432/calls"),
        (
            "postgresql://u@db.example/calls?sslmode=require",
            "postgresql+psycopg://u@db.example/calls?sslmode=require",
        ),
        ("POSTGRES://u@h/calls", "postgresql+psycopg://u@h/calls"),
        # A password may hold "://" once encoded: only the scheme changes.
        ("postgres://u:a%3A%2F%2Fb@h/calls", "postgresql+psycopg://u:a%3A%2F%2Fb@h/calls"),
        ("postgresql+psycopg://u@h/calls", "postgresql+psycopg://u@h/calls"),
        # A driver named on purpose stays that driver.
        ("postgresql+psycopg2://u@h/calls", "postgresql+psycopg2://u@h/calls"),
        ("sqlite:///calls.db", "sqlite:///calls.db"),
        ("sqlite:////var/lib/app/calls.db", "sqlite:////var/lib/app/calls.db"),
        ("postgres-not-a-scheme", "postgres-not-a-scheme"),
    ],
)
def test_sqlalchemy_url(given, used):
    assert sqlalchemy_url(given) == used


def platform_url(url):
    """The same database as `url`, spelled as a hosting platform hands it out."""
    return "postgres://" + url.partition("://")[2]


@pytest.fixture
def platform_schema_url(postgres_admin):
    """A fresh schema on the real PostgreSQL, its URL spelled `postgres://...`."""
    url, drop = postgres_schema_url(postgres_admin)
    assert url.startswith("postgresql+psycopg://")
    yield platform_url(url)
    drop()


def connected_driver(app):
    with app.app_context():
        try:
            with db.engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar() == 1
            return db.engine.dialect.name, db.engine.dialect.driver
        finally:
            db.engine.dispose()


def test_a_postgres_url_in_test_config_connects(platform_schema_url, secrets):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": platform_schema_url})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert connected_driver(app) == ("postgresql", "psycopg")


def test_a_postgresql_url_in_the_environment_connects(postgres_admin, monkeypatch, secrets):
    url, drop = postgres_schema_url(postgres_admin)
    try:
        monkeypatch.setenv("DATABASE_URL", "postgresql://" + url.partition("://")[2])
        app = create_app({"TESTING": True})
        assert connected_driver(app) == ("postgresql", "psycopg")
    finally:
        drop()


def test_the_readme_form_connects(postgres_admin, secrets):
    """`postgres://postgres@127.0.0.1:5432/test`, the test database without a schema option."""
    url = platform_url(postgres_admin.url.render_as_string(hide_password=False))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    assert connected_driver(app) == ("postgresql", "psycopg")


def test_init_db_from_a_shell_with_a_postgres_url(platform_schema_url, postgres_admin):
    done = flask_command(["init-db"], {**os.environ, "DATABASE_URL": platform_schema_url})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Database ready.\n"
    schema = platform_schema_url.rsplit("%3D", 1)[1]
    assert "calls" in inspect(postgres_admin).get_table_names(schema=schema)
