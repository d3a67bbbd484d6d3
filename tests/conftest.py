"""Fixtures: an app on a real SQLite file and on the real PostgreSQL, its client and CLI runner."""

import gc
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError

from backend import create_app
from backend.console import language
from backend.logs import LOGGER_NAME, JsonLineFormatter, unbind_request
from backend.store import deadline
from backend.store.db import db
from backend.tenants.watcher import Watcher
from backend.wording import catalogs
from tests import servers, vapi_sdk
from tests.browser import NO_CHROMIUM
from tests.leaks import assert_no_full_number
from tests.log_sweep import pytest_runtest_makereport, server_output_swept  # noqa: F401
from tests.paths import ROOT, VAPI_PAYLOADS
from tests.schemas import create_schema_at_head, made_at_head_if_empty

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRETS = {
    "VAPI_SECRET_DEMO": "test-secret-demo",
    "VAPI_SECRET_PLOMBERIE": "test-secret-plomberie",
}


# Where the tests look for PostgreSQL, as said in output (a password in the URL is hidden).
POSTGRES_SHOWN = make_url(POSTGRES_URL).render_as_string(hide_password=True)
NO_POSTGRES = f"no PostgreSQL at {POSTGRES_SHOWN}"

# The in-process apps' database deadlines. The product's (backend/store/connections.py: 500 ms a
# statement, 600 ms a request) are for a server with its cores to itself; here the app shares two
# cores with the other test processes, their gunicorn servers and PostgreSQL, and a request that
# waited 600 ms for a core failed as an outage would (a 503), seen in `make test` on 2 cores.
# A test whose outcome depends on them (an outage, a lock held elsewhere) is marked
# `product_deadlines` and gets the product's own.
LOADED_MACHINE_DEADLINES = {
    "DATABASE_STATEMENT_TIMEOUT_MS": 5000,
    "DATABASE_REQUEST_BUDGET_MS": 5000,
}


def in_ci():
    """CI sets CI=true; a developer's CI=0 or CI=false is not CI."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_addoption(parser):
    """`--slow-clients-seconds 30`: the issue's full run of tests/test_slow_clients.py."""
    parser.addoption(
        "--slow-clients-seconds",
        type=float,
        default=6.0,
        help="how long tests/test_slow_clients.py keeps its 50 slow clients (default 6)",
    )


def pytest_collection_modifyitems(items):
    """Tests of the SDK's models first, then slow tests, then the rest.

    pytest-xdist's worksteal gives each worker a contiguous share and an idle worker takes the
    end of another's queue, never its start: the first worker alone runs the `vapi_sdk` tests,
    and pays the SDK's import (tests/vapi_sdk.py) once. Slow tests next: the workers share
    them out, then end together on short ones.
    """
    items.sort(
        key=lambda item: (
            item.get_closest_marker("vapi_sdk") is None,
            item.get_closest_marker("slow") is None,
        )
    )


def pytest_collection_finish(session):
    """What the imports and collection made lives to the end: out of the collector's way.

    Each of the collector's full passes walked all of it again: it took 3.4 s of a worker's
    39 s of CPU, 1.9 s once frozen (tests/test_webhook.py, test_auth.py, test_console.py and
    test_hostile_input.py in one process). Collected first, so no garbage is kept for good.
    """
    gc.collect()
    gc.freeze()


def _commit_without_waiting_for_the_disk(dbapi_connection, _record):
    dbapi_connection.execute("SET synchronous_commit = off")


@pytest.fixture(scope="session")
def postgres_admin():
    """An engine on the test PostgreSQL; skipped outside CI when there is none, failed in CI."""
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    # Its commits (a schema created, dropped: two a test) need not wait for the disk: a test's
    # schema is not kept through a server crash. 4 ms each where PostgreSQL syncs to disk.
    event.listen(engine, "connect", _commit_without_waiting_for_the_disk)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        if in_ci():
            pytest.fail(f"PostgreSQL is required in CI and not reachable at {POSTGRES_SHOWN}")
        pytest.skip(NO_POSTGRES)
    yield engine
    engine.dispose()


