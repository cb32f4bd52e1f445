"""Benchmark inputs: real references from ../shared/data and simulated calls.

Every item carries its audio path, a reference pyannote ``Annotation`` (RTTM),
an optional UEM (scored region) and, where known, per-speaker reference words.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pyannote.core import Annotation, Segment, Timeline
from pyannote.database.util import load_rttm, load_uem

from .paths import DATA, MAKE_CALLS, ROOT, SHARED  # noqa: F401  (ROOT, SHARED: still importable from here)

# make_calls.py's roles -> the service's default names in split mode (agent left, customer right)
SPLIT_NAMES = {"agent": "Agent", "supervisor": "Agent_2", "customer": "Customer"}


@dataclass
class BenchItem:
    name: str
    group: str  # "sample", "ami", "calls_mono", "calls_stereo", "calls_stereo_voices", "calls_stereo_babble"
    audio: Path
    reference: Annotation
    uem: Timeline | None = None
    # (speaker, start, end, text) reference utterances, when transcripts exist
    utterances: list[tuple[str, float, float, str]] = field(default_factory=list)
    # simulated calls: the reference without speech that is inaudible in the delivered audio
    audible: Annotation | None = None
    # stereo calls: reference speaker -> the name split mode must give them (Agent, Agent_2, Customer)
    names: dict[str, str] | None = None


def pyannote_sample() -> list[BenchItem]:
    base = DATA / "diarization" / "pyannote_sample"
    ref = next(iter(load_rttm(base / "sample.rttm").values()))
    utts = []
    for line in (base / "sample.stm").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6:
            _, _, spk, start, end, text = parts
            utts.append((spk, float(start), float(end), text))
    return [BenchItem("sample", "sample", base / "sample.wav", ref, None, utts)]


def ami() -> list[BenchItem]:
    base = DATA / "diarization" / "ami_pyannote_debug"
    items = []
    for subset in ("development", "test", "train"):
        refs = load_rttm(base / f"debug.{subset}.rttm")
        uems = load_uem(base / f"debug.{subset}.uem")
        for uri in (base / f"debug.{subset}.lst").read_text().split():
            if uri in refs:
                items.append(BenchItem(uri, "ami", base / f"{uri}.wav", refs[uri], uems.get(uri)))
    return items


def make_calls(
    out: Path,
    seed: int,
    n_calls: int,
    min_dur: float = 60,
    max_dur: float = 150,
    p_three: float = 0.2,
    untranscribed: bool = False,
    noise: str = "mix",
) -> Path:
    """Generate simulated telephone calls once (deterministic for a seed).

    *untranscribed* also draws the pool's LibriSpeech speakers, who have no
    transcript: many more voices, long turns, DER only.  *noise* is the line
    noise (``babble``, ``white``, ``pink``, or ``mix``: one of them per call).
    """
    marker = out / "index.json"
    if not marker.exists():
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                str(MAKE_CALLS),
                "--speakers-from",
                str(DATA / "pool_dev.txt"),
                "--seed",
                str(seed),
                "--n-calls",
                str(n_calls),
                "--out",
                str(out),
                "--min-dur",
                str(min_dur),
                "--max-dur",
                str(max_dur),
                "--p-three",
                str(p_three),
                "--noise",
                noise,
                "--stereo",
                *(["--allow-untranscribed"] if untranscribed else []),
            ],
            check=True,
            capture_output=True,
        )
    return out


def simulated_calls(
    directory: Path, stereo: bool = False, group: str | None = None, audible: bool = False
) -> list[BenchItem]:
    """The calls make_calls.py wrote into *directory*.

    *audible* also gives each the reference without inaudible speech (:mod:`.audibility`).
    """
    items = []
    if audible:
        # imported here: soundfile and scipy load only when audible references are asked for
        from .audibility import audible_references

        audible_refs = audible_references(directory, stereo)
    index = json.loads((directory / "index.json").read_text())
    for call in index["calls"]:
        cid = call["call_id"]
        ref = next(iter(load_rttm(directory / f"{cid}.rttm").values()))
        meta = json.loads((directory / f"{cid}.json").read_text())
        utts = [(s["speaker"], s["start"], s["end"], s["text"]) for s in meta["segments"] if s.get("text")]
        if not meta.get("has_full_transcript", True):
            utts = []  # a partial reference would count the untranscribed speech as ASR errors
        audio = directory / (f"{cid}.stereo.wav" if stereo else f"{cid}.wav")
        kind = group or ("calls_stereo" if stereo else "calls_mono")
        items.append(
            BenchItem(
                cid + (".stereo" if stereo else ""),
                kind,
                audio,
                ref,
                None,
                utts,
                audible_refs[cid] if audible else None,
                {spk: SPLIT_NAMES[role] for spk, role in meta["speakers"].items()} if stereo else None,
            )
        )
    return items


def reference_from_turns(turns: list[dict]) -> Annotation:
    ann = Annotation()
    for t in turns:
        if t["end"] > t["start"]:
            ann[Segment(t["start"], t["end"])] = t["speaker"]
    return ann
