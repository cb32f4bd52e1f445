"""Enrolled voices through the API (issue #23), with a fake processor that hands out voiceprints.

The fake gives each job's speakers the prints a test queues, so matching,
renaming, deletion, key isolation and retention are checked end to end
through the routes, the runner and the database without models.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from diarize_service.api.auth import hash_key
from diarize_service.app import create_app
from diarize_service.pipeline.diarization.voiceprints import EMBEDDING_KEY, Voiceprint, pooled
from diarize_service.pipeline.output import identify as identify_module

from .conftest import FakeProcessor, wait_for, wait_until
from .test_jobs_api import assert_problem, submit

ALICE, BOB = "alice-key-0123456789", "bob-key-9876543210"


def vector(*values: float) -> np.ndarray:
    v = np.zeros(192)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


THANDI, OTHER, STRANGER = vector(1, 0.1), vector(0.1, 1), vector(0, 0, 1)


class VoicesProcessor(FakeProcessor):
    """The fake pipeline, plus voiceprints: Speaker_01/Speaker_02 get the next queued pair."""

    def __init__(self) -> None:
        super().__init__()
        self.next_prints: list[tuple[np.ndarray, np.ndarray]] = []
        self.file_print: Voiceprint | None = Voiceprint(THANDI, 30.0)
        self.files_seen: list[Path] = []
        self.seconds = (20.0, 3.0)  # Speaker_02's is too short to enrol from

    async def process(self, audio_path, decoded_path, options, report):
        result = await super().process(audio_path, decoded_path, options, report)
        first, second = self.next_prints.pop(0) if self.next_prints else (THANDI, OTHER)
        result[EMBEDDING_KEY] = {
            "Speaker_01": Voiceprint(first, self.seconds[0]).to_json(),
            "Speaker_02": Voiceprint(second, self.seconds[1]).to_json(),
        }
        return result

    async def embed_voice(self, audio_path: Path, decoded_path: Path, max_seconds: float):
        self.files_seen.append(audio_path)
        assert audio_path.exists()
        return self.file_print


@pytest.fixture(autouse=True)
def plain_cosine(monkeypatch):
    """The fake prints are scored as they are (the shipped space is for real CAM++ prints)."""
    monkeypatch.setattr(identify_module, "shipped_space", lambda: None)


@pytest.fixture
def processor() -> VoicesProcessor:
    return VoicesProcessor()


def run_job(client, wav, **fields) -> dict:
    job_id = submit(client, wav, **fields).json()["job_id"]
    body = wait_for(client, job_id)
    assert body["status"] == "completed", body
    return {"job_id": job_id, **body["result"]}


def enrol(client, **fields):
    files = fields.pop("files", None)
    return client.post("/speakers", data=fields, files=files)


def test_a_voice_enrolled_from_a_job_is_named_in_the_next_call(client, processor, sample_wav):
    first = run_job(client, sample_wav)
    assert "identified" not in first and "role" not in first["speakers"]["Speaker_01"]  # none enrolled
    assert EMBEDDING_KEY not in client.get(f"/jobs/{first['job_id']}/result").json()  # never public
    response = enrol(client, name="Thandi", role="agent", job_id=first["job_id"], speaker="Speaker_01")
    assert response.status_code == 201, response.text
    voice = response.json()
    assert voice["name"] == "Thandi" and voice["speaker_id"] and voice["source_job_id"] == first["job_id"]
    assert client.get("/speakers").json()["speakers"] == [voice]

    processor.next_prints.append((OTHER, vector(1, 0.12)))  # Thandi is the second speaker this time
    processor.seconds = (20.0, 20.0)
    second = run_job(client, sample_wav)
    assert second["identified"] == {"Thandi": {"speaker_id": voice["speaker_id"], "similarity": 1.0}}
    assert set(second["speakers"]) == {"Speaker_01", "Thandi"}
    assert second["speakers"]["Thandi"]["role"] == "agent"
    stored = client.get(f"/jobs/{second['job_id']}/result").json()  # /status shows what is stored
    assert (stored["speakers"], stored["identified"]) == (second["speakers"], second["identified"])
    assert "Thandi [0.60s - 1.00s]: there." in second["transcript"]
    text = client.get(f"/jobs/{second['job_id']}/result", params={"format": "txt"}).text
    assert text.splitlines()[1].startswith("Thandi [")
    assert {t["speaker"] for t in second["diarization"]} == {"Speaker_01", "Thandi"}
    assert set(second["analytics"]["speakers"]) == {"Speaker_01", "Thandi"}

    # the job keeps its prints under the names it shows: Thandi can be enrolled again from it
    assert enrol(client, name="Thandi2", job_id=second["job_id"], speaker="Thandi").status_code == 201


def test_unknown_voices_and_identify_speakers_false_are_not_named(client, processor, sample_wav):
    first = run_job(client, sample_wav)
    assert enrol(client, name="Thandi", job_id=first["job_id"], speaker="Speaker_01").status_code == 201
    processor.next_prints.append((STRANGER, OTHER))
    unknown = run_job(client, sample_wav)
    assert unknown["identified"] == {} and set(unknown["speakers"]) == {"Speaker_01", "Speaker_02"}
    off = run_job(client, sample_wav, identify_speakers="false")
    assert "identified" not in off and "Speaker_01 [" in off["transcript"]
    assert client.get(f"/status/{first['job_id']}").json()["options"]["identify_speakers"] is True


def test_the_match_threshold_is_a_setting(settings, processor, sample_wav):
    near = vector(1, 0.5)  # 0.93 from Thandi's print
    for threshold, named in ((0.95, False), (0.9, True)):
        settings.voice_match_threshold = threshold
        with TestClient(create_app(settings, processor=processor)) as client:
            if threshold == 0.95:
                job_id = run_job(client, sample_wav)["job_id"]
                assert enrol(client, name="Thandi", job_id=job_id, speaker="Speaker_01").status_code == 201
            processor.next_prints.append((near, OTHER))
            assert ("Thandi" in run_job(client, sample_wav)["identified"]) is named


def test_after_a_voice_is_deleted_no_later_job_names_it(client, sample_wav):
    first = run_job(client, sample_wav)
    speaker_id = enrol(client, name="Thandi", job_id=first["job_id"], speaker="Speaker_01").json()[
        "speaker_id"
    ]
    assert "Thandi" in run_job(client, sample_wav)["identified"]
    assert client.delete(f"/speakers/{speaker_id}").status_code == 204
    assert client.get("/speakers").json()["speakers"] == []
    assert_problem(client.delete(f"/speakers/{speaker_id}"), 404, speaker_id)
    assert_problem(client.get(f"/speakers/{speaker_id}/stats"), 404, speaker_id)
    later = run_job(client, sample_wav)
    assert "identified" not in later and "Thandi" not in later["transcript"]


def test_voices_are_scoped_to_the_key_that_enrolled_them(settings, processor, sample_wav):
    settings.api_keys = f"{hash_key(ALICE)},{hash_key(BOB)}"
    with TestClient(create_app(settings, processor=processor)) as client:
        client.headers.update({"X-API-Key": ALICE})
        alices_job = run_job(client, sample_wav)
        voice = enrol(client, name="Thandi", job_id=alices_job["job_id"], speaker="Speaker_01").json()
        client.headers.update({"X-API-Key": BOB})
        assert client.get("/speakers").json()["speakers"] == []
        bobs = run_job(client, sample_wav)  # the same voice, but Bob enrolled nobody
        assert "identified" not in bobs
        assert_problem(client.delete(f"/speakers/{voice['speaker_id']}"), 404, voice["speaker_id"])
        assert_problem(client.get(f"/speakers/{voice['speaker_id']}/stats"), 404, voice["speaker_id"])
        stolen = enrol(client, name="Thandi", job_id=alices_job["job_id"], speaker="Speaker_01")
        assert_problem(stolen, 404, alices_job["job_id"])
        # Bob may use the same name for a voice of his own
        assert enrol(client, name="Thandi", job_id=bobs["job_id"], speaker="Speaker_01").status_code == 201
        client.headers.update({"X-API-Key": ALICE})
        assert [v["speaker_id"] for v in client.get("/speakers").json()["speakers"]] == [voice["speaker_id"]]
        assert_problem(client.get("/speakers", headers={"X-API-Key": "wrong"}), 401, "api key")


def test_enrolment_from_a_recording_keeps_no_audio(client, processor, settings, sample_wav):
    with open(sample_wav, "rb") as fh:
        response = enrol(client, name="Thandi", role="agent", files={"audio_file": ("t.wav", fh)})
    assert response.status_code == 201, response.text
    assert response.json()["source_job_id"] is None and response.json()["speech_seconds"] == 30.0
    assert processor.files_seen and not processor.files_seen[0].exists()
    assert not list((settings.data_dir / "audio").glob("voice-*"))
    assert "Thandi" in run_job(client, sample_wav)["identified"]
    processor.file_print = None
    with open(sample_wav, "rb") as fh:
        assert_problem(enrol(client, name="Zola", files={"audio_file": ("t.wav", fh)}), 422, "no speech")
    bogus = ("notes.wav", b"not audio at all", "audio/wav")
    assert enrol(client, name="Zola", files={"audio_file": bogus}).status_code == 415


def test_enrolment_from_a_file_without_models_is_501(settings, sample_wav):
    with TestClient(create_app(settings, processor=FakeProcessor())) as client, open(sample_wav, "rb") as fh:
        assert_problem(enrol(client, name="Thandi", files={"audio_file": ("t.wav", fh)}), 501, "job_id")


def test_enrolment_errors_are_problems(client, processor, sample_wav):
    done = run_job(client, sample_wav)["job_id"]
    assert_problem(enrol(client, name="Thandi"), 422, "either")
    with open(sample_wav, "rb") as fh:
        both = enrol(client, name="T", job_id=done, speaker="Speaker_01", files={"audio_file": ("t.wav", fh)})
    assert_problem(both, 422, "either")
    assert_problem(enrol(client, name="Thandi", job_id=done), 422, "speaker")
    assert_problem(enrol(client, name="Speaker_03", job_id=done, speaker="Speaker_01"), 422, "label")
    assert_problem(enrol(client, name="  ", job_id=done, speaker="Speaker_01"), 422, "name")
    assert_problem(enrol(client, name="Thandi", job_id=done, speaker="Speaker_09"), 422, "Speaker_01")
    assert_problem(
        enrol(client, name="Thandi", job_id=done, speaker="Speaker_02"), 422, "enrolment needs 5 s"
    )
    assert_problem(enrol(client, name="Thandi", job_id="nope", speaker="Speaker_01"), 404, "nope")
    assert enrol(client, name="Thandi", job_id=done, speaker="Speaker_01", role="boss").status_code == 422
    assert enrol(client, name="Thandi", job_id=done, speaker="Speaker_01").status_code == 201
    assert_problem(enrol(client, name="Thandi", job_id=done, speaker="Speaker_01"), 409, "already")
    processor.gate.clear()  # the next job stays running
    running = submit(client, sample_wav).json()["job_id"]
    assert_problem(enrol(client, name="Zola", job_id=running, speaker="Speaker_01"), 409, running)
    processor.gate.set()
    wait_for(client, running)


def test_statistics_cover_the_calls_that_named_the_voice(client, processor, sample_wav):
    first = run_job(client, sample_wav)
    speaker_id = enrol(client, name="Thandi", job_id=first["job_id"], speaker="Speaker_01").json()[
        "speaker_id"
    ]
    empty = client.get(f"/speakers/{speaker_id}/stats").json()
    assert empty["calls"] == 0 and empty["job_ids"] == [] and empty["talk_to_listen_ratio"] is None
    named = [run_job(client, sample_wav)["job_id"] for _ in range(2)]
    processor.next_prints.append((STRANGER, OTHER))
    run_job(client, sample_wav)  # not named: not counted
    stats = client.get(f"/speakers/{speaker_id}/stats").json()
    assert stats["calls"] == 2 and sorted(stats["job_ids"]) == sorted(named) and stats["name"] == "Thandi"
    assert stats["talk_time"] == pytest.approx(0.8) and stats["listen_time"] == pytest.approx(0.8)
    assert stats["talk_to_listen_ratio"] == 1.0 and stats["longest_monologue"] == pytest.approx(0.4)
    assert stats["interruptions_made"] == stats["interruptions_suffered"] == 0


def test_a_jobs_voiceprints_expire_with_its_result(settings, processor, sample_wav):
    settings.result_ttl_seconds = 1.0
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = run_job(client, sample_wav)["job_id"]
        wait_until(lambda: client.get(f"/status/{job_id}").status_code == 410, "the result to expire")
        assert_problem(enrol(client, name="Thandi", job_id=job_id, speaker="Speaker_01"), 410, "erased")
    with sqlite3.connect(settings.db_path) as conn:
        row = conn.execute("SELECT result, speaker_embeddings FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert row == (None, None)


def test_voiceprints_are_stored_as_numbers_only(client, settings, sample_wav):
    job_id = run_job(client, sample_wav)["job_id"]
    enrol(client, name="Thandi", job_id=job_id, speaker="Speaker_01")
    with sqlite3.connect(settings.db_path) as conn:
        (kept,) = conn.execute("SELECT speaker_embeddings FROM jobs WHERE id = ?", (job_id,)).fetchone()
        voices = conn.execute("SELECT name, embedding FROM voices").fetchall()
    assert set(json.loads(kept)) == {"Speaker_01", "Speaker_02"}
    assert [name for name, _ in voices] == ["Thandi"] and len(voices[0][1]) < 4000  # 192 numbers, no audio


def test_more_samples_of_a_voice_are_pooled_into_its_print(client, processor, sample_wav):
    first = run_job(client, sample_wav)
    voice = enrol(client, name="Thandi", job_id=first["job_id"], speaker="Speaker_01").json()
    on_another_line = vector(1, 0.6)
    processor.next_prints.append((on_another_line, OTHER))
    second = run_job(client, sample_wav)
    assert second["identified"]["Thandi"]["similarity"] < 0.98  # one call's print: only close
    added = client.post(
        f"/speakers/{voice['speaker_id']}/samples", data={"job_id": second["job_id"], "speaker": "Thandi"}
    )
    assert added.status_code == 200, added.text
    assert added.json()["speech_seconds"] == 40.0 and added.json()["speaker_id"] == voice["speaker_id"]
    both = pooled([Voiceprint(THANDI, 20.0), Voiceprint(on_another_line, 20.0)]).embedding
    processor.next_prints.append((both, OTHER))
    assert run_job(client, sample_wav)["identified"]["Thandi"]["similarity"] == 1.0  # the stored print
    assert client.get("/speakers").json()["speakers"][0]["speech_seconds"] == 40.0
    with open(sample_wav, "rb") as fh:  # a recording of her alone (30 s of speech in the fake)
        from_file = client.post(
            f"/speakers/{voice['speaker_id']}/samples", files={"audio_file": ("t.wav", fh)}
        )
    assert from_file.status_code == 200, from_file.text
    assert from_file.json()["speech_seconds"] == 70.0 and not processor.files_seen[-1].exists()


def test_sample_errors_are_problems(client, processor, sample_wav):
    done = run_job(client, sample_wav)["job_id"]
    voice = enrol(client, name="Thandi", job_id=done, speaker="Speaker_01").json()["speaker_id"]
    samples = f"/speakers/{voice}/samples"
    assert_problem(
        client.post("/speakers/nope/samples", data={"job_id": done, "speaker": "Speaker_01"}), 404, "nope"
    )
    assert_problem(client.post(samples, data={"job_id": done, "speaker": "Speaker_02"}), 422, "5 s")
    assert_problem(client.post(samples, data={}), 422, "either")
    huge = client.post(
        samples, content=b"x", headers={"Content-Length": str(10**12), "Content-Type": "audio/wav"}
    )
    assert huge.status_code == 413  # refused from the header, as uploads are
    # the enrolment's own speaker sent again as a sample would count its speech twice
    assert_problem(client.post(samples, data={"job_id": done, "speaker": "Speaker_01"}), 409, "once")
    assert client.get("/speakers").json()["speakers"][0]["speech_seconds"] == 20.0  # nothing pooled


def test_the_same_sample_is_pooled_once(client, processor, sample_wav):
    first = run_job(client, sample_wav)["job_id"]
    voice = enrol(client, name="Thandi", job_id=first, speaker="Speaker_01").json()["speaker_id"]
    processor.next_prints.append((vector(1, 0.6), OTHER))
    second = run_job(client, sample_wav)["job_id"]
    samples = f"/speakers/{voice}/samples"
    assert client.post(samples, data={"job_id": second, "speaker": "Thandi"}).status_code == 200
    assert_problem(client.post(samples, data={"job_id": second, "speaker": "Thandi"}), 409, "already")
    for expected in (200, 409):  # one recording uploaded twice
        with open(sample_wav, "rb") as fh:
            sent = client.post(samples, files={"audio_file": ("t.wav", fh)})
        assert sent.status_code == expected, sent.text
    assert client.get("/speakers").json()["speakers"][0]["speech_seconds"] == 70.0  # 20 + 20 + 30
