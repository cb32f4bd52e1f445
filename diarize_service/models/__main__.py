"""``python -m diarize_service.models prepare``: resolve (and join) the configured models.

Run by ``./build.sh`` and the Dockerfile so that the first request does not
pay for joining whisper-base, and so a missing model is reported at build time.
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
