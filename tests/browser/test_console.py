"""The web console in Chromium against the real app with a fake processor (no models: seconds).

What an analyst does -- upload through the page, follow progress, review a
call by its timeline and transcript, seek, download, delete -- and what the
issue asks of the page: keyboard use, errors in words, the key prompt, and a
call whose audio is not kept.
"""

from __future__ import annotations

import logging
import shutil

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from diarize_service.api.auth import hash_key

from .conftest import (
    PlayableProcessor,
    ThreadedServer,
    audio_state,
    csp_violations,
    current_segment,
    job_rows,
    screenshot,
    upload,
    wait_until,
)

pytestmark = pytest.mark.browser


def open_completed_call(browser, console, sample_wav) -> str:
    """Upload the sample through /ui, wait for it, open its call view; returns the job id."""
    browser.get(f"{console.url}/ui")
    upload(browser, sample_wav)
    row = wait_until(lambda: job_rows(browser, "completed"), "the job to complete in the list", 30)[0]
    job_id = row.get_attribute("data-job-id")
    row.find_element(By.TAG_NAME, "a").click()
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#segments li[role=option]"), "the transcript")
    return job_id


def test_upload_review_seek_download_and_delete(browser, console, sample_wav, downloads):
    job_id = open_completed_call(browser, console, sample_wav)
    assert browser.current_url.endswith(f"/ui/jobs/{job_id}")
    lanes = browser.find_elements(By.CSS_SELECTOR, "#timeline g.lane")
    assert [lane.get_attribute("data-speaker") for lane in lanes] == ["Speaker_01", "Speaker_02"]
    fills = {lane.find_element(By.CSS_SELECTOR, "rect.turn").get_attribute("fill") for lane in lanes}
    assert len(fills) == 2  # one colour per speaker
    assert "Hello" in browser.find_element(By.ID, "segments").text
    assert browser.find_element(By.ID, "audio-note").is_displayed() is False

    wait_until(lambda: audio_state(browser)["ready"] >= 1, "the playback copy to load in the player")
    assert audio_state(browser)["src"].startswith("blob:")  # fetched with the key header, not a URL
    second = browser.find_element(By.ID, "segment-1")
    second.click()
    wait_until(lambda: abs(audio_state(browser)["time"] - 0.6) < 0.05, "the player to seek to segment 2")
    assert current_segment(browser) == "segment-1"

    # keyboard: arrows move between segments (and seek), space plays and pauses
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_UP)
    wait_until(lambda: current_segment(browser) == "segment-0", "ArrowUp to select segment 1")
    wait_until(lambda: abs(audio_state(browser)["time"] - 0.1) < 0.05, "ArrowUp to seek")
    assert browser.switch_to.active_element.get_attribute("id") == "segment-0"
    browser.switch_to.active_element.send_keys(Keys.SPACE)
    wait_until(lambda: not audio_state(browser)["paused"], "space to start playback")
    browser.switch_to.active_element.send_keys(Keys.SPACE)
    wait_until(lambda: audio_state(browser)["paused"], "space to pause playback")

    # clicking the timeline seeks too: at 3/4 of the plot width
    plot = browser.execute_script(
        "const r = document.querySelector('#timeline svg').getBoundingClientRect();"
        "return {x: r.left, w: r.width, y: r.top};"
    )
    gutter = 124
    target = gutter + 0.75 * (plot["w"] - gutter - 8)
    browser.execute_script(
        "document.querySelector('#timeline svg').dispatchEvent(new MouseEvent('click',"
        " {clientX: arguments[0], clientY: arguments[1] + 30, bubbles: true}));",
        plot["x"] + target,
        plot["y"],
    )
    wait_until(lambda: abs(audio_state(browser)["time"] - 22.5) < 0.5, "a click on the timeline to seek")

    for width in (1280, 800):
        screenshot(browser, "call-view", width)

    browser.find_element(By.CSS_SELECTOR, "button[data-format=srt]").click()
    srt = wait_until(lambda: list(downloads.glob("*.srt")), "the SRT download")[0]
    wait_until(lambda: "-->" in srt.read_text(), "the SRT file to be written")
    assert srt.name == "sample.srt" and "Hello" in srt.read_text()

    # delete, with confirmation: "Keep it" keeps, "Delete" erases
    browser.find_element(By.LINK_TEXT, "← All calls").click()
    row = wait_until(lambda: job_rows(browser, "completed"), "the job list")[0]
    for width in (1280, 800):
        screenshot(browser, "job-list", width)
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    dialog = browser.find_element(By.ID, "confirm-delete")
    assert dialog.is_displayed() and "sample.wav" in dialog.text
    dialog.find_element(By.CSS_SELECTOR, "button[value=cancel]").click()
    assert len(job_rows(browser)) == 1 and (console.settings.audio_dir / job_id).exists()
    job_rows(browser)[0].find_element(By.CSS_SELECTOR, "button.danger").click()
    browser.find_element(By.ID, "confirm-delete-button").click()
    wait_until(lambda: not job_rows(browser), "the row to go")
    assert "Deleted sample.wav" in browser.find_element(By.ID, "jobs-message").text
    assert not (console.settings.audio_dir / job_id).exists()  # the playback copy went with it
    assert csp_violations(browser) == []


