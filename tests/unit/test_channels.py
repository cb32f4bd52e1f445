"""Leak suppression between the two channels of a split call, and overlap that is not leakage."""

from __future__ import annotations

import itertools

import numpy as np

from diarize_service.pipeline.channels.regions import FRAME, frame_levels
from diarize_service.pipeline.channels.speech import dominant_mask

SR = 16_000
RNG = np.random.default_rng(0)


def burst(seconds: float, start: float, end: float, level_db: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    tone = np.sin(2 * np.pi * 440 * t) * np.sqrt(2) * 10 ** (level_db / 20)
    return np.where((t >= start) & (t < end), tone, 0.0)


def frames(start: float, end: float) -> slice:
    return slice(int(start * SR) // FRAME + 1, int(end * SR) // FRAME - 1)


def test_an_echo_of_the_other_party_is_leakage():
    agent = burst(4, 1, 3, -20) + 1e-4 * RNG.standard_normal(4 * SR)
    customer = 0.1 * agent + 1e-4 * RNG.standard_normal(4 * SR)  # -20 dB echo of the agent
    mask = dominant_mask(np.stack([agent, customer]), index=1)
    assert not mask[frames(1, 3)].any()
    assert dominant_mask(np.stack([agent, customer]), index=0)[frames(1, 3)].all()


def test_quiet_speech_is_not_leakage_of_the_other_channels_noise():
    # agent's quiet word (-50 dBFS) on a clean headset; the customer's line only hisses (-35 dBFS)
    agent = burst(4, 1, 3, -50) + 1e-5 * RNG.standard_normal(4 * SR)
    customer = 10 ** (-35 / 20) * RNG.standard_normal(4 * SR)
    assert dominant_mask(np.stack([agent, customer]), index=0)[frames(1, 3)].all()


def test_background_talker_is_not_the_party(tmp_path):
    """Real speech: the customer at full level, another talker 20 dB down behind them, agent silent."""
    from diarize_service.pipeline.audio import decode
    from diarize_service.pipeline.channels.speech import channel_speech
    from tests.conftest import DATA

    party = decode(DATA / "utterances/vctk/p301_102.wav", sample_rate=SR)
    talker = decode(DATA / "utterances/vctk/p255_367.wav", sample_rate=SR)
    gap = np.zeros(SR)
    customer = np.concatenate(
        [gap, 0.3 * party / np.abs(party).max(), gap, 0.03 * talker / np.abs(talker).max(), gap]
    )
    customer = customer + 1e-4 * RNG.standard_normal(len(customer))
    agent = 1e-4 * RNG.standard_normal(len(customer))
    talker_start = 2 + len(party) / SR

    regions = channel_speech(np.stack([agent, customer]).astype(np.float32), index=1)

    assert regions, "the customer's own sentence must be found"
    assert all(r.end < talker_start for r in regions), f"background talker taken for the customer: {regions}"
    assert sum(r.end - r.start for r in regions) > 0.6 * len(party) / SR


def test_loud_hold_music_does_not_make_the_party_background():
    """The reference level is the channel's speech, not the loudest thing on it (music 15 dB above)."""
    from diarize_service.pipeline.audio import decode
    from diarize_service.pipeline.channels.speech import channel_speech
    from tests.conftest import DATA

    party = decode(DATA / "utterances/vctk/p301_102.wav", sample_rate=SR)
    t = np.arange(6 * SR) / SR
    music = sum(np.sin(2 * np.pi * f * t) for f in (262, 330, 392)) * (t % 0.5 < 0.4)  # a chord, pulsed
    music = 0.5 * music / np.abs(music).max()
    customer = np.concatenate([music, np.zeros(SR), 0.09 * party / np.abs(party).max(), np.zeros(SR)])
    customer = customer + 1e-4 * RNG.standard_normal(len(customer))
    agent = 1e-4 * RNG.standard_normal(len(customer))
    party_start = 7.0

    regions = channel_speech(np.stack([agent, customer]).astype(np.float32), index=1)

    found = sum(max(0.0, r.end - max(r.start, party_start)) for r in regions)
    assert found > 0.6 * len(party) / SR, f"the customer's sentence was dropped: {regions}"


def test_hold_music_is_not_the_party_when_the_asr_hears_no_words():
    """10 s of music on the customer's line, then their real sentence: only the sentence is speech."""
    from diarize_service.pipeline.audio import decode
    from diarize_service.pipeline.channels.speech import UNHEARD_VAD_SHARE, channel_speech, drop_unheard
    from tests.audio_files import hold_music
    from tests.conftest import DATA

    party = decode(DATA / "utterances/vctk/p301_102.wav", sample_rate=SR)
    customer = np.concatenate(
        [np.zeros(5 * SR), 0.1 * hold_music(10), np.zeros(SR), 0.1 * party / np.abs(party).max()]
    )
    customer = (customer + 3e-4 * RNG.standard_normal(len(customer))).astype(np.float32)
    agent = (3e-4 * RNG.standard_normal(len(customer))).astype(np.float32)
    sentence = [(17.0, 17.4), (17.4, 17.7), (18.9, 19.2)]  # where Whisper puts the words

    regions = channel_speech(np.stack([agent, customer]), index=1)
    music = [r for r in regions if r.start < 15 and r.end > 5]
    assert music and all(r.vad_share < UNHEARD_VAD_SHARE for r in music), regions  # energy heard it

    kept = drop_unheard(regions, sentence)
    assert all(r.start >= 15 for r in kept), f"hold music kept as speech: {kept}"
    assert sum(r.end - r.start for r in kept) > 0.6 * len(party) / SR - 1.0  # the sentence stays
    # words inside it (Whisper transcribing a song, say) keep a region: the transcript and the timeline agree
    assert drop_unheard(regions, [*sentence, (9.0, 9.3)]) == [r for r in regions if r in kept or r in music]


def test_background_talk_between_the_partys_sentences_is_cut_out():
    """Real speech: the customer, 3 s of another talker 20 dB down straight after, the customer again.

    With no pause between them the VAD hears one stretch of speech, so no
    region is wholly background; the quiet seconds inside must still not
    count as the party.
    """
    from diarize_service.pipeline.audio import decode
    from diarize_service.pipeline.channels.speech import channel_speech
    from tests.conftest import DATA

    party = decode(DATA / "utterances/vctk/p301_102.wav", sample_rate=SR)
    loud = np.flatnonzero(frame_levels(party) > frame_levels(party).max() - 20) * FRAME
    party = party[loud[0] : loud[-1] + FRAME]  # the sentence without the file's silences
    party = 0.3 * party / np.abs(party).max()
    talker = decode(DATA / "utterances/vctk/p255_367.wav", sample_rate=SR)
    talker = talker[int(1.5 * SR) : int(4.5 * SR)]  # 3 s of continuous speech
    talker = 0.03 * talker / np.abs(talker).max()
    customer = np.concatenate([party, talker, party])
    customer = customer + 1e-4 * RNG.standard_normal(len(customer))
    agent = 1e-4 * RNG.standard_normal(len(customer))
    said = len(party) / SR
    talk_start, talk_end = said, said + 3

    regions = channel_speech(np.stack([agent, customer]).astype(np.float32), index=1)

    def covered(start: float, end: float) -> float:
        return sum(max(0.0, min(r.end, end) - max(r.start, start)) for r in regions)

    assert covered(talk_start + 0.5, talk_end - 0.5) == 0.0, (
        f"background talk taken for the customer: {regions}"
    )
    assert covered(0, said) > 0.9 * said and covered(talk_end, talk_end + said) > 0.9 * said, (
        "the customer's own sentences must be kept"
    )


def _sentence(name: str) -> np.ndarray:
    """A VCTK sentence without the file's leading and trailing silence, at unit peak."""
    from diarize_service.pipeline.audio import decode
    from tests.conftest import DATA

    audio = decode(DATA / f"utterances/vctk/{name}.wav", sample_rate=SR)
    loud = np.flatnonzero(frame_levels(audio) > frame_levels(audio).max() - 20) * FRAME
    audio = audio[loud[0] : loud[-1] + FRAME]
    return audio / np.abs(audio).max()


def _telephone(signal: np.ndarray, noise: np.ndarray, snr_db: float, speech: np.ndarray) -> np.ndarray:
    """*noise* scaled to *snr_db* under the speech frames, then the 300-3400 Hz telephone band."""
    from scipy.signal import butter, sosfiltfilt

    gain = np.sqrt(np.mean(signal[speech] ** 2) / (np.mean(noise**2) * 10 ** (snr_db / 10)))
    band = butter(4, [300, 3400], btype="bandpass", fs=SR, output="sos")
    return sosfiltfilt(band, signal + gain * noise)


def _covered(regions, start: float, end: float) -> float:
    return sum(max(0.0, min(r.end, end) - max(r.start, start)) for r in regions)


def test_babble_all_call_long_is_not_the_customer(tmp_path):
    """A simulated call with babble as the line noise (``make_calls.py --noise babble``, SNR 10.6 dB).

    Between the customer's sentences Silero hears the babble as speech, and at
    that SNR it is within 10 dB of the customer's own level; only its closeness
    to the line's noise floor gives it away.  Five such stretches (1.5 s) were
    customer speech before :func:`drop_near_floor`.
    """
    import json

    from bench.datasets import make_calls
    from diarize_service.pipeline.audio import decode_channels
    from diarize_service.pipeline.channels.speech import channel_speech

    calls = make_calls(tmp_path, seed=301, n_calls=1, noise="babble")
    meta = json.loads((calls / "dev_s301_000.json").read_text())
    said = [tuple(s) for seg in meta["segments"] if seg["role"] == "customer" for s in seg["speech"]]

    regions = channel_speech(decode_channels(calls / "dev_s301_000.stereo.wav"), index=1)

    def near_speech(start: float, end: float) -> bool:
        return any(s - 0.3 < end and start < e + 0.3 for s, e in said)

    babble = [r for r in regions if not near_speech(r.start, r.end)]
    assert not babble, f"babble taken for the customer: {babble}"
    kept = sum(_covered(regions, s, e) for s, e in said)
    assert kept > 0.95 * sum(e - s for s, e in said), "the customer's own speech must stay"


def test_a_customer_on_a_very_noisy_line_keeps_their_speech():
    """Two sentences, 5 dB over white line noise: the quieter one barely clears the noise floor, and stays."""
    from diarize_service.pipeline.channels.speech import channel_speech

    first, second = _sentence("p301_102"), 0.5 * _sentence("p335_367")
    gap = np.zeros(2 * SR)
    customer = np.concatenate([gap, first, gap, second, gap])
    customer = _telephone(customer, RNG.standard_normal(len(customer)), 5.0, np.abs(customer) > 0)
    agent = 1e-4 * RNG.standard_normal(len(customer))
    said = [(2.0, 2.0 + len(first) / SR), (4.0 + len(first) / SR, 4.0 + (len(first) + len(second)) / SR)]

    regions = channel_speech(np.stack([agent, customer]).astype(np.float32), index=1)

    for start, end in said:
        assert _covered(regions, start, end) > 0.8 * (end - start), f"a sentence was dropped: {regions}"


def test_a_short_leak_verdict_between_the_partys_own_loud_frames_is_overlap():
    from diarize_service.pipeline.channels.speech import bridge_blips

    dominant = np.array([1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1], bool)
    talking = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1], bool)
    out = bridge_blips(dominant, talking, max_frames=5)
    assert out[2:5].all()  # talking on both sides: the other party only outdid a syllable
    assert not out[7:10].any()  # the frame before is the channel's floor, not the party talking
    assert not out[11:19].any()  # longer than 5 frames: the other party's turn


