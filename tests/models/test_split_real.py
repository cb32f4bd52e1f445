"""The real pipeline on stereo calls split by channel (``channel_mode``), and on calls that stress ASR."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyannote.core import Segment, Timeline
from pyannote.database.util import load_rttm

from bench.datasets import make_calls
from tests.conftest import DATA
from tests.models.scoring import as_annotation, der, read_out_digits

pytestmark = pytest.mark.models


def _stereo(simulated_call):
    meta = json.loads((simulated_call / "index.json").read_text())["calls"][0]
    cid = meta["call_id"]
    return simulated_call / f"{cid}.stereo.wav", next(
        iter(load_rttm(simulated_call / f"{cid}.rttm").values())
    )


@pytest.fixture(scope="module")
def split_result(pipeline, simulated_call) -> dict:
    """The simulated call's stereo rendering through the pipeline (channel_mode=auto)."""
    return pipeline(_stereo(simulated_call)[0])


def test_stereo_call_is_split_by_channel(pipeline, simulated_call, split_result):
    path, reference = _stereo(simulated_call)
    result = split_result
    assert result["channel_mode"] == "split"
    assert set(result["speakers"]) == {"Agent", "Customer"}
    split_der = der(reference, result["diarization"])
    print(f"\nstereo call split by channel: DER@0.25 {split_der:.3f}")
    assert split_der < 0.10
    mixed = pipeline(path, channel_mode="mixed")
    assert mixed["channel_mode"] == "mixed" and set(mixed["speakers"]) == {"Speaker_01", "Speaker_02"}


def test_crosstalk_leak_does_not_create_speech(pipeline, simulated_call, split_result, tmp_path):
    import soundfile as sf

    path, _ = _stereo(simulated_call)
    audio, rate = sf.read(path, dtype="float32")
    leaky = audio.copy()
    leaky[:, 1] += 0.1 * audio[:, 0]  # agent echoes into the customer line at -20 dB
    leaky_path = tmp_path / "leaky.wav"
    sf.write(leaky_path, leaky, rate)
    clean, echoed = split_result, pipeline(leaky_path)
    talk = {
        name: sum(t["end"] - t["start"] for t in r["diarization"] if t["speaker"] == "Customer")
        for name, r in (("clean", clean), ("echoed", echoed))
    }
    assert echoed["channel_mode"] == "split"
    assert talk["echoed"] < talk["clean"] * 1.1 + 1.0  # no agent speech became customer speech
    assert echoed["speakers"]["Customer"]["word_count"] <= clean["speakers"]["Customer"]["word_count"] + 3


def test_hold_music_on_the_customer_line_is_not_customer_talk(
    pipeline, simulated_call, split_result, tmp_path
):
    import soundfile as sf

    from tests.audio_files import hold_music

    path, _ = _stereo(simulated_call)
    audio, rate = sf.read(path, dtype="float32")
    music = np.zeros((12 * rate, 2), dtype=np.float32)  # the call starts on hold: 12 s of music
    music[: 10 * rate, 1] = 0.2 * hold_music(10, rate)
    held_path = tmp_path / "held.wav"
    sf.write(held_path, np.concatenate([music, audio]), rate)

    clean, held = split_result, pipeline(held_path)

    def customer_talk(result, after=0.0):
        return sum(
            t["end"] - t["start"]
            for t in result["diarization"]
            if t["speaker"] == "Customer" and t["end"] > after
        )

    assert held["channel_mode"] == "split"
    on_hold = sum(min(t["end"], 10) - t["start"] for t in held["diarization"] if t["start"] < 10)
    assert on_hold < 1.0, f"hold music became speech: {held['diarization'][:3]}"
    assert abs(customer_talk(held, after=12) - customer_talk(clean)) < 0.1 * customer_talk(clean) + 1.0


@pytest.fixture(scope="module")
def digit_call_result(pipeline, digit_call) -> dict:
    """dev_s1_001's stereo rendering (split): the customer reads out 71 digits."""
    return pipeline(digit_call.with_suffix(".stereo.wav"))


