"""The fixtures' shortcut to an empty database at head (tests/schemas.py) makes what
create_schema_at_head makes, which tests/test_migrations.py compares with the migrations."""

from sqlalchemy import inspect, text

from backend import create_app
from backend.store.db import db
from tests.conftest import postgres_schema_url
from tests.schemas import create_schema_at_head, made_at_head_if_empty
from tests.test_migrations import revisions, schema_snapshot


def made(url, shortcut):
    """(schema, alembic's table, revisions, SQLite journal mode) of a database made at head."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            if shortcut:
                assert made_at_head_if_empty(db.engine)
            else:
                create_schema_at_head()
            inspector = inspect(db.engine)
            version_table = (
                inspector.get_columns("alembic_version"),
                inspector.get_pk_constraint("alembic_version"),
            )
            journal = None
            if db.engine.dialect.name == "sqlite":
                with db.engine.connect() as connection:
                    journal = connection.execute(text("PRAGMA journal_mode")).scalar()
            found = (schema_snapshot(), str(version_table), revisions(), journal)
            # Not empty any more: the shortcut leaves it to create_schema_at_head.
            assert not made_at_head_if_empty(db.engine)
            return found
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_shortcut_makes_what_create_schema_at_head_makes(database_url, request, tmp_path):
    if database_url.startswith("sqlite"):
        other, drop = f"sqlite:///{tmp_path / 'other.db'}", lambda: None
    else:
        other, drop = postgres_schema_url(request.getfixturevalue("postgres_admin"))
    try:
        assert made(database_url, shortcut=True) == made(other, shortcut=False)
    finally:
        drop()
