"""Export a torch module to ONNX once, into the model cache, and open it on ONNX Runtime (CPU).

Shared by the two CPU speed-ups (segmentation-3.0 and CAM++'s trunk): the
export file is named after the weights' hash so new weights never meet an old
export, and written to a temp file renamed atomically so that two workers
starting together cannot read half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

OPSET = 17


def cached_export_path(weights: Path, cache_dir: Path, name: str) -> Path:
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    return cache_dir / f"{name}-{digest}.onnx"


def export_atomically(
    module: torch.nn.Module,
    example: torch.Tensor,
    target: Path,
    input_name: str,
    dynamic_axes: dict[str, dict[int, str]] | None = None,
) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        torch.onnx.export(
            module.eval(),
            (example,),
            tmp,
            input_names=[input_name],
            output_names=["output"],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter handles LSTMs without extra packages
        )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def cpu_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(threads, 1)
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
