"""Mutations of the accuracy rules of issue #22, for ``tools/mutation_check.py``: Dutch heard as
Afrikaans, and turn reassignment judging a stretch against its speaker's other stretches."""

from __future__ import annotations

from tools.mutations import Mutation

ACCURACY_MUTATIONS: list[Mutation] = [
    Mutation(
        "dutch-not-heard-as-afrikaans",
        "diarize_service/pipeline/language.py",
        "        kept[lang] = kept.get(lang, 0.0) + heard",
        "        kept[lang] = kept.get(lang, 0.0)",
        (
            "tests/unit/test_language.py::test_afrikaans_heard_as_dutch_is_afrikaans_where_dutch_is_not_allowed",
        ),
        "an Afrikaans caller whom Whisper hears as Dutch is transcribed as English",
    ),
    Mutation(
        "reassignment-counts-the-stretch-in-its-own-centroid",
        "diarize_service/pipeline/diarization/reassignment.py",
        "    distance[rows, labels] = np.where(alone, 0.0, own)",
        "    pass",
        (
            "tests/unit/test_reassignment.py::test_a_long_stretch_is_judged_against_its_speakers_other_stretches",
        ),
        "a speaker given another person's long utterances keeps them",
    ),
]
