"""Model registry: bundled names resolve offline, anything else fails clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from diarize_service.models.registry import ModelNotFoundError, resolve_diarization, resolve_whisper


def test_tiny_en_resolves_to_the_bundled_package():
    spec = resolve_whisper("tiny.en", Path("unused"), allow_download=False)
    assert spec.local and (Path(spec.path) / "model.bin").is_file()


def test_base_is_joined_once_into_the_cache(tmp_path):
    spec = resolve_whisper("base", tmp_path, allow_download=False)
    model = Path(spec.path) / "model.bin"
    assert model.stat().st_size > 100_000_000
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (Path(spec.path) / name).is_file()
    mtime = model.stat().st_mtime_ns
    assert resolve_whisper("base", tmp_path, allow_download=False).path == spec.path
    assert model.stat().st_mtime_ns == mtime  # not rewritten
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".whisper-base-")]  # no staging left


def test_a_local_ctranslate2_directory_is_accepted(tmp_path):
    tiny = Path(resolve_whisper("tiny.en", tmp_path, False).path)
    assert resolve_whisper(str(tiny), tmp_path, False).path == str(tiny.resolve())


def test_unknown_whisper_model_names_itself_and_never_downloads(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"large-v3.*ALLOW_MODEL_DOWNLOAD"):
        resolve_whisper("large-v3", tmp_path, allow_download=False)
    # opting in returns the hub name for faster-whisper to fetch
    assert not resolve_whisper("large-v3", tmp_path, allow_download=True).local


def test_bundled_diarization_models_exist():
    spec = resolve_diarization("bundled", None, False)
    assert spec.bundled and spec.segmentation_path.is_file() and spec.embedding_path.is_file()


def test_gated_pipeline_needs_token_and_opt_in(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"speaker-diarization-3\.1"):
        resolve_diarization("pyannote/speaker-diarization-3.1", None, True)
    with pytest.raises(ModelNotFoundError):
        resolve_diarization("pyannote/speaker-diarization-3.1", "hf_token", False)
    assert resolve_diarization("pyannote/speaker-diarization-3.1", "hf_token", True).pipeline
    (tmp_path / "config.yaml").write_text("pipeline: {}\n")
    assert resolve_diarization(str(tmp_path), None, False).pipeline == str(tmp_path.resolve())


def test_env_example_documents_every_setting():
    from diarize_service.config import render_env_example

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    assert text.strip() == render_env_example().strip(), "regenerate: python -m diarize_service.config"
