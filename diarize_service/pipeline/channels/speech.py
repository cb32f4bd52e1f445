"""Stereo calls recorded one party per channel: speech per channel, leak suppression.

Many contact-centre recorders write the agent on one channel and the customer
on the other.  Then "who spoke when" is known from the channel itself, which
is far more reliable than voice clustering: each channel gets its own speech
detection (Silero VAD, bundled with faster-whisper) and its own ASR, and the
words are interleaved by time.

Echo and crosstalk put an attenuated copy of one party into the other's
channel.  A frame only counts as speech on a channel when that channel is
not far quieter than the other one while the other one talks (``LEAK_DB``),
so the leaked copy neither becomes speech regions nor words of the wrong party;
a leak verdict of 0.1 s or less between the party's own loud frames is overlap (both
talking), not leakage (``bridge_blips``).

Speech per channel is the union of Silero VAD and an energy detector; on the
dev calls (seed 1, stereo) this took channel-split DER from 13.3 % (Silero
alone, default settings) to 10.9 % with LEAK_DB = 12 (10.3 % at 15 dB, but
then a -20 dB echo of the agent started to show up as customer speech).
Regions far quieter than the channel's own speech are other people talking
near the party (babble), not the party, and are dropped (``BACKGROUND_DB``);
a second or more that far down inside a region is cut out of it (``QUIET_DB``).
Steady babble all call long is the line's noise floor; regions that never
rise clearly above it are not the party (``drop_near_floor``).  Long regions
that only the energy detector heard, in which the ASR found no words, are
hold music or tones, not the party (``drop_unheard``).  Inside a read-out
number (digit words from the ASR), pauses at the noise floor are silence, not
talk (:mod:`.digit_pauses`).  Frames and regions: :mod:`.regions`.
"""

from __future__ import annotations

import numpy as np

from ..audio import evenly_sampled
from .regions import (
    FRAME,
    Region,
    frame_levels,
    frames_between,
    inside,
    noise_floor_db,
    runs,
    runs_between,
    subtract,
    union,
)

LEAK_DB = 12.0  # a channel this much quieter than the other at the same time is leakage
OVERLAP_BLIP_FRAMES = 5  # 0.1 s: a shorter leak verdict between the party's own loud frames is overlap
IDENTICAL_CORRELATION = 0.95  # dual-mono: both channels carry the same mix
SILENT_DBFS = -60.0
ENERGY_MARGIN_DB = 12.0  # energy detector: this far above the channel's noise floor is speech
ENERGY_BRIDGE = 0.3  # seconds: shorter gaps inside energy-detected speech are bridged
VAD_THRESHOLD = 0.35  # Silero speech probability; below its 0.5 default to keep short replies
BACKGROUND_DB = 10.0  # a region this far below the channel's loud speech is background talk
UNHEARD_SECONDS = 2.0  # a longer region mostly outside the VAD needs words to count as speech
UNHEARD_VAD_SHARE = 0.25  # "mostly outside": the VAD took less than this share of it for speech
QUIET_DB = 15.0  # inside a region, this far under the channel's loud speech for QUIET_RUN s is no speech
QUIET_RUN = 1.0  # seconds
QUIET_SMOOTHING = 10  # frames (0.2 s) of power averaged before comparing levels
PARTY_TOP_SECONDS = 2.0  # the party's level: that of the loudest 2 s of the VAD's speech frames
UNDER_PARTY_DB = 6.0  # a region near the noise floor is only dropped this far under the party's level


def should_split(channels: np.ndarray) -> bool:
    """True when a 2-channel recording really holds different signals per channel.

    Dual-mono files (both channels the same mix) and files with one silent
    channel are diarized as mixed audio instead.
    """
    if channels.shape[0] < 2:
        return False
    left, right = evenly_sampled(channels[0]), evenly_sampled(channels[1])
    levels = [float(10 * np.log10(np.mean(c.astype(np.float64) ** 2) + 1e-12)) for c in (left, right)]
    if min(levels) < SILENT_DBFS:
        return False
    corr = float(np.corrcoef(left, right)[0, 1])
    return not (np.isfinite(corr) and corr > IDENTICAL_CORRELATION)


