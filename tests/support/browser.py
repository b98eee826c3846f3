"""Headless Chromium driven by Selenium, for the web page's browser test (tests/apps/test_web.py) and
``docs/tools/app_screenshot.py`` (which puts ``tests/`` on ``sys.path``).  Test code: not part of the package.

Optional: needs ``selenium`` (the ``test`` extra) and Debian's ``chromium`` + ``chromium-driver``
(``apt-get install chromium chromium-driver``).  The chromedriver path is always passed explicitly,
so Selenium Manager never tries to download a browser or driver.
"""
from __future__ import annotations

import importlib.util
import shutil
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> tuple[str, str] | str:
    """``(chromium, chromedriver)`` paths, or a sentence saying what is missing."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install 'selenium>=4.20', or the package's [test] extra)"
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path]
    if missing:
        return (f"{' and '.join(missing)} not found on PATH (Debian/Ubuntu: apt-get install chromium "
                f"chromium-driver)")
    return browser, driver  # type: ignore[return-value]


def headless_chromium(width: int = 1280, height: int = 900) -> Any:
    """A ``selenium.webdriver.Chrome`` running headless Chromium in a ``width`` x ``height`` window.

    Raises ``RuntimeError`` with :func:`find_chromium`'s sentence when something is missing.
    """
    found = find_chromium()
    if isinstance(found, str):
        raise RuntimeError(found)
    browser, driver = found
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--disable-extensions", "--no-first-run", "--hide-scrollbars",
                 f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=opts)
