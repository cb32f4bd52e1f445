"""Digits in recognised words, written ("0825") or spoken ("oh", "eight", Afrikaans "agt").

Read-out numbers matter twice on a call: they are the personal data that
redaction must find (:mod:`.output.redaction`), and in split mode the pauses
between them are silence that the speech regions must not span
(:func:`.channels.digit_pauses.cut_digit_pauses`).  Both read words the same way.
"""

from __future__ import annotations

SPOKEN_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "nil": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    # Afrikaans digits (code-switching is common on South African calls)
    "nul": "0", "een": "1", "twee": "2", "drie": "3", "vier": "4", "vyf": "5", "ses": "6", "sewe": "7",
    "agt": "8", "ag": "8", "nege": "9",
}  # fmt: skip


def clean(token: str) -> str:
    """A word as Whisper writes it, without surrounding punctuation, lower-case."""
    return token.strip().strip(".,;:!?\"'()").lower()


def digits_in(token: str) -> str | None:
    """The digits a word stands for ("082" -> "082", "Eight," -> "8", "+27" -> "27"); None if not a number."""
    t = clean(token).replace("-", "")
    if t.startswith("+") and t[1:].isdigit():
        t = t[1:]
    if t.isdigit():
        return t
    return SPOKEN_DIGITS.get(t)
