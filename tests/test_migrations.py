"""Alembic migrations: an empty database upgraded to head is what backend/store/models.py declares,
on SQLite and PostgreSQL; a database made before migrations upgrades; downgrades undo."""

import json
import os
import shutil
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url

from backend import create_app
from backend.store.db import db, migrate
from backend.store.models import Call
from backend.store.schema import MIGRATIONS_DIR, migration_scripts, upgrade_database
from tests.conftest import create_schema_at_head
from tests.outage import calls_table_locked, sqlite_write_locked
from tests.servers import flask_command

FIRST, RETIRED_INDEX_DROPPED = "f38212f029dd", "c606341b2f13"
CONVERSATION_VERSION, CONTACT_OUTCOME = "63078abf4cbb", "a7c41e9d2b50"
SEEN_SIGNATURES = "b5e2d8c4f1a3"
HEAD = "d41c7a9e3b62"  # ended_sessions
RETIRED_INDEX = "ix_calls_tenant_id"


@pytest.fixture
def bare_app(database_url, secrets):
    """The app on an empty database: no table, no alembic_version."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def schema_differences(metadata):
    """What Alembic's autogenerate would write to bring the database to `metadata`."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def schema_snapshot():
    """Each table's columns, primary key, unique constraints and indexes, names included."""
    inspector = inspect(db.engine)
    snapshot = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        snapshot[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table),
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
        }
    return snapshot


def revisions():
    """The database's alembic_version rows ([] without the table)."""
    if not inspect(db.engine).has_table("alembic_version"):
        return []
    with db.engine.connect() as connection:
        return sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def index_names():
    return {index["name"] for index in inspect(db.engine).get_indexes("calls")}


def test_the_scripts_head_is_the_revision_the_tests_name():
    scripts = migration_scripts(MIGRATIONS_DIR)
    assert scripts.get_heads() == [HEAD]
    assert [rev.revision for rev in scripts.walk_revisions()] == [
        HEAD,
        SEEN_SIGNATURES,
        CONTACT_OUTCOME,
        CONVERSATION_VERSION,
        RETIRED_INDEX_DROPPED,
        FIRST,
    ]


