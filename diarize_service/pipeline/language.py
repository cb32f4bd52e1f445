"""Which language each channel of a call is transcribed in (issue #22).

Whisper guesses a language from the first 30 s of a recording, and a guess
is all it is on 8 kHz audio: a Scottish customer came back as Welsh
(``cy``, p = 0.46) and was transcribed as Welsh-like text.  So the service
decides the language itself, from evidence it gathers more widely:

* evidence is Whisper's language distribution over several windows of the
  call's clearest speech (:mod:`.asr.language_probe`), not the first 30 s;
* it is pooled over all windows of all channels (both parties are on one
  call), weighting each window by the seconds of speech in it;
* only the languages a centre expects count (``LANGUAGES``, e.g. ``en,af``):
  the pooled distribution is renormalised over them, so an accent that
  Whisper hears as Welsh does not leave them;
* Whisper hears Afrikaans as Dutch (:data:`HEARD_AS`): where Afrikaans is
  allowed and Dutch is not, Dutch evidence counts as Afrikaans;
* a decision below ``LANGUAGE_CONFIDENCE_FLOOR`` falls back to
  ``DEFAULT_LANGUAGE``: a shaky guess is worse than the centre's own language;
* one channel leaves the call's language only on confident evidence of its
  own (``LANGUAGE_SWITCH_CONFIDENCE``): an English agent with an Afrikaans
  customer is transcribed per side, but one accented English sentence is not
  enough to move a channel to Afrikaans.

Pure functions over plain dicts, so the rules are tested without a model.
The measurements are in bench/README.md, "Language per call".
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# Evidence this sure of one language is not probed further (:func:`settled`).
SETTLED = 0.95

# (allowed language, languages Whisper hears it as): it takes their evidence when they are not
# allowed themselves.  Afrikaans grew out of Dutch, and Whisper learnt far more Dutch: Whisper
# base hears MBROLA's Afrikaans voice on the telephone line as Dutch (``nl`` 0.30-0.88 per
# sentence, ``af`` 0.00-0.15), and English callers put almost nothing on Dutch (bench/README.md).
# Pairs, not a dict, so that the frozen policy holding them stays hashable.
HeardAs = tuple[tuple[str, tuple[str, ...]], ...]
HEARD_AS: HeardAs = (("af", ("nl",)),)


@dataclass(frozen=True)
class LanguagePolicy:
    """The settings the decision follows (``LANGUAGES``, ``LANGUAGE_CONFIDENCE_FLOOR``, ...)."""

    allowed: tuple[str, ...] = ("en", "af")  # empty: every language Whisper knows
    floor: float = 0.7
    default: str = "en"
    switch: float = 0.9
    heard_as: HeardAs = HEARD_AS

    @classmethod
    def from_setting(cls, languages: str, floor: float, default: str, switch: float) -> LanguagePolicy:
        """The policy from the comma-separated ``LANGUAGES`` setting and the three numbers."""
        allowed = tuple(dict.fromkeys(code.strip().lower() for code in languages.split(",") if code.strip()))
        return cls(allowed, floor, default.strip().lower(), switch)


@dataclass(frozen=True)
class Window:
    """Whisper's language distribution for one window of speech, and how much speech it held."""

    seconds: float
    probs: Mapping[str, float]


@dataclass(frozen=True)
class LanguageChoice:
    """The language a channel is transcribed in and the evidence's probability for it."""

    language: str
    probability: float


@dataclass(frozen=True)
class CallLanguages:
    """The call's language and each channel's (``"mixed"`` for a down-mixed call), for the result."""

    call: LanguageChoice
    channels: dict[str, LanguageChoice]

    def payload(self) -> dict[str, dict[str, Any]]:
        """The result's ``languages``: channel (or ``"mixed"``) -> language and probability."""
        return {
            name: {"language": c.language, "probability": round(c.probability, 3)}
            for name, c in self.channels.items()
        }


