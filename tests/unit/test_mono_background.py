"""Issue #22, ask 2: babble on a mono line is not a party's turn (real speech, no models)."""

from __future__ import annotations

import numpy as np

from diarize_service.pipeline.audio import decode
from diarize_service.pipeline.background import (
    cut_floor_pauses,
    drop_background_turns,
    speech_spans,
    without_background,
)
from diarize_service.pipeline.channels.regions import frame_levels
from diarize_service.pipeline.types import DiarizationOutput, SpeakerTurn
from tests.conftest import DATA

SR = 16_000


def _at_db(audio: np.ndarray, db: float) -> np.ndarray:
    return audio * 10 ** ((db - 10 * np.log10(np.mean(audio**2) + 1e-12)) / 20)


def babble_call() -> tuple[np.ndarray, list[SpeakerTurn]]:
    """A sentence, then 4 s of other people talking 20 dB down, then another voice's sentence.

    The babble goes on under the whole call (it is the line's noise floor),
    as make_calls.py's babble does; the diarizer has given its stretch to
    the first speaker.
    """
    first = _at_db(decode(DATA / "utterances/vctk/p301_102.wav", sample_rate=SR), -25.0)
    second = _at_db(decode(DATA / "utterances/vctk/p238_165.wav", sample_rate=SR), -25.0)
    talkers = ["p255_367", "p317_166", "p330_230", "p376_193", "p335_367"]
    gap = 4 * SR
    audio = np.zeros(len(first) + gap + len(second) + SR)
    audio[: len(first)] += first
    audio[len(first) + gap : len(first) + gap + len(second)] += second
    babble = np.zeros(len(audio))
    for i, name in enumerate(talkers):  # five people talking at once, each on a loop: no pause in it
        talker = decode(DATA / f"utterances/vctk/{name}.wav", sample_rate=SR)
        loop = np.roll(np.tile(talker, len(audio) // len(talker) + 1), i * SR // 3)[: len(audio)]
        babble += loop / (np.std(talker) + 1e-9)
    audio += _at_db(babble, -45.0) + np.random.default_rng(0).normal(0, 1e-4, len(audio))
    a, b = len(first) / SR, (len(first) + gap) / SR
    turns = [
        SpeakerTurn(0.0, a, "SPEAKER_00"),
        SpeakerTurn(a + 0.3, b - 0.3, "SPEAKER_00"),  # the babble only
        SpeakerTurn(b, b + len(second) / SR, "SPEAKER_01"),
    ]
    return audio.astype(np.float32), turns


def test_a_turn_of_babble_alone_is_dropped_and_the_parties_turns_stay():
    audio, turns = babble_call()
    kept = drop_background_turns(turns, frame_levels(audio), speech_spans(audio))
    assert kept == [turns[0], turns[2]]


def test_only_the_timeline_changes():
    audio, turns = babble_call()
    diarization = DiarizationOutput(turns=turns, exclusive_turns=turns)
    out = without_background(diarization, audio)
    assert [t.speaker for t in out.turns] == ["SPEAKER_00", "SPEAKER_01"]
    assert all(t.end <= turns[0].end or t.start >= turns[2].start for t in out.turns)  # no babble turn
    assert out.turns[0].start > 1.0  # the recording's 1.2 s of silence before the first word: a pause
    assert out.exclusive_turns == turns  # words keep the speakers they were given


def test_a_call_without_babble_keeps_every_turn():
    audio, turns = babble_call()
    quiet = audio.copy()
    a, b = turns[1].start - 0.3, turns[1].end + 0.3
    quiet[int(a * SR) : int(b * SR)] = np.random.default_rng(1).normal(0, 1e-4, int(b * SR) - int(a * SR))
    # the babble stretch replaced by line hiss: only the two sentences remain, both parties' level
    kept = drop_background_turns([turns[0], turns[2]], frame_levels(quiet), speech_spans(quiet))
    assert kept == [turns[0], turns[2]]


def test_a_turn_in_the_last_partial_frame_is_kept_not_a_crash():
    """The diarizer's timeline runs to the last sample; the frame levels stop at the last whole frame."""
    audio, turns = babble_call()
    audio = audio[: len(audio) - len(audio) % 320 + 100]  # 100 samples past the last whole frame
    end = len(audio) / SR
    tail = SpeakerTurn(end - 0.004, end, "SPEAKER_01")
    spans = [*speech_spans(audio), (end - 0.004, end)]
    kept = drop_background_turns([*turns, tail], frame_levels(audio), spans)
    assert kept == [turns[0], turns[2], tail]


def _covered(turns: list[SpeakerTurn], start: float, end: float) -> float:
    return sum(max(0.0, min(t.end, end) - max(t.start, start)) for t in turns)


def _sentence_pause_sentence(pause: float, snr_db: float = 35.0) -> tuple[np.ndarray, float]:
    """One voice, two sentences *pause* s apart on a hissing line; the audio, and where the pause starts."""
    sentence = _at_db(decode(DATA / "utterances/vctk/p301_102.wav", sample_rate=SR), -25.0)
    loud = np.flatnonzero(np.abs(sentence) > 0.01)
    sentence = sentence[loud[0] : loud[-1]]  # first syllable to last: the recording's silences left out
    gap = np.zeros(int(pause * SR))
    audio = np.concatenate([sentence, gap, sentence])
    hiss = np.sqrt(np.mean(sentence**2) / 10 ** (snr_db / 10))
    audio += np.random.default_rng(2).normal(0, hiss, len(audio))  # line hiss, *snr_db* under the talk
    return audio.astype(np.float32), len(sentence) / SR


def test_a_pause_at_the_floor_is_cut_out_of_a_turn_and_a_short_one_is_not():
    """The diarizer carries a turn across a pause; a second or more of line hiss is no one talking."""
    for pause, cut in ((2.0, True), (0.6, False)):
        audio, start = _sentence_pause_sentence(pause)
        turn = SpeakerTurn(0.0, len(audio) / SR, "SPEAKER_00")
        out = cut_floor_pauses([turn], frame_levels(audio), speech_spans(audio))
        kept_pause = _covered(out, start, start + pause)
        assert kept_pause < 0.5 if cut else kept_pause > pause - 1e-6, (pause, out)
        for s, e in speech_spans(audio):  # the sentences themselves stay whole
            assert _covered(out, s, e) >= (e - s) - 0.05, (pause, (s, e), out)


def test_babble_alone_inside_a_partys_turn_is_cut_out():
    """A turn that runs on from the party's sentence into the babble after it loses the babble."""
    audio, turns = babble_call()
    run_on = SpeakerTurn(0.0, turns[1].end, "SPEAKER_00")
    out = cut_floor_pauses([run_on, turns[2]], frame_levels(audio), speech_spans(audio))
    babble = turns[1].end - turns[0].end
    assert _covered(out, turns[0].end, turns[1].end) < babble - 1.5, out
    for s, e in speech_spans(audio):
        if e <= turns[0].end:  # the party's sentence stays
            assert _covered(out, s, e) >= (e - s) - 0.05, ((s, e), out)


def test_on_a_very_noisy_line_the_quiet_speech_is_not_taken_for_pauses():
    """At 5 dB SNR the party's quieter words sit within 6 dB of the floor too; they stay the party's."""
    audio = _sentence_pause_sentence(2.0, snr_db=5.0)[0]
    speech = speech_spans(_sentence_pause_sentence(2.0)[0])  # where the words are, heard on a clean line
    turn = SpeakerTurn(0.0, len(audio) / SR, "SPEAKER_00")
    out = cut_floor_pauses([turn], frame_levels(audio), speech_spans(audio))
    lost = sum((e - s) - _covered(out, s, e) for s, e in speech)
    assert lost < 0.2, (lost, out)
