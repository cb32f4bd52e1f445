"""Run one call through the stages: decode -> (ASR || diarization) -> [recheck] -> assign -> result.

The :class:`Processor` protocol is the seam between the job runner and the
models: the runner knows nothing of audio, and tests can plug in a fake.
Progress is reported at stage boundaries with fixed weights that roughly match
measured stage costs on CPU (diarization dominates).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from .asr import unwritten
from .channels.regions import union
from .channels.voices import PARTY, SECOND, restrict, voice_at
from .diarization.voiceprints import EMBEDDING_KEY, Voiceprint, prints_to_json, renamed
from .language import CallLanguages, LanguageChoice
from .options import JobOptions
from .output.redaction import redact_turns
from .output.result import build_result
from .output.turns import build_overlapping_turns
from .types import SpeakerTurn
from .workers import StageWorkers

ProgressCallback = Callable[[float, str], None]

# Cumulative progress after each stage.
PROGRESS = {"decoded": 0.10, "transcribed": 0.35, "diarized": 0.80, "assigned": 0.95}


class Processor(Protocol):
    async def process(
        self, audio_path: Path, decoded_path: Path, options: JobOptions, report: ProgressCallback
    ) -> dict[str, Any]: ...


class CallProcessor:
    """The real pipeline over the stage worker processes."""

    def __init__(
        self,
        workers: StageWorkers,
        max_audio_seconds: float,
        max_pause: float = 1.5,
        channel_voices: bool = True,
    ) -> None:
        self.workers = workers
        self.max_audio_seconds = max_audio_seconds
        self.max_pause = max_pause
        self.channel_voices = channel_voices

    async def process(
        self, audio_path: Path, decoded_path: Path, options: JobOptions, report: ProgressCallback
    ) -> dict[str, Any]:
        started = time.perf_counter()
        timings: dict[str, float] = {}

        t = time.perf_counter()
        # in the decoder process: FFmpeg never parses an upload inside the API process
        duration, split = await self.workers.decode(
            audio_path, decoded_path, self.max_audio_seconds, options.channel_mode
        )
        timings["decode"] = time.perf_counter() - t
        report(PROGRESS["decoded"], "decoded")

        prints: dict[str, Voiceprint] = {}  # issue #23: each speaker's voiceprint, filled by the stage
        if split:
            turns, names, timeline, language = await self._split_channels(
                decoded_path, options, report, timings, prints
            )
        else:
            turns, names, timeline, language = await self._mixed(
                decoded_path, options, report, timings, prints
            )
        if options.redact_pii:
            # before build_result: the unredacted words are never stored anywhere
            turns = redact_turns(turns)
        report(PROGRESS["assigned"], "assigned")

        result = build_result(
            language=(language.call.language, language.call.probability),  # issue #22
            languages=language.payload(),
            turns=turns,
            names=names,
            diarization=timeline,
            audio_duration=duration,
            processing_time=time.perf_counter() - started,
            models={
                "asr": self.workers.asr.info.get("model", "?"),
                "diarization": "channels" if split else self.workers.diarization.info.get("model", "?"),
            },
            stage_seconds=timings,
            channel_mode="split" if split else "mixed",
        )
        result[EMBEDDING_KEY] = prints_to_json(prints)  # issue #23: the job runner pops it before storing
        return result

    async def embed_voice(
        self, audio_path: Path, decoded_path: Path, max_seconds: float
    ) -> Voiceprint | None:
        """Issue #23, enrolment from a recording of one voice: decode it, then print its main voice."""
        await self.workers.decode(audio_path, decoded_path, max_seconds, "mixed")
        return await self.workers.embed_voice(decoded_path)

    async def _mixed(
        self, decoded_path: Path, options: JobOptions, report: ProgressCallback, timings, prints
    ):
        """Down-mixed audio: ASR and diarization run concurrently, then words get speakers."""
        asr, diarization = await _concurrently(
            report,
            timings,
            asr=self.workers.transcribe(decoded_path, **_asr_options(options)),
            diarization=self.workers.diarize(
                decoded_path,
                num_speakers=options.num_speakers,
                min_speakers=options.min_speakers,
                max_speakers=options.max_speakers,
                voiceprints=True,  # issue #23
            ),
        )
        for step, seconds in diarization.timings.items():
            timings[f"diarization.{step}"] = seconds
        t = time.perf_counter()
        # issue #22: the diarizer's speech that ASR wrote no words for, decoded again
        words = [w for seg in asr.segments for w in seg.words]
        stretches = unwritten.unwritten(heard_by_diarizer(diarization.turns), words)
        if stretches and self.workers.asr.config.recheck_unwritten:
            asr = await self.workers.recheck(
                decoded_path, asr, stretches, initial_prompt=options.initial_prompt, hotwords=options.hotwords
            )
            timings["asr_recheck"] = time.perf_counter() - t
        t = time.perf_counter()
        turns, names, timeline = await self.workers.assign(asr, diarization, self.max_pause, decoded_path)
        timings["assign"] = time.perf_counter() - t
        prints.update(renamed(diarization.voiceprints, names))
        # issue #22: one channel, the mix
        choice = LanguageChoice(asr.language, asr.language_probability)
        return turns, names, timeline, CallLanguages(choice, {"mixed": choice})

    async def _split_channels(
        self, decoded_path: Path, options: JobOptions, report: ProgressCallback, timings, prints
    ):
        """One party per channel, plus a second voice where one shares a channel; words interleaved by time.

        ASR runs per channel in its worker while the diarization worker finds
        the voices in each channel (:mod:`.channels.voices`).
        """
        stages = {"asr": self.workers.transcribe_channels(decoded_path, **_asr_options(options))}
        if self.channel_voices:
            limit = options.num_speakers or options.max_speakers  # at most two: one per channel
            stages["channel_voices"] = self.workers.channel_voices(decoded_path, limit is None or limit > 2)
        per_channel, *found = await _concurrently(report, timings, **stages)
        voices = (
            [spans for spans, _ in found[0]]
            if found
            else [[SpeakerTurn(r.start, r.end, PARTY) for r in regions] for _, regions in per_channel]
        )
        # issue #23: each line's party and second voice, printed under the names the result gives them
        for name, (_, found_prints) in zip(options.channel_names, found[0] if found else [], strict=False):
            prints.update({name if role == PARTY else f"{name}_2": vp for role, vp in found_prints.items()})

        words, timeline = [], []
        for name, (asr, regions), spans in zip(options.channel_names, per_channel, voices, strict=True):
            speaker_of = {PARTY: name, SECOND: f"{name}_2"}
            for seg in asr.segments:
                for word in seg.words:
                    voice = voice_at(spans, word.start, word.end)
                    if voice is not None:  # words of background talk are dropped with it
                        word.speaker = speaker_of[voice]
                        words.append(word)
            # the ASR worker's regions are the final ones (hold music dropped): voices inside them
            timeline += [SpeakerTurn(t.start, t.end, speaker_of[t.speaker]) for t in restrict(spans, regions)]
        words.sort(key=lambda w: (w.start, w.end))
        turns = build_overlapping_turns(words, self.max_pause)
        names = {name: name for name in [*options.channel_names, *(t.speaker for t in timeline)]}
        for label in [label for label in prints if label not in names]:  # issue #23: no voice left
            del prints[label]
        # issue #22: the call's language (from both channels), and each channel's
        call = LanguageChoice(*(per_channel[0][0].call_language or (per_channel[0][0].language, 0.0)))
        chosen = {
            name: LanguageChoice(asr.language, asr.language_probability)
            for name, (asr, _) in zip(options.channel_names, per_channel, strict=True)
        }
        return turns, names, sorted(timeline, key=lambda t: t.start), CallLanguages(call, chosen)


