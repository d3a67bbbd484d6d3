"""backend/config.py: every setting read once, checked, overridable; a wrong one stops start-up."""

import ast
import os
import re
import subprocess
import sys

import pytest

from backend import config, create_app
from backend.config import SECRET_VARIABLES, SETTINGS, ConfigError
from tests.leaks import assert_no_full_number
from tests.servers import ROOT, flask_command, free_port

# A value the app cannot run with, and words its message must hold.
WRONG = {
    "DATABASE_STATEMENT_TIMEOUT_MS": ("abc", "a whole number of milliseconds"),
    "DATABASE_SYNCHRONOUS_COMMIT": ("sometimes", "must be one of off, local"),
    "MAX_CONTENT_LENGTH": ("1MB", "a size in bytes"),
    "LOG_LEVEL": ("loud", "must be one of DEBUG, INFO"),
    "DATABASE_URL": ("not a url", "must be a database URL"),
}


@pytest.mark.parametrize("variable", list(WRONG))
def test_a_wrong_value_stops_the_app_naming_the_variable(variable, monkeypatch, tmp_path):
    value, words = WRONG[variable]
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        create_app({"TESTING": True} | _sqlite(tmp_path, unless=variable))
    message = str(raised.value)
    assert message.startswith(f"{variable} ") and words in message
    assert (repr(value) in message) == (variable != "DATABASE_URL")  # a URL may hold a password


@pytest.mark.parametrize(
    "url, scheme",
    [
        ("mysql://x/y", "mysql"),
        ("postgresq://user:pw@host/db", "postgresq"),
        ("postgresql+psycopg2://user:pw@host/db", "postgresql+psycopg2"),
    ],
)
def test_a_database_the_app_does_not_run_on_is_named_by_its_scheme(
    url, scheme, monkeypatch, tmp_path
):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigError) as raised:
        create_app({"TESTING": True})
    message = str(raised.value)
    assert message.startswith("DATABASE_URL ") and f"not {scheme}://" in message
    assert "pw" not in message  # a URL may hold a password


def _sqlite(tmp_path, unless=None):
    if unless == "DATABASE_URL":
        return {}
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'calls.db'}"}


def test_a_number_in_a_wrong_value_is_masked_in_the_message(monkeypatch, tmp_path):
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "06 98 76 54 11")
    with pytest.raises(ConfigError) as raised:
        create_app({"TESTING": True} | _sqlite(tmp_path))
    assert_no_full_number(str(raised.value), "the configuration error")
    assert "54 11" not in str(raised.value) and "11'" in str(raised.value)


def test_the_environment_reaches_app_config_typed(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", " 1234 ")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "2048")
    monkeypatch.setenv("PHONE_REF_KEY", "support-key")
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example/calls")
    values = config.from_environment()
    assert values["DATABASE_STATEMENT_TIMEOUT_MS"] == 1234
    assert values["LOG_LEVEL"] == "WARNING"
    assert values["MAX_CONTENT_LENGTH"] == 2048
    assert values["PHONE_REF_KEY"] == "support-key"
    assert values["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@db.example/calls"
    monkeypatch.delenv("LOG_LEVEL")  # the root logger's level is the process's: left as it was
    app = create_app({"TESTING": True} | _sqlite(tmp_path))
    assert app.config["DATABASE_STATEMENT_TIMEOUT_MS"] == 1234
    assert app.config["MAX_CONTENT_LENGTH"] == 2048


def test_defaults_without_the_variables(monkeypatch):
    for setting in SETTINGS:
        monkeypatch.delenv(setting.variable, raising=False)
    values = config.from_environment()
    assert values["SQLALCHEMY_DATABASE_URI"] == "sqlite:///calls.db"
    assert values["DATABASE_STATEMENT_TIMEOUT_MS"] == 500
    assert values["DATABASE_SYNCHRONOUS_COMMIT"] == "on"
    assert values["PHONE_REF_KEY"] is None and values["TENANTS_STRICT"] is True
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # what `flask` sets before it builds the app
    assert config.from_environment()["TENANTS_STRICT"] is False


def test_test_config_overrides_the_environment_and_is_checked_by_its_key(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "abc")
    with pytest.raises(ConfigError, match="DATABASE_STATEMENT_TIMEOUT_MS"):
        create_app({"TESTING": True} | _sqlite(tmp_path))
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "700")
    app = create_app({"TESTING": True, "DATABASE_STATEMENT_TIMEOUT_MS": 0} | _sqlite(tmp_path))
    assert app.config["DATABASE_STATEMENT_TIMEOUT_MS"] == 0
    with pytest.raises(ConfigError, match=r"^MAX_CONTENT_LENGTH must be a size in bytes"):
        create_app({"TESTING": True, "MAX_CONTENT_LENGTH": -1} | _sqlite(tmp_path))
    with pytest.raises(ConfigError, match=r"^SQLALCHEMY_DATABASE_URI must be a database URL"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": 42})


# --- one clear line and an exit, from the real commands -------------------------------------


def _environment(**changes):
    cleared = {setting.variable for setting in SETTINGS}
    env = {name: value for name, value in os.environ.items() if name not in cleared}
    return env | changes


def _one_line(stderr, variable):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"configuration error: {variable} "), stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "variable", ["DATABASE_STATEMENT_TIMEOUT_MS", "DATABASE_SYNCHRONOUS_COMMIT", "LOG_LEVEL"]
)
def test_flask_says_it_in_one_line_and_exits(variable, tmp_path):
    env = _environment(**{variable: WRONG[variable][0]})
    done = flask_command(["tenants", "check"], env)
    assert done.returncode != 0 and done.stdout == ""
    _one_line(done.stderr, variable)