def _overlapped_call(echo_only: bool = False) -> tuple[np.ndarray, float, float]:
    """The agent (p255) starts 0.5 s into the customer's sentence (p301), 14 dB louder.

    With *echo_only*, the customer says nothing and their line carries the agent's
    voice 30 ms late, band-limited and 20 dB down, as a telephone hybrid returns it.
    """
    from scipy.signal import butter, sosfilt

    from diarize_service.pipeline.audio import decode
    from tests.conftest import DATA

    rng = np.random.default_rng(1)
    customer_says = decode(DATA / "utterances/vctk/p301_102.wav", sample_rate=SR)
    agent_says = decode(DATA / "utterances/vctk/p255_367.wav", sample_rate=SR)
    n = 2 * SR + len(customer_says) + len(agent_says)
    agent, customer = np.zeros(n), np.zeros(n)
    agent_start = int(1.5 * SR)
    agent[agent_start : agent_start + len(agent_says)] = 0.3 * agent_says / np.abs(agent_says).max()
    if echo_only:
        echo = sosfilt(butter(2, [400, 3000], btype="band", fs=SR, output="sos"), 0.1 * agent)
        delay = int(0.03 * SR)
        customer[delay:] = echo[:-delay]
    else:
        customer[SR : SR + len(customer_says)] = 0.06 * customer_says / np.abs(customer_says).max()
    agent += 1e-4 * rng.standard_normal(n)
    customer += 3e-4 * rng.standard_normal(n)
    return np.stack([agent, customer]).astype(np.float32), agent_start / SR, 1 + len(customer_says) / SR