def dominant_mask(channels: np.ndarray, index: int) -> np.ndarray:
    """Per 20 ms frame: can channel *index* hold its own speech here (i.e. it is not leakage)?

    A frame is leakage when the other channel is talking (ENERGY_MARGIN_DB above
    its own noise floor) and this one is more than LEAK_DB quieter.  The other
    channel's noise alone leaks nothing: comparing against it took the quiet
    ends of the agent's words (clean headset) away whenever the customer's
    line was noisy (dev stereo calls 10.9 / 9.3 / 6.9 % -> 10.1 / 8.1 / 5.6 %).
    """
    own = frame_levels(channels[index])
    other = frame_levels(channels[1 - index])
    other_talks = other > np.percentile(other, 20) + ENERGY_MARGIN_DB
    dominant = ~(other_talks & (own < other - LEAK_DB))
    talking = dominant & (own > np.percentile(own, 20) + ENERGY_MARGIN_DB)
    return bridge_blips(dominant, talking, OVERLAP_BLIP_FRAMES)


def bridge_blips(dominant: np.ndarray, talking: np.ndarray, max_frames: int) -> np.ndarray:
    """Fill runs of at most *max_frames* non-dominant frames that have the party *talking* on both sides.

    When both parties talk at once, the louder agent outdoes the customer's
    quieter syllables frame by frame, and the leak rule cut the customer's
    sentence there; the tail, judged on its own, then looked like background
    talk (10 dB under the channel's speech) and was dropped.  On five stereo
    call sets, 15.8 % of the reference speech in overlap was missed; with
    this, 12.6 %, and split DER was equal or better on all 13 sets
    (bench/README.md, "Overlap: the quieter party keeps their words").  A
    leaked copy of the other party never has *talking* frames beside it: where
    it is audible it is LEAK_DB under the other channel, so not dominant, and
    where it is not, the channel sits at its noise floor.
    """
    out = dominant.copy()
    for start, end in runs(~dominant):
        if end - start <= max_frames and start > 0 and end < len(out) and talking[start - 1] and talking[end]:
            out[start:end] = True
    return out


def energy_spans(channel: np.ndarray, margin_db: float = ENERGY_MARGIN_DB) -> list[tuple[float, float]]:
    """Frames louder than the channel's noise floor (20th percentile) by *margin_db*, as spans.

    Silero VAD misses short isolated words in telephone noise (digits read
    out one by one); on a channel that carries a single party, plain energy
    above the noise floor catches them.  Used together with the VAD.
    """
    levels = frame_levels(channel)
    active = levels > noise_floor_db(levels) + margin_db
    step = FRAME / 16_000
    spans: list[tuple[float, float]] = []
    for first, last in runs(active):
        start, end = first * step, last * step
        if spans and start - spans[-1][1] < ENERGY_BRIDGE:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return [(s, e) for s, e in spans if e - s >= 0.08]


def speech_regions(
    vad_spans: list[tuple[float, float]], dominant: np.ndarray, min_duration: float = 0.08
) -> list[Region]:
    """VAD spans (seconds) restricted to frames where the channel dominates."""
    regions: list[Region] = []
    step = FRAME / 16_000
    for start, end in vad_spans:
        lo, hi = int(start / step), min(int(np.ceil(end / step)), len(dominant))
        for first, last in runs(dominant[lo:hi]):
            s, e = max(start, (lo + first) * step), min(end, (lo + last) * step)
            if e - s >= min_duration:
                regions.append(Region(s, e))
    return regions


def loud_speech_db(levels: np.ndarray, speech: list[tuple[float, float]] | None) -> float:
    """The level of the channel's loud speech frames: 95th percentile inside the VAD's *speech* spans.

    The VAD's spans, so that it is the level of speech, not of hold music or
    tones (the whole channel when there are none).
    """
    frames = [frames_between(levels, s, e) for s, e in speech or []]
    return float(np.percentile(np.concatenate(frames) if frames else levels, 95))