def restrict(
    probs: Mapping[str, float], allowed: Sequence[str], heard_as: HeardAs = HEARD_AS
) -> dict[str, float]:
    """*probs* renormalised over the *allowed* languages (all of them when *allowed* is empty).

    An allowed language also takes the mass of the languages it is heard as
    (*heard_as*, :data:`HEARD_AS`) that are not allowed themselves.
    """
    kin_of = dict(heard_as)
    kept = {lang: p for lang, p in probs.items() if not allowed or lang in allowed}
    for lang in allowed:  # an allowed language Whisper gave nothing to is still a candidate
        heard = sum(probs.get(kin, 0.0) for kin in kin_of.get(lang, ()) if kin not in allowed)
        kept[lang] = kept.get(lang, 0.0) + heard
    total = sum(kept.values())
    if total <= 0:
        return {lang: 1.0 / len(kept) for lang in kept} if kept else {}
    return {lang: p / total for lang, p in kept.items()}


def pool(windows: Sequence[Window]) -> dict[str, float]:
    """Speech-weighted mean of the windows' distributions (before restriction).

    Averaging the raw distributions, and restricting afterwards, lets a window
    that puts little mass on any allowed language (noise, music, a mumble)
    count for little; restricting each window first would give it a full vote.
    """
    total = sum(w.seconds for w in windows)
    pooled: dict[str, float] = {}
    for w in windows:
        weight = w.seconds / total if total > 0 else 1.0 / len(windows)
        for lang, p in w.probs.items():
            pooled[lang] = pooled.get(lang, 0.0) + weight * p
    return pooled


def _top(probs: Mapping[str, float], prefer: str) -> tuple[str, float]:
    """The most probable language; on a tie, *prefer* (the default), then the first by code."""
    lang = max(sorted(probs), key=lambda k: (probs[k], k == prefer))
    return lang, probs[lang]


def settled(windows: Sequence[Window], policy: LanguagePolicy) -> bool:
    """Whether more windows could hardly change what *windows* say: the allowed top is >= SETTLED.

    On the 54 channels and mixes of the dev calls (seeds 1-3) the first
    window alone gave English at least 0.998 over ``en,af``; each further
    window costs an encoder pass (about 1 s on 2 cores).
    """
    probs = restrict(pool(windows), policy.allowed, policy.heard_as)
    return bool(probs) and max(probs.values()) >= max(SETTLED, policy.floor, policy.switch)


def decide(
    channels: Sequence[Sequence[Window]], policy: LanguagePolicy
) -> tuple[LanguageChoice, list[LanguageChoice]]:
    """The call's language, and one per channel: the call's unless the channel's own evidence is confident.

    A channel with no speech at all gets the call's language.  Probabilities
    are over the allowed languages; a choice that fell back to the default
    reports the evidence's probability for the default (it may be low).
    """
    call = restrict(pool([w for windows in channels for w in windows]), policy.allowed, policy.heard_as)
    default = policy.default if not policy.allowed or policy.default in policy.allowed else policy.allowed[0]
    if not call:
        return LanguageChoice(default, 0.0), [LanguageChoice(default, 0.0) for _ in channels]
    language, p = _top(call, default)
    if p < policy.floor:
        language, p = default, call.get(default, 0.0)
    out = []
    for windows in channels:
        own = restrict(pool(windows), policy.allowed, policy.heard_as) if windows else call
        other, p_other = _top(own, language)
        if other != language and p_other >= policy.switch:
            out.append(LanguageChoice(other, p_other))
        else:
            out.append(LanguageChoice(language, own.get(language, 0.0)))
    return LanguageChoice(language, p), out


@cache
def whisper_language_codes() -> frozenset[str]:
    """The language codes faster-whisper accepts, read from its source without importing it.

    Settings are checked in the API process, which must not load CTranslate2
    (importing ``faster_whisper`` does).  Empty if the list cannot be read:
    then nothing is refused here, and Whisper itself refuses at the first call.
    """
    spec = importlib.util.find_spec("faster_whisper")
    try:
        source = (Path(next(iter(spec.submodule_search_locations))) / "tokenizer.py").read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_LANGUAGE_CODES" for t in node.targets
            ):
                return frozenset(ast.literal_eval(node.value))
    except (AttributeError, OSError, StopIteration, TypeError, ValueError, SyntaxError):
        pass
    return frozenset()