def test_the_quieter_party_keeps_their_words_while_both_talk():
    """Frame by frame the louder agent outdid the customer's syllables, and the leak rule cut
    the customer's sentence into pieces of which several were then too short to keep."""
    from diarize_service.pipeline.channels.speech import channel_speech

    channels, overlap_start, overlap_end = _overlapped_call()
    regions = channel_speech(channels, index=1)
    kept = sum(max(0.0, min(r.end, overlap_end) - max(r.start, overlap_start)) for r in regions)
    assert kept > 1.2, f"only {kept:.2f} s of the customer's overlapped speech kept (0.9 s before): {regions}"


def test_a_late_band_limited_echo_of_the_agent_is_still_leakage():
    from diarize_service.pipeline.channels.speech import channel_speech

    channels, _, _ = _overlapped_call(echo_only=True)
    regions = channel_speech(channels, index=1)
    assert sum(r.end - r.start for r in regions) < 0.3, f"the echo became customer speech: {regions}"


def test_read_out_numbers_are_found_in_the_words():
    from diarize_service.pipeline.channels.digit_pauses import digit_strings
    from diarize_service.pipeline.types import Word

    def words(text: str, gap: float = 0.2) -> list[Word]:
        return [Word(k * (0.3 + gap), k * (0.3 + gap) + 0.3, w, 0.9) for k, w in enumerate(text.split())]

    assert digit_strings(words("my number is 0, 8, 2, five")) == [(1.5, 3.3)]
    assert digit_strings(words("it is 0825 thanks")) == [(1.0, 1.3)]  # one word, several digits
    assert digit_strings(words("nul agt twee")) == [(0.0, 1.3)]  # Afrikaans
    assert digit_strings(words("one of them, not the other one")) == []
    assert digit_strings(words("eight nine", gap=1.5)) == []  # too far apart to be one number