def party_level_db(levels: np.ndarray, speech: list[tuple[float, float]] | None) -> float:
    """The party's level: that of the loudest PARTY_TOP_SECONDS of the VAD's *speech* frames.

    A quantity of speech the party always has, however much babble the VAD
    heard besides (the whole channel's frames when there are no spans).
    """
    frames = [frames_between(levels, s, e) for s, e in speech or []]
    pooled = np.sort(np.concatenate(frames) if frames else levels)
    return float(pooled[-min(len(pooled), round(PARTY_TOP_SECONDS * 16_000 / FRAME))])


def drop_background(
    regions: list[Region],
    levels: np.ndarray,
    speech: list[tuple[float, float]] | None = None,
    margin_db: float = BACKGROUND_DB,
) -> list[Region]:
    """Drop regions far quieter than the channel's own speech: background talkers, not the party.

    Babble (other people talking near the customer) passes both the VAD and
    the energy detector, and no leak rule sees it since the other channel is
    silent.  What gives it away is its level: the party on the line is close to
    the microphone, the room is not.  A region counts as background when its
    loud frames (90th percentile) stay *margin_db* below the loud frames (95th
    percentile) of the channel's *speech* spans (the VAD's: the level of
    speech, not of hold music or tones; the whole channel if there are none).
    On the 30 stereo dev + benchmark calls, regions that far down were 22 s,
    of which 1.3 s were reference speech; split-mode DER (c=0.25) went dev s1
    10.1 -> 10.0 %, s2 8.1 -> 7.7 %, s3 5.6 -> 4.6 %, benchmark 10.2 -> 8.0 %.
    *levels* are the channel's :func:`frame_levels` (as for the other region filters).
    """
    loud = loud_speech_db(levels, speech)
    kept = []
    for region in regions:
        frames = frames_between(levels, region.start, region.end)
        if len(frames) and np.percentile(frames, 90) >= loud - margin_db:
            kept.append(region)
    return kept


def drop_near_floor(
    regions: list[Region], levels: np.ndarray, speech: list[tuple[float, float]] | None = None
) -> list[Region]:
    """Drop regions whose loud frames stay near the noise floor while the party is clearly louder.

    Babble that goes on all call long (people talking behind the customer)
    *is* that line's noise floor (its 20th percentile).  Silero takes it for
    speech, and :func:`drop_background` keeps it: the babble is most of the
    VAD's speech, so it pulls the "loud speech" level down towards itself (on
    held-out dev_s103_002, babble 11 dB under a customer who speaks 10 s of
    93, it stood 4-10 dB under that level, inside the 10 dB margin).  Against
    the floor it stands out: on the 62 stereo dev, benchmark and held-out
    calls, regions whose loud frames (90th percentile) stay under the floor +
    ``ENERGY_MARGIN_DB`` (the energy detector's own margin) were 158 s, of
    which 2 s were reference speech, all of them on babble lines.

    A party on a very noisy line also barely clears the floor (a sentence at
    5 dB SNR: 10.6 dB), so a region is only dropped when it is also
    ``UNDER_PARTY_DB`` under the party's level, taken as the loudest
    ``PARTY_TOP_SECONDS`` of the VAD's speech frames: a quantity of speech the
    party always has, however much babble the VAD heard besides.

    Split DER c=0.25: seed 103 23.4 -> 15.9 %, the ten other stereo sets
    unchanged; on 16 babble-only calls drawn afterwards (seeds 301, 302)
    11.3 -> 11.1 % and 11.2 -> 11.2 %.  Babble that the VAD joins to the
    party's own words is not touched (bench/README.md, "Babble all call long").
    """
    floor, party = noise_floor_db(levels), party_level_db(levels, speech)
    near_floor = min(floor + ENERGY_MARGIN_DB, party - UNDER_PARTY_DB)
    return [
        region
        for region in regions
        if np.percentile(frames_between(levels, region.start, region.end), 90) >= near_floor
    ]


