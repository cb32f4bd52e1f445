"""PII redaction: South African IDs, cards, phones, spoken digits, e-mails."""

from __future__ import annotations

import pytest

from diarize_service.pipeline.redaction import classify, luhn_valid, redact_turns, redact_words
from diarize_service.pipeline.turns import Turn
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