def _digit(digit: int, take: int) -> np.ndarray:
    """A real read-out digit (FSDD, 8 kHz) without its silent ends, at unit peak."""
    from diarize_service.pipeline.audio import decode
    from tests.conftest import DATA

    audio = decode(DATA / f"utterances/fsdd_8k/{digit}_jackson_{take}.wav", sample_rate=SR)
    loud = np.flatnonzero(frame_levels(audio) > frame_levels(audio).max() - 20) * FRAME
    audio = audio[loud[0] : loud[-1] + FRAME]
    return audio / np.abs(audio).max()


PROSE = ["so", "I", "will", "call", "you", "back", "on", "it", "then", "bye"]


def _read_out_id_number(pause: float = 0.3):
    """An ID number read out digit by digit, *pause* s apart, in line noise: ``(levels, words)``."""
    from diarize_service.pipeline.types import Word

    t = 0.5
    pieces, said = [np.zeros(int(t * SR))], []
    for take, digit in enumerate([0, 8, 2, 5, 5, 5, 1, 2, 3, 4]):
        audio = _digit(digit, take % 10)
        said.append(Word(t, t + len(audio) / SR, f"{digit},", 0.9))
        pieces += [audio, np.zeros(int(pause * SR))]
        t += len(audio) / SR + pause
    signal = np.concatenate(pieces)
    channel = _telephone(signal, RNG.standard_normal(len(signal)), 20, np.abs(signal) > 0)
    return frame_levels(channel), said


def test_pauses_between_read_out_digits_are_cut_out_of_the_region():
    """The VAD's region spans a whole read-out number; its pauses are cut out."""
    from diarize_service.pipeline.channels.digit_pauses import cut_digit_pauses
    from diarize_service.pipeline.channels.regions import Region
    from diarize_service.pipeline.types import Word

    pause = 0.3
    levels, said = _read_out_id_number(pause)
    region = Region(said[0].start - 0.05, said[-1].end + 0.05)

    regions = cut_digit_pauses([region], levels, said)

    for before, after in itertools.pairwise(said):
        assert _covered(regions, before.end, after.start) < 0.5 * pause, f"pause kept: {regions}"
    kept = [_covered(regions, w.start, w.end) / (w.end - w.start) for w in said]
    assert min(kept) > 0.7 and np.mean(kept) > 0.9, f"digits cut: {kept}"  # "eight" loses its faint /t/
    prose = [Word(w.start, w.end, text, 0.9) for w, text in zip(said, PROSE, strict=True)]
    assert cut_digit_pauses([region], levels, prose) == [region], "an ordinary sentence keeps its pauses"


def test_a_mono_speakers_turn_over_a_read_out_number_loses_its_pauses():
    """Issue #22: in a mono call the diarizer's turn spans the number; the other speaker's turn stays."""
    from diarize_service.pipeline.channels.digit_pauses import cut_turn_digit_pauses
    from diarize_service.pipeline.types import SpeakerTurn, Word

    pause = 0.3
    levels, said = _read_out_id_number(pause)
    reader = SpeakerTurn(said[0].start - 0.05, said[-1].end + 0.05, "reader")
    agent = SpeakerTurn(0.0, 0.4, "agent")  # before the number, over line noise only

    turns = cut_turn_digit_pauses([agent, reader], levels, said)

    assert [t for t in turns if t.speaker == "agent"] == [agent]
    read = [t for t in turns if t.speaker == "reader"]
    for before, after in itertools.pairwise(said):
        assert _covered(read, before.end, after.start) < 0.5 * pause, f"pause kept: {read}"
    assert sum(_covered(read, w.start, w.end) for w in said) > 0.9 * sum(w.end - w.start for w in said)
    prose = [Word(w.start, w.end, text, 0.9) for w, text in zip(said, PROSE, strict=True)]
    assert cut_turn_digit_pauses([agent, reader], levels, prose) == [agent, reader]
