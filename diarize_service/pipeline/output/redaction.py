"""PII redaction on recognised words, before anything is stored (POPIA).

Works on the word sequence of each speaker, so timings stay aligned: a
detected span of words is replaced by one tag word that keeps the span's
start and end.  Detected:

* digit strings, written ("082 555 1234") or spoken ("oh eight two, double
  five..."), classified as South African ID numbers (13 digits, valid
  birth date, Luhn), card numbers (13-19 digits, Luhn), phone numbers
  (0xx xxx xxxx, +27...), or else any run of 6+ digits (account and
  reference numbers);
* e-mail addresses, written or spoken ("john dot smith at gmail dot com").

Numbers are read out in groups with pauses ("four five three nine ...
one four eight eight ..."), and a turn ends at a 1.5 s pause or when the
other party says "mm-hm", so one number often spans several turns, each
part too short to be recognised on its own.  :func:`redact_turns` therefore
searches each speaker's words across all of their turns, joined only where
that speaker pauses at most :data:`MAX_JOIN_GAP`.
"""

from __future__ import annotations

import re
from datetime import date

from ..digits import clean, digits_in
from ..types import Word
from .turns import Turn

REPEATERS = {"double": 2, "triple": 3, "dubbel": 2}
MIN_DIGITS = 6
EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
# Longest pause (s) of one speaker across which their words are searched as one
# stream.  Callers reading a card or ID pause 1-3 s between groups (checking
# the card, waiting for the agent's "okay, next four"); 5 s covers that with
# room to spare, while numbers said in different sentences, usually further
# apart, are not glued into one long false "number".
MAX_JOIN_GAP = 5.0

Span = tuple[int, int, str]  # (first word, last word + 1, tag)


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


def _spans(words: list[Word]) -> list[Span]:
    """PII spans in *words*, in order and without overlaps (the earlier-starting span wins)."""
    out: list[Span] = []
    covered = 0
    for start, end, tag in sorted(_digit_spans(words) + _email_spans(words)):
        if start < covered:
            continue  # overlaps a span already taken
        out.append((start, end, tag))
        covered = end
    return out


def _replace(words: list[Word], spans: list[Span]) -> list[Word]:
    """*words* with each span (in order, not overlapping) replaced by one tag word over its time."""
    out: list[Word] = []
    i = 0
    for start, end, tag in spans:
        out.extend(words[i:start])
        first, last = words[start], words[end - 1]
        out.append(Word(first.start, last.end, f" [{tag}]", 1.0, first.speaker))
        i = end
    out.extend(words[i:])
    return out


def redact_words(words: list[Word]) -> list[Word]:
    """*words* (one speaker's, in time order) with PII replaced by tag words."""
    return _replace(words, _spans(words))


def _speaker_streams(turns: list[Turn], max_gap: float) -> list[list[tuple[int, int]]]:
    """Each speaker's words over all their turns, as (turn index, word index), cut at pauses over *max_gap*.

    Other speakers' words are left out, so an "okay" of the agent between
    two digit groups of the caller does not break the caller's number.
    """
    by_speaker: dict[str, list[int]] = {}
    for ti, turn in enumerate(turns):
        if turn.words:
            by_speaker.setdefault(turn.speaker, []).append(ti)
    streams: list[list[tuple[int, int]]] = []
    for indices in by_speaker.values():
        indices.sort(key=lambda ti: turns[ti].start)  # a speaker's turns do not overlap
        current: list[tuple[int, int]] = []
        previous: Word | None = None
        for ti in indices:
            for wi, word in enumerate(turns[ti].words):
                if previous is not None and word.start - previous.end > max_gap:
                    streams.append(current)
                    current = []
                current.append((ti, wi))
                previous = word
        streams.append(current)
    return streams


def redact_turns(turns: list[Turn], max_gap: float = MAX_JOIN_GAP) -> list[Turn]:
    """New turns with PII replaced by tags like ``[ID_NUMBER]``; same turns, speakers and times.

    PII is searched in each speaker's words across turns (see
    :func:`_speaker_streams`), so a card number read in four groups, each
    its own turn, is found as one card number.  A number that spans several
    turns is cut at the turn boundaries and *each* turn gets the tag of the
    whole number over its own part: the transcript then reads "[CARD_NUMBER]
    / okay / [CARD_NUMBER] ..." -- plainly the caller going on reading the
    same card -- every turn keeps its start, end and at least one word (a
    turn emptied of its digits could neither be timed nor shown), and the
    segments' word timings stay where the speech was.
    """
    per_turn: list[list[Span]] = [[] for _ in turns]
    for stream in _speaker_streams(turns, max_gap):
        words = [turns[ti].words[wi] for ti, wi in stream]
        for start, end, tag in _spans(words):
            k = start
            while k < end:  # one piece per turn the span runs through
                ti, first = stream[k]
                m = k + 1
                while m < end and stream[m][0] == ti:
                    m += 1
                per_turn[ti].append((first, stream[m - 1][1] + 1, tag))
                k = m
    return [
        Turn(t.speaker, _replace(t.words, sorted(spans))) for t, spans in zip(turns, per_turn, strict=True)
    ]
