"""PII redaction: South African IDs, cards, phones, spoken digits, e-mails."""

from __future__ import annotations

import pytest

from diarize_service.pipeline.digits import digits_in
from diarize_service.pipeline.output.redaction import classify, luhn_valid, redact_turns, redact_words
from diarize_service.pipeline.output.turns import Turn, build_overlapping_turns, build_turns
from diarize_service.pipeline.types import Word


def words(text: str) -> list[Word]:
    return [Word(float(i), i + 0.5, " " + w, 0.9, "A") for i, w in enumerate(text.split())]


def text(ws: list[Word]) -> str:
    return "".join(w.word for w in ws).strip()


def test_luhn():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert luhn_valid("8001015009087")  # a well-formed South African ID number


@pytest.mark.parametrize(
    ("digits", "tag"),
    [
        ("8001015009087", "ID_NUMBER"),
        ("4111111111111111", "CARD_NUMBER"),
        ("0825551234", "PHONE_NUMBER"),
        ("27825551234", "PHONE_NUMBER"),
        ("12345678", "NUMBER"),
        ("12345", None),
    ],
)
def test_classify(digits, tag):
    assert classify(digits) == tag


def test_written_and_spoken_numbers_are_replaced_with_timings_kept():
    ws = words(
        "my id is 800101 5009 087 and my cell is oh eight two double five five one two three four thanks"
    )
    out = redact_words(ws)
    assert text(out) == "my id is [ID_NUMBER] and my cell is [PHONE_NUMBER] thanks"
    tag = next(w for w in out if w.word == " [ID_NUMBER]")
    assert (tag.start, tag.end) == (3.0, 5.5)


def test_afrikaans_digits_and_card_with_punctuation():
    out = redact_words(words("nul agt twee vyf vyf vyf een twee drie vier."))
    assert text(out) == "[PHONE_NUMBER]"
    assert text(redact_words(words("card 4111, 1111, 1111, 1111."))) == "card [CARD_NUMBER]"


def test_emails_written_and_spoken():
    assert text(redact_words(words("mail john.doe@example.co.za please"))) == "mail [EMAIL] please"
    assert text(redact_words(words("it is john dot smith at gmail dot com ok"))) == "it is [EMAIL] ok"


def test_ordinary_speech_is_untouched():
    ws = words("Oh hello I called two times for one reason at ten")
    assert text(redact_words(ws)) == text(ws)


def test_redact_turns_keeps_speakers():
    turns = redact_turns([Turn("A", words("number 0825551234"))])
    assert turns[0].speaker == "A" and turns[0].text == "number [PHONE_NUMBER]"


# --- numbers read out over several turns of the same speaker -------------------------------------


def said(speaker: str, start: float, text: str, step: float = 0.4) -> list[Word]:
    """Words spoken one every *step* seconds from *start*, each lasting 0.3 s."""
    return [
        Word(start + i * step, start + i * step + 0.3, " " + w, 0.9, speaker)
        for i, w in enumerate(text.split())
    ]


def digit_words(turns: list[Turn]) -> list[str]:
    return [w.word for t in turns for w in t.words if digits_in(w.word) is not None]


def test_card_read_in_four_groups_over_split_mode_turns_is_redacted_in_every_turn():
    # 4539 1488 0343 6467 (Luhn-valid), each group followed by a 2 s pause; the agent says "okay" in it
    groups = ["four five three nine", "one four eight eight", "zero three four three", "six four six seven"]
    words_, t = said("customer", 0.0, "my card number is"), 1.6
    for n, group in enumerate(groups):
        words_ += said("customer", t, group)
        t += 1.5 + 2.0  # 1.5 s of digits, then the pause
        if n < len(groups) - 1:
            words_ += said("agent", t - 1.2, "okay")
    turns = build_overlapping_turns(sorted(words_, key=lambda w: w.start))
    assert [tt.speaker for tt in turns].count("customer") == 4  # the number really is split over turns
    before = [(tt.speaker, tt.start, tt.end) for tt in turns]

    out = redact_turns(turns)

    assert [(tt.speaker, tt.start, tt.end) for tt in out] == before  # structure and timings kept
    assert digit_words(out) == []
    assert not any(ch.isdigit() for tt in out for ch in tt.text)
    customer = [tt.text for tt in out if tt.speaker == "customer"]
    assert customer == ["my card number is [CARD_NUMBER]"] + ["[CARD_NUMBER]"] * 3
    assert [tt.text for tt in out if tt.speaker == "agent"] == ["okay"] * 3


def test_phone_number_split_by_a_hesitation_is_redacted():
    first = said("customer", 10.0, "it's oh eight two five")
    rest = said("customer", first[-1].end + 1.6, "five five one two three four")
    turns = build_overlapping_turns(first + rest)
    assert len(turns) == 2

    out = redact_turns(turns)

    assert [tt.text for tt in out] == ["it's [PHONE_NUMBER]", "[PHONE_NUMBER]"]
    assert digit_words(out) == []
    tag = out[0].words[-1]
    assert (tag.start, tag.end) == (first[1].start, first[-1].end)  # the tag lies where the digits were


def test_number_interrupted_by_the_other_speaker_in_a_mixed_call_is_redacted():
    # mixed mode cuts a turn wherever the speaker changes: "mm-hm" splits the caller's number
    ws = (
        said("A", 0.0, "oh eight two")
        + said("B", 1.3, "mm-hm")
        + said("A", 1.8, "five five five one two three four")
    )
    turns = build_turns(ws)
    assert [tt.speaker for tt in turns] == ["A", "B", "A"]
    assert [tt.text for tt in redact_turns(turns)] == ["[PHONE_NUMBER]", "mm-hm", "[PHONE_NUMBER]"]


@pytest.mark.parametrize(("pause", "joined"), [(4.9, True), (5.1, False), (480.0, False)])
def test_digit_groups_are_joined_only_within_the_gap_bound(pause, joined):
    # "one two three" and "four five six": 123456 is a NUMBER only if the two are read as one
    first = said("A", 60.0, "extension one two three")
    second = said("A", first[-1].end + pause, "four five six please")
    out = redact_turns(build_overlapping_turns(first + second))
    texts = [tt.text for tt in out]
    if joined:
        assert texts == ["extension [NUMBER]", "[NUMBER] please"]
    else:
        assert texts == ["extension one two three", "four five six please"]


def test_far_apart_digits_of_one_speaker_are_not_joined_into_a_number():
    # "... two three" at minute 1 and "four five ..." at minute 9: 123456 would be a NUMBER if joined
    ws = (
        said("A", 60.0, "room one two three")
        + said("B", 200.0, "one moment")
        + said("A", 540.0, "four five six")
    )
    turns = build_overlapping_turns(ws)
    assert [tt.text for tt in redact_turns(turns)] == [tt.text for tt in turns]
    # control: the same digits 1.7 s apart (two turns) are one number, so the assertion above is
    # what fails if the turns were joined with no bound on the gap
    near = said("A", 60.0, "room one two three") + said("A", 63.2, "four five six")
    assert [tt.text for tt in redact_turns(build_overlapping_turns(near))] == ["room [NUMBER]", "[NUMBER]"]
