"""Leak suppression between the two channels of a split call."""

from __future__ import annotations

import numpy as np

from diarize_service.pipeline.channels import FRAME, dominant_mask

SR = 16_000
RNG = np.random.default_rng(0)


def burst(seconds: float, start: float, end: float, level_db: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    tone = np.sin(2 * np.pi * 440 * t) * np.sqrt(2) * 10 ** (level_db / 20)
    return np.where((t >= start) & (t < end), tone, 0.0)


def frames(start: float, end: float) -> slice:
    return slice(int(start * SR) // FRAME + 1, int(end * SR) // FRAME - 1)


def test_an_echo_of_the_other_party_is_leakage():
    agent = burst(4, 1, 3, -20) + 1e-4 * RNG.standard_normal(4 * SR)
    customer = 0.1 * agent + 1e-4 * RNG.standard_normal(4 * SR)  # -20 dB echo of the agent
    mask = dominant_mask(np.stack([agent, customer]), index=1)
    assert not mask[frames(1, 3)].any()
    assert dominant_mask(np.stack([agent, customer]), index=0)[frames(1, 3)].all()


def test_quiet_speech_is_not_leakage_of_the_other_channels_noise():
    # agent's quiet word (-50 dBFS) on a clean headset; the customer's line only hisses (-35 dBFS)
    agent = burst(4, 1, 3, -50) + 1e-5 * RNG.standard_normal(4 * SR)
    customer = 10 ** (-35 / 20) * RNG.standard_normal(4 * SR)
    assert dominant_mask(np.stack([agent, customer]), index=0)[frames(1, 3)].all()
