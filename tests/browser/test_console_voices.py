"""Enrolled voices in the console (issues #21 and #23), in Chromium against the real app.

An analyst listens to a call, recognises the agent and enrols her from the
call view; her next call shows her name, and that call can be added to her
voice once (a second time is refused in words).  The fake processor hands
out fixed voiceprints, so the names depend on the routes, the runner and the
page, not on a model.
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from diarize_service.pipeline.diarization.voiceprints import EMBEDDING_KEY, Voiceprint
from diarize_service.pipeline.output import identify as identify_module

from .conftest import (
    PlayableProcessor,
    ThreadedServer,
    csp_violations,
    job_rows,
    screenshot,
    upload,
    wait_until,
)

pytestmark = pytest.mark.browser


def vector(*values: float) -> np.ndarray:
    v = np.zeros(192)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


class VoicedProcessor(PlayableProcessor):
    """Speaker_01 is always the same agent, Speaker_02 the same customer: 20 s of speech each.

    Each call's prints differ a little, as two calls of one person do.
    """

    calls = 0

    async def process(self, audio_path, decoded_path, options, report):
        result = await super().process(audio_path, decoded_path, options, report)
        self.calls += 1
        result[EMBEDDING_KEY] = {
            "Speaker_01": Voiceprint(vector(1, 0.1 + 0.01 * self.calls), 20.0).to_json(),
            "Speaker_02": Voiceprint(vector(0.1, 1), 20.0).to_json(),
        }
        return result


@pytest.fixture
def voiced_console(console_settings, monkeypatch):
    monkeypatch.setattr(identify_module, "shipped_space", lambda: None)  # fixed prints, plain cosine
    with ThreadedServer(console_settings, VoicedProcessor()) as server:
        yield server


def open_new_call(browser, server, wav, seen: set[str]) -> str:
    """Upload *wav* through /ui and open the call that is not in *seen* once it completes."""
    browser.get(f"{server.url}/ui")
    upload(browser, wav)

    def fresh_row():
        rows = [r for r in job_rows(browser, "completed") if r.get_attribute("data-job-id") not in seen]
        return rows[0] if rows else None

    row = wait_until(fresh_row, "the new job to complete in the list", 30)
    job_id = row.get_attribute("data-job-id")
    row.find_element(By.TAG_NAME, "a").click()
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#voices li"), "the voices panel")
    seen.add(job_id)
    return job_id


def voices(server) -> list[dict]:
    with urllib.request.urlopen(f"{server.url}/speakers", timeout=10) as response:
        return json.load(response)["speakers"]


def test_an_agent_enrolled_from_the_call_view_is_named_in_her_next_call(browser, voiced_console, sample_wav):
    seen: set[str] = set()
    open_new_call(browser, voiced_console, sample_wav, seen)
    forms = browser.find_elements(By.CSS_SELECTOR, "#voices form.voice-form")
    assert [f.get_attribute("data-speaker") for f in forms] == ["Speaker_01", "Speaker_02"]
    agent, customer = forms
    agent.find_element(By.TAG_NAME, "input").send_keys("Thandi")
    Select(agent.find_element(By.TAG_NAME, "select")).select_by_value("agent")
    agent.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    done = wait_until(
        lambda: browser.find_element(By.CSS_SELECTOR, "#voices li[data-speaker=Speaker_01] .voice-status"),
        "the enrolment to be confirmed",
    )
    assert "Enrolled Speaker_01 as Thandi (20 s of speech)" in done.text
    assert [(v["name"], v["role"]) for v in voices(voiced_console)] == [("Thandi", "agent")]

    customer.find_element(By.TAG_NAME, "input").send_keys("Thandi")  # a name already enrolled
    customer.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    refused = wait_until(lambda: customer.find_element(By.CSS_SELECTOR, ".voice-status"), "the refusal")
    assert "Name taken" in refused.text and "(error 409)" in refused.text
    assert len(voices(voiced_console)) == 1

    open_new_call(browser, voiced_console, sample_wav, seen)
    assert "Thandi" in browser.find_element(By.ID, "segments").text
    named = browser.find_element(By.CSS_SELECTOR, "#voices li[data-speaker=Thandi]")
    assert "Thandi: enrolled voice, similarity 1" in named.text
    assert browser.find_elements(By.CSS_SELECTOR, "#voices form[data-speaker=Speaker_02]")  # still unnamed
    add = named.find_element(By.CSS_SELECTOR, "button.add-sample")
    add.click()
    added = wait_until(lambda: named.find_element(By.CSS_SELECTOR, ".voice-status"), "the sample to be added")
    assert "now holds 40 s of speech" in added.text and voices(voiced_console)[0]["speech_seconds"] == 40.0
    screenshot(browser, "console-voices", 1280)

    browser.refresh()  # the same call added again (the button is back after a reload): its speech counts once
    button = wait_until(
        lambda: browser.find_element(By.CSS_SELECTOR, "#voices button.add-sample"), "the button"
    )
    button.click()
    again = wait_until(
        lambda: browser.find_element(By.CSS_SELECTOR, "#voices li[data-speaker=Thandi] .voice-status"),
        "refusal",
    )
    assert "Sample already added" in again.text and "counts once" in again.text
    assert voices(voiced_console)[0]["speech_seconds"] == 40.0
    assert csp_violations(browser) == []
