"""segmentation-3.0 on ONNX Runtime gives the torch model's output on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pyannote.audio import Model

from diarize_service.models.registry import resolve_diarization
from diarize_service.pipeline.audio import decode
from diarize_service.pipeline.onnx_segmentation import onnx_path, run_on_onnx


@pytest.fixture(scope="module")
def windows(sample_wav) -> torch.Tensor:
    audio = decode(sample_wav)  # 30 s, two speakers
    starts = range(0, len(audio) - 160_000 + 1, 40_000)
    return torch.from_numpy(np.stack([audio[s : s + 160_000] for s in starts])[:, None])


def test_onnx_segmentation_matches_torch(windows, tmp_path):
    spec = resolve_diarization("bundled", None, False)
    reference = Model.from_pretrained(str(spec.segmentation_path)).eval()
    accelerated = Model.from_pretrained(str(spec.segmentation_path)).eval()
    exported = run_on_onnx(accelerated, spec.segmentation_path, tmp_path, threads=1)
    assert exported == onnx_path(spec.segmentation_path, tmp_path) and exported.exists()

    with torch.inference_mode():
        expected = reference(windows).numpy()
        got = accelerated(windows).numpy()
    assert got.shape == expected.shape  # (windows, frames, powerset classes)
    assert np.abs(got - expected).max() < 1e-2
    assert (got.argmax(-1) == expected.argmax(-1)).mean() > 0.999

    # a second worker reuses the export instead of writing it again
    mtime = exported.stat().st_mtime_ns
    run_on_onnx(Model.from_pretrained(str(spec.segmentation_path)), spec.segmentation_path, tmp_path, 1)
    assert exported.stat().st_mtime_ns == mtime


def test_a_failed_export_falls_back_to_torch(tmp_path, monkeypatch):
    from diarize_service.pipeline import diarization

    def broken_export(model, target):
        raise RuntimeError("exporter unavailable")

    monkeypatch.setattr("diarize_service.pipeline.onnx_segmentation.export", broken_export)
    spec = resolve_diarization("bundled", None, False)
    model = Model.from_pretrained(str(spec.segmentation_path))
    assert diarization._try_onnx(model, spec.segmentation_path, tmp_path, threads=1) is False
    assert "forward" not in vars(model)  # still torch's own forward
    assert not list(tmp_path.iterdir())