@pytest.mark.parametrize("variable", ["DATABASE_STATEMENT_TIMEOUT_MS", "MAX_CONTENT_LENGTH"])
def test_gunicorn_says_it_in_one_line_and_exits(variable):
    """`gunicorn wsgi:app` as typed in the repository: it reads gunicorn.conf.py by itself."""
    env = _environment(**{variable: WRONG[variable][0]})
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}"]
    done = subprocess.run(
        [*command, "--workers", "2", "--no-control-socket", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and done.stdout == ""
    _one_line(done.stderr, variable)


def test_gunicorn_without_its_config_file_stops_too(tmp_path):
    """Without gunicorn.conf.py each worker says it, and the master stops instead of retrying."""
    env = _environment(DATABASE_STATEMENT_TIMEOUT_MS="abc")
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--pythonpath", str(ROOT), "--no-control-socket"]
        + ["--bind", f"127.0.0.1:{free_port()}", "--workers", "1", "wsgi:app"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if "DATABASE_STATEMENT_TIMEOUT_MS" in line]
    assert ours == [f"configuration error: {ours[0].split(': ', 1)[1]}"]
    assert "Traceback" not in done.stderr and "App failed to load" in done.stderr


# --- nothing else reads the environment; the README says what is read ----------------------


def _environment_reads(path):
    """Lines of `path` that read os.environ or os.getenv (by the syntax tree, not comments)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                reads.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if {alias.name for alias in node.names} & {"environ", "getenv", "environb"}:
                reads.append(node.lineno)
    return reads


def test_no_module_but_the_config_module_reads_the_environment():
    files = [*sorted((ROOT / "backend").rglob("*.py")), ROOT / "wsgi.py", ROOT / "gunicorn.conf.py"]
    readers = {
        str(path.relative_to(ROOT)): lines for path in files if (lines := _environment_reads(path))
    }
    assert list(readers) == ["backend/config.py"], readers


def test_the_check_sees_a_read():
    assert _environment_reads(ROOT / "backend" / "config.py")
    assert not _environment_reads(ROOT / "backend" / "logs.py")


def readme_configuration():
    """The README's Configuration table: {variable: default cell}."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_*]+)` \| ([^|]*) \|", section, re.MULTILINE)
    return dict(rows)


def test_the_readme_lists_every_variable_the_module_reads():
    table = readme_configuration()
    assert set(table) == {setting.variable for setting in SETTINGS} | {SECRET_VARIABLES}
    for setting in SETTINGS:
        if isinstance(setting.default, int | str) and not isinstance(setting.default, bool):
            if "/" not in str(setting.default) or "://" in str(setting.default):
                assert f"`{setting.default}`" in table[setting.variable], setting.variable


POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:1/never-connected"


@pytest.mark.parametrize("where", ["environment", "test_config"])
def test_a_lock_wait_as_long_as_the_statement_timeout_is_refused(where):
    """PostgreSQL: a lock wait must end as one, before the statement timeout, to be told from a
    slow statement. Checked once test_config is applied, and by gunicorn's master alone."""
    if where == "environment":
        environ = {"DATABASE_URL": POSTGRESQL, "DATABASE_STATEMENT_TIMEOUT_MS": "500"}
        environ["DATABASE_BUSY_TIMEOUT_MS"] = "500"
        assert config.from_environment(environ)["DATABASE_BUSY_TIMEOUT_MS"] == 500
        with pytest.raises(ConfigError, match="set it below 500, got 500"):
            config.from_environment(environ, whole=True)
        return
    settings = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": POSTGRESQL,
        "DATABASE_STATEMENT_TIMEOUT_MS": 500,
        "DATABASE_BUSY_TIMEOUT_MS": 500,
    }
    with pytest.raises(ConfigError, match="DATABASE_BUSY_TIMEOUT_MS must be under"):
        create_app(settings)
    # No statement timeout, or SQLite (which has none): any lock wait is under it.
    for fixed in ({"DATABASE_STATEMENT_TIMEOUT_MS": 0}, {"SQLALCHEMY_DATABASE_URI": "sqlite://"}):
        assert create_app({**settings, **fixed}).config["DATABASE_BUSY_TIMEOUT_MS"] == 500
