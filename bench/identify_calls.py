"""The simulated calls of ``bench.identify_threshold`` (issue #23), and each call's diarization.

Each voice's recordings are split in two disjoint halves, so an enrolment
call and a test call never share a second of that voice's audio; calls are
made with ``make_calls.py`` from a list of (speaker, recordings), and each
call's diarized voiceprints and overlaps with the reference are cached
beside it, so a rerun only scores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from pyannote.core import Segment
from pyannote.database.util import load_rttm

from diarize_service.pipeline.audio import decode
from diarize_service.pipeline.diarization.voiceprints import Voiceprint

from .paths import DATA, MAKE_CALLS

MIN_HALF_SECONDS = 6.0  # each half of a voice's recordings must hold this much of it


@dataclass
class Call:
    name: str
    wav: Path
    rttm: Path
    enrolled: str | None  # the enrolled voice in this call, if any
    prints: dict[str, Voiceprint] = field(default_factory=dict)
    overlap: dict[tuple[str, str], float] = field(default_factory=dict)  # (reference, diarized) -> s


def pool_speakers() -> list[str]:
    lines = (DATA / "pool_dev.txt").read_text().splitlines()
    return [line.split("#", 1)[0].split()[0] for line in lines if line.split("#", 1)[0].strip()]


def voice_halves(out: Path) -> tuple[dict[str, list[list[dict]]], dict[str, list[dict]]]:
    """speaker -> [first half, second half] of its records (disjoint audio); speaker -> all records."""
    manifest = json.loads((DATA / "manifest_utterances.json").read_text())
    pool = set(pool_speakers())
    records: dict[str, list[dict]] = {}
    for record in manifest:
        if record["speaker"] in pool:
            records.setdefault(record["speaker"], []).append({**record, "file": str(DATA / record["file"])})
    halves = {}
    for speaker, recs in sorted(records.items()):
        recs = sorted(recs, key=lambda r: r["file"])
        if len(recs) >= 2:
            split = [recs[0::2], recs[1::2]]
            if all(sum(r["duration"] for r in half) >= MIN_HALF_SECONDS for half in split):
                halves[speaker] = split
        elif recs[0]["duration"] >= 2 * MIN_HALF_SECONDS:
            audio, rate = sf.read(recs[0]["file"], dtype="float32", always_2d=True)
            middle = len(audio) // 2
            parts = []
            for index, piece in enumerate((audio[:middle], audio[middle:])):
                path = out / "halves" / f"{speaker}_{index}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, piece, rate)
                parts.append([{**recs[0], "file": str(path), "duration": len(piece) / rate}])
            halves[speaker] = parts
    return halves, records


def make_call(
    out: Path,
    name: str,
    seed: int,
    speakers: dict[str, list[dict]],
    babble: list[dict],
    noise: str,
    stereo: bool = False,
):
    """One two-party call of exactly *speakers* (records each), with *babble* talkers only as noise.

    Returns the mono wav and the RTTM; with *stereo*, ``<call>.stereo.wav`` is written beside them.
    """
    directory = out / name
    if not (directory / "index.json").exists():
        directory.mkdir(parents=True, exist_ok=True)
        # make_calls.py draws call speakers among records with a transcript and babble among all
        manifest = [
            {**r, "transcript": r.get("transcript") or "-"} for recs in speakers.values() for r in recs
        ]
        manifest += [{**r, "transcript": None} for r in babble]
        (directory / "manifest.json").write_text(json.dumps(manifest))
        (directory / "speakers.txt").write_text("\n".join([*speakers, *{r["speaker"] for r in babble}]))
        subprocess.run(
            [sys.executable, str(MAKE_CALLS), "--speakers-from", str(directory / "speakers.txt"),
             "--manifest", str(directory / "manifest.json"), "--seed", str(seed), "--n-calls", "1",
             "--out", str(directory), "--min-dur", "40", "--max-dur", "70", "--p-three", "0",
             "--noise", noise, "--prefix", name, *(["--stereo"] if stereo else [])],
            check=True, capture_output=True,
        )  # fmt: skip
    index = json.loads((directory / "index.json").read_text())
    call_id = index["calls"][0]["call_id"]
    return directory / f"{call_id}.wav", directory / f"{call_id}.rttm"


def diarize(diarizer, call: Call) -> None:
    """The call's voiceprints, and how much of each reference voice each diarized speaker holds.

    Cached beside the call (``prints.json``): a rerun only scores again.
    """
    cache = call.wav.parent / "prints.json"
    if not cache.exists():
        output = diarizer(decode(call.wav), voiceprints=True)
        reference = next(iter(load_rttm(call.rttm).values()))
        overlap: dict[str, dict[str, float]] = {}
        for turn in output.exclusive_turns:
            cropped = reference.crop(Segment(turn.start, turn.end), mode="intersection")
            for segment, _, ref in cropped.itertracks(yield_label=True):
                held = overlap.setdefault(ref, {})
                held[turn.speaker] = held.get(turn.speaker, 0.0) + segment.duration
        prints = {label: vp.to_json() for label, vp in output.voiceprints.items()}
        cache.write_text(json.dumps({"prints": prints, "overlap": overlap}))
    data = json.loads(cache.read_text())
    call.prints = {label: Voiceprint.from_json(vp) for label, vp in data["prints"].items()}
    call.overlap = {(ref, label): s for ref, held in data["overlap"].items() for label, s in held.items()}


def majority(call: Call) -> dict[str, tuple[str, float]]:
    """Diarized speaker -> (the reference voice it mostly holds, its seconds of reference speech)."""
    best: dict[str, tuple[str, float]] = {}
    total: dict[str, float] = {}
    for (ref, label), seconds in call.overlap.items():
        total[label] = total.get(label, 0.0) + seconds
        if label not in best or seconds > best[label][1]:
            best[label] = (ref, seconds)
    return {label: (ref, total[label]) for label, (ref, _) in best.items()}


def build_set(
    out: Path,
    seed: int,
    enrolled: list[str],
    unknown: list[str],
    halves,
    records,
    n_unknown: int,
    tests_per_voice: int = 1,
):
    """Enrolment and test calls for *enrolled* voices, and unknown-only calls, all from *seed*.

    Unknown voices are dealt out in turn from a shuffled list, so each is used
    about as often as the others; babble comes from the unknown voices not in
    the call.
    """
    rng = np.random.default_rng(seed)
    babble_pool = [r for s in unknown for r in records[s]]
    deck: list[str] = []
    enrol_calls, test_calls = [], []

    def partner(exclude: set[str]) -> str:
        if not any(s not in exclude for s in deck):
            deck.extend(str(s) for s in rng.permutation(unknown))
        chosen = next(s for s in deck if s not in exclude)
        deck.remove(chosen)
        return chosen

    def babble(exclude: set[str]) -> list[dict]:
        return [r for r in babble_pool if r["speaker"] not in exclude]

    def test_call(i: int, voice: str, partner: str, noise: str, call_seed: int) -> None:
        speakers = {voice: halves[voice][1], partner: records[partner]}
        talk = babble({partner}) if noise == "babble" else []
        wav, rttm = make_call(out, f"s{seed}_test_{voice}_{partner}", call_seed, speakers, talk, noise)
        test_calls.append(Call(f"test {voice} {partner}", wav, rttm, voice))

    for i, voice in enumerate(enrolled):
        first = partner({voice})
        second = partner({voice, first})
        noise = ("white", "pink")[i % 2]
        speakers = {voice: halves[voice][0], first: records[first]}
        wav, rttm = make_call(out, f"s{seed}_enrol_{voice}_{first}", seed * 100 + i, speakers, [], noise)
        enrol_calls.append(Call(f"enrol {voice}", wav, rttm, voice))
        test_call(i, voice, second, "babble", seed * 100 + 50 + i)
    for i in range(n_unknown):
        a = partner(set())
        b = partner({a})
        noise = ("babble", "white", "pink")[i % 3]
        speakers = {a: records[a], b: records[b]}
        name = f"s{seed}_unknown_{a}_{b}"
        wav, rttm = make_call(out, name, seed * 100 + 80 + i, speakers, babble({a, b}), noise)
        test_calls.append(Call(f"unknown {a}+{b}", wav, rttm, None))
    for j in range(1, tests_per_voice):  # more test calls: the line noise the enrolment call did not have
        for i, voice in enumerate(enrolled):
            noise = ("pink", "white")[i % 2] if j % 2 else "babble"
            met = {p for call in test_calls if call.enrolled == voice for p in call.name.split()[2:]}
            test_call(i, voice, partner({voice, *met}), noise, seed * 100 + 50 + i + 20 * j)
    # a second enrolment call per voice (POST /speakers/{id}/samples): the same half of its recordings,
    # another partner and the other line noise; drawn last, so the calls above stay as they were
    second_enrol = []
    for i, voice in enumerate(enrolled):
        met = {
            p for call in [*enrol_calls, *test_calls] if call.enrolled == voice for p in call.name.split()[1:]
        }
        other = partner({voice, *met})
        speakers = {voice: halves[voice][0], other: records[other]}
        noise = ("pink", "white")[i % 2]
        wav, rttm = make_call(
            out, f"s{seed}_enrol2_{voice}_{other}", seed * 100 + 30 + i, speakers, [], noise
        )
        second_enrol.append(Call(f"enrol2 {voice}", wav, rttm, voice))
    return enrol_calls, test_calls, second_enrol
