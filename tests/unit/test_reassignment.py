"""Turn reassignment rules on synthetic embeddings (the real-model check is in tests/models)."""

from __future__ import annotations

import numpy as np

from diarize_service.pipeline.diarization.reassignment import Move, apply_moves, find_moves
from diarize_service.pipeline.types import SpeakerTurn

VOICE_A = np.array([1.0, 0.0, 0.0])
VOICE_B = np.array([0.0, 1.0, 0.0])


def embedder(voices: dict[tuple[float, float], np.ndarray]):
    """An embedding function that knows each stretch's true voice."""
    return lambda spans: np.stack([voices[span] for span in spans])


def test_a_stretch_in_the_wrong_cluster_moves_to_the_voice_it_sounds_like():
    turns = [
        SpeakerTurn(0.0, 4.0, "A"),
        SpeakerTurn(5.0, 9.0, "B"),
        SpeakerTurn(10.0, 13.0, "A"),  # really B: clustering got it wrong
        SpeakerTurn(14.0, 18.0, "A"),
    ]
    voices = {(0.0, 4.0): VOICE_A, (5.0, 9.0): VOICE_B, (10.0, 13.0): VOICE_B, (14.0, 18.0): VOICE_A}
    assert find_moves(turns, embedder(voices)) == [Move(10.0, 13.0, "A", "B")]


def test_a_long_stretch_is_judged_against_its_speakers_other_stretches():
    """Clustering gave A one long utterance of B's voice: with itself in A's centroid it would stay."""
    turns = [
        SpeakerTurn(0.0, 10.0, "A"),  # really B, and most of A's speech
        SpeakerTurn(11.0, 12.0, "A"),
        SpeakerTurn(13.0, 14.0, "A"),
        SpeakerTurn(15.0, 17.0, "B"),
        SpeakerTurn(18.0, 20.0, "B"),
    ]
    voices = {
        (0.0, 10.0): VOICE_B,
        (11.0, 12.0): VOICE_A,
        (13.0, 14.0): VOICE_A,
        (15.0, 17.0): VOICE_B,
        (18.0, 20.0): VOICE_B,
    }
    assert find_moves(turns, embedder(voices)) == [Move(0.0, 10.0, "A", "B")]


def test_a_stretch_only_slightly_closer_to_another_speaker_stays():
    turns = [SpeakerTurn(0.0, 4.0, "A"), SpeakerTurn(5.0, 9.0, "B"), SpeakerTurn(10.0, 13.0, "A")]
    between = np.array([0.69, 0.72, 0.0])  # near the middle: not a clear case
    voices = {(0.0, 4.0): VOICE_A, (5.0, 9.0): VOICE_B, (10.0, 13.0): between}
    assert find_moves(turns, embedder(voices), margin=0.05) == []


def test_short_stretches_are_neither_embedded_nor_moved():
    turns = [SpeakerTurn(0.0, 4.0, "A"), SpeakerTurn(5.0, 9.0, "B"), SpeakerTurn(9.5, 9.7, "A")]
    voices = {(0.0, 4.0): VOICE_A, (5.0, 9.0): VOICE_B}  # (9.5, 9.7) would raise KeyError
    assert find_moves(turns, embedder(voices), min_seconds=0.3) == []


def test_a_speaker_is_never_emptied_so_the_speaker_count_stands():
    # B's two stretches sound like C and like D: each would leave B; B keeps one of them
    voice_c, voice_d = np.array([0.8, 0.6, 0.0]), np.array([0.8, -0.6, 0.0])
    turns = [
        SpeakerTurn(0.0, 4.0, "C"),
        SpeakerTurn(5.0, 9.0, "D"),
        SpeakerTurn(10.0, 12.0, "B"),
        SpeakerTurn(13.0, 15.0, "B"),
    ]
    voices = {(0.0, 4.0): voice_c, (5.0, 9.0): voice_d, (10.0, 12.0): voice_c, (13.0, 15.0): voice_d}
    moves = find_moves(turns, embedder(voices))
    assert len(moves) == 1
    assert "B" in {turn.speaker for turn in apply_moves(turns, moves)}


def test_a_move_gives_the_stretch_to_the_target_and_joins_its_touching_turn():
    turns = [SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(12.0, 14.0, "B"), SpeakerTurn(3.0, 4.0, "B")]
    moved = apply_moves(turns, [Move(4.0, 6.0, "A", "B")])
    assert moved == [
        SpeakerTurn(0.0, 4.0, "A"),
        SpeakerTurn(3.0, 6.0, "B"),
        SpeakerTurn(6.0, 10.0, "A"),
        SpeakerTurn(12.0, 14.0, "B"),
    ]


def test_where_the_target_already_overlaps_the_source_both_stay():
    # full output: A 0-10, B overlapping it 5-6; the exclusive stretch 4-8 of A moves to B
    turns = [SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(5.0, 6.0, "B")]
    moved = apply_moves(turns, [Move(4.0, 8.0, "A", "B")])
    assert moved == [
        SpeakerTurn(0.0, 4.0, "A"),
        SpeakerTurn(4.0, 8.0, "B"),
        SpeakerTurn(5.0, 6.0, "A"),  # the overlapped second keeps both voices
        SpeakerTurn(8.0, 10.0, "A"),
    ]
