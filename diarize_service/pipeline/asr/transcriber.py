"""Speech recognition stage: faster-whisper with word timestamps.

Why faster-whisper's ``BatchedInferencePipeline`` and not ``whisperx.load_model``:
whisperx's batched pipeline drops word timestamps and expects a wav2vec2
alignment model from the hub afterwards, which cannot be fetched offline.
faster-whisper's batched pipeline keeps Whisper's own cross-attention word
timings (``word_timestamps=True``) and uses its bundled Silero VAD (ONNX) to
cut speech into batches, so it runs entirely from local files.

The batched pipeline decodes greedily without Whisper's temperature fallback,
so it can loop on read-out digits, or write words with no audio under them;
such stretches are decoded once more sequentially, with beam search and no
4-gram repeated (:mod:`.loops`).  Speech it wrote no words for is decoded
once more, each stretch in a chunk of its own (:mod:`.unwritten`).

The language is decided before decoding, from several windows of the call's
clearest speech (:mod:`.language_probe`, :mod:`..language`), not by the
batched decoder from the first 30 s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel

from ...models.registry import WhisperModelSpec
from ..audio import SAMPLE_RATE
from ..language import LanguageChoice, LanguagePolicy, decide
from ..types import AsrResult, AsrSegment, Word
from . import unwritten
from .language_probe import probe
from .loops import Stretch, collapse, find_loops, find_stacked, merge

REDO_CONTEXT = 0.5  # seconds of audio around a made-up stretch when it is decoded again
# Decoding a made-up stretch again: beam search at temperature 0, no 4-gram twice.  Whisper's
# temperature fallback samples, and CTranslate2's random generator cannot be re-seeded per call
# (one per worker thread, seeded once), so with it the same call came back with 87, 48 and 91
# words for one digit-reading channel on three runs.  Deterministic decoding was as accurate:
# split-channel WER on 18 dev + benchmark calls 30.4 % (sampled) -> 30.2 % at temperature 0,
# 30.1 % with the 4-gram block, which also did best on the looping channels themselves
# (bench/README.md, "WER").
REDO_OPTIONS = {"temperature": 0.0, "beam_size": 5, "no_repeat_ngram_size": 4}


class Transcriber:
    """Loads one Whisper model; ``__call__`` transcribes 16 kHz mono float32 audio."""

    def __init__(
        self,
        spec: WhisperModelSpec,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        batch_size: int = 8,
        download_root: str | None = None,
        recheck_unwritten: bool = True,
        language_policy: LanguagePolicy | None = None,
    ) -> None:
        self.spec = spec
        self.batch_size = batch_size
        self.recheck_unwritten = recheck_unwritten
        self.language_policy = language_policy or LanguagePolicy()
        self.model = WhisperModel(
            spec.path,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            download_root=download_root,
            local_files_only=spec.local,
        )
        self.pipeline = BatchedInferencePipeline(self.model)

    def warm_up(self) -> None:
        """Decode two seconds of quiet noise once, at start-up.

        On the H200 the first job's ASR took 14 s more than its audio needed
        (CUDA context, cuBLAS, kernels compiled for the card on first use).
        Decoding once here moves such one-time costs before ``/health``
        reports ready.  On an H100 a fresh worker's first ASR then took
        0.016 x real time (0.48 on the H200 without it); on two CPU cores the
        first job was not slower to begin with, and this costs about 1.5 s
        of start-up (bench/README.md, "DEVICE=cuda, again on an H100").
        """
        noise = np.random.default_rng(0).normal(0.0, 0.01, 2 * SAMPLE_RATE).astype(np.float32)
        segments, _ = self.pipeline.transcribe(
            noise,
            batch_size=self.batch_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
            max_new_tokens=8,  # noise gets a few made-up words; no need for more
        )
        list(segments)

    @property
    def multilingual(self) -> bool:
        return self.model.model.is_multilingual

    def choose_languages(
        self, channels: Sequence[np.ndarray], language: str | None = None
    ) -> tuple[LanguageChoice, list[LanguageChoice]]:
        """The call's language and each channel's, from all channels' speech (*language* forces one)."""
        if language or not self.multilingual:
            forced = LanguageChoice(language or "en", 1.0)
            return forced, [forced for _ in channels]
        policy = self.language_policy
        return decide([probe(self.model, audio, policy) for audio in channels], policy)

    def __call__(
        self,
        audio: np.ndarray,
        language: str | None = None,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
        choice: LanguageChoice | None = None,
    ) -> AsrResult:
        """Words of *audio*, in *choice*'s language (decided here from *audio* alone when not given)."""
        if choice is None:
            _, (choice,) = self.choose_languages([audio], language)
        raw = self.decode(audio, choice.language, initial_prompt, hotwords)
        raw.language_probability = choice.probability
        for seg in raw.segments:
            self._redo_made_up(seg, audio, raw.language, initial_prompt, hotwords)
        # a segment that was all made up is gone (turns and transcripts are built from words)
        raw.segments = [seg for seg in raw.segments if seg.words]
        if self.recheck_unwritten:
            raw = self.recheck(audio, raw, unwritten.speech_spans(audio), initial_prompt, hotwords)
        return raw

    def recheck(
        self,
        audio: np.ndarray,
        asr: AsrResult,
        speech: Sequence[tuple[float, float]],
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> AsrResult:
        """*asr* with the stretches of *speech* it wrote no words for decoded again, in its language.

        ``__call__`` passes Silero's speech; a mono call passes the diarizer's
        speech too, once diarization is done (issue #22): segmentation-3.0
        hears read-out digits and talk over babble that Silero at 0.5 misses,
        and the batched decoder only decodes what Silero heard.  Does nothing
        when RECHECK_UNWRITTEN_SPEECH is off.
        """
        if self.recheck_unwritten:
            asr.segments += self._decode_unwritten(audio, asr, speech, initial_prompt, hotwords)
            asr.segments.sort(key=lambda seg: seg.start)
        return asr

    def decode(
        self,
        audio: np.ndarray,
        language: str | None = None,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> AsrResult:
        """The batched decoder's own output, made-up stretches included (``__call__`` redoes them)."""
        if language and not self.multilingual and language != "en":
            raise ValueError(
                f"Whisper model '{self.spec.name}' is English-only; language '{language}' needs a "
                "multilingual model such as 'base'."
            )
        segments, info = self.pipeline.transcribe(
            audio,
            language=language or None,
            batch_size=self.batch_size,
            word_timestamps=True,
            vad_filter=True,
            initial_prompt=initial_prompt,
            hotwords=hotwords,
            condition_on_previous_text=False,
        )
        out = [to_segment(seg) for seg in segments]
        return AsrResult(info.language, float(info.language_probability), out)

    def _decode_unwritten(
        self,
        audio: np.ndarray,
        raw: AsrResult,
        speech: Sequence[tuple[float, float]],
        initial_prompt: str | None,
        hotwords: str | None,
    ) -> list[AsrSegment]:
        """Segments for the *speech* *raw* has no words on, each stretch decoded in a chunk of its own."""
        words = [w for seg in raw.segments for w in seg.words]
        stretches = unwritten.unwritten(speech, words)
        if not stretches:
            return []
        segments, _ = self.pipeline.transcribe(
            audio,
            language=raw.language,
            batch_size=self.batch_size,
            word_timestamps=True,
            clip_timestamps=unwritten.clips(stretches, len(audio) / SAMPLE_RATE),
            initial_prompt=initial_prompt,
            hotwords=hotwords,
            condition_on_previous_text=False,
        )
        out = []
        for seg in map(to_segment, segments):
            seg.words = collapse(seg.words, made_up(seg.words))
            if seg.words:
                seg.text = text_of(seg.words)
                seg.start, seg.end = seg.words[0].start, seg.words[-1].end
                out.append(seg)
        return out

    def _redo_made_up(
        self, seg: AsrSegment, audio: np.ndarray, language: str, initial_prompt, hotwords
    ) -> None:
        """Decode each made-up stretch of *seg* again, sequentially; drop what is still made up."""
        stretches = made_up(seg.words)
        if not stretches:
            return
        words = list(seg.words)
        for stretch in reversed(stretches):  # from the end, so earlier indices stay valid
            start = max(0.0, words[stretch.start].start - REDO_CONTEXT)
            end = words[stretch.end - 1].end + REDO_CONTEXT
            redone, _ = self.model.transcribe(
                audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)],
                language=language,
                word_timestamps=True,
                vad_filter=True,
                initial_prompt=initial_prompt,
                hotwords=hotwords,
                condition_on_previous_text=False,
                **REDO_OPTIONS,
            )
            again = [_shifted(w, start) for s in redone for w in to_segment(s).words]
            words[stretch.start : stretch.end] = collapse(again, made_up(again))
        seg.words = words
        seg.text = text_of(words)
        if words:
            seg.start = min(seg.start, words[0].start)
            seg.end = max(seg.end, words[-1].end)


def made_up(words: list[Word]) -> list[Stretch]:
    """Loops and stacked repeats of one segment, merged where they overlap."""
    text = [w.word for w in words]
    return merge(find_loops(text) + find_stacked(text, [w.start for w in words]))


def text_of(words: list[Word]) -> str:
    """A segment's text from its words (each carries its own leading space)."""
    return "".join(w.word for w in words).strip()


def to_segment(seg) -> AsrSegment:
    """A faster-whisper segment as ours: plain floats, and no whitespace-only words."""
    words = [
        Word(float(w.start), float(w.end), w.word, float(w.probability))
        for w in (seg.words or [])
        if w.word.strip()
    ]
    return AsrSegment(float(seg.start), float(seg.end), seg.text.strip(), words)


def _shifted(word: Word, offset: float) -> Word:
    return Word(word.start + offset, word.end + offset, word.word, word.probability)
