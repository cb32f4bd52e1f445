"""segmentation-3.0 and CAM++'s trunk on ONNX Runtime give the torch models' outputs on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pyannote.audio import Model

from diarize_service.models.registry import resolve_diarization
from diarize_service.pipeline.audio import decode
from diarize_service.pipeline.diarization.onnx_segmentation import (
    SharedSincConv,
    cpu_has_bf16,
    onnx_path,
    run_on_onnx,
)

HOP = 16_000  # 1 s, the service's default step


@pytest.fixture(scope="module")
def windows(sample_wav) -> torch.Tensor:
    """10 s windows of the sample at a 1 s hop and a zero-padded last one, as pyannote makes them."""
    audio = decode(sample_wav)  # 30 s, two speakers
    starts = range(0, len(audio) - 160_000 + 1, HOP)
    chunks = [audio[s : s + 160_000] for s in starts]
    tail = audio[starts[-1] + HOP :]
    chunks.append(np.pad(tail, (0, 160_000 - len(tail))))
    return torch.from_numpy(np.stack(chunks)[:, None].astype(np.float32))


def test_onnx_segmentation_matches_torch(windows, tmp_path):
    spec = resolve_diarization("bundled", None, False)
    reference = Model.from_pretrained(str(spec.segmentation_path)).eval()
    accelerated = Model.from_pretrained(str(spec.segmentation_path)).eval()
    exported = run_on_onnx(accelerated, spec.segmentation_path, tmp_path, threads=1, hop_samples=HOP)
    assert exported == onnx_path(spec.segmentation_path, tmp_path) and exported.exists()

    with torch.inference_mode():
        expected = np.concatenate([reference(windows[i : i + 8]).numpy() for i in range(0, len(windows), 8)])
        got = np.concatenate([accelerated(windows[i : i + 8]).numpy() for i in range(0, len(windows), 8)])
    assert got.shape == expected.shape  # (windows, frames, powerset classes)
    assert np.abs(got - expected).max() < 1e-2
    assert (got.argmax(-1) == expected.argmax(-1)).mean() > 0.999

    # a second worker reuses the export instead of writing it again
    mtime = exported.stat().st_mtime_ns
    run_on_onnx(Model.from_pretrained(str(spec.segmentation_path)), spec.segmentation_path, tmp_path, 1)
    assert exported.stat().st_mtime_ns == mtime


@pytest.mark.skipif(
    not cpu_has_bf16(), reason="this CPU has no native bf16 (SEGMENTATION_PRECISION=auto uses fp32)"
)
def test_bf16_lstm_keeps_the_frame_decisions(windows, tmp_path):
    """bf16 is not exact: it may only move probabilities a little and flip a few frames."""
    spec = resolve_diarization("bundled", None, False)
    reference = Model.from_pretrained(str(spec.segmentation_path)).eval()
    accelerated = Model.from_pretrained(str(spec.segmentation_path)).eval()
    exported = run_on_onnx(
        accelerated, spec.segmentation_path, tmp_path, threads=1, hop_samples=HOP, bf16=True
    )
    assert (
        exported
        == onnx_path(spec.segmentation_path, tmp_path, bf16=True)
        != onnx_path(spec.segmentation_path, tmp_path)
    )

    with torch.inference_mode():
        expected = np.concatenate([reference(windows[i : i + 8]).numpy() for i in range(0, len(windows), 8)])
        got = np.concatenate([accelerated(windows[i : i + 8]).numpy() for i in range(0, len(windows), 8)])
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.abs(np.exp(got) - np.exp(expected)).mean() < 0.01  # powerset probabilities
    assert (got.argmax(-1) == expected.argmax(-1)).mean() > 0.97


def test_auto_precision_follows_the_cpu():
    from diarize_service.pipeline.diarization.diarizer import use_bf16

    assert use_bf16("auto") == cpu_has_bf16()
    assert use_bf16("bf16") and not use_bf16("fp32")


def test_overlapping_windows_share_the_first_layer(windows):
    spec = resolve_diarization("bundled", None, False)
    model = Model.from_pretrained(str(spec.segmentation_path)).eval()
    shared = SharedSincConv(model, hop_samples=HOP)
    # the padded last window is still one hop after the one before (its zeros are its own last second)
    assert shared._runs(windows[-8:].numpy()) == [(0, 7)]
    batch = windows[[0, 1, 2, 10, 11, 12, 13, 21]].numpy()  # runs broken where the hop is not 1 s
    assert shared._runs(batch) == [(0, 2), (3, 6), (7, 7)]
    with torch.inference_mode():
        expected = model.sincnet.conv1d[0](model.sincnet.wav_norm1d(torch.from_numpy(batch))).numpy()
    got = shared(batch)
    assert np.abs(got - expected).max() < 1e-3 * np.abs(expected).max()
    # without a usable hop every window is its own run, with the same result
    assert SharedSincConv(model, hop_samples=HOP + 5)._runs(batch) == [(i, i) for i in range(8)]
    assert np.allclose(SharedSincConv(model)(batch), got, atol=1e-3 * np.abs(expected).max())


def test_a_failed_export_falls_back_to_torch(tmp_path, monkeypatch):
    from diarize_service.pipeline.diarization import diarizer as diarization

    def broken_export(*args, **kwargs):
        raise RuntimeError("exporter unavailable")

    monkeypatch.setattr(
        "diarize_service.pipeline.diarization.onnx_segmentation.export_atomically", broken_export
    )
    spec = resolve_diarization("bundled", None, False)
    model = Model.from_pretrained(str(spec.segmentation_path))
    speed_up = lambda: run_on_onnx(model, spec.segmentation_path, tmp_path, 1, HOP)  # noqa: E731
    assert diarization._try_onnx("segmentation", speed_up) is False
    assert "forward" not in vars(model)  # still torch's own forward
    assert not list(tmp_path.iterdir())


def test_campplus_trunk_on_onnx_matches_torch(sample_wav, tmp_path, monkeypatch):
    from diarize_service.pipeline.diarization.embedding import CamPlusPlusEmbedding, FileTrunkEmbedder

    spec = resolve_diarization("bundled", None, False)
    embedding = CamPlusPlusEmbedding(spec.embedding_path)
    audio = np.tile(decode(sample_wav), 3)  # 90 s of real speech: two full blocks and a short last one
    feats = embedding.features(torch.from_numpy(audio))
    on_torch, on_onnx = FileTrunkEmbedder(embedding), FileTrunkEmbedder(embedding)
    on_onnx.use_onnx(spec.embedding_path, tmp_path, threads=1)
    runs = []
    session_run = on_onnx._session.run
    monkeypatch.setattr(on_onnx._session, "run", lambda *a, **k: runs.append(1) or session_run(*a, **k))
    with torch.inference_mode():
        expected, got = on_torch._trunk_over_file(feats), on_onnx._trunk_over_file(feats)
    assert len(runs) == 2  # the full-length blocks went through ONNX Runtime
    assert got.shape == expected.shape
    assert (got - expected).abs().max() < 1e-3 * expected.abs().max()


def test_a_failed_trunk_export_keeps_torch(tmp_path, monkeypatch):
    from diarize_service.pipeline.diarization import diarizer as diarization
    from diarize_service.pipeline.diarization.embedding import CamPlusPlusEmbedding, FileTrunkEmbedder

    def broken_export(*args, **kwargs):
        raise RuntimeError("exporter unavailable")

    monkeypatch.setattr("diarize_service.pipeline.diarization.embedding.export_atomically", broken_export)
    spec = resolve_diarization("bundled", None, False)
    trunk = FileTrunkEmbedder(CamPlusPlusEmbedding(spec.embedding_path))
    speed_up = lambda: trunk.use_onnx(spec.embedding_path, tmp_path, 1)  # noqa: E731
    assert diarization._try_onnx("embedding", speed_up) is False
    assert trunk._session is None
