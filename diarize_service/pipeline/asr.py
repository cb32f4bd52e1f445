"""Speech recognition stage: faster-whisper with word timestamps.

Why faster-whisper's ``BatchedInferencePipeline`` and not ``whisperx.load_model``:
whisperx's batched pipeline drops word timestamps and expects a wav2vec2
alignment model from the hub afterwards, which cannot be fetched offline.
faster-whisper's batched pipeline keeps Whisper's own cross-attention word
timings (``word_timestamps=True``) and uses its bundled Silero VAD (ONNX) to
cut speech into batches, so it runs entirely from local files.
"""

from __future__ import annotations

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel

from ..models.registry import WhisperModelSpec
from .types import AsrResult, AsrSegment, Word


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
    ) -> None:
        self.spec = spec
        self.batch_size = batch_size
        self.model = WhisperModel(
            spec.path,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            download_root=download_root,
            local_files_only=spec.local,
        )
        self.pipeline = BatchedInferencePipeline(self.model)

    @property
    def multilingual(self) -> bool:
        return self.model.model.is_multilingual

    def __call__(
        self,
        audio: np.ndarray,
        language: str | None = None,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> AsrResult:
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
        out: list[AsrSegment] = []
        for seg in segments:
            words = [
                Word(float(w.start), float(w.end), w.word, float(w.probability))
                for w in (seg.words or [])
                if w.word.strip()
            ]
            out.append(AsrSegment(float(seg.start), float(seg.end), seg.text.strip(), words))
        return AsrResult(info.language, float(info.language_probability), out)
