"""Run segmentation-3.0 on ONNX Runtime instead of torch (CPU only), sharing its first layer.

Segmentation became the largest diarization cost once embeddings were
computed once per file: the 10 s window slides by 1 s, so every second of a
call goes through SincNet and the 4-layer LSTM ten times.  Three savings:

* The network after its first layer runs on ONNX Runtime, ~1.4x faster than
  torch on one CPU thread (1.07 s vs 1.48 s for 32 windows, outputs equal to
  4e-4; bench/README.md).  Dynamic int8 quantisation was tried and rejected:
  no faster, and a quarter of the frames changed class.
* The first layer (80 sinc band-pass filters of 251 taps, stride 10; a quarter
  of the ONNX time) is linear, and the per-window normalisation before it is
  affine, so a batch of overlapping windows needs it only once over the span
  they cover: ``conv(norm(x)) = a * conv(x) + b * sum(filter)`` with ``a``
  and ``b`` from each window's mean and deviation.  With 8 windows at a 1 s
  hop that is 17 s of audio instead of 80 s through the filters, with the
  same result to float rounding.

* On CPUs with bfloat16 instructions (AVX512-BF16, AMX) the 4-layer LSTM,
  70 % of what is left, runs in torch under bf16 autocast instead: 10 ms per
  window against 18 ms on ONNX Runtime in fp32 (at about 90 GFLOP/s, near
  what one core does in fp32).  Then only the convolutions are exported.
  It changes 1 % of frame decisions; DER moved within the noise of the
  small dev sets, in both directions (bench/README.md, "bf16").

The export happens once, into the model cache, named after the weights' hash;
pyannote's ``Inference`` keeps using the model object for its metadata and
only ``forward`` is redirected.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .onnx_export import cached_export_path, cpu_session, export_atomically

WINDOW_SAMPLES = 160_000  # segmentation-3.0's 10 s window at 16 kHz


def onnx_path(weights: Path, cache_dir: Path, bf16: bool = False) -> Path:
    """The export: the network after its first layer, or (bf16) only its convolutions."""
    name = "segmentation-3.0-sinc-convs" if bf16 else "segmentation-3.0-after-sinc"
    return cached_export_path(weights, cache_dir, name)


def cpu_has_bf16() -> bool:
    """Does this CPU run bf16 natively (oneDNN)?  Elsewhere bf16 would be emulated, and slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class _AfterSincConv(torch.nn.Module):
    """SincNet from its first layer's output on: |x| -> pool -> norm -> conv blocks."""

    def __init__(self, sincnet: torch.nn.Module) -> None:
        super().__init__()
        self.sincnet = sincnet

    def forward(self, filtered: torch.Tensor) -> torch.Tensor:
        s = self.sincnet
        out = F.leaky_relu(s.norm1d[0](s.pool1d[0](torch.abs(filtered))))
        for conv, pool, norm in zip(s.conv1d[1:], s.pool1d[1:], s.norm1d[1:], strict=True):
            out = F.leaky_relu(norm(pool(conv(out))))
        return out


def export(model: torch.nn.Module, target: Path, bf16: bool = False) -> Path:
    """Export the network minus its first layer (bf16: only the convolutions after it)."""
    example = torch.zeros(2, 80, SharedSincConv(model).frames(WINDOW_SAMPLES))
    if bf16:
        convs = _AfterSincConv(copy.deepcopy(model.sincnet)).eval()
        axes = {"filtered": {0: "batch", 2: "steps"}, "output": {0: "batch", 2: "frames"}}
        return export_atomically(convs, example, target, "filtered", axes)
    tail = copy.deepcopy(model).eval()
    tail.sincnet = _AfterSincConv(tail.sincnet)  # PyanNet.forward now starts after the filters
    axes = {"filtered": {0: "batch", 2: "steps"}, "output": {0: "batch", 1: "frames"}}
    return export_atomically(tail, example, target, "filtered", axes)


