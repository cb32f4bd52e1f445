"""HTTP behaviour of /diarize, /status and /health, including every bad input."""

from __future__ import annotations

import threading
import time

import pytest

from tests.audio_files import TELEPHONY_FORMATS, corrupt_copy, encode, video_without_audio

from .conftest import wait_for, wait_until

PROBLEM = "application/problem+json"


def submit(client, path, **fields):
    with open(path, "rb") as fh:
        return client.post("/diarize", files={"audio_file": (path.name, fh)}, data=fields)


def status_of(client, job_id: str) -> str:
    return client.get(f"/status/{job_id}").json()["status"]


def assert_problem(response, status, text):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and text.lower() in body["detail"].lower()


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["models_loaded"] is True
    assert body["device"] == "cpu" and body["queue_depth"] == 0 and body["jobs_running"] == 0


def test_submit_then_poll_until_completed(client, sample_wav):
    response = submit(client, sample_wav, num_speakers="2", language="en")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and len(body["job_id"]) == 32
    done = wait_for(client, body["job_id"])
    assert done["status"] == "completed" and done["progress"] == 1.0 and done["error"] is None
    result = done["result"]
    assert result["transcript"].splitlines()[0] == "Speaker_01 [0.10s - 0.50s]: Hello"
    assert result["audio_duration"] == pytest.approx(30.0, abs=0.05)
    assert set(result["speakers"]["Speaker_01"]) == {
        "total_duration",
        "percentage",
        "segment_count",
        "word_count",
    }
    assert done["options"]["num_speakers"] == 2 and done["options"]["language"] == "en"


def test_uploaded_audio_is_deleted_after_processing(client, settings, sample_wav):
    job_id = submit(client, sample_wav).json()["job_id"]
    wait_for(client, job_id)
    assert not (settings.audio_dir / job_id).exists()


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "flac", "wav", *TELEPHONY_FORMATS])
def test_every_format_is_accepted(client, tmp_path, sample_wav, fmt):
    path = encode(sample_wav, tmp_path / f"call.{fmt}", sample_rate=8000)
    done = wait_for(client, submit(client, path).json()["job_id"])
    assert done["status"] == "completed"
    assert done["result"]["audio_duration"] == pytest.approx(30.0, abs=0.2)


def test_empty_file_is_422(client, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert_problem(submit(client, empty), 422, "empty")


def test_text_file_is_415(client, tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio, whatever the extension says\n" * 50)
    assert_problem(submit(client, text), 415, "not a readable audio format")


def test_random_bytes_are_415(client, tmp_path, sample_wav):
    garbage = tmp_path / "garbage.m4a"
    garbage.write_bytes(bytes(range(256)) * 64)
    assert_problem(submit(client, garbage), 415, "audio")


def test_video_without_audio_stream_is_422(client, tmp_path):
    assert_problem(submit(client, video_without_audio(tmp_path / "clip.mp4")), 422, "without an audio stream")


@pytest.mark.parametrize(
    ("header_bytes", "expected"),
    [
        # 64 bytes: FFmpeg cannot even probe the file -> refused at submission, nothing queued
        (64, (415, "The file is not a readable audio format")),
        # 1 KiB of real MP3 frames: the probe passes (it reads the header's duration), decoding the
        # noise behind it fails -> the job is accepted and then fails with the decoder's reason
        (1024, ("failed", "The audio could not be decoded")),
    ],
)
def test_corrupt_payload_behind_valid_header_fails_the_job_or_is_rejected(
    client, settings, processor, tmp_path, sample_wav, header_bytes, expected
):
    """Each corruption has one known outcome (PyAV's FFmpeg is pinned), so each is asserted exactly.

    The previous version accepted any status it was given, including a job that
    "completed" on noise; now a lost probe (no 415) or a swallowed decoder error
    (a generic or missing ``error``) fails it.
    """
    mp3 = encode(sample_wav, tmp_path / "call.mp3")
    response = submit(client, corrupt_copy(mp3, tmp_path / "corrupt.mp3", header_bytes))
    if expected[0] == 415:
        assert_problem(response, 415, expected[1])
        assert client.get("/jobs").json()["total"] == 0 and processor.options == []
    else:
        assert response.status_code == 202, response.text
        done = wait_for(client, response.json()["job_id"])
        assert done["status"] == expected[0] and done["result"] is None
        assert done["error"].startswith(expected[1]), done["error"]
    assert not any(settings.audio_dir.iterdir())  # rejected or finished: the upload is gone


def test_missing_file_field_is_422(client):
    assert_problem(client.post("/diarize", data={"language": "en"}), 422, "audio_file")


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"min_speakers": "3", "max_speakers": "2"}, "min_speakers"),
        ({"num_speakers": "0"}, "num_speakers"),
        ({"num_speakers": "two"}, "num_speakers"),
        ({"language": "klingon"}, "language"),
        ({"num_speakers": "5", "max_speakers": "3"}, "num_speakers"),
    ],
)
def test_invalid_options_are_422(client, sample_wav, fields, text):
    assert_problem(submit(client, sample_wav, **fields), 422, text)