def pytest_terminal_summary(terminalreporter):
    """One line for a run without PostgreSQL or Chromium, not the same reason per skipped test."""
    skips = terminalreporter.stats.get("skipped", [])
    for reason, line in (
        (NO_POSTGRES, f"PostgreSQL tests skipped: {NO_POSTGRES} (in CI they fail)."),
        (NO_CHROMIUM, f"browser tests skipped: {NO_CHROMIUM}."),
    ):
        count = sum(reason in str(report.longrepr) for report in skips)
        if count:
            terminalreporter.write_line(f"{count} {line}", yellow=True, bold=True)


def postgres_schema_url(admin):
    """A fresh schema of its own, so concurrent runs never see each other's rows: (url, drop)."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", drop


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The same tests on a real SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'calls.db'}"
        return
    url, drop = postgres_schema_url(request.getfixturevalue("postgres_admin"))
    yield url
    drop()


@pytest.fixture
def folders(tmp_path):
    """Copies of the shipped tenants and catalogs, to edit while the app serves them."""
    tenants, locales = tmp_path / "tenants", tmp_path / "locales"
    shutil.copytree(ROOT / "tenants", tenants)
    shutil.copytree(ROOT / "locales", locales)
    return tenants, locales


@pytest.fixture
def secrets(monkeypatch):
    """The shipped tenants' secrets, as the environment would give them."""
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    return TEST_SECRETS


@pytest.fixture
def build_app(request, database_url, secrets):
    """`build_app(**config)`: the app on this test's fresh database (schema made), `config`
    applied; every app built has its connections closed after the test."""
    built = []
    deadlines = {}
    if request.node.get_closest_marker("product_deadlines") is None:
        deadlines = LOADED_MACHINE_DEADLINES

    def build(**config):
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": database_url,
                **deadlines,
                **config,
            }
        )
        built.append(app)  # closed after the test even if its schema could not be made
        with app.app_context():
            if not made_at_head_if_empty(db.engine):
                create_schema_at_head()
        return app

    yield build
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(build_app):
    """The app with the shipped tenants and catalogs, on a fresh database."""
    return build_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def vapi_payload():
    """Load one of the Vapi example bodies in tests/vapi_payloads/ by stem, e.g. `speech-update`."""

    def load(name):
        return json.loads((VAPI_PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))

    return load


@pytest.fixture
def demo_headers(secrets):
    return {"X-Vapi-Secret": secrets["VAPI_SECRET_DEMO"]}


class _SweptLines(logging.Handler):
    def __init__(self):
        super().__init__()
        # The lines as the call sites made them, before the last step masks phone-shaped
        # text: the sweep checks the explicit masking, which must not lean on that step.
        self.setFormatter(JsonLineFormatter(mask=False))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture(autouse=True)
def no_full_number_in_logs():
    """Every log line of every test is swept for full phone numbers (RGPD)."""
    handler = _SweptLines()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)
    # A test that captured outside a request bound fields no request end cleared.
    unbind_request()
    for line in handler.lines:
        assert_no_full_number(line, "a log line")


@pytest.fixture(autouse=True)
def reload_threads_end_with_their_test(monkeypatch):
    """A test's apps stop looking at their files when it ends.

    An app lives on until the garbage collector finds it, and its reload thread with it: after
    an edit it reads the files again for 2 s (backend/tenants/live.py SETTLE_NS), with the next
    test's environment (a secret unset), and logs into the next test's lines.
    """
    watchers = []
    init = Watcher.__init__

    def recorded(self, *args, **kwargs):
        init(self, *args, **kwargs)
        watchers.append(self)

    monkeypatch.setattr(Watcher, "__init__", recorded)
    yield
    for watcher in watchers:
        watcher.stop()


@pytest.fixture(autouse=True)
def no_outage_remembered():
    """A database one test found away is not taken for away by the next test in this process.

    The process remembers an outage for a moment (backend/store/deadline.py): a test that
    froze or locked the database would otherwise fail the statements of whatever runs next.
    """
    yield
    deadline.forget_outages()