def recurrence_in_bf16(model: torch.nn.Module):
    """PyanNet after SincNet (LSTM, linear layers, classifier), in torch under bf16 autocast.

    A copy of the model whose SincNet is an identity runs PyanNet's own
    ``forward`` on the convolutions' output from ONNX Runtime.
    """
    tail = copy.deepcopy(model).eval()
    tail.sincnet = torch.nn.Identity()

    @torch.inference_mode()
    def run(features: np.ndarray) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return tail(torch.from_numpy(features)).float()

    return run


class SharedSincConv:
    """SincNet's normalisation + first layer for a batch of windows, once per span of overlapping windows."""

    def __init__(self, model: torch.nn.Module, hop_samples: int | None = None) -> None:
        sincnet = model.sincnet
        with torch.inference_mode():
            self.filters = sincnet.conv1d[0].filterbank.filters().detach().clone()  # (80, 1, 251)
        self.filter_sums = self.filters.sum(dim=-1).numpy()  # (80, 1)
        self.stride = int(sincnet.stride)
        norm = sincnet.wav_norm1d
        self.gain, self.shift = float(norm.weight.detach()), float(norm.bias.detach())
        self.eps = float(norm.eps)
        self.hop = hop_samples if hop_samples and hop_samples % self.stride == 0 else None

    def frames(self, samples: int) -> int:
        return (samples - self.filters.shape[-1]) // self.stride + 1

    def __call__(self, waveforms: np.ndarray) -> np.ndarray:
        """(B, 1, T) windows -> (B, 80, frames), as ``conv1d[0](wav_norm1d(windows))``."""
        x = waveforms[:, 0].astype(np.float64)
        mean, var = x.mean(axis=1), x.var(axis=1)
        a = (self.gain / np.sqrt(var + self.eps)).astype(np.float32)  # InstanceNorm1d(1, affine): a*x + b
        b = (self.shift - a * mean).astype(np.float32)
        n = self.frames(waveforms.shape[-1])
        out = np.empty((len(x), self.filters.shape[0], n), dtype=np.float32)
        for first, last in self._runs(waveforms):
            span = waveforms[first, 0]
            if last > first:
                span = np.concatenate(
                    [span, *(waveforms[i, 0, -self.hop :] for i in range(first + 1, last + 1))]
                )
            with torch.inference_mode():
                filtered = F.conv1d(
                    torch.from_numpy(np.ascontiguousarray(span))[None, None], self.filters, stride=self.stride
                )[0].numpy()
            for i in range(first, last + 1):
                offset = (i - first) * (self.hop or 0) // self.stride
                np.multiply(filtered[:, offset : offset + n], a[i], out=out[i])
                out[i] += b[i] * self.filter_sums
        return out

    def _runs(self, waveforms: np.ndarray) -> list[tuple[int, int]]:
        """Maximal runs of windows each one hop after the previous; any other window starts a run."""
        runs, first = [], 0
        for i in range(1, len(waveforms) + 1):
            consecutive = (
                self.hop is not None
                and i < len(waveforms)
                and np.array_equal(waveforms[i - 1, 0, self.hop :], waveforms[i, 0, : -self.hop])
            )
            if not consecutive:
                runs.append((first, i - 1))
                first = i
        return runs


def run_on_onnx(
    model: torch.nn.Module,
    weights: Path,
    cache_dir: Path,
    threads: int,
    hop_samples: int | None = None,
    bf16: bool = False,
) -> Path:
    """Redirect ``model.forward`` to the shared first layer + an ONNX Runtime session for the rest.

    *hop_samples*: the sliding-window step, so that overlapping windows share the first layer.
    *bf16*: the session only runs the convolutions; the LSTM and heads run in torch in bf16.
    """
    path = onnx_path(weights, cache_dir, bf16)
    if not path.exists():
        export(model, path, bf16)
    session = cpu_session(path, threads)
    first_layer = SharedSincConv(model, hop_samples)
    recurrence = recurrence_in_bf16(model) if bf16 else None

    def forward(waveforms: torch.Tensor) -> torch.Tensor:
        filtered = first_layer(waveforms.detach().cpu().numpy().astype(np.float32, copy=False))
        outputs = session.run(None, {"filtered": filtered})[0]
        return recurrence(outputs) if recurrence else torch.from_numpy(outputs)

    model.forward = forward  # instance attribute: nn.Module.__call__ finds it first
    return path