def test_unknown_job_is_404(client):
    assert_problem(client.get("/status/does-not-exist"), 404, "does-not-exist")


def test_unknown_route_is_problem_json(client):
    assert_problem(client.get("/nope"), 404, "not found")


def test_failing_pipeline_fails_the_job_and_the_service_keeps_serving(client, processor, sample_wav):
    processor.fail = RuntimeError("model exploded")
    failed = wait_for(client, submit(client, sample_wav).json()["job_id"])
    assert failed["status"] == "failed" and "model exploded" in failed["error"]
    processor.fail = None
    assert wait_for(client, submit(client, sample_wav).json()["job_id"])["status"] == "completed"
    assert client.get("/health").status_code == 200


def test_oversize_upload_is_413_and_leaves_nothing_behind(settings, processor, sample_wav):
    from fastapi.testclient import TestClient

    from diarize_service.app import create_app

    settings.max_upload_mb = 0.1
    with TestClient(create_app(settings, processor=processor)) as client:
        assert_problem(submit(client, sample_wav), 413, "limit")
    assert not any(settings.audio_dir.iterdir())


def test_too_long_audio_is_422(settings, processor, sample_wav):
    from fastapi.testclient import TestClient

    from diarize_service.app import create_app

    settings.max_audio_seconds = 10
    with TestClient(create_app(settings, processor=processor)) as client:
        assert_problem(submit(client, sample_wav), 422, "limit")


def test_at_most_max_concurrent_jobs_run_and_the_rest_wait(client, processor, sample_wav):
    processor.gate.clear()
    ids = [submit(client, sample_wav).json()["job_id"] for _ in range(3)]
    wait_until(lambda: processor.running >= 1, "the first job to start")
    statuses = [client.get(f"/status/{i}").json()["status"] for i in ids]
    assert statuses.count("processing") == 1 and statuses.count("queued") == 2
    health = client.get("/health").json()
    assert health["queue_depth"] == 2 and health["jobs_running"] == 1
    processor.gate.set()
    assert all(wait_for(client, i)["status"] == "completed" for i in ids)
    assert processor.max_running == 1


def test_queue_full_is_503_with_retry_after(settings, processor, sample_wav):
    from fastapi.testclient import TestClient

    from diarize_service.app import create_app

    settings.max_queue_size = 1
    processor.gate.clear()
    with TestClient(create_app(settings, processor=processor)) as client:
        first = submit(client, sample_wav).json()["job_id"]
        wait_until(lambda: status_of(client, first) == "processing", f"job {first} to start")
        assert submit(client, sample_wav).status_code == 202  # queued
        response = submit(client, sample_wav)
        assert_problem(response, 503, "retry")
        assert response.headers["retry-after"] == "30"
        threading.Timer(0.1, processor.gate.set).start()


def test_progress_is_reported_while_processing(client, processor, sample_wav):
    processor.gate.clear()
    job_id = submit(client, sample_wav).json()["job_id"]
    deadline = time.monotonic() + 10
    body = {}
    while time.monotonic() < deadline:
        body = client.get(f"/status/{job_id}").json()
        if body["progress"] == 0.5:
            break
        time.sleep(0.02)
    assert body["status"] == "processing" and body["stage"] == "fake"
    processor.gate.set()
    assert wait_for(client, job_id)["progress"] == 1.0


def test_jobs_are_listed_newest_first_and_filtered(client, sample_wav):
    ids = [submit(client, sample_wav).json()["job_id"] for _ in range(3)]
    for job_id in ids:
        wait_for(client, job_id)
    page = client.get("/jobs", params={"limit": 2}).json()
    assert page["total"] == 3 and [j["job_id"] for j in page["jobs"]] == ids[::-1][:2]
    assert client.get("/jobs", params={"offset": 2}).json()["jobs"][0]["job_id"] == ids[0]
    assert client.get("/jobs", params={"status": "failed"}).json()["total"] == 0
    assert client.get(f"/jobs/{ids[0]}").json()["result"]["total_speakers"] == 2
    assert_problem(client.get("/jobs", params={"status": "bogus"}), 422, "status")


def test_delete_cancels_a_running_job_and_erases_everything(client, processor, settings, sample_wav):
    processor.gate.clear()
    job_id = submit(client, sample_wav).json()["job_id"]
    wait_until(lambda: status_of(client, job_id) == "processing", f"job {job_id} to start")
    assert (settings.audio_dir / job_id).exists()
    assert client.delete(f"/jobs/{job_id}").status_code == 204
    assert not (settings.audio_dir / job_id).exists()
    assert_problem(client.get(f"/status/{job_id}"), 404, job_id)
    assert_problem(client.delete(f"/jobs/{job_id}"), 404, job_id)
    processor.gate.set()
    assert wait_for(client, submit(client, sample_wav).json()["job_id"])["status"] == "completed"


