"""Enrolled voices in the database (issue #23): migrations 0003-0004, scoping per key, erasure, samples."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import IntegrityError

from diarize_service.jobs.models import Job, JobOptions, JobStatus
from diarize_service.pipeline.diarization.voiceprints import Voiceprint
from diarize_service.storage import database
from diarize_service.storage.database import make_engine, sqlite_url
from diarize_service.storage.job_store import SQLiteJobStore
from diarize_service.storage.voice_store import SampleAlreadyPooledError, VoiceStore


def vp(*values: float, seconds: float = 20.0) -> Voiceprint:
    v = np.zeros(192)
    v[: len(values)] = values
    return Voiceprint(v / np.linalg.norm(v), seconds)


def job(job_id: str, owner: str | None = None) -> Job:
    return Job(job_id, JobStatus.QUEUED, time.time(), JobOptions(), "a.wav", "/tmp/a", owner=owner)


@pytest.fixture
def stores(tmp_path):
    jobs = SQLiteJobStore(tmp_path / "jobs.sqlite3")
    voices = VoiceStore.beside(jobs)
    assert voices is not None
    yield jobs, voices
    jobs.close()


def test_a_database_of_revision_0002_is_upgraded_with_its_jobs_kept(tmp_path):
    path = tmp_path / "old.sqlite3"
    engine = make_engine(sqlite_url(path))
    config = Config()
    config.set_main_option("script_location", str(Path(database.__file__).with_name("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO jobs (id, status, created_at, options, filename, result) "
            "VALUES ('old', 'completed', 1.0, '{}', 'a.wav', '{\"transcript\": \"hi\"}')"
        )
    engine.dispose()
    store = SQLiteJobStore(path)  # migrates to the head at start-up
    assert store.get("old").result == {"transcript": "hi"}
    voices = VoiceStore.beside(store)
    assert voices is not None and voices.job_voiceprints("old") == {}
    voices.add(None, "Thandi", "agent", vp(1))
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)
        assert [r[1] for r in conn.execute("PRAGMA table_info(jobs)")][-1] == "speaker_embeddings"


def test_voices_are_read_and_erased_only_for_their_owner(stores):
    _, voices = stores
    alice = voices.add("alice", "Thandi", "agent", vp(1, 0.5), source_job_id="j1")
    open_voice = voices.add(None, "Thandi", None, vp(0, 1))  # authentication off: no owner
    voices.add("bob", "Thandi", None, vp(0, 0, 1))  # the same name under another key
    assert [v.id for v in voices.list("alice")] == [alice.id]
    assert [v.id for v in voices.list(None)] == [open_voice.id]
    assert voices.get(alice.id, "bob") is None and voices.get(alice.id, None) is None
    found = voices.get(alice.id, "alice")
    assert found is not None and (found.name, found.role, found.source_job_id) == ("Thandi", "agent", "j1")
    assert float(found.voiceprint.embedding @ alice.voiceprint.embedding) == pytest.approx(1.0)
    enrolled = voices.enrolled("alice")
    assert [(e.speaker_id, e.name, e.role) for e in enrolled] == [(alice.id, "Thandi", "agent")]
    assert not voices.delete(alice.id, "bob") and voices.get(alice.id, "alice") is not None
    assert voices.delete(alice.id, "alice") and voices.list("alice") == []
    assert not voices.delete(alice.id, "alice")


def test_a_sample_the_voice_already_holds_is_refused(stores):
    _, voices = stores
    thandi = voices.add("alice", "Thandi", None, vp(1, 0))
    with pytest.raises(SampleAlreadyPooledError):  # the enrolment's own print
        voices.add_sample(thandi.id, "alice", vp(1, 0))
    assert voices.add_sample(thandi.id, "alice", vp(0, 1)) is not None
    with pytest.raises(SampleAlreadyPooledError):
        voices.add_sample(thandi.id, "alice", vp(0, 1))
    held = voices.get(thandi.id, "alice")
    assert held is not None and held.voiceprint.seconds == 40.0
    assert voices.add_sample(thandi.id, "alice", vp(0, 1, seconds=25.0)) is not None  # another sample
    zola = voices.add("alice", "Zola", None, vp(0, 1))  # another voice may hold the same sample
    assert zola.voiceprint.seconds == 20.0


@pytest.mark.parametrize("owner", [None, "alice"])
def test_a_name_is_enrolled_once_per_key(stores, owner):
    _, voices = stores
    voices.add(owner, "Thandi", None, vp(1))
    with pytest.raises(IntegrityError):
        voices.add(owner, "Thandi", None, vp(0, 1))


def test_a_jobs_voiceprints_are_kept_with_the_result_and_erased_with_it(stores):
    jobs, voices = stores
    jobs.add(job("j", owner="alice"))
    jobs.claim_next()
    prints = {"Speaker_01": vp(1).to_json(), "Thandi": vp(0, 1, seconds=7.5).to_json()}
    result = {"identified": {"Thandi": {"speaker_id": "v" * 32, "similarity": 0.9}}}
    assert jobs.complete("j", result, None, json.dumps(prints))
    kept = voices.job_voiceprints("j")
    assert set(kept) == {"Speaker_01", "Thandi"} and kept["Thandi"].seconds == 7.5
    assert [job_id for job_id, _ in voices.results_naming("v" * 32, "alice")] == ["j"]
    assert voices.results_naming("v" * 32, "bob") == [] and voices.results_naming("w" * 32, "alice") == []
    assert jobs.expire_results(time.time() + 1) == ["j"]
    assert voices.job_voiceprints("j") == {} and voices.results_naming("v" * 32, "alice") == []


def test_a_result_that_only_mentions_the_id_in_its_text_does_not_count(stores):
    jobs, voices = stores
    jobs.add(job("j"))
    jobs.claim_next()
    jobs.complete("j", {"transcript": "my id is " + "v" * 32, "identified": {}})
    assert voices.results_naming("v" * 32, None) == []
