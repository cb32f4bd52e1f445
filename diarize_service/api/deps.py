"""FastAPI dependencies: the services created at start-up, as typed aliases.

Routes receive what they need through these (``StoreDep``, ``RunnerDep``...),
never through module globals, so a test app can wire in its own services.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import Depends, Request

from ..config import Settings

if TYPE_CHECKING:
    from .auth import RateLimiter
from ..pipeline.workers import StageWorkers
from ..storage.audio_store import AudioStore
from ..storage.job_store import JobStore


class Dispatcher(Protocol):
    """Where the routes hand jobs on: the embedded job runner, or a cluster's queue."""

    @property
    def running(self) -> int: ...
    def submitted(self, job_ids: list[str]) -> None: ...
    async def cancel(self, job_id: str) -> bool: ...


@dataclass
class Services:
    """Everything the lifespan builds once and the routes share."""

    settings: Settings
    store: JobStore
    audio: AudioStore
    runner: Dispatcher
    workers: StageWorkers | None  # None in a cluster replica, or when a test injects a fake processor
    rate_limiter: RateLimiter
    ready: Callable[[], Awaitable[None]] | None = None  # cluster: raises while the store/broker are down
    # issue #23: (upload, decoded path, max seconds) -> voiceprint of its main voice; None without models
    embed_voice: Callable[[Path, Path, float], Awaitable[Any]] | None = None


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_store(services: ServicesDep) -> JobStore:
    return services.store


def get_runner(services: ServicesDep) -> Dispatcher:
    return services.runner


def get_audio(services: ServicesDep) -> AudioStore:
    return services.audio


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
RunnerDep = Annotated[Dispatcher, Depends(get_runner)]
AudioDep = Annotated[AudioStore, Depends(get_audio)]
