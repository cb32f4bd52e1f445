"""After processing: name the speakers whose voices are enrolled under the job's key (issue #23).

The processor hands back every speaker's voiceprint under a private key of
the result; here it is taken out (it is biometric data, never part of the
public result), the job's speakers are matched against the voices its API
key enrolled (:mod:`..pipeline.output.identify`), and the prints are
returned, keyed by the labels the stored result shows, to be kept beside
the result so that a voice can be enrolled from this job after its audio
is gone.  It runs in the job runner, so the processor stays free of storage
and a cluster worker names voices exactly as the embedded service does.
"""

from __future__ import annotations

import json
from typing import Any

import structlog

from ..pipeline.diarization.voiceprints import EMBEDDING_KEY, Voiceprint
from ..pipeline.output.identify import MATCH_THRESHOLD, identify
from ..storage.voice_store import VoiceStore
from .models import Job

log = structlog.get_logger(__name__)


def name_enrolled_voices(
    voices: VoiceStore | None, job: Job, result: dict[str, Any], threshold: float = MATCH_THRESHOLD
) -> tuple[dict[str, Any], str | None]:
    """(public result, the speakers' prints as JSON text or None); *result* loses its private key."""
    raw: dict[str, Any] = result.pop(EMBEDDING_KEY, None) or {}
    if raw and voices is not None and job.options.identify_speakers:
        enrolled = voices.enrolled(job.owner)
        if enrolled:
            prints = {label: Voiceprint.from_json(data) for label, data in raw.items()}
            result, names = identify(result, prints, enrolled, threshold)
            raw = prints_by_shown_label(raw, names)
            if names:
                log.info("enrolled voices named", job_id=job.id, voices=len(names))
    return result, json.dumps(raw) if raw else None


def prints_by_shown_label(raw: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Prints keyed by the labels the result shows; of two joined halves, the print from more speech."""
    shown: dict[str, Any] = {}
    for label, data in raw.items():
        key = names.get(label, label)
        if key not in shown or data.get("seconds", 0.0) > shown[key].get("seconds", 0.0):
            shown[key] = data
    return shown
