"""Benchmark metrics: read-out digits scored the same whichever way Whisper writes them; DER collars."""

from __future__ import annotations

from pyannote.core import Annotation, Segment

from bench.metrics import der_components, normalized_words, wer


def test_spelled_out_and_written_digits_score_digit_by_digit():
    assert normalized_words("eight seven five nine") == ["8", "7", "5", "9"]
    assert normalized_words("8, 7, 5, 9.") == ["8", "7", "5", "9"]
    # one wrong digit out of four is 25 %, not "one reference word against four"
    assert wer("eight seven five nine", "8, 6, 5, 9") == {"wer": 0.25, "ref_words": 4, "errors": 1}


def test_words_are_still_normalised_as_whisper_does():
    assert normalized_words("She's believed to be in South Africa.") == normalized_words(
        "she is believed to be in south africa"
    )


def test_pyannote_collar_is_the_whole_width_md_eval_collar_is_each_side():
    """A turn that ends 0.2 s late: inside md-eval's 0.25 s collar (pyannote 0.5), outside pyannote's 0.25."""
    reference, hypothesis = Annotation(), Annotation()
    reference[Segment(1.0, 5.0)] = "agent"
    hypothesis[Segment(1.0, 5.2)] = "A"
    assert der_components(reference, hypothesis, None, collar=0.5)["false_alarm"] == 0.0
    assert abs(der_components(reference, hypothesis, None, collar=0.25)["false_alarm"] - 0.075) < 1e-6


def test_names_count_a_swapped_agent_and_supervisor_that_der_forgives():
    """The supervisor named Agent and the agent Agent_2: DER maps speakers optimally, names do not."""
    from bench.metrics import names_components

    reference, hypothesis = Annotation(), Annotation()
    reference[Segment(0.0, 6.0)] = "p317"
    reference[Segment(6.0, 8.0)] = "yweweler"
    reference[Segment(8.0, 10.0)] = "p335"
    hypothesis[Segment(0.0, 6.0)] = "Agent_2"
    hypothesis[Segment(6.0, 8.0)] = "Agent"
    hypothesis[Segment(8.0, 10.0)] = "Customer"
    names = {"p317": "Agent", "yweweler": "Agent_2", "p335": "Customer"}

    assert der_components(reference, hypothesis, None, collar=0.0)["der"] == 0.0
    named = names_components(reference, hypothesis, names, collar=0.0)
    assert abs(named["confusion"] - 8.0) < 1e-6 and abs(named["der"] - 0.8) < 1e-6
    swapped_back = hypothesis.rename_labels(mapping={"Agent": "Agent_2", "Agent_2": "Agent"})
    assert names_components(reference, swapped_back, names, collar=0.0)["der"] == 0.0
