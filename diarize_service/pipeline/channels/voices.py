"""Voices inside one channel of a split stereo call: the party, a second voice, background talk.

Split mode makes the channel the speaker, which is right for most of a call,
but a contact-centre recording often has a second person on one side: a
supervisor who barges in on the agent's line, or someone beside the customer.
Labelled as the channel's party, everything they say is attributed to the wrong
person.  On simulated calls with long supervisor turns (LibriSpeech voices,
``make_calls.py --allow-untranscribed``) that was 11 points of split DER.

So the diarizer also runs on each channel (in its own worker, while ASR runs)
and each voice it finds is judged against the channel's main voice: the one
that talks most inside the channel's speech regions, counting the frames
that sound above the line's noise floor (``ENERGY_MARGIN_DB``), not the
length of its turns, which for someone reading out digits spans the pauses
between them:

* a **second voice** needs ``SECOND_VOICE_SECONDS`` of its own speech, a CAM++
  centroid at least ``SECOND_VOICE_DISTANCE`` (cosine) from the main voice, and
  a level within ``SECOND_VOICE_LEVEL_DB`` of it: a supervisor is patched into
  the line at telephone level, like the agent;
* a distinct voice ``BACKGROUND_VOICE_DB`` or more *below* the main voice is
  people talking near the party (babble), and its stretches are no speech;
* anything else is the party (segmentation-3.0 often splits one person into
  two clusters, and such halves are close and equally loud).

On the 42 stereo dev calls (bench/README.md, "Voices inside a channel"), the
voices of the 14 real second persons were 0.28-0.53 apart from the party and
within 4.4 dB of it; of the 12 voices the diarizer proposed on one-person channels, each
failed a test: under 2 s, at most 0.13 apart, or 11 dB and more down (the
background talk that the region-level rule in :mod:`.speech` had kept).

Pure numpy on :class:`SpeakerTurn` lists, unit-testable without models.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ..diarization.reassignment import join_touching
from ..diarization.voiceprints import Voiceprint
from ..types import DiarizationOutput, SpeakerTurn
from .regions import FRAME, Region, frame_levels, frames_between, noise_floor_db
from .speech import ENERGY_MARGIN_DB, channel_speech

SECOND_VOICE_SECONDS = 2.0
SECOND_VOICE_DISTANCE = 0.25
SECOND_VOICE_LEVEL_DB = 6.0
BACKGROUND_VOICE_DB = 10.0

PARTY, SECOND, BACKGROUND = "party", "second", "background"


@dataclass(frozen=True)
class VoiceProfile:
    seconds: float  # exclusive speech inside the channel's speech regions
    loud_db: float  # 90th percentile of its frame levels there
    centroid: np.ndarray | None  # unit CAM++ centroid; None without a stretch long enough to embed
    sounding: float | None = None  # of *seconds*, those clearly above the line's noise floor

    @property
    def speech_seconds(self) -> float:
        """How much this voice talks: the frames that sound, not the pauses its turns span."""
        return self.seconds if self.sounding is None else self.sounding


def profile_voices(
    regions: Sequence[Region],
    exclusive_turns: Sequence[SpeakerTurn],
    centroids: dict[str, np.ndarray],
    levels: np.ndarray,
) -> dict[str, VoiceProfile]:
    """Per diarized voice: how much it speaks inside *regions*, how loud, and its centroid."""
    step = FRAME / 16_000
    sounds = noise_floor_db(levels) + ENERGY_MARGIN_DB  # the energy detector's speech level
    pieces: dict[str, list[tuple[float, float]]] = {}
    for piece in restrict(_by_time(exclusive_turns), regions):
        pieces.setdefault(piece.speaker, []).append((piece.start, piece.end))
    profiles = {}
    for voice, spans in pieces.items():
        frames = np.concatenate([frames_between(levels, s, e) for s, e in spans])
        profiles[voice] = VoiceProfile(
            seconds=sum(e - s for s, e in spans),
            loud_db=float(np.percentile(frames, 90)),
            centroid=centroids.get(voice),
            sounding=float(np.count_nonzero(frames > sounds) * step),
        )
    return profiles


def classify_voices(profiles: dict[str, VoiceProfile], allow_second: bool = True) -> dict[str, str]:
    """voice -> PARTY, SECOND or BACKGROUND (see the module docstring).

    At most one second voice: further candidates join whichever of the party
    and the second voice their centroid is nearer to.
    """
    if not profiles:
        return {}
    main = max(profiles, key=lambda v: profiles[v].speech_seconds)
    roles = {main: PARTY}
    candidates = []
    for voice, profile in profiles.items():
        if voice == main:
            continue
        distance = _distance(profile, profiles[main])
        level = profile.loud_db - profiles[main].loud_db
        if distance >= SECOND_VOICE_DISTANCE and level <= -BACKGROUND_VOICE_DB:
            roles[voice] = BACKGROUND
        elif (
            allow_second
            and profile.seconds >= SECOND_VOICE_SECONDS
            and distance >= SECOND_VOICE_DISTANCE
            and level >= -SECOND_VOICE_LEVEL_DB
        ):
            candidates.append(voice)
        else:
            roles[voice] = PARTY
    candidates.sort(key=lambda v: -profiles[v].seconds)
    for voice in candidates:
        second = next((v for v, r in roles.items() if r == SECOND), None)
        if second is None:
            roles[voice] = SECOND
        else:
            nearer_party = _distance(profiles[voice], profiles[main]) < _distance(
                profiles[voice], profiles[second]
            )
            roles[voice] = PARTY if nearer_party else SECOND
    return roles


def _distance(a: VoiceProfile, b: VoiceProfile) -> float:
    if a.centroid is None or b.centroid is None:
        return 0.0  # no evidence of a different voice
    return float(1.0 - a.centroid @ b.centroid)


def label_regions(
    regions: Sequence[Region], exclusive_turns: Sequence[SpeakerTurn], roles: dict[str, str]
) -> list[SpeakerTurn]:
    """The channel's speech regions cut by voice: turns labelled PARTY or SECOND, background left out.

    Parts of a region no diarized turn covers go to the nearest covered part's
    voice (segmentation misses the quiet ends of words the VAD kept), or to the
    party when the region has no turn at all.
    """
    covered = restrict(_by_time(exclusive_turns), regions)  # in time order, region by region
    labelled: list[SpeakerTurn] = []
    k = 0
    for region in regions:
        pieces = []
        while k < len(covered) and covered[k].start < region.end:
            pieces.append(covered[k])
            k += 1
        if not pieces:
            labelled.append(SpeakerTurn(region.start, region.end, PARTY))
            continue
        # stretch the covered pieces over the uncovered gaps: each gap split at its middle
        bounds = [region.start]
        for before, after in pairwise(pieces):
            bounds.append((before.end + after.start) / 2 if after.start > before.end else after.start)
        bounds.append(region.end)
        for piece, start, end in zip(pieces, bounds[:-1], bounds[1:], strict=True):
            role = roles.get(piece.speaker, PARTY)
            if role != BACKGROUND and end > start:
                labelled.append(SpeakerTurn(start, end, role))
    return _by_time(join_touching(labelled))


def _by_time(turns: Sequence[SpeakerTurn]) -> list[SpeakerTurn]:
    return sorted(turns, key=lambda t: (t.start, t.end))


def channel_voices(
    channels: np.ndarray,
    index: int,
    diarize: Callable[..., DiarizationOutput],
    allow_second: bool = True,
) -> list[SpeakerTurn]:
    """Channel *index*'s speech regions (:func:`.speech.channel_speech`) cut by voice.

    *diarize* is the service's :class:`.diarization.Diarizer`.  Without voice
    centroids (a pyannote pipeline from the hub) nothing can be told apart, so
    the channel is not diarized and all of it is the party.
    """
    return channel_voices_and_prints(channels, index, diarize, allow_second)[0]


def channel_voices_and_prints(
    channels: np.ndarray,
    index: int,
    diarize: Callable[..., DiarizationOutput],
    allow_second: bool = True,
) -> tuple[list[SpeakerTurn], dict[str, Voiceprint]]:
    """:func:`channel_voices`, and the voiceprint of the party and of a second voice (issue #23).

    Each print is taken from the channel's own audio over the stretches given
    to that voice, by the diarizer's :meth:`voiceprints` (none from a pipeline
    without it).
    """
    audio = np.ascontiguousarray(channels[index])
    regions = channel_speech(channels, index)
    if not regions or not getattr(diarize, "gives_centroids", True):
        return [SpeakerTurn(r.start, r.end, PARTY) for r in regions], {}
    diarization = diarize(audio, centroids=True)
    profiles = profile_voices(
        regions, diarization.exclusive_turns, diarization.centroids, frame_levels(audio)
    )
    labelled = label_regions(regions, diarization.exclusive_turns, classify_voices(profiles, allow_second))
    voiceprints = getattr(diarize, "voiceprints", None)
    return labelled, voiceprints(audio, labelled) if voiceprints is not None else {}


def restrict(spans: Sequence[SpeakerTurn], regions: Sequence[Region]) -> list[SpeakerTurn]:
    """The parts of *spans* inside *regions* (both sorted by time, each without overlaps)."""
    kept: list[SpeakerTurn] = []
    i = j = 0
    while i < len(spans) and j < len(regions):
        span, region = spans[i], regions[j]
        start, end = max(span.start, region.start), min(span.end, region.end)
        if end > start:
            kept.append(SpeakerTurn(start, end, span.speaker))
        if span.end < region.end:
            i += 1
        else:
            j += 1
    return kept


def voice_at(spans: Sequence[SpeakerTurn], start: float, end: float, tolerance: float = 0.2) -> str | None:
    """The voice of the span holding the middle of [start, end], else the nearest within *tolerance*.

    *spans* sorted by time, without overlaps (as :func:`label_regions` gives
    them): a binary search, since every word of a call asks.
    """
    mid = (start + end) / 2
    after = bisect_right(spans, mid, key=lambda span: span.start)  # spans[:after] start by mid
    nearest, best = None, tolerance
    for span in spans[max(after - 1, 0) : after + 1]:
        if span.start <= mid <= span.end:
            return span.speaker
        gap = span.start - mid if mid < span.start else mid - span.end
        if gap <= best:
            nearest, best = span.speaker, gap
    return nearest
