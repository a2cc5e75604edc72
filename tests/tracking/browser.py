"""A real browser for the tracking page: Debian's chromium, headless, driven by selenium through Debian's
chromedriver (no browser is downloaded), and the app served by a werkzeug thread on a free port."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = (390, 844)  # CSS pixels of a common phone


def require_chromium() -> None:
    """CI installs chromium (.ci/run); a machine without it skips, unless it is CI, where that is a failure."""
    if shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER):
        return
    message = f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install -y chromium chromium-driver"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def served(app) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, in a thread of this process; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="tracking-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def chromium(size: tuple[int, int] = PHONE):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(argument)
    # A phone's screen (headless windows are no narrower than 500 px): its width, height and a touch screen.
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": size[0], "height": size[1], "pixelRatio": 1.0, "touch": True}}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[str]:
    """What the page's console said at warning level or above (CSP violations are reported there)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def wait_for(driver, css: str, timeout: float = 20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def images_loaded(driver) -> list[bool]:
    return driver.execute_script(
        "return Array.from(document.images).map(function (img) { return img.complete && img.naturalWidth > 0; });"
    )


def screenshot(driver, name: str) -> None:
    """docs/<name>.png, when TRACKING_SCREENSHOTS is set (`make tracking-screenshots`)."""
    if not os.environ.get("TRACKING_SCREENSHOTS"):
        return
    docs = Path(__file__).resolve().parents[2] / "docs"
    time.sleep(0.3)  # the photos' decode
    driver.save_screenshot(str(docs / f"{name}.png"))
