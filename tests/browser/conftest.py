"""Headless Chromium through selenium, for the tests that open the HTML report.

The browser is Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs
them). A missing browser fails these tests with a message saying how to install it:
they are never skipped silently. ``TRACE_AUDITOR_CHROMIUM`` and
``TRACE_AUDITOR_CHROMEDRIVER`` point elsewhere if needed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

CHROMIUM = os.environ.get("TRACE_AUDITOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TRACE_AUDITOR_CHROMEDRIVER", "/usr/bin/chromedriver")
ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "out" / "test-artifacts"  # git-ignored (out/)

# Counts the alerts a page tries to show, installed before any script of the page runs.
ALERT_TRAP = (
    "window.__alerts = 0; window.alert = window.confirm = window.prompt = "
    "function () { window.__alerts += 1; };"
)


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def synthetic() -> ModuleType:
    """tests/browser/synthetic_trace.py (no package to import it from under importlib mode)."""
    return _load("synthetic_trace")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"headless Chromium is needed for the browser tests and {', '.join(missing)} "
            "is missing: run `make browser` as root (apt-get install chromium "
            "chromium-driver), or set TRACE_AUDITOR_CHROMIUM / TRACE_AUDITOR_CHROMEDRIVER",
            pytrace=False,
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="trace-auditor-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_TRAP})
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# True once every plot of the page has drawn all its traces.
PLOTS_READY = """
var plots = document.querySelectorAll('.js-plotly-plot');
if (plots.length !== arguments[0]) return false;
return Array.prototype.every.call(plots, function (gd) {
  return gd._fullData && gd._fullData.length === gd.data.length && gd._fullLayout &&
         !(gd._transitionData && gd._transitionData._interruptCallbacks.length);
});
"""


@pytest.fixture
def open_report(browser):
    """Open an HTML file and wait for its plots; return the seconds it took."""

    def run(path: Path, plots: int, timeout: float = 120.0) -> float:
        browser.get_log("browser")  # drop what earlier pages logged
        start = time.perf_counter()
        browser.get(path.resolve().as_uri())
        while not browser.execute_script(PLOTS_READY, plots):
            if time.perf_counter() - start > timeout:
                raise AssertionError(f"{path}: the plots were not drawn within {timeout} s")
            time.sleep(0.05)
        return time.perf_counter() - start

    return run
