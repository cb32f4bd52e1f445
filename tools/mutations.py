"""The mutations ``tools/mutation_check.py`` applies, one at a time: what breaks, and which tests notice."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    """Short unique id, used by ``-k``."""
    file: str
    """Path relative to the repository root."""
    original: str
    """Exact text that must occur exactly once in *file*."""
    replacement: str
    tests: tuple[str, ...]
    """pytest node ids that must fail once the mutation is applied."""
    why: str = ""
    """What the broken code would do in production."""


BODY = "tests/api/test_body_limits.py::"
RETENTION = "tests/api/test_retention.py::"
STORE = "tests/unit/test_job_store.py::"
OPS = "tests/api/test_operations.py::"
OPTIONS = "tests/api/test_job_options.py::"
JOBS = "tests/api/test_jobs_api.py::"
RATE = "tests/unit/test_rate_limiter.py::"
AUDIO = "tests/unit/test_audio_limits.py::"
GATE = "tests/api/test_gate.py::"
HTTP = "tests/unit/test_http_protocol.py::"
STAGE = "tests/unit/test_stage_cancel.py::"
LEASE = "tests/api/test_lease.py::"

MUTATIONS: list[Mutation] = [
    # --- upload size limit (MAX_UPLOAD_MB) ---------------------------------------------------
    Mutation(
        "body-limit-middleware-disabled",
        "diarize_service/app.py",
        "limit_for=body_limits.get,",
        "limit_for=lambda path: None,",
        (
            BODY + "test_declared_content_length_over_the_limit_is_413_before_any_byte_is_read",
            BODY + "test_chunked_body_over_the_limit_is_413_and_cut_off_while_streaming",
        ),
        "oversize bodies are spooled to disk in full before the route refuses them",
    ),
    Mutation(
        "body-limit-declared-length-ignored",
        "diarize_service/api/limits.py",
        "if declared.isdigit() and int(declared) > limit:",
        "if False:",
        (BODY + "test_declared_content_length_over_the_limit_is_413_before_any_byte_is_read",),
        "a declared 10 GB upload is read until the byte counter trips",
    ),
    Mutation(
        "body-limit-declared-off-by-one",
        "diarize_service/api/limits.py",
        "int(declared) > limit:",
        "int(declared) >= limit:",
        (BODY + "test_a_body_of_exactly_the_limit_passes_and_one_byte_more_does_not",),
        "an upload of exactly the limit is refused",
    ),
    Mutation(
        "body-limit-chunked-count-ignored",
        "diarize_service/api/limits.py",
        "if received > limit:",
        "if False:",
        (BODY + "test_chunked_body_over_the_limit_is_413_and_cut_off_while_streaming",),
        "chunked uploads of any size are spooled to a temporary file",
    ),
    Mutation(
        "body-limit-app-reply-not-dropped",
        "diarize_service/api/limits.py",
        "if not answered:  # the app's own reply",
        "if True:  # the app's own reply",
        (BODY + "test_a_body_of_exactly_the_limit_passes_and_one_byte_more_does_not",),
        "a second response is sent after the 413 (ASGI protocol error)",
    ),
    Mutation(
        "body-limit-in-wrong-unit",
        "diarize_service/app.py",
        '"/diarize": settings.max_upload_bytes + slack,',
        '"/diarize": int(settings.max_upload_mb) + slack,',
        (BODY + "test_body_under_the_limit_is_accepted",),
        "every real upload is refused: the limit is MiB read as bytes",
    ),
    Mutation(
        "upload-copy-limit-ignored",
        "diarize_service/storage/audio_store.py",
        "if written > max_bytes:",
        "if False:",
        (BODY + "test_upload_just_over_max_upload_is_refused_by_the_route_and_leaves_nothing",),
        "uploads up to 64 KiB over MAX_UPLOAD_MB are accepted",
    ),
    # --- retention (RESULT_TTL_SECONDS) ------------------------------------------------------
    Mutation(
        "expiry-keeps-result-in-db",
        "diarize_service/storage/job_store.py",
        '.values(result=None, speaker_embeddings=None, stage="expired")',
        '.values(speaker_embeddings=None, stage="expired")',
        (
            RETENTION + "test_expired_result_is_erased_from_the_database",
            STORE + "test_expire_results_erases_results_of_jobs_finished_before_the_cutoff_only",
        ),
        "expired transcripts answer 410 but stay in the database",
    ),
    Mutation(
        "expiry-ignores-cutoff",
        "diarize_service/storage/job_store.py",
        "jobs.c.finished_at < finished_before,",
        "jobs.c.finished_at.is_not(None),",
        (STORE + "test_expire_results_erases_results_of_jobs_finished_before_the_cutoff_only",),
        "results are erased on the first sweep after the job, whatever RESULT_TTL_SECONDS says",
    ),
    Mutation(
        "expiry-skips-failed-jobs",
        "diarize_service/storage/job_store.py",
        "jobs.c.status.in_((COMPLETED, FAILED)),",
        "jobs.c.status.in_((COMPLETED,)),",
        (
            RETENTION + "test_failed_jobs_expire_too",
            STORE + "test_expire_results_erases_results_of_jobs_finished_before_the_cutoff_only",
        ),
        "failed jobs and their kept audio are kept forever",
    ),
    Mutation(
        "sweeper-keeps-expired-audio",
        "diarize_service/jobs/sweeper.py",
        "            for job_id in expired:\n                self.audio.delete(job_id)\n",
        "            for job_id in expired:\n                pass\n",
        (RETENTION + "test_expired_kept_audio_is_deleted_by_the_sweeper",),
        "with KEEP_AUDIO the recordings outlive their results",
    ),
    Mutation(
        "sweeper-failed-job-keeps-audio",
        "diarize_service/jobs/sweeper.py",
        "        self.audio.delete_decoded(job_id)\n        if not self.policy.keep_audio:\n"
        "            self.audio.delete(job_id)\n",
        "        if not self.policy.keep_audio:\n            pass\n",
        ("tests/unit/test_sweeper.py::test_job_failed_by_the_sweeper_loses_its_audio_and_decoded_copy",),
        "a job failed after MAX_ATTEMPTS interruptions keeps its recording until RESULT_TTL",
    ),
    Mutation(
        "decoded-copy-kept",
        "diarize_service/jobs/runner.py",
        "    def _cleanup(self, job_id: str) -> None:\n        self.audio.delete_decoded(job_id)\n",
        "    def _cleanup(self, job_id: str) -> None:\n        pass\n",
        (RETENTION + "test_decoded_copy_is_deleted_when_the_job_finishes",),
        "a full 16 kHz copy of every call stays on disk (KEEP_AUDIO) after its job",
    ),
    Mutation(
        "result-ttl-not-wired",
        "diarize_service/components.py",
        "        result_ttl_seconds=settings.result_ttl_seconds,\n",
        "",
        (RETENTION + "test_expired_result_is_erased_from_the_database",),
        "RESULT_TTL_SECONDS is ignored: results live 7 days",
    ),
    # --- job claims ----------------------------------------------------------------------------
    Mutation(
        "claim-not-atomic",
        "diarize_service/storage/job_store.py",
        """        statement = (
            update(jobs)
            .where(jobs.c.id == oldest.scalar_subquery(), jobs.c.status == QUEUED)
""",
        """        picked = self._one(oldest)  # SELECT now, UPDATE in a second transaction
        if picked is None:
            return None
        statement = (
            update(jobs)
            .where(jobs.c.id == picked[0])
""",
        (STORE + "test_concurrent_claims_from_several_handles_take_each_job_exactly_once",),
        "two API workers run the same job at once",
    ),
    # --- metrics and corrupt uploads -----------------------------------------------------------
    Mutation(
        "metric-submitted-not-counted",
        "diarize_service/api/routes/jobs.py",
        "    metrics.JOBS_SUBMITTED.inc()\n    runner.submitted([job_id])\n",
        "    runner.submitted([job_id])\n",
        (OPS + "test_metrics_count_a_completed_and_a_failed_job",),
        "diarize_jobs_submitted_total stays at 0",
    ),
    Mutation(
        "metric-audio-seconds-not-counted",
        "diarize_service/jobs/runner.py",
        'metrics.AUDIO_SECONDS.inc(result.get("audio_duration", 0.0))',
        "metrics.AUDIO_SECONDS.inc(0.0)",
        (OPS + "test_metrics_count_a_completed_and_a_failed_job",),
        "diarize_audio_seconds_total stays at 0",
    ),
    Mutation(
        "metric-finished-mislabelled",
        "diarize_service/jobs/runner.py",
        "metrics.JOBS_FINISHED.labels(final.value).inc()",
        'metrics.JOBS_FINISHED.labels("completed").inc()',
        (OPS + "test_metrics_count_a_completed_and_a_failed_job",),
        "failures are counted as completions",
    ),
    Mutation(
        "probe-skipped-at-submission",
        "diarize_service/api/routes/jobs.py",
        "info = probe(path)",
        'info = type("Unprobed", (), {"duration": None})',
        (JOBS + "test_corrupt_payload_behind_valid_header_fails_the_job_or_is_rejected",),
        "unreadable files are queued instead of refused with 415",
    ),
    Mutation(
        "audio-error-reason-lost",
        "diarize_service/jobs/runner.py",
        "if isinstance(exc, AudioError | StageCrashedError):",
        "if isinstance(exc, StageCrashedError):",
        (JOBS + "test_corrupt_payload_behind_valid_header_fails_the_job_or_is_rejected",),
        "a job failed by bad audio says 'UnsupportedAudioError: ...' instead of the reason",
    ),
    # --- options, timeout, health, rate limit --------------------------------------------------
    Mutation(
        "channel-mode-dropped",
        "diarize_service/api/routes/jobs.py",
        "        channel_mode=channel_mode,\n",
        '        channel_mode="auto",\n',
        (OPTIONS + "test_channel_mode_and_names_reach_the_processor",),
        "channel_mode=split/mixed from the form is ignored",
    ),
    Mutation(
        "channel-names-dropped",
        "diarize_service/api/routes/jobs.py",
        "if channel_names else {}",
        "if False else {}",
        (OPTIONS + "test_channel_mode_and_names_reach_the_processor",),
        "channel_names from the form are ignored (always Agent,Customer)",
    ),
    Mutation(
        "speaker-bounds-dropped",
        "diarize_service/api/routes/jobs.py",
        "        min_speakers=min_speakers,\n        max_speakers=max_speakers,\n",
        "        min_speakers=None,\n        max_speakers=None,\n",
        (OPTIONS + "test_speaker_bounds_reach_the_processor_in_mixed_mode",),
        "min_speakers/max_speakers from the form are ignored",
    ),
    Mutation(
        "speaker-bounds-not-validated",
        "diarize_service/pipeline/options.py",
        "self.min_speakers > self.max_speakers:",
        "self.min_speakers > self.max_speakers + 1:",
        (OPTIONS + "test_invalid_channel_and_speaker_options_are_422",),
        "min_speakers=3, max_speakers=2 is queued",
    ),
    Mutation(
        "job-timeout-ignored",
        "diarize_service/jobs/runner.py",
        "timeout=self.config.job_timeout_seconds,",
        "timeout=None,",
        (OPS + "test_job_running_past_the_timeout_fails_with_the_timeout_message",),
        "a stuck job holds its slot forever",
    ),
    Mutation(
        "job-timeout-not-wired",
        "diarize_service/components.py",
        "        job_timeout_seconds=settings.job_timeout_seconds,\n",
        "",
        (OPS + "test_job_running_past_the_timeout_fails_with_the_timeout_message",),
        "JOB_TIMEOUT_SECONDS is ignored: jobs may run an hour",
    ),
    Mutation(
        "health-never-503",
        "diarize_service/api/routes/health.py",
        "    if not loaded:\n        response.status_code = 503\n",
        "",
        (OPS + "test_health_is_503_until_the_models_are_loaded",),
        "readiness probes route calls to a pod whose models are not loaded",
    ),
    Mutation(
        "rate-limit-window-never-slides",
        "diarize_service/api/auth.py",
        "                hits.popleft()",
        "                break",
        (RATE + "test_the_window_slides_after_60_seconds_not_59",),
        "a key that hit its limit is locked out for good",
    ),
    Mutation(
        "rate-limit-window-too-long",
        "diarize_service/api/auth.py",
        "now - hits[0] >= 60",
        "now - hits[0] > 60",
        (RATE + "test_the_window_slides_after_60_seconds_not_59",),
        "a hit leaves the window later than one minute",
    ),
    Mutation(
        "rate-limit-window-too-short",
        "diarize_service/api/auth.py",
        "now - hits[0] >= 60",
        "now - hits[0] >= 59",
        (RATE + "test_the_window_slides_after_60_seconds_not_59",),
        "a key gets more than RATE_LIMIT_PER_MINUTE submissions per minute",
    ),
    # --- hardening (issue #24): input bounded before it is trusted ------------------------------
    Mutation(
        "demuxer-whitelist-dropped",
        "diarize_service/pipeline/audio.py",
        '_OPEN_OPTIONS = {"format_whitelist": ALLOWED_FORMATS, "protocol_whitelist": "file"}',
        "_OPEN_OPTIONS: dict[str, str] = {}",
        (AUDIO + "test_a_playlist_naming_another_file_on_the_server_is_not_followed",),
        "a 33-byte ffconcat file that lists itself opens itself until the process runs out of descriptors",
    ),
    Mutation(
        "sample-rate-not-checked",
        "diarize_service/pipeline/audio.py",
        "            if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:\n                raise",
        "            if False:\n                raise",
        (AUDIO + "test_absurd_declared_sample_rates_are_refused_at_the_probe",),
        "a WAV declaring 1 Hz becomes hours of decoded audio",
    ),
    Mutation(
        "decoded-length-not-bounded-by-size",
        "diarize_service/pipeline/audio.py",
        "                if total > limit:",
        "                if False:",
        (AUDIO + "test_decoded_audio_is_bounded_by_the_uploads_size",),
        "a pathological stream decodes to far more audio than its bytes can hold",
    ),
    Mutation(
        "lying-header-believed",
        "diarize_service/pipeline/audio.py",
        "                duration = None  # the header lies",
        "                pass  # the header lies",
        (AUDIO + "test_a_header_that_lies_about_the_length_is_not_believed",),
        "a 2 s FLAC whose STREAMINFO claims days is refused as too long",
    ),
    Mutation(
        "auth-checked-after-the-body",
        "diarize_service/app.py",
        "app.add_middleware(RequestGateMiddleware, api_keys=settings.api_keys)",
        'app.add_middleware(RequestGateMiddleware, api_keys="")',
        (GATE + "test_a_submission_without_a_valid_key_is_401_before_its_body_is_read",),
        "unauthenticated clients upload whole bodies (2 GiB per batch) before the 401",
    ),
    Mutation(
        "rate-limit-after-the-body",
        "diarize_service/api/auth.py",
        "                services.rate_limiter.check(client)\n",
        "",
        (GATE + "test_over_the_rate_limit_is_429_before_the_body",),
        "clients over their rate limit still upload whole bodies",
    ),
    Mutation(
        "header-deadline-never-armed",
        "diarize_service/api/http_protocol.py",
        "        self._header_timer = self.loop.call_later(header_timeout(), self._headers_late)",
        "        self._header_timer = None",
        (HTTP + "test_headers_that_never_finish_get_408",),
        "trickling clients hold connections open indefinitely",
    ),
    Mutation(
        "cancel-does-not-kill-the-model-process",
        "diarize_service/pipeline/workers.py",
        "                self._restart(kill=True)",
        "                pass",
        (STAGE + "test_cancelling_a_call_kills_its_process_and_the_next_call_runs_in_a_new_one",),
        "DELETE and JOB_TIMEOUT_SECONDS leave the models computing; the next job waits behind them",
    ),
    Mutation(
        "lease-loss-ignored",
        "diarize_service/jobs/runner.py",
        "            if not ours:\n                self._lost.add(job_id)",
        "            if False:\n                self._lost.add(job_id)",
        (LEASE + "test_a_job_deleted_by_another_replica_is_cancelled_at_the_next_heartbeat",),
        "a job deleted through another replica keeps running on its worker",
    ),
    Mutation(
        "result-written-without-the-lease",
        "diarize_service/storage/job_store.py",
        "    return clause if worker is None else and_(clause, jobs.c.worker == worker)",
        "    return clause",
        (LEASE + "test_a_job_whose_lease_was_taken_over_writes_no_result",),
        "a worker whose job was handed to another keeps running it: the job runs twice at once",
    ),
]
