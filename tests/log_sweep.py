"""The suite-wide RGPD sweep, as a pytest plugin: what every test logged or printed, swept.

`tests/conftest.py` imports the hook and the fixture below; `pytest -p tests.log_sweep` loads
them alone (the plugin's own tests run a small suite that way).

- Each test phase's captured stderr and log records, and the log lines of its captured stdout
  (JSON event lines, `[date] [pid] [LEVEL]` server lines): subprocesses that inherit the
  test's file descriptors (a gunicorn, a `flask` command) land there too. A test whose phase
  holds a full number fails. What a test prints as its own report is not a log line.
- Every gunicorn started through `tests.servers.Gunicorn` has its output file swept when it is
  cleaned up, since that output never reaches pytest's capture.
"""

import pytest

from tests.leaks import full_numbers_in

# What a log line looks like on stdout: the backend's JSON events, gunicorn's own lines.
_LOG_LINE_STARTS = ("{", "[")


def log_text(title, content):
    """The part of a captured section that is log lines (all of stderr and of log records)."""
    if "stdout" not in title:
        return content
    return "\n".join(
        line for line in content.splitlines() if line.lstrip().startswith(_LOG_LINE_STARTS)
    )


def leaks_in(report):
    """Full numbers in what this phase of the test logged: [(section title, number)]."""
    found = []
    for title, content in report.sections:
        if title.endswith(f" {report.when}"):
            found += [(title, leak) for leak in full_numbers_in(log_text(title, content))]
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Fail a passing test phase whose captured log lines hold a full phone number."""
    report = yield
    if report.passed:
        leaks = leaks_in(report)
        if leaks:
            report.outcome = "failed"
            report.longrepr = "RGPD sweep: full phone number in " + "; ".join(
                f"{title}: {leak!r}" for title, leak in leaks[:5]
            )
    return report


@pytest.fixture(autouse=True)
def server_output_swept(monkeypatch):
    """Sweep the output of every gunicorn this test starts, before its file is removed."""
    from tests import servers

    outputs = []
    cleanup = servers.Gunicorn.cleanup

    def sweep_then_cleanup(server):
        server.stop()
        outputs.append(server.output())
        cleanup(server)

    monkeypatch.setattr(servers.Gunicorn, "cleanup", sweep_then_cleanup)
    yield
    for output in outputs:
        leaks = full_numbers_in(output)
        assert not leaks, f"full phone number in gunicorn's output: {leaks[:5]}"