def test_progress_filter_and_live_update(browser, console, sample_wav):
    console.processor.gate.clear()  # the job stops at 50 % "fake" until the gate opens
    browser.get(f"{console.url}/ui")
    upload(browser, sample_wav)
    row = wait_until(lambda: job_rows(browser, "processing"), "the job to show as processing")[0]
    wait_until(lambda: "50 %" in row.text, "the progress in the list")
    select = Select(browser.find_element(By.ID, "status-filter"))
    select.select_by_value("completed")
    wait_until(lambda: not job_rows(browser), "the filter to hide the running job")
    select.select_by_value("processing")
    wait_until(lambda: job_rows(browser, "processing"), "the filter to show it again")
    job_rows(browser)[0].find_element(By.TAG_NAME, "a").click()
    panel = wait_until(lambda: browser.find_element(By.ID, "progress-panel"), "the call view")
    wait_until(lambda: panel.is_displayed() and "50 %" in panel.text, "the progress panel")
    screenshot(browser, "call-in-progress", 1280)
    console.processor.gate.set()
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#segments li"), "the page to turn into the review"
    )
    assert not panel.is_displayed()


def test_a_call_whose_audio_is_not_kept_still_shows_timeline_and_transcript(
    browser, console_settings, sample_wav
):
    console_settings.keep_playback_copy = False  # the default
    with ThreadedServer(console_settings, PlayableProcessor()) as console:
        open_completed_call(browser, console, sample_wav)
        note = wait_until(lambda: browser.find_element(By.ID, "audio-note"), "the note")
        wait_until(lambda: note.is_displayed(), "the note saying the audio is not kept")
        assert "not kept" in note.text and "POPIA" in note.text
        assert not browser.find_element(By.ID, "player").is_displayed()
        assert len(browser.find_elements(By.CSS_SELECTOR, "#timeline g.lane")) == 2
        browser.find_element(By.ID, "segment-1").click()
        assert current_segment(browser) == "segment-1"  # the segment and the timeline cursor still follow
        screenshot(browser, "call-without-audio", 1280)


ALICE, BOB = "alice-console-key-0123", "bob-console-key-9876"


def enter_key(browser, key: str) -> None:
    dialog = wait_until(lambda: browser.find_element(By.ID, "key-dialog"), "the key prompt")
    wait_until(dialog.is_displayed, "the key prompt to open")
    field = browser.find_element(By.ID, "key-input")
    field.clear()
    field.send_keys(key)
    browser.find_element(By.ID, "key-submit").click()


def test_api_key_flow(browser, console_settings, sample_wav, caplog, capfd):
    console_settings.api_keys = f"{hash_key(ALICE)},{hash_key(BOB)}"
    caplog.set_level(logging.DEBUG)
    with ThreadedServer(console_settings, PlayableProcessor()) as console:
        browser.get(f"{console.url}/ui")  # the console itself needs no key
        wait_until(lambda: browser.find_element(By.ID, "key-dialog").is_displayed(), "the key prompt")
        browser.find_element(By.CSS_SELECTOR, "#key-dialog button[value=cancel]").click()
        message = browser.find_element(By.ID, "jobs-message")
        wait_until(lambda: "needs a valid API key" in message.text, "the 401 in words")
        assert "(error 401)" in message.text
        browser.find_element(By.ID, "enter-key").click()  # cancelled: the prompt comes back on request only
        enter_key(browser, "not-a-key")
        message = wait_until(lambda: browser.find_element(By.ID, "key-message"), "the prompt again")
        wait_until(lambda: "did not accept" in message.text, "the prompt to say the key was refused")
        screenshot(browser, "key-prompt", 1280)
        enter_key(browser, ALICE)
        wait_until(lambda: browser.find_element(By.ID, "jobs-empty").is_displayed(), "Alice's empty list")
        assert browser.find_element(By.ID, "key-controls").is_displayed()
        upload(browser, sample_wav)
        row = wait_until(lambda: job_rows(browser, "completed"), "Alice's job")[0]
        job_id = row.get_attribute("data-job-id")
        row.find_element(By.TAG_NAME, "a").click()  # the key carries over within the tab
        wait_until(lambda: browser.find_elements(By.ID, "segment-0"), "Alice's call view")
        wait_until(lambda: audio_state(browser)["ready"] >= 1, "the audio, fetched with the key")

        urls = browser.execute_script(
            "return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)]"
        )
        assert urls and not [u for u in urls if ALICE in u or "key" in u.lower()]
        stored = browser.execute_script("return Object.values(sessionStorage)")
        assert stored == [ALICE]
        assert browser.execute_script("return document.cookie") == ""

        browser.find_element(By.ID, "forget-key").click()  # back to the prompt; Bob sees none of it
        enter_key(browser, BOB)
        message = wait_until(lambda: browser.find_element(By.ID, "message"), "the message")
        wait_until(lambda: "Not found" in message.text, "Bob to get 'not found' for Alice's call")
        browser.get(f"{console.url}/ui")
        wait_until(lambda: browser.find_element(By.ID, "jobs-empty").is_displayed(), "Bob's empty list")
        assert (console.settings.audio_dir / job_id).exists()
    server_records = [r for r in caplog.records if not r.name.startswith(("selenium", "urllib3"))]
    logs = "\n".join(r.getMessage() for r in server_records) + "".join(capfd.readouterr())
    for secret in (ALICE, BOB, hash_key(ALICE).removeprefix("sha256:")):
        assert secret not in logs
    assert f"/jobs/{job_id}" in logs  # the access log was captured: the check above means something