def smoothed_levels(levels: np.ndarray) -> np.ndarray:
    """Frame levels (dB), power averaged over QUIET_SMOOTHING frames: gaps between syllables do not count."""
    power = np.convolve(10 ** (levels / 10), np.ones(QUIET_SMOOTHING) / QUIET_SMOOTHING, mode="same")
    return 10 * np.log10(power + 1e-12)


def cut_quiet_runs(
    regions: list[Region], levels: np.ndarray, speech: list[tuple[float, float]] | None = None
) -> list[Region]:
    """Cut out of each region the runs of QUIET_RUN s or more that stay QUIET_DB under the loud speech.

    Silero hears steady background talk (babble in the customer's line) as
    speech and joins the party's words across it into long regions, which
    :func:`drop_background` must keep or drop whole.  Inside such a region, a
    second or more that stays 15 dB under the channel's loud speech (power
    averaged over 0.2 s, so the gaps between syllables do not count) is not the
    party talking.  On the 10 stereo call sets (dev, benchmark, held out,
    LibriSpeech voices) split DER c=0.25 went down on three (dev s1 9.8 ->
    9.5 %, LibriSpeech seeds 202 / 204 7.0 -> 6.9 % and 11.7 -> 11.4 %) and
    stayed the same on six: the channel's own diarization (:mod:`.voices`)
    already drops most such talk when it is a voice of its own
    (bench/README.md, "Quiet runs inside regions").
    """
    quiet = smoothed_levels(levels) < loud_speech_db(levels, speech) - QUIET_DB
    step = FRAME / 16_000
    min_frames = round(QUIET_RUN / step)
    kept: list[Region] = []
    for region in regions:
        kept += subtract([region], runs_between(quiet, region.start, region.end, min_frames))
    return kept


def channel_speech(channels: np.ndarray, index: int) -> list[Region]:
    """Where the party of channel *index* speaks: VAD or energy, minus leakage and background talk."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio = np.ascontiguousarray(channels[index])
    vad = get_speech_timestamps(
        audio, VadOptions(threshold=VAD_THRESHOLD, min_silence_duration_ms=150, speech_pad_ms=50)
    )
    vad_spans = [(s["start"] / 16_000, s["end"] / 16_000) for s in vad]
    regions = speech_regions(union(vad_spans + energy_spans(audio)), dominant_mask(channels, index))
    levels = frame_levels(audio)
    regions = drop_near_floor(drop_background(regions, levels, vad_spans), levels, vad_spans)
    regions = cut_quiet_runs(regions, levels, vad_spans)
    return [with_vad_share(r, vad_spans) for r in regions]


def with_vad_share(region: Region, vad_spans: list[tuple[float, float]]) -> Region:
    covered = sum(max(0.0, min(end, region.end) - max(start, region.start)) for start, end in vad_spans)
    return Region(region.start, region.end, covered / max(region.end - region.start, 1e-9))


def drop_unheard(regions: list[Region], words: list[tuple[float, float]]) -> list[Region]:
    """Drop long regions only the energy detector heard and the ASR found no words in.

    The energy detector is there for short words Silero misses in line noise
    (digits read out one by one), but it takes anything loud for speech: hold
    music or a tone on the customer's channel became minutes of customer talk
    time.  Silero and Whisper both ignore music, so a region longer than
    ``UNHEARD_SECONDS`` that the VAD took for speech less than
    ``UNHEARD_VAD_SHARE`` of the time and that holds no word is dropped.  On
    the 30 stereo dev + benchmark calls no region met all three (split DER
    unchanged); the test puts 10 s of music before a real call.
    """
    return [
        r
        for r in regions
        if r.end - r.start <= UNHEARD_SECONDS
        or r.vad_share >= UNHEARD_VAD_SHARE
        or any(inside(start, end, [r]) for start, end in words)
    ]