def test_an_empty_database_upgraded_is_what_the_models_declare(bare_app):
    with bare_app.app_context():
        upgrade_database()
        assert revisions() == [HEAD]
        assert schema_differences(db.metadata) == []
        migrated = schema_snapshot()

        # The same schema, names included, as the test fixtures' faster way makes (create_all).
        command.downgrade(migrate.get_config(), "base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
        create_schema_at_head()
        assert schema_snapshot() == migrated
        assert revisions() == [HEAD]
    calls = migrated["calls"]
    assert calls["unique"] == [("uq_calls_tenant_call", ("tenant_id", "call_id"))]
    assert calls["primary_key"]["constrained_columns"] == ["id"]
    assert RETIRED_INDEX not in {name for name, *_ in calls["indexes"]}
    assert [column[0] for column in calls["columns"]] == [c.name for c in Call.__table__.columns]


def test_the_comparison_fails_for_a_model_change_without_its_migration(bare_app):
    """What the test above relies on: a column in the models and not in a migration is seen."""
    changed = MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(changed)
    calls = changed.tables["calls"]
    calls.append_column(Column("callback_note", Text, nullable=True))
    with bare_app.app_context():
        upgrade_database()
        differences = schema_differences(changed)
    assert [(kind, table, column.name) for kind, _, table, column in differences] == [
        ("add_column", "calls", "callback_note")
    ]


def test_downgrade_and_upgrade_round_trip(bare_app):
    with bare_app.app_context():
        upgrade_database()
        config = migrate.get_config()
        command.downgrade(config, FIRST)
        assert revisions() == [FIRST] and RETIRED_INDEX in index_names()
        command.downgrade(config, "base")
        assert revisions() == [] and not inspect(db.engine).has_table("calls")
        upgrade_database()
        assert revisions() == [HEAD] and RETIRED_INDEX not in index_names()
        assert schema_differences(db.metadata) == []
        upgrade_database()  # at head: nothing to do
        assert revisions() == [HEAD]


def pre_migration_calls(metadata, with_retired_index):
    """The calls table as `flask init-db` made it before migrations (create_all).

    The first versions indexed tenant_id alone; later ones did not. Written out here, not
    taken from backend/store/models.py, so that a later model change leaves this schema as it was.
    """
    table = Table(
        "calls",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("tenant_id", String(64), nullable=False),
        Column("call_id", String(128), nullable=False),
        Column("caller_number", String(32)),
        Column("caller_msg_type", String(64)),
        Column("state", String(32)),
        Column("conversation", Text),
        Column("contact_number", String(32)),
        Column("contact_source", String(16)),
        Column("contact_confirmed_at", DateTime(timezone=True)),
        Column("ended_reason", String(128)),
        Column("ended_at", DateTime(timezone=True)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("tenant_id", "call_id", name="uq_calls_tenant_call"),
    )
    if with_retired_index:
        Index(RETIRED_INDEX, table.c.tenant_id)
    return table


def flask_db_upgrade(database_url):
    """`flask --app wsgi db upgrade` in its own process, as an operator runs it."""
    return flask_command(["db", "upgrade"], {**os.environ, "DATABASE_URL": database_url}, 120)


@pytest.mark.parametrize("with_retired_index", [True, False], ids=["first", "later"])
def test_a_database_made_before_migrations_upgrades(bare_app, database_url, with_retired_index):
    with bare_app.app_context():
        old = MetaData()
        calls = pre_migration_calls(old, with_retired_index)
        old.create_all(db.engine)
        with db.engine.begin() as connection:
            connection.execute(
                calls.insert().values(
                    tenant_id="demo",
                    call_id="before-migrations",
                    state="CONTACT_CONFIRMED",
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )
        assert (RETIRED_INDEX in index_names()) is with_retired_index

        done = flask_db_upgrade(database_url)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"stamped {FIRST}" in done.stderr
        assert f"Running upgrade {FIRST} -> {RETIRED_INDEX_DROPPED}" in done.stderr
        assert f"Running upgrade {RETIRED_INDEX_DROPPED} -> {CONVERSATION_VERSION}" in done.stderr
        assert f"Running upgrade {CONVERSATION_VERSION} -> {CONTACT_OUTCOME}" in done.stderr
        assert f"Running upgrade {CONTACT_OUTCOME} -> {SEEN_SIGNATURES}" in done.stderr
        assert f"Running upgrade {SEEN_SIGNATURES} -> {HEAD}" in done.stderr

        assert revisions() == [HEAD]
        assert RETIRED_INDEX not in index_names()
        assert schema_differences(db.metadata) == []
        with db.engine.connect() as connection:
            rows = connection.execute(select(calls.c.call_id, calls.c.state)).all()
        assert [tuple(row) for row in rows] == [("before-migrations", "CONTACT_CONFIRMED")]
        with db.engine.connect() as connection:
            versions = connection.execute(select(Call.conversation_version)).scalars().all()
        assert versions == [0]  # an existing row's conversation starts at version 0
        with db.engine.connect() as connection:
            outcomes = connection.execute(select(Call.contact_outcome, Call.contact_turns)).all()
        assert [tuple(row) for row in outcomes] == [(None, None)]  # no outcome made up

        again = flask_db_upgrade(database_url)  # at head: nothing to do
        assert again.returncode == 0 and "Running upgrade" not in again.stderr
        assert revisions() == [HEAD]


def test_a_table_held_elsewhere_stops_the_upgrade_in_one_line(bare_app, database_url):
    """A migration waits for a table no longer than a call's statement would (calls queue
    behind it), then says so in one line, not a traceback; once the table is free, it runs."""
    with bare_app.app_context():
        command.upgrade(migrate.get_config(), CONVERSATION_VERSION)
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        # A long read (an export, a psql session) holds what ALTER TABLE must wait for.
        held = calls_table_locked(database_url, tables="calls", mode="ACCESS SHARE")
    else:
        held = sqlite_write_locked(url.database)
    with held:
        refused = flask_db_upgrade(database_url)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr, refused.stderr[-3000:]
    [error] = [json.loads(line) for line in refused.stderr.splitlines() if '"error"' in line]
    assert error["event"].startswith("Error: a table this migration changes is held by another")
    assert "Run it again once that transaction ended" in error["event"]
    with bare_app.app_context():
        assert revisions() == [CONVERSATION_VERSION]

    done = flask_db_upgrade(database_url)
    assert done.returncode == 0, done.stderr[-3000:]
    with bare_app.app_context():
        assert revisions() == [HEAD]


def test_a_calls_table_this_code_did_not_make_is_not_adopted(bare_app):
    with bare_app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE calls (id INTEGER PRIMARY KEY, name TEXT)"))
        with pytest.raises(CommandError, match="not adopted, nothing changed"):
            upgrade_database()
        assert revisions() == []
        columns = [c["name"] for c in inspect(db.engine).get_columns("calls")]
    assert columns == ["id", "name"]


def test_flask_init_db_is_the_upgrade_under_its_old_name(bare_app):
    runner = bare_app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "Database ready." in result.output
    with bare_app.app_context():
        assert revisions() == [HEAD]
        assert schema_differences(db.metadata) == []


def test_a_failed_migration_leaves_postgresql_as_it_was(bare_app, database_url, tmp_path):
    """env.py runs the migrations as one transaction (the app's engine commits each statement)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's transactional DDL")
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0badf00d0001_fails.py").write_text(
        f'''"""A revision that fails after its first statement."""

from alembic import op

revision = "0badf00d0001"
down_revision = "{HEAD}"


def upgrade():
    op.execute("CREATE TABLE half_done (id integer)")
    op.execute("SELECT pg_sleep(0.6)")  # past the app's 500 ms statement timeout
    op.execute("SELECT 1 / 0")


def downgrade():
    op.execute("DROP TABLE half_done")
''',
        encoding="utf-8",
    )
    with bare_app.app_context():
        upgrade_database()
        # One line for the operator, not a traceback (migrations/env.py).
        with pytest.raises(CommandError, match="refused the migration .*division by zero"):
            command.upgrade(migrate.get_config(str(scripts)), "head")
        assert revisions() == [HEAD]
        assert not inspect(db.engine).has_table("half_done")