# The shipped catalogs as parsed: (kind, path) -> (the file's bytes, what was read from them).
_shipped_parsed = {}


def _parsed_once(kind, path, parse):
    """`parse()` of a shipped file, kept while the file's bytes stay the same."""
    data = Path(path).read_bytes()
    kept = _shipped_parsed.get((kind, str(path)))
    if kept is None or kept[0] != data:
        kept = _shipped_parsed[(kind, str(path))] = (data, parse())
    return kept[1]


@pytest.fixture(scope="session", autouse=True)
def shipped_catalogs_parsed_once():
    """Every app built parses the shipped .po files (the agent's and the console's): ~8 ms of
    CPU an app, over ~1,000 apps. Each process parses them once; a file whose bytes changed is
    parsed again. The copies a test edits (`folders`) are not under ROOT/locales: always read."""
    read_catalog_file, load_translations = catalogs.read_catalog_file, language.load_translations
    shipped = ROOT / "locales"

    def read_catalog(path):
        if not Path(path).is_relative_to(shipped):
            return read_catalog_file(path)
        sentences, problems = _parsed_once("agent", path, lambda: read_catalog_file(path))
        return dict(sentences), list(problems)  # the caller's own, as a fresh read

    def translations(locale=language.LOCALE):
        path = language.catalog_path(locale)
        return _parsed_once("console", path, lambda: load_translations(locale))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalogs, "read_catalog_file", read_catalog)
        patch.setattr(language, "load_translations", translations)
        yield


@pytest.fixture(autouse=True)
def sdk_users_marked(request):
    """A test reading the SDK's models must be marked `vapi_sdk`, so that one worker imports it."""
    vapi_sdk.running_a_marked_test = request.node.get_closest_marker("vapi_sdk") is not None


@pytest.fixture(autouse=True)
def real_servers_marked_slow(request, monkeypatch):
    """A test starting gunicorn or a PostgreSQL cluster must be marked `slow` (`-m "not slow"`)."""
    if request.node.get_closest_marker("slow"):
        return

    def refuse(*_args, **_kwargs):
        pytest.fail("this test starts a real server: mark it @pytest.mark.slow")

    monkeypatch.setattr(servers.Gunicorn, "start", refuse)
    monkeypatch.setattr(servers.PostgresCluster, "create", refuse)


@pytest.fixture
def tenants_app(build_app, tmp_path):
    """Build apps serving the given tenants (dicts, written as YAML files) on this test's database.

    `tenants_app(tenant, ...)` writes each dict to `<tmp>/tenants-N/<id>.yaml` and returns the app.
    """
    import yaml

    count = 0

    def build(*tenants):
        nonlocal count
        folder = tmp_path / f"tenants-{count}"
        count += 1
        folder.mkdir()
        for tenant in tenants:
            text = yaml.safe_dump(tenant, allow_unicode=True, sort_keys=False)
            (folder / f"{tenant['id']}.yaml").write_text(text, encoding="utf-8")
        return build_app(TENANTS_DIR=str(folder))

    return build


def stored_calls(app):
    """Every call row of `app`'s database, as dicts, oldest first (full numbers included)."""
    from sqlalchemy import select

    from backend.store.models import Call

    with app.app_context():
        rows = db.session.execute(select(Call).order_by(Call.id)).scalars().all()
        columns = [column.name for column in Call.__table__.columns]
        return [{name: getattr(row, name) for name in columns} for row in rows]


@pytest.fixture
def calls_in():
    """`calls_in(app)`: the call rows an app stored, to check what the database holds."""
    return stored_calls


@pytest.fixture
def log_events(no_full_number_in_logs):
    """`log_events("CALLER_ID_FOUND")`: this test's log lines of that event, as dicts so far."""

    def events(name=None):
        parsed = [json.loads(line) for line in no_full_number_in_logs]
        return [line for line in parsed if name is None or line["event"] == name]

    return events
