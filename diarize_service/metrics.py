"""Prometheus metrics (exposed on ``GET /metrics``; a cluster worker serves its own).

Counters and histograms describe the work of the process that did it: an
API replica counts submissions, a worker counts jobs, stage latencies and
audio seconds -- so in a cluster each worker's figures come from its own
endpoint.  The queue's depth is read from the job store when scraped, so
every replica reports the same, true number.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

JOBS_SUBMITTED = Counter("diarize_jobs_submitted_total", "Jobs accepted by POST /diarize.")
JOBS_FINISHED = Counter("diarize_jobs_finished_total", "Jobs finished, by final status.", ["status"])
JOBS_RUNNING = Gauge("diarize_jobs_running", "Jobs being processed by this process.")
JOB_SECONDS = Histogram(
    "diarize_job_seconds",
    "Wall time of a job from claim to result.",
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
)
AUDIO_SECONDS = Counter("diarize_audio_seconds_total", "Seconds of audio processed successfully.")
STAGE_SECONDS = Histogram(
    "diarize_stage_seconds",
    "Wall time per pipeline stage.",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)


class _StoreCollector:
    """Queue depth and jobs in progress, counted in the shared store at scrape time."""

    def __init__(self) -> None:
        self.store = None

    def collect(self):
        if self.store is None:
            return
        from .jobs.models import JobStatus

        try:
            queued = self.store.count(JobStatus.QUEUED)
            processing = self.store.count(JobStatus.PROCESSING)
        except Exception:  # the store is down: /health says so; metrics stay scrapeable
            return
        yield GaugeMetricFamily("diarize_queue_depth", "Jobs waiting in the queue (whole store).", queued)
        yield GaugeMetricFamily(
            "diarize_jobs_processing", "Jobs being processed by any worker (whole store).", processing
        )


_STORE = _StoreCollector()
REGISTRY.register(_STORE)


def watch_store(store) -> None:
    """Report this store's queue on /metrics (the latest app's store, in tests building several)."""
    _STORE.store = store
