"""Afrikaans speech for the language checks (issue #22): espeak-ng with MBROLA's Afrikaans voice.

There is no Afrikaans recording in ``../shared``.  A synthetic voice is not a
caller, but MBROLA's ``af1`` joins diphones recorded by an Afrikaans speaker,
and it goes through the same telephone chain as the simulated calls
(make_calls.py's: 8 kHz, 300-3400 Hz, G.711 mu-law, line noise), so Whisper
hears it the way it hears a customer.  espeak-ng's own formant voice (``af``)
is further from speech: Whisper base hears it as English (bench/README.md,
"Language per call").  Debian's ``espeak-ng``, ``mbrola`` and ``mbrola-af1``
(non-free) provide them; ``./build.sh test`` installs them where it can.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .paths import MAKE_CALLS

# What a caller and an agent say at a South African contact centre (written for these checks).
SENTENCES = (
    "Goeiemôre, u praat met die kliëntediens, hoe kan ek u vandag help?",
    "Ek wil graag my rekening nagaan, want ek dink daar is 'n fout op my staat.",
    "Kan u asseblief u identiteitsnommer en u volle naam vir my gee?",
    "Ek het verlede week al gebel, maar niemand het my teruggebel nie.",
    "Die betaling is Maandag van my bankrekening afgetrek, en nou weer vandag.",
    "Ons sal die saak ondersoek en u binne drie werksdae terugbel.",
    "Dankie vir u geduld, ek plaas u net vir 'n oomblik op hou.",
    "My kontrak verval aan die einde van die maand en ek wil dit graag hernu.",
    "Hoekom is my premie skielik soveel duurder as verlede jaar?",
    "Ek verstaan, ek sal dit dadelik vir u regstel en die geld terugbetaal.",
    "Is daar nog iets anders waarmee ek u kan help?",
    "Nee dankie, dit was al. Baie dankie vir u hulp, totsiens.",
)
SAMPLE_RATE = 16000


VOICE = "mb-af1"  # espeak-ng's name for MBROLA's Afrikaans voice
MBROLA_VOICE = Path("/usr/share/mbrola/af1")


def available(voice: str = VOICE) -> bool:
    """Whether espeak-ng is on the PATH, with MBROLA's Afrikaans voice if *voice* is it."""
    has_voice = voice != VOICE or (shutil.which("mbrola") is not None and MBROLA_VOICE.exists())
    return shutil.which("espeak-ng") is not None and has_voice


@cache
def _make_calls():
    """make_calls.py as a module, for its telephone chain (the calls' own, not a copy of it)."""
    spec = importlib.util.spec_from_file_location("make_calls", MAKE_CALLS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthesize(text: str, voice: str = VOICE, speed: int = 150) -> np.ndarray:
    """*text* spoken by espeak-ng, 16 kHz mono float64."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
        audio, rate = sf.read(wav, dtype="float64")
    g = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g)


def telephone(clean16k: np.ndarray, seed: int, snr_db: float = 20.0) -> np.ndarray:
    """The simulated calls' line: pink noise at *snr_db*, 8 kHz, band-limited, mu-law."""
    mc = _make_calls()
    rng = np.random.default_rng(seed)
    noise = mc.pink_noise(len(clean16k), rng)
    return mc.telephony(clean16k, rng, noise, snr_db, np.abs(clean16k) > 1e-4)


def sentences_track(starts: list[float], duration: float, seed: int, level_db: float = -25.0):
    """A 16 kHz track with the Afrikaans sentences in turn, each at its start time (until it is full).

    Returns the track and the (start, end, text) of each sentence placed.
    """
    track = np.zeros(int(duration * SAMPLE_RATE))
    placed: list[tuple[float, float, str]] = []
    for i, wanted in enumerate(starts):
        start = max(wanted, placed[-1][1] + 0.3) if placed else wanted  # one voice: no self-overlap
        text = SENTENCES[(seed + i) % len(SENTENCES)]
        speech = synthesize(text)
        speech *= 10 ** ((level_db - 10 * np.log10(np.mean(speech**2) + 1e-12)) / 20)
        at = int(start * SAMPLE_RATE)
        piece = speech[: max(0, len(track) - at)]
        track[at : at + len(piece)] += piece
        placed.append((start, start + len(piece) / SAMPLE_RATE, text))
    return track, placed


def afrikaans_clip(
    out: Path, n_sentences: int = 6, seed: int = 0, snr_db: float = 20.0, voice: str = VOICE
) -> Path:
    """A telephone recording (8 kHz wav) of one Afrikaans speaker saying *n_sentences* sentences."""
    pieces = [synthesize(SENTENCES[(seed + i) % len(SENTENCES)], voice) for i in range(n_sentences)]
    gap = np.zeros(int(0.6 * SAMPLE_RATE))
    clean = np.concatenate([np.concatenate([gap, p]) for p in pieces] + [gap])
    clean *= 10 ** ((-25.0 - 10 * np.log10(np.mean(clean[np.abs(clean) > 1e-4] ** 2))) / 20)
    sf.write(out, telephone(clean, seed, snr_db), 8000, subtype="PCM_16")
    return out


def afrikaans_customer(call: Path, out: Path, seed: int = 0) -> Path:
    """A simulated stereo call with its customer's line replaced by Afrikaans (agent stays English).

    *call* is a make_calls.py call id path (``<dir>/<id>``): the Afrikaans
    sentences start where the customer's turns start, so the turn-taking is
    the call's own.
    """
    meta = json.loads(call.with_suffix(".json").read_text())
    stereo, rate = sf.read(call.with_suffix(".stereo.wav"), dtype="float64")
    starts = []
    for seg in meta["segments"]:
        if seg["role"] == "customer" and (not starts or seg["start"] > starts[-1] + 3.0):
            starts.append(seg["start"])
    track, _ = sentences_track(starts, len(stereo) / rate, seed)
    stereo[:, 1] = telephone(track, seed)[: len(stereo)]
    sf.write(out, stereo, rate, subtype="PCM_16")
    return out
