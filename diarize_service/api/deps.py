"""FastAPI dependencies: the services created at start-up, as typed aliases.

Routes receive what they need through these (``StoreDep``, ``RunnerDep``...),
never through module globals, so a test app can wire in its own services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from ..config import Settings

if TYPE_CHECKING:
    from .auth import RateLimiter
from ..jobs.runner import JobRunner
from ..pipeline.workers import StageWorkers
from ..storage.audio_store import AudioStore
from ..storage.job_store import JobStore


@dataclass
class Services:
    """Everything the lifespan builds once and the routes share."""

    settings: Settings
    store: JobStore
    audio: AudioStore
    runner: JobRunner
    workers: StageWorkers | None  # None when a test injects a fake processor
    rate_limiter: RateLimiter


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_store(services: ServicesDep) -> JobStore:
    return services.store


def get_runner(services: ServicesDep) -> JobRunner:
    return services.runner


def get_audio(services: ServicesDep) -> AudioStore:
    return services.audio


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]
AudioDep = Annotated[AudioStore, Depends(get_audio)]
