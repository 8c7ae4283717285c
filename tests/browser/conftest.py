"""Browser-test plumbing: a missing browser fails the run under CI; each test's outcome is kept
so that a failing test leaves a screenshot.

Elsewhere the browser tests skip, with a reason, when /usr/bin/chromium is missing. Under CI
(CI=true, as .ci/run sets), that skip would let a run go green without a single browser test, so
there it is an error instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def on_ci(environ=os.environ) -> bool:
    """True under CI: CI set to anything but empty, 0, false or no (GitHub, GitLab, .ci/run)."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_browser_error(chromium: Path = CHROMIUM, environ=os.environ) -> str | None:
    """Why the browser tests must fail rather than skip, or None when they may run or skip."""
    if on_ci(environ) and not Path(chromium).exists():
        return (f"no Chromium at {chromium}, and under CI (CI={environ.get('CI')}) the browser tests "
                f"must run: install it (apt-get install chromium, or bash scripts/setup.sh --dev)")
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Runs before the skip markers are read (this conftest's hooks only see tests/browser)."""
    error = missing_browser_error()
    if error:
        pytest.fail(error, pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
    return report


@pytest.fixture(scope="session")
def one_chromium_a_run():
    """Playwright and a Chromium, started for the run's first browser module and closed at the
    run's end (``testsupport.browser.session_browser``)."""
    from testsupport.browser import session_browser

    with session_browser() as shared:
        yield shared


@pytest.fixture(scope="module", autouse=True)
def one_chromium_a_module(request):
    """The module's tests open their pages in the run's Chromium (``testsupport.browser.module_browser``)."""
    if not CHROMIUM.exists():  # the tests skip (or, under CI, fail) on their own
        yield None
        return
    from testsupport.browser import module_browser

    with module_browser(request.getfixturevalue("one_chromium_a_run")) as browser:
        yield browser


@pytest.fixture
def page(app, monkeypatch):
    """A fresh page on the module's ``app`` (its ``served_library`` dict), GRADIO_TEMP_DIR kept the
    server's (Gradio reads it per request). A module whose page differs defines its own."""
    from testsupport.browser import open_page

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["url"]) as page:
        yield page


@pytest.fixture
def unopened_page(app, monkeypatch):
    """As ``page``, at no address yet: for a test that opens the address it needs itself
    (``page.goto``), which ``page`` would load a second time, after the app's own."""
    from testsupport import browser

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with browser.unopened_page() as page:
        yield page