def test_expired_results_answer_410(settings, processor, sample_wav):
    from fastapi.testclient import TestClient

    from diarize_service.app import create_app

    settings.result_ttl_seconds = 0.5
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, sample_wav).json()["job_id"]
        wait_until(lambda: client.get(f"/status/{job_id}").status_code == 410, "the result to expire")
        assert_problem(client.get(f"/status/{job_id}"), 410, "erased")


def test_result_formats_parse_back(client, sample_wav, tmp_path):
    import srt
    import webvtt
    from pyannote.database.util import load_rttm

    job_id = submit(client, sample_wav).json()["job_id"]
    wait_for(client, job_id)
    base = f"/jobs/{job_id}/result"
    assert client.get(base).json()["total_speakers"] == 2
    txt = client.get(base, params={"format": "txt"})
    assert txt.text.startswith("Speaker_01 [0.10s - 0.50s]: Hello")
    subs = list(srt.parse(client.get(base, params={"format": "srt"}).text))
    assert [s.content for s in subs] == ["Speaker_01: Hello", "Speaker_02: there."]
    assert subs[1].start.total_seconds() == 0.6
    vtt = client.get(base, params={"format": "vtt"})
    assert vtt.headers["content-type"].startswith("text/vtt")
    cues = webvtt.from_string(vtt.text)
    assert [c.text for c in cues] == ["Speaker_01: Hello", "Speaker_02: there."]
    rttm = tmp_path / "call.rttm"
    rttm.write_text(client.get(base, params={"format": "rttm"}).text)
    annotation = next(iter(load_rttm(rttm).values()))
    assert sorted(annotation.labels()) == ["Speaker_01", "Speaker_02"]
    assert (
        'filename="sample.srt"' in client.get(base, params={"format": "srt"}).headers["content-disposition"]
    )
    assert_problem(client.get(base, params={"format": "docx"}), 422, "format")


def test_result_of_unfinished_job_is_409(client, processor, sample_wav):
    processor.gate.clear()
    job_id = submit(client, sample_wav).json()["job_id"]
    assert_problem(client.get(f"/jobs/{job_id}/result"), 409, "no result yet")
    processor.gate.set()
    wait_for(client, job_id)


def test_batch_of_files_and_zip_with_aggregate_status(client, sample_wav, stereo_wav, tmp_path):
    import zipfile

    archive = tmp_path / "calls.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(sample_wav, "day1/sample.wav")
        zf.write(stereo_wav, "day1/stereo.wav")
        zf.writestr("day1/readme.txt", "not audio")
    files = [
        ("audio_files", ("one.wav", sample_wav.read_bytes())),
        ("audio_files", ("calls.zip", archive.read_bytes())),
    ]
    response = client.post("/batch-diarize", files=files, data={"num_speakers": "2"})
    assert response.status_code == 202, response.text
    body = response.json()
    by_name = {f["filename"]: f for f in body["files"]}
    assert set(by_name) == {"one.wav", "sample.wav", "stereo.wav", "readme.txt"}
    assert by_name["readme.txt"]["error_status"] == 415 and by_name["readme.txt"]["job_id"] is None
    job_ids = [f["job_id"] for f in body["files"] if f["job_id"]]
    assert len(job_ids) == 3
    for job_id in job_ids:
        wait_for(client, job_id)
    batch = client.get(f"/batches/{body['batch_id']}").json()
    assert batch["status"] == "completed" and batch["progress"] == 1.0
    assert batch["counts"]["completed"] == 3 and len(batch["jobs"]) == 3
    assert all(client.get(f"/jobs/{j}").json()["options"]["num_speakers"] == 2 for j in job_ids)
    assert_problem(client.get("/batches/nope"), 404, "nope")


def test_batch_without_any_audio_is_422(client, tmp_path):
    response = client.post("/batch-diarize", files=[("audio_files", ("a.txt", b"hello"))])
    assert_problem(response, 422, "none of the uploaded files")
    assert response.json()["files"][0]["error_status"] == 415


def test_graceful_shutdown_requeues_unfinished_jobs(settings, processor, sample_wav):
    from fastapi.testclient import TestClient

    from diarize_service.app import create_app
    from diarize_service.storage.job_store import SQLiteJobStore

    settings.shutdown_grace_seconds = 0.2
    processor.gate.clear()  # the job can never finish within the grace period
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, sample_wav).json()["job_id"]
        wait_until(lambda: status_of(client, job_id) == "processing", f"job {job_id} to start")
        # release the blocked worker thread only after the grace period has run out
        threading.Timer(1.0, processor.gate.set).start()
    store = SQLiteJobStore(settings.db_path)
    job = store.get(job_id)
    assert job.status.value == "queued" and job.attempts == 0  # handed back, not counted as a crash
    assert job.audio_path and (settings.audio_dir / job_id).exists()  # its audio is kept for the re-run
    with TestClient(create_app(settings, processor=processor)) as client:
        assert wait_for(client, job_id)["status"] == "completed"
