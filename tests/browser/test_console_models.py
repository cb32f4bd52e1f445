"""Issue #21's "done": a newcomer's path through the console, on the real service with real models.

``main.py`` with ``tiny.en`` and ``KEEP_PLAYBACK_COPY=true``: the pyannote
sample is uploaded through the page, followed to completion, reviewed on the
timeline and transcript (two speakers, the sample's words, seeking), its SRT
downloaded, and deleted.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.servers import Server

from .conftest import audio_state, job_rows, need_browser, screenshot, upload, wait_until

pytestmark = [pytest.mark.models, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_browser()  # skip or fail before paying for the models' start-up
    srv = Server(
        tmp_path_factory.mktemp("console") / "data", WHISPER_MODEL="tiny.en", KEEP_PLAYBACK_COPY="true"
    ).start()
    yield srv
    srv.kill(signal.SIGTERM)


def test_a_newcomer_uploads_reviews_downloads_and_deletes_the_sample(browser, server, sample_wav, downloads):
    browser.get(f"{server.url}/ui")
    upload(browser, sample_wav)
    row = wait_until(lambda: job_rows(browser), "the job in the list")[0]
    job_id = row.get_attribute("data-job-id")
    wait_until(lambda: job_rows(browser, "completed"), "the real pipeline to finish the sample", 300, 0.5)
    screenshot(browser, "models-job-list", 1280)

    job_rows(browser)[0].find_element(By.TAG_NAME, "a").click()
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#segments li[role=option]"), "the transcript")
    lanes = browser.find_elements(By.CSS_SELECTOR, "#timeline g.lane")
    assert [lane.get_attribute("data-speaker") for lane in lanes] == ["Speaker_01", "Speaker_02"]
    transcript = browser.find_element(By.ID, "segments").text.lower()
    assert "hello" in transcript and "chicago" in transcript

    wait_until(lambda: audio_state(browser)["ready"] >= 1, "the playback copy in the player")
    wait_until(lambda: browser.find_element(By.ID, "waveform").get_attribute("data-drawn"), "the waveform")
    segments = browser.find_elements(By.CSS_SELECTOR, "#segments li[role=option]")
    target = segments[len(segments) // 2]
    start = float(target.get_attribute("data-start"))
    target.click()
    wait_until(lambda: abs(audio_state(browser)["time"] - start) < 0.05, f"the player to seek to {start} s")
    assert "current" in target.get_attribute("class")
    for width in (1280, 800):
        screenshot(browser, "models-call-view", width)

    browser.find_element(By.CSS_SELECTOR, "button[data-format=srt]").click()
    srt = wait_until(lambda: list(downloads.glob("*.srt")), "the SRT download")[0]
    wait_until(lambda: "-->" in srt.read_text(), "the SRT file to be written")
    assert "chicago" in srt.read_text().lower()

    browser.find_element(By.LINK_TEXT, "← All calls").click()
    wait_until(lambda: job_rows(browser, "completed"), "the job list")[0].find_element(
        By.CSS_SELECTOR, "button.danger"
    ).click()
    browser.find_element(By.ID, "confirm-delete-button").click()
    wait_until(lambda: not job_rows(browser), "the deleted job to leave the list")
    assert not (Path(server.env["DATA_DIR"]) / "audio" / job_id).exists()  # audio and copy erased
