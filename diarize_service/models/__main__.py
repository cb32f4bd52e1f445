"""``python -m diarize_service.models prepare``: resolve (and join) the configured models.

Run by ``./build.sh`` and the Dockerfile so that the first request does not
pay for joining whisper-base or exporting segmentation-3.0 to ONNX, and so a
missing model is reported at build time.
"""

from __future__ import annotations

import sys

from ..config import Settings
from .registry import ModelNotFoundError, resolve_diarization, resolve_whisper


def main(argv: list[str]) -> int:
    if argv[:1] != ["prepare"]:
        print("usage: python -m diarize_service.models prepare", file=sys.stderr)
        return 2
    settings = Settings()
    try:
        whisper = resolve_whisper(
            settings.whisper_model, settings.model_cache_dir, settings.allow_model_download
        )
        diarization = resolve_diarization(
            settings.diarization_model, settings.huggingface_token, settings.allow_model_download
        )
    except ModelNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"whisper: {whisper.name} -> {whisper.path}")
    print(
        f"diarization: {diarization.name} -> {diarization.pipeline or diarization.segmentation_path.parent}"
    )
    if diarization.bundled and settings.segmentation_runtime == "onnx" and settings.device == "cpu":
        print(f"segmentation on ONNX Runtime: {_export_segmentation(diarization, settings)}")
    if diarization.bundled and settings.embedding_runtime == "onnx" and settings.device == "cpu":
        print(f"embedding trunk on ONNX Runtime: {_export_embedding_trunk(diarization, settings)}")
    return 0


def _export_segmentation(diarization, settings: Settings):
    """Export segmentation-3.0 to ONNX now rather than at the first start of a worker."""
    from pyannote.audio import Model

    from ..pipeline.diarization.diarizer import use_bf16
    from ..pipeline.diarization.onnx_segmentation import export, onnx_path

    bf16 = use_bf16(settings.segmentation_precision)
    target = onnx_path(diarization.segmentation_path, settings.model_cache_dir, bf16)
    if not target.exists():
        export(Model.from_pretrained(str(diarization.segmentation_path)), target, bf16)
    return target


def _export_embedding_trunk(diarization, settings: Settings):
    """Export CAM++'s trunk to ONNX now rather than at the first start of a worker."""
    from ..pipeline.diarization.embedding import CamPlusPlusEmbedding, FileTrunkEmbedder

    trunk = FileTrunkEmbedder(CamPlusPlusEmbedding(diarization.embedding_path))
    return trunk.use_onnx(diarization.embedding_path, settings.model_cache_dir, threads=1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
