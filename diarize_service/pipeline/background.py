"""Background talk on a mono line is nobody's turn (issue #22, ask 2).

Split mode drops a channel's regions whose loud frames stay near the line's
noise floor while the party is clearly louder
(:func:`.channels.speech.drop_near_floor`): babble behind a customer is the
noise floor of that line, and Silero and the diarizer both take it for
speech.  A mono call has the same babble, in the mix, and the diarizer gives
it to one of the parties.  The same rule, on the mix's frame levels and each
speaker's turns, drops the turns that are only babble; turns with a party's
words in them are as loud as the party and stay.

Only the speaker timeline changes: words keep the speakers the exclusive
turns gave them, as with the digit-pause cut in split mode.  Mono DER
c=0.25 on the dev calls (6 per seed): seed 1 12.6 -> 12.5 %, seed 2 15.9 ->
14.6 % (dev_s2_004, an FSDD digit reader over babble at 10.5 dB SNR: 58.0
-> 50.4 %), seed 3 4.41 -> 4.35 %.  Split mode's other two level rules did
worse in mono (bench/README.md, "Background talk in mono calls").

Inside the turns that stay, pauses at the noise floor are cut out
(:func:`cut_floor_pauses`): the diarizer carries a turn across a pause,
and across a stretch where only the babble talks.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .channels.digit_pauses import DIGIT_PAUSE_DB
from .channels.regions import FRAME, Region, cut_turns, frame_levels, noise_floor_db, runs_between
from .channels.speech import (
    ENERGY_MARGIN_DB,
    QUIET_RUN,
    VAD_THRESHOLD,
    drop_near_floor,
    party_level_db,
    smoothed_levels,
)
from .types import DiarizationOutput, SpeakerTurn


def speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """Silero's speech in seconds, with the split-mode channel settings (the party level is taken there)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = get_speech_timestamps(
        audio, VadOptions(threshold=VAD_THRESHOLD, min_silence_duration_ms=150, speech_pad_ms=50)
    )
    return [(s["start"] / 16_000, s["end"] / 16_000) for s in vad]


def drop_background_turns(
    turns: list[SpeakerTurn], levels: np.ndarray, speech: list[tuple[float, float]]
) -> list[SpeakerTurn]:
    """*turns* without those whose loud frames stay near the floor, well under the parties' level.

    A turn that starts in the last, partial frame (the diarizer's timeline
    runs to the last sample, the levels to the last whole frame) has no
    level to judge and is kept.
    """
    last = (len(levels) - 1) * FRAME / 16_000  # start of the last whole frame
    speech = [(start, end) for start, end in speech if start < last]
    kept = [t for t in turns if t.start >= last]
    for speaker in dict.fromkeys(t.speaker for t in turns):
        regions = [Region(t.start, t.end) for t in turns if t.speaker == speaker and t.start < last]
        kept += [SpeakerTurn(r.start, r.end, speaker) for r in drop_near_floor(regions, levels, speech)]
    return sorted(kept, key=lambda t: (t.start, t.end))


def cut_floor_pauses(
    turns: list[SpeakerTurn], levels: np.ndarray, speech: list[tuple[float, float]]
) -> list[SpeakerTurn]:
    """*turns* with the pauses at the line's noise floor cut out of them.

    segmentation-3.0 carries a speaker's turn across a pause, and over
    babble across the stretch where only the babble talks; every second of
    it then counts as the party talking.  A run of QUIET_RUN s or more whose
    level (0.2 s power average, as split mode's quiet runs) stays within
    DIGIT_PAUSE_DB of the noise floor is nobody talking: the same margin
    that marks a pause between read-out digits, over a run long enough that
    no syllable or stop is one.  On a line so noisy that the party stands
    less than 18 dB over the floor, quiet speech sits that close to the floor
    too (a sentence at 5 dB SNR lost a third of its speech to the cut), so a
    pause must also be ENERGY_MARGIN_DB under the party's level (the level
    :func:`.channels.speech.drop_near_floor` takes; *speech* is Silero's
    spans).  All the settings are split mode's own.

    Mono DER c=0.25 on the dev calls (seeds 1-4, mixed noise and babble, 48
    calls, with the digit-pause cut): 9.52 -> 9.10 %, babble 9.96 -> 9.48 %;
    none of the eight sets worse by more than 0.02 points.  The diarizer
    alone on the real recordings: pyannote's sample unchanged, AMI 26.96 ->
    27.35 % (one 1 s silence, 13 dB under the floor, inside a reference
    segment that spans it) (bench/README.md, "Pauses at the noise floor in mono turns").
    """
    floor, party = noise_floor_db(levels), party_level_db(levels, speech)
    pause = smoothed_levels(levels) < min(floor + DIGIT_PAUSE_DB, party - ENERGY_MARGIN_DB)
    min_frames = round(QUIET_RUN * 16_000 / FRAME)
    return cut_turns(turns, lambda turn: runs_between(pause, turn.start, turn.end, min_frames))


def without_background(diarization: DiarizationOutput, audio: np.ndarray) -> DiarizationOutput:
    """The mono diarization, babble-only turns dropped from its timeline and pauses at the floor cut out."""
    if not diarization.turns or len(audio) < 16_000:
        return diarization
    levels, speech = frame_levels(audio), speech_spans(audio)
    turns = drop_background_turns(diarization.turns, levels, speech)
    return replace(diarization, turns=cut_floor_pauses(turns, levels, speech))
