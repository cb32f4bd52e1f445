"""Which reference speech of a simulated call can be heard in the audio the service gets.

``make_calls.py`` marks speech on the clean wideband utterance (energy within
35 dB of its peak), then band-limits the call to 300-3400 Hz and adds line
noise.  Where an utterance fades out in energy below 300 Hz or under the
noise (VCTK p335's only sentence ends in 0.88 s of low rumble, 55 dB under
its peak in the telephone band), the reference keeps speech that no longer
exists in the delivered audio, and every detector misses it.

This module measures that instead of arguing it: it replays the generator
(deterministic for a seed) with a hook on its telephony stage, which sees the
clean signal and the noise of each output channel separately, and computes
the local SNR per 20 ms frame in the telephone band.  Reference speech in
runs of at least ``MIN_RUN`` seconds more than ``-INAUDIBLE_SNR_DB`` dB under the
line noise is *inaudible*; :func:`audible_reference` removes it, and the
benchmark reports DER against both references.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import soundfile as sf
from pyannote.core import Annotation, Segment, Timeline
from scipy.signal import butter, resample_poly, sosfiltfilt

from .paths import DATA, MAKE_CALLS

INAUDIBLE_SNR_DB = -10.0  # telephone-band speech this far under the line noise cannot be detected
MIN_RUN = 0.3  # seconds; shorter dips (closures inside words) are speech by any annotator's convention
FRAME = 160  # 20 ms at 8 kHz
TELEPHONE_BAND = butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")  # as make_calls.py


@dataclass
class ChannelMix:
    """What the generator's telephony stage got for one output channel (16 kHz)."""

    speech: np.ndarray
    noise: np.ndarray  # unscaled; scaled to *snr_db* over the speech, as the generator does
    snr_db: float
    speech_mask: np.ndarray
    delivered: np.ndarray  # the generator's output (8 kHz), to check the replay against the file


@cache
def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_calls", MAKE_CALLS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def replay(call_dir: Path) -> dict[str, list[ChannelMix]]:
    """call id -> [mono mix, left, right (stereo only)], by re-running make_calls.py's synthesis.

    Raises if the replayed audio differs from the files (another generator or
    data version): the audibility would then be about other audio.
    """
    mc = _generator()
    index = json.loads((call_dir / "index.json").read_text())
    args = argparse.Namespace(**index["args"])
    # calls generated against another copy of ../shared (SHARED_DIR) replay against this one
    if not Path(args.data_root).is_dir():
        args.data_root = str(DATA)
    if not Path(args.speakers_from).is_file():
        args.speakers_from = str(DATA / Path(args.speakers_from).name)
    manifest_path = Path(args.data_root) / "manifest_utterances.json"
    if args.manifest and Path(args.manifest).is_file():
        manifest_path = Path(args.manifest)
    manifest = json.loads(manifest_path.read_text())
    pool = mc.Pool(
        manifest, args.data_root, set(mc.read_speaker_list(args.speakers_from)), args.allow_untranscribed
    )
    original = mc.telephony
    out: dict[str, list[ChannelMix]] = {}
    try:
        for i, call in enumerate(index["calls"]):
            mixes: list[ChannelMix] = []

            def hook(x16, rng, noise16=None, snr_db=None, speech_mask=None, _mixes=mixes):
                delivered = original(x16, rng, noise16, snr_db, speech_mask)
                _mixes.append(ChannelMix(x16, noise16, snr_db, speech_mask, delivered))
                return delivered

            mc.telephony = hook
            mc.make_call(call["call_id"], pool, pool.speakers(), np.random.default_rng([args.seed, i]), args)
            _check(call_dir / f"{call['call_id']}.wav", mixes[0].delivered)
            out[call["call_id"]] = mixes
    finally:
        mc.telephony = original
    return out


def _check(path: Path, delivered: np.ndarray) -> None:
    written, _ = sf.read(path)
    if written.shape != delivered.shape or np.max(np.abs(written - delivered)) > 1e-3:
        raise RuntimeError(f"replaying make_calls.py does not reproduce {path.name}")


def _band_frames(x16: np.ndarray) -> np.ndarray:
    """Mean power per 20 ms frame in the telephone band, as the generator filters it."""
    band = sosfiltfilt(TELEPHONE_BAND, resample_poly(x16, 1, 2))
    n = len(band) // FRAME
    return np.mean(band[: n * FRAME].reshape(n, FRAME) ** 2, axis=1)


def inaudible(mix: ChannelMix) -> Timeline:
    """Stretches of at least MIN_RUN s where the channel's speech is INAUDIBLE_SNR_DB under its noise."""
    speech = mix.speech[mix.speech_mask] if mix.speech_mask.any() else mix.speech
    scale = np.sqrt(np.mean(speech**2) / (np.mean(mix.noise**2) * 10 ** (mix.snr_db / 10)))
    snr = 10 * np.log10((_band_frames(mix.speech) + 1e-15) / (_band_frames(mix.noise * scale) + 1e-15))
    quiet = np.concatenate([[False], snr < INAUDIBLE_SNR_DB, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    step = FRAME / 8000
    return Timeline(
        [
            Segment(a * step, b * step)
            for a, b in zip(edges[::2], edges[1::2], strict=True)
            if (b - a) * step >= MIN_RUN
        ]
    )


def audible_reference(reference: Annotation, inaudible_of: dict[str, Timeline]) -> Annotation:
    """*reference* without each speaker's inaudible stretches (speaker -> Timeline)."""
    audible = Annotation(uri=reference.uri)
    for segment, track, speaker in reference.itertracks(yield_label=True):
        quiet = inaudible_of.get(speaker)
        kept = Timeline([segment]).extrude(quiet) if quiet else Timeline([segment])
        for k, piece in enumerate(kept):
            audible[piece, f"{track}.{k}"] = speaker
    return audible


def audible_references(call_dir: Path, stereo: bool) -> dict[str, Annotation]:
    """call id -> its reference without inaudible speech (per channel for stereo, else in the mix).

    Kept as ``audible.{stereo,mono}.rttm`` beside the calls: the replay needs
    the generator and the speech pool of ``../shared``, which a machine that
    gets only the calls (the GPU check) does not have, and it costs seconds
    per call on every benchmark run.
    """
    from pyannote.database.util import load_rttm

    cached = call_dir / f"audible.{'stereo' if stereo else 'mono'}.rttm"
    if cached.exists():
        index = json.loads((call_dir / "index.json").read_text())
        loaded = load_rttm(cached)
        return {
            call["call_id"]: loaded.get(call["call_id"], Annotation(uri=call["call_id"]))
            for call in index["calls"]
        }
    references = _replayed_audible_references(call_dir, stereo)
    with cached.open("w") as rttm:
        for call_id, reference in references.items():
            reference.uri = call_id
            reference.write_rttm(rttm)
    return references


def _replayed_audible_references(call_dir: Path, stereo: bool) -> dict[str, Annotation]:
    from pyannote.database.util import load_rttm

    references = {}
    for call_id, mixes in replay(call_dir).items():
        reference = next(iter(load_rttm(call_dir / f"{call_id}.rttm").values()))
        meta = json.loads((call_dir / f"{call_id}.json").read_text())
        on_left = {s["speaker"] for s in meta["segments"] if s["role"] in ("agent", "supervisor")}
        if stereo:
            left, right = inaudible(mixes[1]), inaudible(mixes[2])
            quiet = {speaker: left if speaker in on_left else right for speaker in reference.labels()}
        else:
            mixed = inaudible(mixes[0])
            quiet = dict.fromkeys(reference.labels(), mixed)
        references[call_id] = audible_reference(reference, quiet)
    return references