def test_errors_are_shown_in_words(browser, console_settings, sample_wav, tmp_path):
    console_settings.max_upload_mb = 0.5
    console_settings.rate_limit_per_minute = 3
    notes = tmp_path / "notes.wav"
    notes.write_text("this is not audio")
    big = tmp_path / "long-call.wav"
    shutil.copy(sample_wav, big)  # ~0.9 MiB
    with ThreadedServer(console_settings, PlayableProcessor()) as console:
        browser.get(f"{console.url}/ui")
        upload(browser, notes)
        fields = browser.find_element(By.ID, "options")
        fields.find_element(By.NAME, "min_speakers").send_keys("3")
        fields.find_element(By.NAME, "max_speakers").send_keys("2")
        upload(browser, notes)
        for name in ("min_speakers", "max_speakers"):
            fields.find_element(By.NAME, name).clear()
        upload(browser, big)
        upload(browser, notes)

        def states() -> list[str]:
            items = browser.find_elements(By.CSS_SELECTOR, "#uploads li .state")
            return [item.text for item in items]

        wait_until(lambda: len(states()) == 4 and all("error" in s for s in states()), "four errors")
        unreadable, options, too_large, too_many = states()
        assert "not a recording the service can read" in unreadable and "(error 415)" in unreadable
        assert "min_speakers must not exceed max_speakers" in options and "(error 422)" in options
        assert "too large" in too_large and "(error 413)" in too_large
        assert "Too many uploads" in too_many and "Try again in" in too_many and "(error 429)" in too_many
        screenshot(browser, "upload-errors", 1280)


# Two short tones as WAV files made in the page, dropped on the zone as a file manager would.
DROP_TWO_CALLS = """
function wav(name, hz) {
  const rate = 8000, n = 2 * rate, view = new DataView(new ArrayBuffer(44 + 2 * n));
  const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF'); view.setUint32(4, 36 + 2 * n, true); text(8, 'WAVEfmt ');
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, 2 * rate, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, 'data'); view.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) view.setInt16(44 + 2 * i, 8000 * Math.sin(2 * Math.PI * hz * i / rate), true);
  return new File([view.buffer], name, {type: 'audio/wav'});
}
const data = new DataTransfer();
data.items.add(wav('call-a.wav', 440));
data.items.add(wav('call-b.wav', 660));
const zone = document.getElementById('dropzone');
for (const type of ['dragenter', 'dragover', 'drop']) {
  zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
}
"""


def test_dropping_several_calls_queues_each_with_the_options(browser, console):
    browser.get(f"{console.url}/ui")
    form = browser.find_element(By.ID, "options")
    form.find_element(By.NAME, "num_speakers").send_keys("2")
    form.find_element(By.NAME, "language").send_keys("af")
    Select(form.find_element(By.NAME, "channel_mode")).select_by_value("mixed")
    form.find_element(By.NAME, "redact_pii").click()
    browser.execute_script(DROP_TWO_CALLS)
    wait_until(lambda: len(job_rows(browser, "completed")) == 2, "both dropped calls to complete")
    names = [row.find_element(By.TAG_NAME, "a").text for row in job_rows(browser)]
    assert names == ["call-b.wav", "call-a.wav"]  # newest first
    options = console.processor.options
    assert len(options) == 2
    assert all(
        o.num_speakers == 2 and o.language == "af" and o.channel_mode == "mixed" and o.redact_pii
        for o in options
    )
    assert all(o.channel_names == ("Agent", "Customer") for o in options)


def test_a_full_queue_is_explained(browser, console_settings, sample_wav):
    console_settings.max_queue_size = 1
    with ThreadedServer(console_settings, PlayableProcessor()) as console:
        console.processor.gate.clear()
        browser.get(f"{console.url}/ui")
        upload(browser, sample_wav)
        wait_until(lambda: job_rows(browser, "processing"), "the first call to run")
        upload(browser, sample_wav)  # waits in the queue, which is then full
        upload(browser, sample_wav)

        def third() -> str:
            states = browser.find_elements(By.CSS_SELECTOR, "#uploads li .state")
            return states[2].text if len(states) == 3 else ""

        wait_until(lambda: "error 503" in third(), "the third upload to be refused")
        assert "cannot take this now" in third() and "Try again in 30 s" in third()
