"""Result shape: transcript lines and speaker statistics."""

from __future__ import annotations

import re

import pytest

from diarize_service.pipeline.output.result import build_result, transcript_line
from diarize_service.pipeline.output.turns import Turn
from diarize_service.pipeline.types import SpeakerTurn, Word


def test_transcript_line_format():
    assert transcript_line("Speaker_01", 0, 5.234, "Hello, thank you for calling") == (
        "Speaker_01 [0.00s - 5.23s]: Hello, thank you for calling"
    )


@pytest.fixture
def result():
    turns = [
        Turn("X", [Word(0.5, 1.0, " Good", 0.9, "X"), Word(1.0, 1.5, " morning.", 0.9, "X")]),
        Turn("Y", [Word(2.0, 3.0, " Hi.", 0.8, "Y")]),
        Turn("X", [Word(3.5, 4.5, " How", 0.9, "X"), Word(4.5, 5.0, " can", 0.9, "X")]),
    ]
    return build_result(
        language=("en", 0.99),
        turns=turns,
        names={"X": "Speaker_01", "Y": "Speaker_02"},
        diarization=[SpeakerTurn(0.4, 1.6, "X"), SpeakerTurn(1.9, 3.1, "Y")],
        audio_duration=6.0,
        processing_time=1.0,
        models={"asr": "base", "diarization": "d"},
        stage_seconds={"asr": 0.5},
    )


def test_result_has_the_documented_shape(result):
    lines = result["transcript"].splitlines()
    assert lines[0] == "Speaker_01 [0.50s - 1.50s]: Good morning."
    assert all(re.fullmatch(r"Speaker_\d\d \[\d+\.\d\ds - \d+\.\d\ds\]: .+", line) for line in lines)
    assert result["total_speakers"] == 2
    assert [s["speaker"] for s in result["segments"]] == ["Speaker_01", "Speaker_02", "Speaker_01"]
    assert result["segments"][0]["words"][1] == {
        "start": 1.0,
        "end": 1.5,
        "word": "morning.",
        "probability": 0.9,
        "speaker": "Speaker_01",
    }
    assert result["diarization"][1]["speaker"] == "Speaker_02"


def test_speaker_statistics(result):
    s1, s2 = result["speakers"]["Speaker_01"], result["speakers"]["Speaker_02"]
    assert s1 == {
        "total_duration": 2.5,
        "percentage": pytest.approx(71.43),
        "segment_count": 2,
        "word_count": 4,
    }
    assert s2["total_duration"] == 1.0 and s2["segment_count"] == 1 and s2["word_count"] == 1
    assert s1["percentage"] + s2["percentage"] == pytest.approx(100, abs=0.02)
