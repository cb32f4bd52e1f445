"""The merge step of the speaker clustering: split voices merge, people taking turns do not."""

from __future__ import annotations

import numpy as np

from diarize_service.pipeline.diarization.clustering import merge_split_voices

RNG = np.random.default_rng(0)


def voice(direction: np.ndarray, n: int, spread: float = 0.05) -> np.ndarray:
    return direction + spread * RNG.standard_normal((n, direction.size))


def unit(seed: int, dim: int = 16) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim)
    return v / np.linalg.norm(v)


def test_one_voice_split_in_two_clusters_is_merged():
    a = unit(1)
    near_a = a + 0.25 * unit(2)  # same voice, drifted: close but beyond a tight threshold
    embeddings = np.vstack([voice(a, 20), voice(near_a, 20), voice(unit(3), 40)])
    windows = np.r_[np.arange(0, 20), np.arange(20, 40), np.arange(0, 40)]  # the halves never meet
    clusters = np.r_[np.zeros(20), np.ones(20), np.full(40, 2)].astype(int)
    merged = merge_split_voices(embeddings, windows, clusters, merge_threshold=0.6)
    assert len(set(merged[:40])) == 1 and merged[40] != merged[0]


def test_close_voices_that_take_turns_in_the_same_windows_stay_apart():
    a = unit(1)
    b = a + 0.25 * unit(2)
    embeddings = np.vstack([voice(a, 30), voice(b, 30)])
    windows = np.r_[np.arange(30), np.arange(30)]  # both speak in every window
    clusters = np.r_[np.zeros(30), np.ones(30)].astype(int)
    merged = merge_split_voices(embeddings, windows, clusters, merge_threshold=0.6)
    assert len(set(merged)) == 2


def test_distant_voices_are_never_merged_and_min_clusters_holds():
    embeddings = np.vstack([voice(unit(1), 10), voice(unit(4), 10)])
    windows = np.r_[np.arange(10), np.arange(10, 20)]
    clusters = np.r_[np.zeros(10), np.ones(10)].astype(int)
    assert len(set(merge_split_voices(embeddings, windows, clusters, merge_threshold=0.6))) == 2
    a = unit(1)
    split = np.vstack([voice(a, 10), voice(a + 0.2 * unit(2), 10)])
    merged = merge_split_voices(split, windows, clusters, merge_threshold=0.6, min_clusters=2)
    assert len(set(merged)) == 2
