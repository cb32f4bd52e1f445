"""Call analytics on hand-made timelines with known answers."""

from __future__ import annotations

import pytest

from diarize_service.pipeline.output.analytics import call_analytics, dead_air, interruptions, overlap_seconds


def turn(start, end, speaker):
    return {"start": start, "end": end, "speaker": speaker}


def seg(start, end, speaker, n_words):
    return {**turn(start, end, speaker), "words": [{}] * n_words}


TIMELINE = [
    turn(1.0, 4.0, "Agent"),  # greeting
    turn(5.0, 9.0, "Customer"),  # first response after 1 s
    turn(8.0, 12.0, "Agent"),  # agent talks over the customer for 1 s, customer stops: interruption
    turn(17.0, 20.0, "Customer"),  # 5 s of dead air before this
]


def test_overlap_and_interruptions():
    assert overlap_seconds(TIMELINE) == pytest.approx(1.0)
    assert interruptions(TIMELINE) == [{"time": 8.0, "interrupter": "Agent", "interrupted": "Customer"}]
    # talking over someone who keeps going is not an interruption
    assert interruptions([turn(0, 10, "A"), turn(2, 3, "B")]) == []


def test_dead_air_includes_leading_and_trailing_silence():
    assert dead_air(TIMELINE, audio_duration=25.0) == [
        {"start": 12.0, "end": 17.0, "duration": 5.0},
        {"start": 20.0, "end": 25.0, "duration": 5.0},
    ]
    assert dead_air([turn(4.0, 5.0, "A")], 5.0)[0] == {"start": 0.0, "end": 4.0, "duration": 4.0}


def test_call_analytics():
    segments = [
        seg(1, 4, "Agent", 9),
        seg(5, 9, "Customer", 8),
        seg(8, 12, "Agent", 6),
        seg(17, 20, "Customer", 6),
    ]
    a = call_analytics(segments, TIMELINE, audio_duration=20.0)
    agent, customer = a["speakers"]["Agent"], a["speakers"]["Customer"]
    assert agent["talk_time"] == 7.0 and customer["talk_time"] == 7.0
    assert agent["talk_to_listen_ratio"] == 1.0
    assert agent["words_per_minute"] == pytest.approx(60 * 15 / 7, abs=0.01)
    assert agent["longest_monologue"] == 4.0
    assert a["time_to_first_response"] == 1.0
    assert a["interruption_count"] == 1 and a["overlap_time"] == 1.0
    assert a["dead_air_total"] == 5.0


def test_channel_helpers_on_synthetic_stereo():
    import numpy as np

    from diarize_service.pipeline.channels.speech import (
        dominant_mask,
        energy_spans,
        should_split,
        speech_regions,
    )

    rng = np.random.default_rng(0)
    sr = 16_000
    left = 0.001 * rng.standard_normal(4 * sr).astype(np.float32)
    right = 0.001 * rng.standard_normal(4 * sr).astype(np.float32)
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    left[sr : 2 * sr] += tone  # the agent talks 1-2 s
    right[sr : 2 * sr] += 0.03 * tone  # ...and leaks into the customer line at -20 dB
    right[3 * sr : 4 * sr - 1600] += tone[: sr - 1600]  # the customer talks 3-3.9 s
    stereo = np.stack([left, right])
    assert should_split(stereo) and not should_split(np.stack([left, left])) and not should_split(left[None])
    spans_right = energy_spans(right)
    regions = speech_regions(spans_right, dominant_mask(stereo, 1))
    assert [(round(r.start, 1), round(r.end, 1)) for r in regions] == [(3.0, 3.9)]  # the leak is gone
    assert any(abs(s - 1.0) < 0.05 for s, _ in spans_right)  # energy alone did see the leak
