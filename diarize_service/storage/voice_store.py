"""Enrolled voices and the voiceprints kept with jobs (issue #23), in the job store's database.

Voiceprints are biometric personal information (POPIA), so the rules live
here, where they are enforced:

* only embeddings are stored (JSON text of a unit CAM++ vector and the
  seconds of speech it was pooled from), never audio;
* every voice belongs to the API key that enrolled it (``owner``; NULL when
  authentication is off) and is only ever read, matched or deleted for
  that key: a query without the owner does not exist here;
* deleting a voice erases its row at once; a job's prints go with the job's
  result (:meth:`.job_store.SqlJobStore.expire_results`) or the job.

The store shares the job store's engine: one database, one migration chain.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from ..pipeline.diarization.voiceprints import Voiceprint, fingerprint, pooled
from ..pipeline.output.identify import EnrolledVoice
from .schema import jobs, voices


class SampleAlreadyPooledError(Exception):
    """The sample is one the voice already holds: pooling it again would count its speech twice."""


@dataclass(frozen=True)
class VoiceRecord:
    id: str
    owner: str | None
    name: str
    role: str | None
    voiceprint: Voiceprint
    created_at: float
    source_job_id: str | None = None

    def enrolled(self) -> EnrolledVoice:
        return EnrolledVoice(self.id, self.name, self.role, self.voiceprint.embedding)


def _owned_by(owner: str | None):
    return func.coalesce(voices.c.owner, "") == (owner or "")


def _record(row: Any) -> VoiceRecord:
    m = row._mapping
    return VoiceRecord(
        id=m["id"],
        owner=m["owner"],
        name=m["name"],
        role=m["role"],
        voiceprint=Voiceprint.from_json(json.loads(m["embedding"])),
        created_at=m["created_at"],
        source_job_id=m["source_job_id"],
    )


class VoiceStore:
    """Voices per API key, and reads of the prints and results that jobs keep."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # the job store's: its migrations made both tables

    @classmethod
    def beside(cls, job_store: Any) -> VoiceStore | None:
        """The voice store in *job_store*'s database; None for a store without one (test fakes)."""
        engine = getattr(job_store, "engine", None)
        return cls(engine) if isinstance(engine, Engine) else None

    def add(
        self,
        owner: str | None,
        name: str,
        role: str | None,
        voiceprint: Voiceprint,
        source_job_id: str | None = None,
    ) -> VoiceRecord:
        """Enrol a voice; raises ``IntegrityError`` when *owner* already has a voice called *name*."""
        record = VoiceRecord(uuid.uuid4().hex, owner, name, role, voiceprint, time.time(), source_job_id)
        with self.engine.begin() as conn:
            conn.execute(
                insert(voices).values(
                    id=record.id,
                    owner=owner,
                    name=name,
                    role=role,
                    embedding=json.dumps(voiceprint.to_json()),
                    created_at=record.created_at,
                    source_job_id=source_job_id,
                    sample_keys=json.dumps([fingerprint(voiceprint)]),
                )
            )
        return record

    def add_sample(self, voice_id: str, owner: str | None, sample: Voiceprint) -> VoiceRecord | None:
        """Pool one more sample into *owner*'s voice (:func:`pooled`); None when there is no such voice.

        Read and written in one transaction, the row locked where the engine
        can (PostgreSQL), so two samples sent at once both count.  Raises
        :class:`SampleAlreadyPooledError` for a sample the voice already holds.
        """
        where = (voices.c.id == voice_id, _owned_by(owner))
        with self.engine.begin() as conn:
            row = conn.execute(select(voices).where(*where).with_for_update()).first()
            if row is None:
                return None
            record = _record(row)
            keys = json.loads(row._mapping["sample_keys"] or "[]")
            key = fingerprint(sample)
            if key in keys:
                raise SampleAlreadyPooledError(voice_id)
            voiceprint = pooled([record.voiceprint, sample])
            conn.execute(
                update(voices)
                .where(*where)
                .values(
                    embedding=json.dumps(voiceprint.to_json()),
                    sample_keys=json.dumps([*keys, key]),
                )
            )
        return replace(record, voiceprint=voiceprint)

    def list(self, owner: str | None) -> list[VoiceRecord]:
        """*owner*'s voices, oldest first."""
        statement = select(voices).where(_owned_by(owner)).order_by(voices.c.created_at, voices.c.id)
        with self.engine.begin() as conn:
            return [_record(row) for row in conn.execute(statement)]

    def get(self, voice_id: str, owner: str | None) -> VoiceRecord | None:
        with self.engine.begin() as conn:
            row = conn.execute(select(voices).where(voices.c.id == voice_id, _owned_by(owner))).first()
        return _record(row) if row else None

    def delete(self, voice_id: str, owner: str | None) -> bool:
        """Erase *owner*'s voice *voice_id*; False when there is none."""
        with self.engine.begin() as conn:
            return conn.execute(delete(voices).where(voices.c.id == voice_id, _owned_by(owner))).rowcount > 0

    def enrolled(self, owner: str | None) -> list[EnrolledVoice]:
        """What a job of *owner* is matched against."""
        return [record.enrolled() for record in self.list(owner)]

    def job_voiceprints(self, job_id: str) -> dict[str, Voiceprint]:
        """The prints a finished job kept, by its result's speaker labels (empty once expired)."""
        with self.engine.begin() as conn:
            raw = conn.execute(select(jobs.c.speaker_embeddings).where(jobs.c.id == job_id)).scalar()
        if not raw:
            return {}
        return {label: Voiceprint.from_json(data) for label, data in json.loads(raw).items()}

    def results_naming(self, voice_id: str, owner: str | None) -> list[tuple[str, dict[str, Any]]]:
        """(job id, result) of *owner*'s completed jobs whose result names voice *voice_id*, newest first.

        The id is a random 32-hex string, so a text search finds the candidates
        cheaply on both engines; each is confirmed from its ``identified`` map.
        """
        statement = (
            select(jobs.c.id, jobs.c.result)
            .where(
                func.coalesce(jobs.c.owner, "") == (owner or ""),
                jobs.c.status == "completed",
                jobs.c.result.isnot(None),
                jobs.c.result.contains(voice_id, autoescape=True),
            )
            .order_by(jobs.c.finished_at.desc())
        )
        found = []
        with self.engine.begin() as conn:
            for job_id, text in conn.execute(statement):
                result = json.loads(text)
                named = result.get("identified") or {}
                if any(entry.get("speaker_id") == voice_id for entry in named.values()):
                    found.append((job_id, result))
        return found
