"""Accuracy metrics for one benchmark item: DER, names (IER), WER, cpWER, word attribution."""

from __future__ import annotations

import re
from typing import Any

from meeteval.wer import cp_word_error_rate
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate
from pyannote.metrics.identification import IdentificationErrorRate
from whisper_normalizer.english import EnglishTextNormalizer

_normalize = EnglishTextNormalizer()


def annotation(turns: list[dict[str, Any]]) -> Annotation:
    ann = Annotation()
    for t in turns:
        if t["end"] > t["start"]:
            ann[Segment(t["start"], t["end"])] = t["speaker"]
    return ann


def der_components(
    reference: Annotation, hypothesis: Annotation, uem: Timeline | None, collar: float
) -> dict[str, float]:
    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    d = metric(reference, hypothesis, uem=uem, detailed=True)
    return {
        "der": d["diarization error rate"],
        "miss": d["missed detection"],
        "false_alarm": d["false alarm"],
        "confusion": d["confusion"],
        "total": d["total"],
    }


def names_components(
    reference: Annotation, hypothesis: Annotation, names: dict[str, str], collar: float
) -> dict[str, float]:
    """DER without the optimal mapping: speech counts only under the name the speaker must get.

    In split mode the service names speakers itself (``Agent``, ``Agent_2``,
    ``Customer``), and a report that calls the supervisor the agent puts the
    agent's talk time on the wrong person, which DER, mapping speakers
    optimally, cannot see.  This is pyannote.metrics' identification error
    rate with the reference speakers renamed by *names* (speaker -> name).
    """
    renamed = reference.rename_labels(mapping=names)
    metric = IdentificationErrorRate(collar=collar, skip_overlap=False)
    d = metric(renamed, hypothesis, detailed=True)
    return {
        "der": d["identification error rate"],
        "miss": d["missed detection"],
        "false_alarm": d["false alarm"],
        "confusion": d["confusion"],
        "total": d["total"],
    }


_DIGIT_BOUNDARY = re.compile(r"(?<=\d)(?=\d)")


def normalized_words(text: str) -> list[str]:
    """Whisper's English normalisation, then one word per digit.

    The normaliser joins spelled-out digits into one number ("eight seven five"
    -> "875") but leaves "8, 7, 5" as three words, so a digit string read out
    on a call scored as one reference word against many hypothesis words
    (WER over 100 %).  Splitting every digit run on both sides scores read-out
    numbers digit by digit, whichever way Whisper writes them.
    """
    return _DIGIT_BOUNDARY.sub(" ", _normalize(text)).split()


def wer(reference_text: str, hypothesis_text: str) -> dict[str, float]:
    import jiwer

    ref, hyp = " ".join(normalized_words(reference_text)), " ".join(normalized_words(hypothesis_text))
    if not ref:
        return {"wer": float("nan"), "ref_words": 0, "errors": 0}
    out = jiwer.process_words(ref, hyp)
    errors = out.substitutions + out.deletions + out.insertions
    return {"wer": errors / len(ref.split()), "ref_words": len(ref.split()), "errors": errors}


def cpwer(
    utterances: list[tuple[str, float, float, str]], segments: list[dict[str, Any]]
) -> dict[str, float]:
    ref: dict[str, str] = {}
    for spk, _, _, text in sorted(utterances, key=lambda u: u[1]):
        ref[spk] = (ref.get(spk, "") + " " + " ".join(normalized_words(text))).strip()
    hyp: dict[str, str] = {}
    for seg in segments:
        hyp[seg["speaker"]] = (
            hyp.get(seg["speaker"], "") + " " + " ".join(normalized_words(seg["text"]))
        ).strip()
    if not ref:
        return {"cpwer": float("nan"), "ref_words": 0, "errors": 0}
    er = cp_word_error_rate(ref, hyp or {"none": ""})
    return {"cpwer": er.error_rate, "ref_words": er.length, "errors": er.errors}


def word_attribution(
    reference: Annotation, hypothesis_diarization: Annotation, segments: list[dict[str, Any]]
) -> dict[str, float]:
    """Share of words whose speaker matches the reference speaker talking at the word's midpoint.

    Hypothesis speakers are mapped to reference speakers with the optimal
    (Hungarian) mapping used by DER; words in overlap or outside reference
    speech are not counted.
    """
    mapping = DiarizationErrorRate().optimal_mapping(reference, hypothesis_diarization)
    correct = counted = 0
    for seg in segments:
        for w in seg["words"]:
            mid = (w["start"] + w["end"]) / 2
            active = reference.crop(Segment(mid - 0.01, mid + 0.01)).labels()
            if len(active) != 1:
                continue
            counted += 1
            correct += mapping.get(w["speaker"]) == active[0]
    return {"word_attribution": correct / counted if counted else float("nan"), "words_counted": counted}
