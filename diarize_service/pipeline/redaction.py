"""PII redaction on recognised words, before anything is stored (POPIA).

Works on the word sequence of each speaker turn, so timings stay aligned:
a detected span of words is replaced by one tag word that keeps the span's
start and end.  Detected:

* digit strings, written ("082 555 1234") or spoken ("oh eight two, double
  five..."), classified as South African ID numbers (13 digits, valid
  birth date, Luhn), card numbers (13-19 digits, Luhn), phone numbers
  (0xx xxx xxxx, +27...), or else any run of 6+ digits (account and
  reference numbers);
* e-mail addresses, written or spoken ("john dot smith at gmail dot com").
"""

from __future__ import annotations

import re
from datetime import date

from .digits import clean, digits_in
from .turns import Turn
from .types import Word

REPEATERS = {"double": 2, "triple": 3, "dubbel": 2}
MIN_DIGITS = 6
EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _plausible_birth_date(digits: str) -> bool:
    yy, mm, dd = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    for century in (1900, 2000):
        try:
            date(century + yy, mm, dd)
            return True
        except ValueError:
            continue
    return False


def classify(digits: str) -> str | None:
    """Tag for a digit string, or None if it is too short to be personal data."""
    if len(digits) == 13 and _plausible_birth_date(digits) and luhn_valid(digits):
        return "ID_NUMBER"
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "CARD_NUMBER"
    if (len(digits) == 10 and digits.startswith("0")) or (len(digits) == 11 and digits.startswith("27")):
        return "PHONE_NUMBER"
    if len(digits) >= MIN_DIGITS:
        return "NUMBER"
    return None


def _digits_of(token: str, previous_repeat: int) -> tuple[str | None, int]:
    """Digits a word contributes (None: not a digit word) and a pending 'double/triple'."""
    t = clean(token).replace("-", "")
    if t in REPEATERS:
        return "", REPEATERS[t]
    digits = digits_in(token)
    if digits is None:
        return None, 1
    return (digits * previous_repeat if len(digits) == 1 else digits), 1


def _digit_spans(words: list[Word]) -> list[tuple[int, int, str]]:
    """(first, last+1, tag) for every run of digit words that classifies as PII."""
    spans, i = [], 0
    while i < len(words):
        digits, j, repeat = "", i, 1
        while j < len(words):
            got, repeat_next = _digits_of(words[j].word, repeat)
            if got is None:
                break
            digits += got
            repeat = repeat_next
            j += 1
        if j == i:
            i += 1
            continue
        tag = classify(digits)
        if tag:
            spans.append((i, j, tag))
        i = j
    return spans


def _email_spans(words: list[Word]) -> list[tuple[int, int, str]]:
    spans = []
    for i, w in enumerate(words):
        if EMAIL.match(clean(w.word)):
            spans.append((i, i + 1, "EMAIL"))
    # spoken: <name ...> at <domain> dot <tld>
    tokens = [clean(w.word) for w in words]
    for i, tok in enumerate(tokens):
        if tok in ("at", "@") and 0 < i < len(tokens) - 3 and tokens[i + 2] == "dot":
            start = i - 1
            while start - 2 >= 0 and tokens[start - 1] in ("dot", "underscore"):
                start -= 2
            end = i + 4
            while end + 1 < len(tokens) and tokens[end] == "dot":
                end += 2
            spans.append((start, min(end, len(tokens)), "EMAIL"))
    return spans


def redact_words(words: list[Word]) -> list[Word]:
    spans = sorted(_digit_spans(words) + _email_spans(words))
    out: list[Word] = []
    i = 0
    for start, end, tag in spans:
        if start < i:
            continue  # overlaps a span already redacted
        out.extend(words[i:start])
        first, last = words[start], words[end - 1]
        out.append(Word(first.start, last.end, f" [{tag}]", 1.0, first.speaker))
        i = end
    out.extend(words[i:])
    return out


def redact_turns(turns: list[Turn]) -> list[Turn]:
    """New turns with PII replaced by tags like ``[ID_NUMBER]``."""
    return [Turn(t.speaker, redact_words(t.words)) for t in turns]
