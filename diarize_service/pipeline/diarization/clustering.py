"""Speaker clustering: split tight, then merge what never talks in the same window.

A single agglomerative threshold has to serve two opposite cases.  Two
similar voices on a telephone line (the dev calls' ARCTIC ``aew`` and the
LibriVox reader, VCTK p238 and p335) sit closer than 0.5 apart and get merged;
one real speaker on pyannote's sample call spreads wider than 0.4 and gets
split.  The segmentation model gives a second opinion that embeddings
alone do not: inside one 10 s window it separates the people who speak there
(its "local speakers").  Two clusters that keep showing up as *different*
local speakers of the same windows are two people taking turns; two nearby
clusters that never share a window are one voice split in two.

So this clustering runs pyannote's agglomerative clustering at a tight
threshold, then repeatedly merges the closest pair of clusters whose
centroids are within ``merge_threshold`` and which share at most
``MAX_SHARED_WINDOWS`` of their windows.  Given ``num_speakers`` it is plain
pyannote clustering.  Numbers: bench/README.md ("Clustering").
"""

from __future__ import annotations

import numpy as np
from pyannote.audio.pipelines.clustering import AgglomerativeClustering
from scipy.spatial.distance import cdist

# Share of the smaller cluster's windows in which both clusters speak, at most,
# for a merge (dev calls: 0.05-0.15 equivalent, 0.3 merges real speakers).
MAX_SHARED_WINDOWS = 0.1


class SplitMergeClustering(AgglomerativeClustering):
    """pyannote agglomerative clustering plus a window co-occurrence merge."""

    def __init__(self, merge_threshold: float = 0.6, metric: str = "cosine") -> None:
        super().__init__(metric=metric)
        self.merge_threshold = merge_threshold

    def __call__(
        self,
        embeddings: np.ndarray,
        segmentations=None,
        num_clusters: int | None = None,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
        **kwargs,
    ):
        train, chunk_idx, speaker_idx = self.filter_embeddings(embeddings, segmentations=segmentations)
        num_clusters, min_clusters, max_clusters = self.set_num_clusters(
            len(train), num_clusters=num_clusters, min_clusters=min_clusters, max_clusters=max_clusters
        )
        if max_clusters < 2 or len(train) < 2:
            return super().__call__(embeddings, segmentations, num_clusters=1, min_clusters=1, max_clusters=1)
        clusters = self.cluster(
            train.copy(), min_clusters=min_clusters, max_clusters=max_clusters, num_clusters=num_clusters
        )
        if num_clusters is None:
            clusters = merge_split_voices(
                train, chunk_idx, clusters, self.merge_threshold, min_clusters=max(min_clusters, 1)
            )
        return self.assign_embeddings(
            embeddings, chunk_idx, speaker_idx, clusters, constrained=self.constrained_assignment
        )


def merge_split_voices(
    embeddings: np.ndarray,
    windows: np.ndarray,
    clusters: np.ndarray,
    merge_threshold: float,
    min_clusters: int = 1,
) -> np.ndarray:
    """Merge, closest first, cluster pairs that are near each other and rarely share a window.

    *embeddings* (N, D) with their window index *windows* (N,) and cluster
    *clusters* (N,); returns cluster labels renumbered from 0.
    """
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    clusters = clusters.copy()
    while True:
        labels = np.unique(clusters)
        if len(labels) <= min_clusters:
            break
        centroids = np.stack([unit[clusters == k].mean(axis=0) for k in labels])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        distance = cdist(centroids, centroids)
        spoken_in = [set(windows[clusters == k].tolist()) for k in labels]
        best: tuple[float, int, int] | None = None
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                if distance[i, j] >= merge_threshold:
                    continue
                shared = len(spoken_in[i] & spoken_in[j]) / min(len(spoken_in[i]), len(spoken_in[j]))
                if shared <= MAX_SHARED_WINDOWS and (best is None or distance[i, j] < best[0]):
                    best = (float(distance[i, j]), i, j)
        if best is None:
            break
        clusters[clusters == labels[best[2]]] = labels[best[1]]
    return np.unique(clusters, return_inverse=True)[1]
