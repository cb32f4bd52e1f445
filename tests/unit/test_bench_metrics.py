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