def heard_by_diarizer(turns: list[SpeakerTurn]) -> list[tuple[float, float]]:
    """Where the diarizer heard someone talk: every speaker's turns, joined where they overlap or touch.

    Issue #22: the batched decoder decodes only what Silero hears, and Silero
    misses read-out digits and talk over babble that segmentation-3.0 hears;
    the stretches of this speech with no words are decoded again.  Mono DER
    c=0.25 on the dev calls (seeds 1-4, mixed noise and babble, 48 calls)
    9.10 -> 8.72 %, and WER 30.4 -> 24.0 % (mixed noise) and 33.8 -> 28.0 %
    (babble): the digit-pause cut finds the read-out numbers it could not
    see without their words.  WER better on 29 calls, worse on 1 (+0.7
    points); DER better on 12, worse on none.  It decoded 10 % of the audio
    again, 0.03 x real time of ASR on two cores (bench/README.md, "Speech
    the diarizer heard and ASR did not").
    """
    return union([(turn.start, turn.end) for turn in turns])


async def _concurrently(report: ProgressCallback, timings: dict[str, float], **stages) -> list[Any]:
    """Await the named stage coroutines together, timing each and reporting progress as each ends.

    Stages run in parallel worker processes, so progress follows how many
    have finished (the first to end is taken as transcription, the rest as
    diarization, by their measured weights).
    """
    done = 0

    async def timed(name: str, coro):
        nonlocal done
        t0 = time.perf_counter()
        out = await coro
        timings[name] = time.perf_counter() - t0
        done += 1
        report(PROGRESS["transcribed"] if done == 1 else PROGRESS["diarized"], f"{name} done")
        return out

    return list(await asyncio.gather(*(timed(name, coro) for name, coro in stages.items())))


def _asr_options(options: JobOptions) -> dict[str, Any]:
    return {
        "language": options.language,
        "initial_prompt": options.initial_prompt,
        "hotwords": options.hotwords,
    }