def test_read_out_digits_do_not_come_back_as_a_loop(digit_call, digit_call_result):
    """Batched greedy decoding looped here ("six, nine, seven, eight, five" x 13, 110 % WER)."""
    from bench.metrics import wer
    from diarize_service.pipeline.asr.loops import find_loops

    meta = json.loads(digit_call.with_suffix(".json").read_text())
    reference = " ".join(
        s["text"] for s in sorted(meta["segments"], key=lambda s: s["start"]) if s["role"] == "customer"
    )
    result = digit_call_result
    words = [w["word"] for s in result["segments"] if s["speaker"] == "Customer" for w in s["words"]]
    assert not find_loops(words), " ".join(words)
    score = wer(reference, " ".join(words))
    print(f"\ncustomer reading digits: WER {score['wer']:.2f}")
    assert score["wer"] < 0.7


def test_pauses_between_read_out_digits_are_not_customer_talk(digit_call, digit_call_result):
    """The customer's pauses of 0.25-1 s between digits (26 of them, 7.7 s) are silence, not talk.

    Before the digit-pause cut the customer's regions spanned 79 % of them.
    """
    _, pauses = read_out_digits(digit_call)
    assert len(pauses) > 10
    customer = as_annotation(digit_call_result["diarization"]).label_timeline("Customer")
    spoken_over = sum(customer.crop(pause).duration() for pause in pauses)
    print(f"\ndigit pauses taken for talk: {spoken_over:.2f} of {sum(p.duration for p in pauses):.2f} s")
    assert spoken_over < 0.3 * sum(p.duration for p in pauses)


def test_full_precision_decoding_leaves_no_stacked_repeats(digit_call):
    """float16 on CUDA (float32 here) writes made-up digits that all sit at one instant.

    On this customer channel the batched decoder's raw output has such stacks
    (the H200 check found one on a benchmark call: word attribution 92.8 %,
    98.0 % once stacks are decoded again); the service's transcriber must
    leave none, and lose no accuracy doing so.
    """
    from bench.metrics import wer
    from diarize_service.models.registry import resolve_whisper
    from diarize_service.pipeline.asr.transcriber import Transcriber, made_up
    from diarize_service.pipeline.audio import decode_channels

    meta = json.loads(digit_call.with_suffix(".json").read_text())
    reference = " ".join(
        s["text"] for s in sorted(meta["segments"], key=lambda s: s["start"]) if s["role"] == "customer"
    )
    customer = decode_channels(digit_call.with_suffix(".stereo.wav"))[1]
    spec = resolve_whisper("base", Path("var/models"), allow_download=False)
    transcriber = Transcriber(spec, compute_type="float32", cpu_threads=2)
    raw_segments = transcriber.decode(customer).segments

    def most_at_one_instant(segments) -> int:
        return max(
            (Counter(round(w.start, 2) for w in s.words).most_common(1)[0][1] for s in segments if s.words),
            default=0,
        )

    assert most_at_one_instant(raw_segments) >= 10, "no stacked words to repair"
    repaired = transcriber(customer).segments
    assert most_at_one_instant(repaired) < 5
    assert not [s.text for s in repaired if made_up(s.words)]
    before = wer(reference, " ".join(s.text for s in raw_segments))["wer"]
    after = wer(reference, " ".join(s.text for s in repaired))["wer"]
    print(f"\ncustomer channel, float32: WER {before:.2f} raw -> {after:.2f}")
    assert after <= before


