"""Mutations of enrolled-voice naming (issue #23), for ``tools/mutation_check.py``: POPIA scoping,
one print per sample, the scoring space and the joining of a split person."""

from __future__ import annotations

from tools.mutations import Mutation

SPEAKERS = "tests/api/test_speakers_api.py::"
VOICE_STORE = "tests/unit/test_voice_store.py::"
IDENTIFY = "tests/unit/test_identify.py::"
VOICEPRINTS = "tests/unit/test_voiceprints.py::"

VOICE_MUTATIONS: list[Mutation] = [
    Mutation(
        "voice-owner-ignored",
        "diarize_service/storage/voice_store.py",
        '    return func.coalesce(voices.c.owner, "") == (owner or "")',
        "    return voices.c.id.isnot(None)",
        (VOICE_STORE + "test_voices_are_read_and_erased_only_for_their_owner",),
        "one API key reads, matches and deletes another key's voiceprints (biometric data, POPIA)",
    ),
    Mutation(
        "sample-pooled-twice",
        "diarize_service/storage/voice_store.py",
        "            if key in keys:\n                raise SampleAlreadyPooledError(voice_id)\n",
        "",
        (
            VOICE_STORE + "test_a_sample_the_voice_already_holds_is_refused",
            SPEAKERS + "test_the_same_sample_is_pooled_once",
        ),
        "the same call sent twice as a sample counts its speech twice and drags the voice's print",
    ),
    Mutation(
        "space-does-not-shrink",
        "diarize_service/pipeline/diarization/scoring_space.py",
        "moved = moved - ((moved @ self.directions.T) * (1.0 - self.factors)) @ self.directions",
        "moved = moved",
        (VOICEPRINTS + "test_the_directions_one_person_varies_along_count_for_less",),
        "the line's own directions count fully again: the same agent on another line goes unnamed",
    ),
    Mutation(
        "join-leaves-one-speaker",
        "diarize_service/pipeline/output/identify.py",
        "    return matches, halves[: max(0, len(labels) - 2)]",
        "    return matches, halves",
        (IDENTIFY + "test_no_join_that_would_leave_a_call_with_one_speaker_or_cross_channels",),
        "a look-alike customer is folded into the agent and the call loses its customer",
    ),
    Mutation(
        "ambiguous-voice-named",
        "diarize_service/pipeline/output/identify.py",
        "        if i in taken_speakers or j in taken_voices or i in ambiguous:",
        "        if i in taken_speakers or j in taken_voices:",
        (IDENTIFY + "test_a_speaker_between_two_voices_that_sound_alike_is_not_named",),
        "a speaker who sounds like two enrolled agents gets one of their names by a hair",
    ),
]
