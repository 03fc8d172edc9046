"""Headless Chromium for tests of web pages (report.html; any page a test server or file serves).

Usage::

    from browser import headless_chromium  # tests/ is on sys.path under pytest

    def test_page(tmp_path):
        with headless_chromium() as browser:
            browser.open(tmp_path / "report.html")        # a file path or an http:// URL
            assert browser.console_errors() == []
            n = browser.js("return document.querySelectorAll('tr').length")
            browser.screenshot("bench/results/page.png")

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``)
and selenium (``pip install 'hynas[browser]'``). Without them the calling test skips, unless
``HYNAS_REQUIRE_BROWSER=1`` (set in ``.ci/run``), which makes it fail instead.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from extras import need_module, required

__all__ = ["CHROMEDRIVER", "Browser", "headless_chromium"]

CHROMEDRIVER = os.environ.get("HYNAS_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("HYNAS_CHROMIUM", "/usr/bin/chromium")


class Browser:
    """A started headless Chromium: open pages, run JavaScript, read the console, take screenshots."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self._seen: list[dict[str, Any]] = []

    def open(self, target: str | Path, wait_s: float = 10.0) -> None:
        """Load a file (path) or URL and wait until the document has finished loading."""
        url = target if isinstance(target, str) and "://" in target else Path(target).resolve().as_uri()
        self.driver.get(url)
        self.wait_for("return document.readyState === 'complete'", wait_s)

    def js(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: ``return ...``) in the page and return its value."""
        return self.driver.execute_script(script, *args)

    def wait_for(self, script: str, timeout_s: float = 10.0) -> Any:
        """Poll the JavaScript ``script`` until it returns something truthy; fail after the timeout."""
        end = time.monotonic() + timeout_s
        while True:
            value = self.js(script)
            if value:
                return value
            if time.monotonic() > end:
                pytest.fail(f"page condition not met within {timeout_s:g} s: {script}")
            time.sleep(0.1)

    def logs(self) -> list[dict[str, Any]]:
        """Every browser console entry so far (``level``, ``message``), uncaught exceptions included."""
        self._seen += self.driver.get_log("browser")
        return list(self._seen)

    def console_errors(self) -> list[str]:
        """The console messages of level SEVERE (errors and uncaught exceptions) so far."""
        return [e["message"] for e in self.logs() if e.get("level") == "SEVERE"]

    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def screenshot(self, path: str | Path, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole page's height when ``full_page``)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if full_page:
            height = int(self.js("return document.documentElement.scrollHeight"))
            width = int(self.js("return document.documentElement.scrollWidth"))
            self.driver.set_window_size(max(width, 1200), min(max(height, 800), 16000))
        self.driver.save_screenshot(str(p))
        return p


def _missing() -> str | None:
    for path in (CHROMEDRIVER, CHROMIUM):
        if not (os.path.exists(path) or shutil.which(path)):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    return None


@contextmanager
def headless_chromium(width: int = 1400, height: int = 1000) -> Iterator[Browser]:
    """A headless Chromium driven by selenium through Debian's chromedriver; quits on exit. Skips the
    calling test when selenium or Chromium is missing (fails under ``HYNAS_REQUIRE_BROWSER=1``)."""
    need_module("selenium", "browser")
    why = _missing()
    if why is not None:
        if required("browser"):
            pytest.fail(f"HYNAS_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars"):  # fmt: skip
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
