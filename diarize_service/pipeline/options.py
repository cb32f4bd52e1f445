"""Per-job processing options: what a job asks of the pipeline.

The API validates them from the form, the job store keeps them with the job,
and the processor reads them; they live here, below all three, so that the
pipeline never imports from ``jobs/``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class JobOptions(BaseModel):
    """Per-job processing options (form fields of ``POST /diarize``)."""

    num_speakers: int | None = Field(None, ge=1, le=32, description="Exact number of speakers, if known.")
    min_speakers: int | None = Field(None, ge=1, le=32, description="Lower bound on speakers.")
    max_speakers: int | None = Field(None, ge=1, le=32, description="Upper bound on speakers.")
    language: str | None = Field(
        None, description="Whisper language code (e.g. 'en', 'af'); omitted = detect per job."
    )

    initial_prompt: str | None = Field(
        None, max_length=1000, description="Context for Whisper, e.g. product names and their spelling."
    )
    hotwords: str | None = Field(None, max_length=500, description="Words to bias recognition towards.")

    channel_mode: Literal["auto", "mixed", "split"] = Field(
        "auto",
        description="Stereo handling: 'split' = one party per channel, 'mixed' = diarize the down-mix, "
        "'auto' = split when the two channels carry different signals.",
    )
    channel_names: tuple[str, str] = Field(
        ("Agent", "Customer"), description="Speaker names for the left and right channel in split mode."
    )
    redact_pii: bool = Field(
        False, description="Replace ID/card/phone numbers, long digit strings and e-mails with tags."
    )
    identify_speakers: bool = Field(
        True,
        description="Name speakers whose voice is enrolled under the job's API key (POST /speakers); "
        "on whenever any voice is enrolled.",
    )  # issue #23

    @model_validator(mode="after")
    def _consistent_bounds(self) -> JobOptions:
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers must not exceed max_speakers")
        if self.num_speakers and (
            (self.min_speakers and self.num_speakers < self.min_speakers)
            or (self.max_speakers and self.num_speakers > self.max_speakers)
        ):
            raise ValueError("num_speakers must lie within min_speakers..max_speakers")
        names = tuple(n.strip() for n in self.channel_names)
        if any(not n or len(n) > 40 for n in names) or names[0] == names[1]:
            raise ValueError("channel_names must be two different names of 1-40 characters")
        self.channel_names = names
        if self.language is not None:
            from faster_whisper.tokenizer import _LANGUAGE_CODES

            self.language = self.language.strip().lower() or None
            if self.language and self.language not in _LANGUAGE_CODES:
                raise ValueError(f"unknown language code '{self.language}'")
        return self
