"""Chromium for the console's browser tests: Debian's package, driven by Playwright.

Playwright's own browser download (`playwright install`) is never used: the tests launch the
distribution's /usr/bin/chromium, which .ci/run installs on a fresh machine. Without it, the
browser tests skip (one line at the end of the run says how to get it); in CI they fail.

Screenshots the tests take are kept in test-artifacts/ at the repository's root (gitignored).
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.paths import ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
NO_CHROMIUM = (
    f"no Chromium at {CHROMIUM}: browser tests need Debian's `chromium` "
    "(as root: apt-get install -y chromium; .ci/run does it)"
)
# Headless, and nothing that reaches the network on its own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}


def artifact(name):
    """Where a test keeps a file for whoever reads the run: test-artifacts/NAME."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def chromium_or_skip(in_ci):
    """Skip (fail in CI) when the distribution's Chromium is not installed."""
    if not (CHROMIUM.exists() or shutil.which(str(CHROMIUM))):
        if in_ci:
            pytest.fail(f"Chromium is required in CI: {NO_CHROMIUM}")
        pytest.skip(NO_CHROMIUM)


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium, closed after the module's tests: each test opens a context of its
    own (cookies, storage, viewport), so they share only the browser's process, not its state."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import in_ci

    chromium_or_skip(in_ci())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
