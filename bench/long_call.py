"""One long recording: time and memory of the pipeline on an hour of audio.

    python -m bench.long_call                 # 60 minutes
    python -m bench.long_call --minutes 120

Escalations and conference calls run for an hour or more, and memory grows
with the length of a recording (one CAM++ pass over the whole file, its
features kept for turn reassignment), so ``MAX_AUDIO_SECONDS`` and the box
are sized from this.  The recording is the benchmark's simulated mono calls
(and the dev calls after them) played back to back, scored against their
references laid end to end; its DER is that of a call with many speakers,
not comparable to the per-call numbers.  Peak RSS is sampled per process
(the API process, the ASR worker, the diarization worker).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from pyannote.core import Annotation, Segment

from diarize_service.app import build_workers
from diarize_service.config import Settings
from diarize_service.jobs.models import JobOptions
from diarize_service.pipeline.processor import CallProcessor

from . import datasets
from .metrics import annotation, der_components
from .run import ROOT, PeakMemory

# (directory, seed, calls, p_three): the benchmark's calls, tune_clustering's dev calls, held-out calls
CALL_SETS = [
    ("seed101_n4", 101, 4, 0.2),
    ("tune_seed1_n6_p0.2", 1, 6, 0.2),
    ("tune_seed2_n8_p0.5", 2, 8, 0.5),
    ("tune_seed3_n12_p0.3", 3, 12, 0.3),
    ("held_seed102_n4", 102, 4, 0.2),
    ("held_seed103_n4", 103, 4, 0.2),
]


def long_recording(minutes: float, out: Path) -> tuple[Path, Annotation]:
    parts, reference, offset = [], Annotation(uri="long"), 0.0
    for name, seed, n_calls, p_three in CALL_SETS:
        directory = ROOT / "bench" / "calls" / name
        for item in datasets.simulated_calls(datasets.make_calls(directory, seed, n_calls, p_three=p_three)):
            audio, rate = sf.read(item.audio, dtype="float32")
            for segment, _, speaker in item.reference.itertracks(yield_label=True):
                reference[Segment(segment.start + offset, segment.end + offset)] = speaker
            parts.append(audio)
            offset += len(audio) / rate
            if offset >= minutes * 60:
                sf.write(out, np.concatenate(parts), rate)
                return out, reference
    raise SystemExit(f"the call sets hold only {offset / 60:.0f} minutes")


async def run(path: Path, settings: Settings) -> tuple[dict, float, dict[str, int]]:
    workers = build_workers(settings)
    with PeakMemory() as memory:
        await workers.start()
        processor = CallProcessor(workers, settings.max_audio_seconds, channel_voices=settings.channel_voices)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = await processor.process(path, Path(tmp) / "audio.npy", JobOptions(), lambda *_: None)
            wall = time.perf_counter() - start
        workers.shutdown()
    return result, wall, {"all": memory.peak, **memory.per_process}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        path, reference = long_recording(args.minutes, Path(tmp) / "long.wav")
        result, wall, peaks = asyncio.run(run(path, settings))
    audio = result["audio_duration"]
    report = {
        "audio_minutes": round(audio / 60, 1),
        "device": settings.device,
        "wall_seconds": round(wall, 1),
        "real_time_factor": round(wall / audio, 4),
        "stage_rtf": {stage: round(seconds / audio, 4) for stage, seconds in result["timings"].items()},
        "peak_rss_mb": {name: round(rss / 2**20) for name, rss in peaks.items()},
        "reference_speakers": len(reference.labels()),
        "speakers_found": result["total_speakers"],
        "der25": der_components(reference, annotation(result["diarization"]), None, 0.25),
    }
    out = ROOT / "bench" / "results" / f"long_call-{settings.device}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
