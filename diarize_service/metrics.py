"""Prometheus metrics (exposed on ``GET /metrics``)."""

from prometheus_client import Counter, Gauge, Histogram

JOBS_SUBMITTED = Counter("diarize_jobs_submitted_total", "Jobs accepted by POST /diarize.")
JOBS_FINISHED = Counter("diarize_jobs_finished_total", "Jobs finished, by final status.", ["status"])
JOBS_RUNNING = Gauge("diarize_jobs_running", "Jobs being processed by this API process.")
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
