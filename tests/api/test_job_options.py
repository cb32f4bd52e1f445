"""Form options travel from ``POST /diarize`` to the processor, and bad ones stop at the door.

Model tests run the pipeline with ``JobOptions`` built in Python, so an option
the route forgets to pass on (or passes with its default) would go unnoticed
there: these tests read what the processor actually received.
"""

from __future__ import annotations

import pytest

from .conftest import wait_for
from .test_jobs_api import assert_problem, submit


def received(client, processor, sample_wav, **fields):
    """Submit with *fields*, wait for the job, return the options the processor was called with."""
    response = submit(client, sample_wav, **fields)
    assert response.status_code == 202, response.text
    assert wait_for(client, response.json()["job_id"])["status"] == "completed"
    assert len(processor.options) == 1
    return processor.options[0]


def test_channel_mode_and_names_reach_the_processor(client, processor, stereo_wav):
    """Split mode with the call centre's own party names (trimmed, as the model validator stores them)."""
    options = received(
        client, processor, stereo_wav, channel_mode="split", channel_names="Thandi (agent), Caller"
    )
    assert options.channel_mode == "split"
    assert options.channel_names == ("Thandi (agent)", "Caller")


def test_speaker_bounds_reach_the_processor_in_mixed_mode(client, processor, stereo_wav):
    """In mixed mode a stereo call is diarized as one signal, bounded by min/max_speakers."""
    options = received(
        client, processor, stereo_wav, channel_mode="mixed", min_speakers="2", max_speakers="4"
    )
    assert (options.channel_mode, options.min_speakers, options.max_speakers) == ("mixed", 2, 4)
    assert options.num_speakers is None


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"channel_mode": "stereo"}, "channel_mode"),
        ({"channel_names": "Agent"}, "channel_names"),  # one name for two channels
        ({"channel_names": "Agent, Agent"}, "channel_names"),  # the same name twice (after trimming)
        ({"channel_names": "Agent, "}, "channel_names"),  # an empty name after trimming
        ({"channel_names": "Agent," + "x" * 41}, "channel_names"),  # longer than 40 characters
        ({"channel_mode": "mixed", "min_speakers": "3", "max_speakers": "2"}, "min_speakers"),
        ({"channel_mode": "mixed", "min_speakers": "0"}, "min_speakers"),
        ({"channel_mode": "mixed", "max_speakers": "33"}, "max_speakers"),
    ],
)
def test_invalid_channel_and_speaker_options_are_422(client, processor, settings, stereo_wav, fields, text):
    """Refused with a problem naming the field; nothing is queued or stored."""
    assert_problem(submit(client, stereo_wav, **fields), 422, text)
    assert client.get("/jobs").json()["total"] == 0 and processor.options == []
    assert not any(settings.audio_dir.iterdir())
