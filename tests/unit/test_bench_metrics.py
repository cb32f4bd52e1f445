"""The benchmark's WER must score read-out digits the same whichever way Whisper writes them."""

from __future__ import annotations

from bench.metrics import normalized_words, wer


def test_spelled_out_and_written_digits_score_digit_by_digit():
    assert normalized_words("eight seven five nine") == ["8", "7", "5", "9"]
    assert normalized_words("8, 7, 5, 9.") == ["8", "7", "5", "9"]
    # one wrong digit out of four is 25 %, not "one reference word against four"
    assert wer("eight seven five nine", "8, 6, 5, 9") == {"wer": 0.25, "ref_words": 4, "errors": 1}


def test_words_are_still_normalised_as_whisper_does():
    assert normalized_words("She's believed to be in South Africa.") == normalized_words(
        "she is believed to be in south africa"
    )
