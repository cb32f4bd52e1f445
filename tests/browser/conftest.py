"""The web console in a real browser: Debian's Chromium, driven by Selenium through chromium-driver.

Playwright's own browser download cannot be reached from here, and a browser
that matches its driver is what Debian ships as a pair, so these tests use
``/usr/bin/chromium`` + ``/usr/bin/chromedriver`` (``./build.sh test``
installs both when missing and it runs as root).  Without them the tests skip
with the reason, except in CI, where a missing browser is a failure.

Most tests run the real app with a fake processor (no models, seconds) in a
uvicorn thread; the ``models`` one runs ``main.py`` with real models.  Every
wait has a deadline.  Screenshots go to ``var/test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from diarize_service.app import create_app
from diarize_service.config import Settings
from diarize_service.pipeline.audio import decode_channels
from tests.api.conftest import FakeProcessor
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces it may not get
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 15.0, every: float = 0.1) -> Any:
    """Poll *condition* until it returns something truthy (returned); fail naming *what* after *timeout* s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # the page is between states (element replaced, script not loaded yet)
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def screenshot(driver: WebDriver, name: str, width: int) -> Path:
    """The whole page at *width* CSS pixels, saved as ``var/test-artifacts/<name>-<width>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(width, 900)
    time.sleep(0.3)  # ResizeObserver redraws the timeline and waveform
    height, chrome = driver.execute_script(
        "window.scrollTo(0, 0);"
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];"
    )
    driver.set_window_size(width, min(max(900, height + chrome), 6000))
    time.sleep(0.3)
    path = ARTIFACTS / f"{name}-{width}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    return path


def need_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        reason = (
            f"{', '.join(missing)} missing: apt-get install chromium chromium-driver (./build.sh test does)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def downloads(tmp_path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
def browser(tmp_path, downloads) -> Iterator[WebDriver]:
    need_browser()
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")  # fresh: no stored key, no cache
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


def csp_violations(driver: WebDriver) -> list[str]:
    """Console messages about the Content-Security-Policy: a blocked script or style is a bug."""
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def upload(browser: WebDriver, path: Path) -> None:
    """Pick *path* in the console's file chooser (what a drop does, without a drag)."""
    browser.find_element(By.ID, "file-input").send_keys(str(path))


def job_rows(browser: WebDriver, status: str | None = None) -> list:
    selector = "#jobs tbody tr" + (f"[data-status={status}]" if status else "")
    return browser.find_elements(By.CSS_SELECTOR, selector)


def audio_state(browser: WebDriver) -> dict:
    return browser.execute_script(
        "const a = document.getElementById('audio');"
        "return {time: a.currentTime, paused: a.paused, ready: a.readyState, src: a.src};"
    )


def current_segment(browser: WebDriver) -> str | None:
    found = browser.find_elements(By.CSS_SELECTOR, "#segments li.current")
    return found[0].get_attribute("id") if found else None


class PlayableProcessor(FakeProcessor):
    """The API tests' fake, plus the decoded copy the real decoder writes (so the player has audio)."""

    async def process(self, audio_path, decoded_path, options, report):
        channels = await asyncio.to_thread(decode_channels, audio_path)
        np.save(decoded_path, channels)
        return await super().process(audio_path, decoded_path, options, report)


class ThreadedServer:
    """The real app (fake processor) served by uvicorn on a free port, in a thread of this process."""

    def __init__(self, settings: Settings, processor: FakeProcessor) -> None:
        self.settings = settings
        self.processor = processor
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, processor=processor),
            host="127.0.0.1",
            port=self.port,
            log_level="info",
            log_config=None,  # uvicorn's loggers propagate to the root logger: tests read the access log
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="console-server", daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        wait_until(lambda: self.server.started, "the console test server to start", timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.processor.gate.set()
        self.server.should_exit = True
        self.thread.join(timeout=40)


@pytest.fixture
def console_settings(tmp_path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        max_concurrent_jobs=1,
        heartbeat_seconds=0.5,
        keep_playback_copy=True,
        shutdown_grace_seconds=1,
    )


@pytest.fixture
def console(console_settings) -> Iterator[ThreadedServer]:
    with ThreadedServer(console_settings, PlayableProcessor()) as server:
        yield server