def test_a_call_gets_the_same_transcript_every_time(looping_digit_call):
    """The batched decoder loops on this customer's digits; the loop is decoded again.

    That redo used Whisper's temperature fallback, which samples: three runs
    in one process gave 87, 48 and 91 words.  Now it must give one answer,
    and no loop.
    """
    from diarize_service.models.registry import resolve_whisper
    from diarize_service.pipeline.asr.loops import find_loops
    from diarize_service.pipeline.asr.transcriber import Transcriber, made_up
    from diarize_service.pipeline.audio import decode_channels

    customer = decode_channels(looping_digit_call.with_suffix(".stereo.wav"))[1]
    transcriber = Transcriber(
        resolve_whisper("base", Path("var/models"), allow_download=False), cpu_threads=2
    )
    assert any(made_up(s.words) for s in transcriber.decode(customer).segments), "nothing to decode again"
    runs = [[(w.word, w.start) for s in transcriber(customer).segments for w in s.words] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert not find_loops([word for word, _ in runs[0]])


def test_a_sentence_said_five_times_is_written_five_times():
    """A VCTK sentence five times in 26 s, one second apart: one chunk of the batched decoder.

    Whisper without timestamp tokens wrote it twice (a customer repeating
    themselves in a simulated call lost five of seven sentences this way);
    the speech left without words is decoded again, each stretch on its own.
    """
    import soundfile as sf
    from scipy.signal import resample_poly

    from diarize_service.models.registry import resolve_whisper
    from diarize_service.pipeline.asr.transcriber import SAMPLE_RATE, Transcriber

    speech, rate = sf.read(DATA / "utterances/vctk/p301_410.wav", dtype="float32")
    speech = resample_poly(speech, SAMPLE_RATE, rate).astype(np.float32)
    pause = np.random.default_rng(0).normal(0.0, 0.002, SAMPLE_RATE).astype(np.float32)
    audio = np.concatenate([pause, *[part for _ in range(5) for part in (speech, pause)]])
    said_at = [(1 + i * (1 + len(speech) / SAMPLE_RATE)) for i in range(5)]
    spec = resolve_whisper("base", Path("var/models"), allow_download=False)

    def times_written(recheck: bool) -> list[float]:
        transcriber = Transcriber(spec, cpu_threads=2, recheck_unwritten=recheck)
        words = [w for s in transcriber(audio).segments for w in s.words]
        return [w.start for w in words if "mistakes" in w.word.lower()]

    assert len(times_written(False)) < 5, "the batched decoder wrote every repeat: nothing to check"
    written = times_written(True)
    assert len(written) == 5
    # each at the end of its own repeat (the word is the sentence's last, ~2.9 s in)
    for start, said in zip(sorted(written), said_at, strict=True):
        assert said + 2.0 < start < said + len(speech) / SAMPLE_RATE


def test_both_parties_talking_at_once_keep_their_sentences_whole(pipeline, tmp_path):
    """dev_s302_000 in stereo (babble): agent and customer often talk at the same time.

    With the words of both channels grouped in time order, each overlap cut both
    sentences at every word of the other: 67 transcript lines for 54 reference
    utterances, 34 of them one or two words long.
    """
    calls = make_calls(tmp_path, seed=302, n_calls=1, noise="babble")
    meta = json.loads((calls / "dev_s302_000.json").read_text())
    result = pipeline(calls / "dev_s302_000.stereo.wav")
    segments = result["segments"]
    assert result["channel_mode"] == "split"
    assert len(segments) <= len(meta["segments"]), (
        f"{len(segments)} lines for {len(meta['segments'])} utterances"
    )
    assert not [s["text"] for s in segments if len(s["words"]) <= 2]  # every utterance here is a sentence
    both = [
        (a, b)
        for a in segments
        for b in segments
        if a["speaker"] == "Agent"
        and b["speaker"] == "Customer"
        and a["start"] < b["end"]
        and b["start"] < a["end"]
    ]
    assert both, "no overlapping lines: the call's overlap was lost"


def test_supervisor_on_the_agents_line_gets_a_voice_of_its_own(pipeline, three_party_call):
    """dev_s3_005 in stereo: the supervisor (VCTK p335) talks on the agent's channel.  With the
    channel as the only speaker, every supervisor word was the agent's."""
    reference = next(iter(load_rttm(three_party_call.with_suffix(".rttm")).values()))
    result = pipeline(three_party_call.with_suffix(".stereo.wav"))
    steps = [step for _, step in pipeline.progress]
    assert "asr done" in steps and "channel_voices done" in steps  # both stages report progress
    assert result["channel_mode"] == "split"
    assert set(result["speakers"]) == {"Agent", "Agent_2", "Customer"}
    as_one = [{**t, "speaker": "Agent"} if t["speaker"] == "Agent_2" else t for t in result["diarization"]]
    with_voice, channel_only = der(reference, result["diarization"]), der(reference, as_one)
    print(
        f"\nsupervisor on the agent's line: DER@0.25 {with_voice:.3f} (channel as speaker {channel_only:.3f})"
    )
    assert with_voice < channel_only - 0.03
    assert result["speakers"]["Agent_2"]["word_count"] >= 5
    hinted = pipeline(three_party_call.with_suffix(".stereo.wav"), max_speakers=2)
    assert set(hinted["speakers"]) == {"Agent", "Customer"}  # the hint: one speaker per channel


def test_the_agent_is_named_agent_when_the_supervisor_reads_out_digits(pipeline, digit_supervisor_call):
    """dev_s3_001 in stereo: the supervisor's turns span the pauses between digits and outlast the
    agent's, so the supervisor used to be named Agent and the agent Agent_2 (DER, mapping speakers
    optimally, did not see it).  Named speech must score as well as mapped speech."""
    from bench.datasets import SPLIT_NAMES
    from bench.metrics import annotation, der_components, names_components

    meta = json.loads(digit_supervisor_call.with_suffix(".json").read_text())
    names = {speaker: SPLIT_NAMES[role] for speaker, role in meta["speakers"].items()}
    reference = next(iter(load_rttm(digit_supervisor_call.with_suffix(".rttm")).values()))
    result = pipeline(digit_supervisor_call.with_suffix(".stereo.wav"))
    hypothesis = annotation(result["diarization"])

    assert set(result["speakers"]) == {"Agent", "Agent_2", "Customer"}
    named = names_components(reference, hypothesis, names, collar=0.25)["der"]
    mapped = der_components(reference, hypothesis, None, collar=0.25)["der"]
    print(f"\ndigit-reading supervisor: DER@0.25 {mapped:.3f}, with the names as given {named:.3f}")
    assert named < mapped + 0.02


def test_one_person_per_channel_in_babble_stays_two_speakers(pipeline, similar_voices_call):
    """dev_s3_004 in stereo: babble noise on both lines must not become a second voice."""
    result = pipeline(similar_voices_call.with_suffix(".stereo.wav"))
    assert result["channel_mode"] == "split"
    assert set(result["speakers"]) == {"Agent", "Customer"}


def test_background_talkers_on_a_line_are_not_the_party(pipeline, babble_call):
    """dev_s3_006 in stereo: other people talking behind the customer, loud enough to pass the
    region-level background rule, came back as 2 s of customer talk; as a voice of their own,
    far quieter than the customer, they are dropped."""
    meta = json.loads(babble_call.with_suffix(".json").read_text())
    spoken = [
        Segment(start - 0.25, end + 0.25)
        for s in meta["segments"]
        if s["role"] == "customer"
        for start, end in s["speech"]
    ]
    result = pipeline(babble_call.with_suffix(".stereo.wav"))
    talk = [Segment(t["start"], t["end"]) for t in result["diarization"] if t["speaker"] == "Customer"]
    invented = Timeline(talk).support().extrude(Timeline(spoken).support()).duration()
    print(f"\ncustomer talk outside the customer's speech: {invented:.2f} s")
    assert set(result["speakers"]) == {"Agent", "Customer"}
    assert invented < 0.5


def test_split_mode_on_mono_audio_is_a_clear_error(pipeline, sample_wav):
    from diarize_service.pipeline.audio import EmptyAudioError

    with pytest.raises(EmptyAudioError, match="stereo"):
        pipeline(sample_wav, channel_mode="split")
